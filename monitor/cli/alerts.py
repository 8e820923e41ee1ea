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

    table = Table("id", "country", "kind", "metric", "status", "severity", "started", "last seen", "observed",
                  "expected", "top trigger")
    with sessions()() as session:
        for a in list_alerts(session, country.upper() if country else None, status):
            trig = (a.details or {}).get("triggers") or [{}]
            table.add_row(str(a.id), a.country, a.kind, a.metric, a.status, a.severity, str(a.started_on),
                          str(a.last_seen_on), f"{a.observed:g}", f"{a.expected:.1f}", trig[0].get("id", "-"))
    console.print(table)


@app.command()
def ack(alert_id: int = typer.Argument(..., help="Alert id."),
        by: str = typer.Option(..., "--by", help="Who takes it on.")) -> None:
    """Acknowledge an open alert: someone is on it."""
    from monitor.alerts import AlertStateError, acknowledge

    with sessions().begin() as session:
        try:
            alert = acknowledge(session, alert_id, by)
        except AlertStateError as exc:
            raise typer.BadParameter(str(exc)) from None
        console.print(f"Alert {alert.id} acknowledged by {alert.acknowledged_by}.")


@app.command()
def resolve(alert_id: int = typer.Argument(..., help="Alert id."),
            by: str = typer.Option(..., "--by", help="Who closes it.")) -> None:
    """Resolve an open or acknowledged alert."""
    from monitor.alerts import AlertStateError
    from monitor.alerts import resolve as resolve_alert

    with sessions().begin() as session:
        try:
            alert = resolve_alert(session, alert_id, by)
        except AlertStateError as exc:
            raise typer.BadParameter(str(exc)) from None
        console.print(f"Alert {alert.id} resolved by {alert.resolved_by}.")


@app.command()
def show(alert_id: int = typer.Argument(..., help="Alert id.")) -> None:
    """Print an alert's text, as e-mail and webhook carry it."""
    from monitor.alerts import describe_alert
    from monitor.models import Alert

    with sessions()() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise typer.BadParameter(f"no alert {alert_id}")
        text = describe_alert(session, alert)
        console.print(text.subject, markup=False)
        console.print(text.body, markup=False)
