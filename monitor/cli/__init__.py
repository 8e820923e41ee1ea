"""The `vigil` command: one typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from monitor.cli import (
    alerts,
    db,
    demo,
    ingest,
    reclassify,
    reports,
    serve,
    sources,
    spikes,
    tokens,
    triggers,
)
from monitor.config import get_settings
from monitor.logs import configure_logging

app = typer.Typer(help="Vigil: antisemitic discourse, its triggers and its spikes, country by country.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(alerts.app, name="alerts")
app.add_typer(spikes.app, name="spikes")
app.add_typer(tokens.app, name="tokens")
app.add_typer(triggers.app, name="triggers")
for module in (ingest, reclassify, reports, demo, serve):
    app.registered_commands.extend(module.app.registered_commands)


@app.callback()
def _main() -> None:
    s = get_settings()
    configure_logging(s.log_level, s.log_json)


def _mount_classifier_commands() -> None:
    from classifiers.commands import app as classifier_app

    app.registered_commands.extend(classifier_app.registered_commands)


_mount_classifier_commands()
