"""`vigil sources`: add, list and disable the sources of posts."""

from __future__ import annotations

import typer
from rich.table import Table

from monitor.cli.common import console, sessions

app = typer.Typer(help="Sources of posts.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Option(..., help="A unique name."),
    kind: str = typer.Option(..., help="rss | mastodon | file"),
    locator: str = typer.Option(..., help="Feed URL, Mastodon tag/account URL, or file path."),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-2 code, e.g. AM."),
    language: str | None = typer.Option(None, help="Language hint when posts carry none."),
    interval: int = typer.Option(900, help="Seconds between polls."),
) -> None:
    """Add or update a source."""
    from monitor.sources.registry import add_source

    try:
        with sessions().begin() as session:
            src = add_source(session, name=name, kind=kind, locator=locator, country=country,
                             language=language, poll_interval_s=interval)
            console.print(f"Source {src.name} ({src.kind}, {src.country}) saved with id {src.id}.")
    except ValueError as exc:  # CountryError is a ValueError
        raise typer.BadParameter(str(exc)) from None


@app.command("list")
def list_() -> None:
    """List sources with their health."""
    from monitor.sources.registry import list_sources

    table = Table("id", "name", "kind", "country", "enabled", "failures", "last success", "last error")
    with sessions()() as session:
        for s in list_sources(session):
            table.add_row(str(s.id), s.name, s.kind, s.country, "yes" if s.enabled else "no",
                          str(s.consecutive_failures), str(s.last_success_at or "-"),
                          (s.last_error or "")[:60])
    console.print(table)


@app.command("disable")
def disable(name: str) -> None:
    """Stop polling a source (its posts stay)."""
    from monitor.sources.registry import disable_source

    try:
        with sessions().begin() as session:
            disable_source(session, name)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"Source {name} disabled.")
