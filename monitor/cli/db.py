"""`vigil db`: the database schema."""

from __future__ import annotations

import typer

from monitor.cli.common import console
from monitor.config import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations to the configured database."""
    from alembic import command

    from migrations import alembic_config

    s = get_settings()
    if s.sqlalchemy_url.startswith("sqlite"):
        s.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(s.sqlalchemy_url), revision)
    console.print(f"Database at revision {revision}.")
