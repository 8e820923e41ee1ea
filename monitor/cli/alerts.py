"""`vigil alerts`: spike and data-gap alerts."""

from __future__ import annotations

import typer
from rich.table import Table

from monitor.cli.common import console, sessions

app = typer.Typer(help="Spike alerts.", no_args_is_help=True)


@app.command("list")
def list_(country: str | None = None, status: str | None = None) -> None:
    """List alerts, newest first."""
    from monitor.alerts import list_alerts

    table = Table("id", "country", "kind", "status", "severity", "started", "last seen", "observed",
                  "expected", "top trigger")
    with sessions()() as session:
        for a in list_alerts(session, country.upper() if country else None, status):
            trig = (a.details or {}).get("triggers") or [{}]
            table.add_row(str(a.id), a.country, a.kind, a.status, a.severity, str(a.started_on),
                          str(a.last_seen_on), f"{a.observed:g}", f"{a.expected:.1f}", trig[0].get("id", "-"))
    console.print(table)
