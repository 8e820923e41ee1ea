"""The `vigil` command."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from monitor.config import get_settings
from monitor.logs import configure_logging

app = typer.Typer(help="Vigil: antisemitic discourse, its triggers and its spikes, country by country.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Sources of posts.", no_args_is_help=True)
alerts_app = typer.Typer(help="Spike alerts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(alerts_app, name="alerts")
console = Console()


@app.callback()
def _main() -> None:
    s = get_settings()
    configure_logging(s.log_level, s.log_json)


def _sessions():
    from monitor.db import session_factory

    return session_factory(get_settings().sqlalchemy_url)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations to the configured database."""
    from alembic import command

    from migrations import alembic_config

    s = get_settings()
    if s.sqlalchemy_url.startswith("sqlite"):
        s.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(s.sqlalchemy_url), revision)
    console.print(f"Database at revision {revision}.")


@sources_app.command("add")
def sources_add(
    name: str = typer.Option(..., help="A unique name."),
    kind: str = typer.Option(..., help="rss | mastodon | file"),
    locator: str = typer.Option(..., help="Feed URL, Mastodon tag/account URL, or file path."),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-2 code, e.g. AM."),
    language: str | None = typer.Option(None, help="Language hint when posts carry none."),
    interval: int = typer.Option(900, help="Seconds between polls."),
) -> None:
    """Add or update a source."""
    from monitor.countries import CountryError
    from monitor.sources.registry import add_source

    try:
        with _sessions().begin() as session:
            src = add_source(session, name=name, kind=kind, locator=locator, country=country,
                             language=language, poll_interval_s=interval)
            console.print(f"Source {src.name} ({src.kind}, {src.country}) saved with id {src.id}.")
    except (ValueError, CountryError) as exc:
        raise typer.BadParameter(str(exc)) from None


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their health."""
    from monitor.sources.registry import list_sources

    table = Table("id", "name", "kind", "country", "enabled", "failures", "last success", "last error")
    with _sessions()() as session:
        for s in list_sources(session):
            table.add_row(str(s.id), s.name, s.kind, s.country, "yes" if s.enabled else "no",
                          str(s.consecutive_failures), str(s.last_success_at or "-"),
                          (s.last_error or "")[:60])
    console.print(table)


@sources_app.command("disable")
def sources_disable(name: str) -> None:
    """Stop polling a source (its posts stay)."""
    from monitor.sources.registry import disable_source

    try:
        with _sessions().begin() as session:
            disable_source(session, name)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"Source {name} disabled.")


@app.command()
def ingest(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .jsonl or .csv file."),
    country: str = typer.Option(..., help="Country of rows that name none (ISO alpha-2)."),
    source: str = typer.Option(..., help="Source name to file the posts under."),
    classify: bool = typer.Option(True, help="Send new posts on to classification."),
) -> None:
    """Import a platform export or a researchers' data set; report stored, duplicate and rejected rows."""
    from monitor.countries import CountryError
    from monitor.imports import import_file

    s = get_settings()
    started = time.perf_counter()
    try:
        with _sessions().begin() as session:
            result = import_file(session, path, country=country, source_name=source,
                                 opts=_ingest_options())
    except (ValueError, CountryError) as exc:
        raise typer.BadParameter(str(exc)) from None
    seconds = time.perf_counter() - started
    rows = result.stored + result.duplicates + result.rejected
    console.print(f"{path.name}: {result.stored} stored, {result.duplicates} duplicate, "
                  f"{result.rejected} rejected in {seconds:.2f} s ({rows / max(seconds, 1e-9):,.0f} rows/s).")
    if result.rejected:
        console.print("Rejected rows are recorded with their line numbers in the ingest_errors table.")
    if classify and result.new_post_ids:
        _classify_new(s, result.new_post_ids)


def _ingest_options():
    from monitor.ingest import IngestOptions

    s = get_settings()
    return IngestOptions(author_key=s.author_key(), max_post_chars=s.max_post_chars,
                         batch_size=s.ingest_batch_size)


def _classify_new(settings, post_ids: list[int]) -> None:
    from workers import tasks
    from workers.app import app as celery_app

    if not settings.embedded:
        batches = tasks.enqueue_classification(post_ids)
        console.print(f"Sent {len(post_ids)} posts to classification in {batches} batches.")
        return
    from monitor.status import pipeline_status
    from workers.embedded import embedded_worker, queued_messages, wait_for

    with embedded_worker(celery_app, settings):
        tasks.enqueue_classification(post_ids)

        def settled() -> bool:
            with tasks.sessions()() as session:
                st = pipeline_status(session)
            return st.classified == st.posts and st.rollup_posts == st.posts and queued_messages(celery_app) == 0

        wait_for(settled, timeout_s=3600, interval_s=0.5)
    console.print(f"Classified {len(post_ids)} new posts with the in-process worker.")


@app.command()
def report(
    week: str = typer.Option(..., help="ISO week, e.g. 2024-W07."),
    country: list[str] = typer.Option(None, help="Country code; repeat for several. Default: all."),
    output: Path = typer.Option(..., "-o", "--output", help="HTML file to write."),
) -> None:
    """Render the weekly report by hand."""
    from monitor.reports import write_report

    with _sessions()() as session:
        try:
            write_report(session, week, [c.upper() for c in country] or None, output)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"Report for {week} written to {output}.")


@alerts_app.command("list")
def alerts_list(country: str | None = None, status: str | None = None) -> None:
    """List alerts, newest first."""
    from monitor.alerts import list_alerts

    table = Table("id", "country", "kind", "status", "severity", "started", "last seen", "observed",
                  "expected", "top trigger")
    with _sessions()() as session:
        for a in list_alerts(session, country.upper() if country else None, status):
            trig = (a.details or {}).get("triggers") or [{}]
            table.add_row(str(a.id), a.country, a.kind, a.status, a.severity, str(a.started_on),
                          str(a.last_seen_on), f"{a.observed:g}", f"{a.expected:.1f}", trig[0].get("id", "-"))
    console.print(table)


@app.command()
def demo() -> None:
    """Run the whole pipeline on generated sample data: SQLite and an in-process Celery worker."""
    from workers.demo import run_demo

    result = run_demo(console)
    table = Table("country", "posts", "antisemitic", "share", title="Posts by country")
    for cc, posts, hostile in result.countries:
        table.add_row(cc, f"{posts:,}", f"{hostile:,}", f"{hostile / posts:.1%}" if posts else "-")
    console.print(table)
    st = result.status
    console.print(f"{st.posts:,} posts stored, {st.classified:,} classified, {st.errors} rejected rows recorded.")
    spikes = [a for a in result.alerts if a.kind == "spike"]
    for a in spikes:
        triggers = ", ".join(t["id"] for t in a.details.get("triggers", [])[:3]) or "-"
        categories = ", ".join(c["id"] for c in a.details.get("categories", [])[:3]) or "-"
        console.print(f"[bold]ALERT[/bold] {a.country}: antisemitic posts spiked from {a.started_on} "
                      f"(peak {a.observed:g} vs {a.expected:.1f} expected, severity {a.severity}, {a.status}); "
                      f"top triggers: {triggers}; categories: {categories}")
    if not spikes:
        console.print("No spike alert fired.")
    console.print(f"Weekly report {result.report_week}: {result.report_path}")
    console.print(f"Demo finished in {result.seconds:.1f} s. Data in {get_settings().data_dir}.")


def _mount_classifier_commands() -> None:
    from classifiers.commands import app as classifier_app

    for command in classifier_app.registered_commands:
        app.registered_commands.append(command)


_mount_classifier_commands()
