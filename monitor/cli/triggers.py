"""`vigil triggers`: what drives antisemitic discourse beyond the trigger taxonomy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from monitor.cli.common import console, sessions

app = typer.Typer(help="Triggers of antisemitic discourse.", no_args_is_help=True)


def _day(value: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time.min, tzinfo=dt.timezone.utc)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value}") from None


@app.command("emerging")
def emerging(
    country: str = typer.Option(..., help="ISO alpha-2 code, e.g. AM."),
    since: str = typer.Option(..., help="First day of the window (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, help="Day after the window (default: tomorrow, UTC)."),
    baseline_weeks: int = typer.Option(4, min=1, help="Weeks before the window to compare with."),
    top: int = typer.Option(15, min=1, max=100),
) -> None:
    """Terms whose share among antisemitic posts rose most against the baseline weeks."""
    from monitor.countries import validate_country
    from monitor.emerging import emerging_for_country

    try:
        cc = validate_country(country)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    start = _day(since)
    end = _day(until) if until else _day((dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat())
    if end <= start:
        raise typer.BadParameter("--until must be after --since")
    from monitor.triggers import current_taxonomy

    with sessions()() as session:
        terms = emerging_for_country(session, cc, start, end, start - dt.timedelta(weeks=baseline_weeks), top=top,
                                     taxonomy=current_taxonomy())
    if not terms:
        console.print(f"No emerging terms for {cc}: too few antisemitic posts in the window.")
        return
    table = Table("term", "z", "posts in window", "posts in baseline", "in the taxonomy",
                  title=f"Emerging terms, {cc}, {start.date()} to {end.date()} vs {baseline_weeks} weeks before")
    for t in terms:
        table.add_row(t["term"], f"{t['z']:.1f}", str(t["posts"]), str(t["baseline_posts"]),
                      ", ".join(t["triggers"]) or "no: new")
    console.print(table)


@app.command("check")
def check(
    file: Path = typer.Argument(..., help="The edited triggers.yaml to check (before it replaces the one in use)."),
    days: int = typer.Option(7, min=1, help="Tag the posts published in this many last days."),
    country: str | None = typer.Option(None, help="Only this country's posts (ISO alpha-2)."),
    limit: int = typer.Option(50_000, min=1, help="At most this many of the most recent posts."),
) -> None:
    """Check an edited trigger taxonomy: refuse it with the reason if it does not compile, else tag recent stored
    posts with it and with the taxonomy in use, and show per trigger how many posts each tags. Writes nothing."""
    from classifiers.taxonomy import PACKAGED, TAXONOMY_ERRORS, load_taxonomy
    from monitor.config import get_settings
    from monitor.countries import validate_country
    from monitor.triggers import compare_taxonomies, current_taxonomy

    in_use = get_settings().triggers_file or PACKAGED
    if file.resolve() == Path(in_use).resolve():  # it would be compared with itself, and workers read it already
        console.print(f"[red]{file} is the file in use:[/red] edit a copy, check the copy, then put it in place.",
                      markup=True, highlight=False)
        raise typer.Exit(1)
    try:
        edited = load_taxonomy(file)  # this process has read no earlier version of it: a broken file raises
    except TAXONOMY_ERRORS as exc:
        console.print(f"[red]{file} is refused:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    try:
        cc = validate_country(country) if country else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    current = current_taxonomy()
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    with sessions()() as session:
        read, changes = compare_taxonomies(session, current, edited, since=since, country=cc, limit=limit)
    where = f" in {cc}" if cc else ""
    cut = f" (capped at --limit {limit:,}: older ones may be left out)" if read == limit else ""
    table = Table("trigger", "posts now", "with the edit", "gained", "lost", "antisemitic now", "with the edit",
                  title=f"{file.name}: {len(edited.triggers)} triggers; {read:,} posts{where} of the last {days} "
                        f"days{cut}")
    for c in changes:
        table.add_row(c.trigger, f"{c.now:,}", f"{c.edited:,}", f"+{c.gained:,}", f"-{c.lost:,}",
                      f"{c.now_antisemitic:,}", f"{c.edited_antisemitic:,}")
    console.print(table)
    if edited.digest == current.digest:
        console.print("Tags the same as the taxonomy in use (same digest): nothing to re-tag.")
    else:
        console.print(f"Digest {current.digest} -> {edited.digest}. Terms only, each post on its date; the learned "
                      "part adds more to antisemitic posts. Once the file is in place, `vigil reclassify` re-tags "
                      "the stored posts.")
