"""What the command modules share: the console and a session factory for the configured database."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import get_settings
from monitor.db import session_factory

console = Console()


def sessions() -> sessionmaker[Session]:
    return session_factory(get_settings().sqlalchemy_url)
