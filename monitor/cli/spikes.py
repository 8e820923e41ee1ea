"""`vigil spikes`: run the detectors on a CSV series, or replay stored history without writing."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import typer
from rich.table import Table

from monitor.cli.common import console, sessions

app = typer.Typer(help="Spike detection: on a CSV series, or replayed over stored history.",
                  no_args_is_help=True)


def read_series(path: Path) -> tuple[list[dt.datetime], list[float | None]]:
    """`timestamp,value` rows; an empty value is no data (never zero)."""
    stamps: list[dt.datetime] = []
    values: list[float | None] = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            stamps.append(dt.datetime.fromisoformat(row["timestamp"].strip()))
            raw = (row.get("value") or "").strip()
            values.append(float(raw) if raw else None)
    return stamps, values


@app.command()
def detect(
    series: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with timestamp,value."),
    resolution: str = typer.Option("5min", help="5min | hour | day."),
) -> None:
    """Print one JSON line {"timestamp","score","severity"} per detected event."""
    from monitor.spikes import RESOLUTIONS, detect_series

    if resolution not in RESOLUTIONS:
        raise typer.BadParameter(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    stamps, values = read_series(series)
    order = sorted(range(len(stamps)), key=stamps.__getitem__)
    found = detect_series([stamps[i] for i in order], [values[i] for i in order], resolution)
    for when, det in found:
        typer.echo(json.dumps({"timestamp": when.isoformat(sep=" "), "score": det.score,
                               "severity": det.severity, "observed": det.observed,
                               "expected": det.expected, "detector": det.detector}))


@app.command()
def backtest(
    country: str = typer.Option(..., help="Country code."),
    from_: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """Replay the checks (daily series, hourly count) over stored history and list the alerts that
    would have fired; writes nothing."""
    from sqlalchemy import delete

    from monitor.alerts import replay_spikes, spike_params
    from monitor.config import get_settings
    from monitor.models import Alert

    s = get_settings()
    cc = country.upper()
    start, end = dt.date.fromisoformat(from_), dt.date.fromisoformat(to)
    table = Table("kind", "metric", "severity", "started", "last seen", "observed", "expected", "score")
    with sessions()() as session:
        try:
            # Replay from a clean slate inside a transaction that is always rolled back, so the
            # stored alerts of the period neither hide nor absorb what the replay would raise.
            session.execute(delete(Alert).where(Alert.country == cc, Alert.kind == "spike",
                                                Alert.last_seen_on >= start, Alert.started_on <= end))
            # dry_run: the replay logs no alert_opened lines for alerts that are never stored.
            ids = replay_spikes(session, cc, start, end, spike_params(s), dry_run=True)
            for alert in sorted((session.get(Alert, i) for i in ids), key=lambda a: a.started_on):
                table.add_row(alert.kind, alert.metric, alert.severity, str(alert.started_on),
                              str(alert.last_seen_on), f"{alert.observed:g}", f"{alert.expected:.1f}",
                              f"{alert.score:.1f}")
        finally:
            session.rollback()  # a backtest only looks
    console.print(table)
    console.print(f"Dry run: {len(ids)} alert(s) would have fired for {cc} from {start} to {end}; "
                  "nothing was stored.")
