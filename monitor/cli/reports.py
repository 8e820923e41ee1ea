"""`vigil report`: render a weekly report by hand (HTML, PDF or CSV), or resend a delivered one."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import console, sessions

app = typer.Typer()


@app.command()
def report(
    action: str = typer.Argument(None, metavar="[resend]", help="`resend RUN_ID` sends a delivered run again."),
    run_id: int = typer.Argument(None, metavar="[RUN_ID]", show_default=False, help="With resend: the run."),
    week: str = typer.Option(None, help="ISO week, e.g. 2024-W07."),
    country: list[str] = typer.Option(None, help="Country code; repeat for several. Default: all."),
    fmt: str = typer.Option("html", "--format", help="html, pdf or csv."),
    output: Path = typer.Option(None, "-o", "--output", help="File (or directory) to write."),
    to: list[str] = typer.Option(None, help="With resend: send to these addresses instead of the run's."),
) -> None:
    """Render the weekly report by hand: `vigil report --week 2024-W07 --format pdf -o r.pdf`;
    or send a delivered run again: `vigil report resend 12`."""
    if action is not None:
        _resend(action, run_id, to)
        return
    if not week or output is None:
        raise typer.BadParameter("give --week and -o/--output (or `resend RUN_ID`)")
    from monitor.config import get_settings
    from monitor.reports import FORMATS, write_report

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    with sessions()() as session:
        try:
            path = write_report(session, week, [c.upper() for c in country or []] or None, output, fmt,
                                model_dir=get_settings().model_dir)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"Report for {week} written to {path}.")


def _resend(action: str, run_id: int | None, to: list[str] | None) -> None:
    if action != "resend" or run_id is None:
        raise typer.BadParameter("the only action is `resend RUN_ID`")
    from monitor.config import get_settings
    from monitor.reporting import resend_run

    with sessions().begin() as session:
        try:
            recipients = resend_run(session, run_id, get_settings(), to=list(to or []) or None)
        except (LookupError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from None
    console.print(f"Report run #{run_id} sent again to {', '.join(recipients)}.")
