"""Importing a file (platform export, researchers' data set) under a named source."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.countries import validate_country
from monitor.ingest import IngestOptions, IngestResult, store_posts
from monitor.models import Source
from monitor.sources.files import read_file


def import_file(session: Session, path: Path, *, country: str, source_name: str,
                opts: IngestOptions) -> IngestResult:
    """Store every readable row of `path`; rows that cannot be read are recorded with their line."""
    country = validate_country(country)
    source = session.scalar(select(Source).where(Source.name == source_name))
    if source is None:
        # A hand import is not polled by beat: the source is created disabled.
        source = Source(name=source_name, kind="file", locator=str(path.resolve()), country=country,
                        enabled=False, poll_interval_s=86_400, consecutive_failures=0)
        session.add(source)
        session.flush()
    elif source.country != country:
        raise ValueError(f"source {source_name!r} is filed under {source.country}, not {country}")
    return store_posts(session, source, read_file(path), opts)
