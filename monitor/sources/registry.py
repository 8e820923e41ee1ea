"""The kinds of source Vigil knows, and adding, listing and disabling sources."""

from __future__ import annotations

import importlib
from types import ModuleType

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.countries import validate_country
from monitor.models import Source

KINDS = ("rss", "mastodon", "file")


def connector(kind: str) -> ModuleType:
    """The connector module for a kind; each has `fetch(locator, state, **options) -> FetchResult`."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; known: {', '.join(KINDS)}")
    module = "files" if kind == "file" else kind
    return importlib.import_module(f"monitor.sources.{module}")


def add_source(
    session: Session,
    *,
    name: str,
    kind: str,
    locator: str,
    country: str,
    language: str | None = None,
    poll_interval_s: int = 900,
) -> Source:
    """Add a source (or update the one with this name) and return it."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; known: {', '.join(KINDS)}")
    if poll_interval_s < 30:
        raise ValueError("poll interval must be at least 30 seconds")
    country = validate_country(country)
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, kind=kind, locator=locator, country=country, language=language,
                        poll_interval_s=poll_interval_s, enabled=True, consecutive_failures=0)
        session.add(source)
    else:
        source.kind, source.locator, source.country = kind, locator, country
        source.language, source.poll_interval_s, source.enabled = language, poll_interval_s, True
    session.flush()
    return source


def list_sources(session: Session) -> list[Source]:
    """Every source, by country and name."""
    return list(session.scalars(select(Source).order_by(Source.country, Source.name)))


def disable_source(session: Session, name: str) -> Source:
    """Stop polling a source; its posts stay."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise LookupError(f"no source named {name!r}")
    source.enabled = False
    return source
