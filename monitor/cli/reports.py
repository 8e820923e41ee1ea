"""`vigil report`: render a weekly report by hand."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import console, sessions

app = typer.Typer()


@app.command()
def report(
    week: str = typer.Option(..., help="ISO week, e.g. 2024-W07."),
    country: list[str] = typer.Option(None, help="Country code; repeat for several. Default: all."),
    output: Path = typer.Option(..., "-o", "--output", help="HTML file to write."),
) -> None:
    """Render the weekly report by hand."""
    from monitor.reports import write_report

    with sessions()() as session:
        try:
            write_report(session, week, [c.upper() for c in country] or None, output)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"Report for {week} written to {output}.")
