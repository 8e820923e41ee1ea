"""`vigil triggers`: what drives antisemitic discourse beyond the trigger taxonomy."""

from __future__ import annotations

import datetime as dt

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
    with sessions()() as session:
        terms = emerging_for_country(session, cc, start, end, start - dt.timedelta(weeks=baseline_weeks), top=top)
    if not terms:
        console.print(f"No emerging terms for {cc}: too few antisemitic posts in the window.")
        return
    table = Table("term", "z", "posts in window", "posts in baseline",
                  title=f"Emerging terms, {cc}, {start.date()} to {end.date()} vs {baseline_weeks} weeks before")
    for t in terms:
        table.add_row(t["term"], f"{t['z']:.1f}", str(t["posts"]), str(t["baseline_posts"]))
    console.print(table)
