"""Which sources are due, and one poll of a source: fetch, store, remember state, back off on failure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.ingest import IngestOptions, IngestResult, record_errors, store_posts
from monitor.models import Source
from monitor.sources import FetchError, FetchState, RowError
from monitor.sources.registry import connector

log = structlog.get_logger(__name__)

MAX_BACKOFF = dt.timedelta(hours=24)


@dataclass(frozen=True)
class FetchOptions:
    timeout_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024


def claim_due_sources(session: Session, now: dt.datetime, limit: int = 500) -> list[int]:
    """Ids of enabled sources that are due, leased until their next interval so no beat enqueues twice."""
    due = session.scalars(
        select(Source)
        .where(Source.enabled.is_(True), Source.next_due_at <= now)
        .order_by(Source.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for source in due:
        source.next_due_at = now + dt.timedelta(seconds=source.poll_interval_s)
    return [s.id for s in due]


def backoff(interval_s: int, failures: int) -> dt.timedelta:
    """Exponential back-off after `failures` consecutive failures, capped at a day."""
    return min(dt.timedelta(seconds=interval_s * 2 ** min(failures, 16)), MAX_BACKOFF)


def poll_source(
    session: Session,
    source_id: int,
    ingest: IngestOptions,
    fetch: FetchOptions,
    now: dt.datetime | None = None,
) -> IngestResult | None:
    """Fetch one source and store what is new; a failed fetch is recorded and the source backs off."""
    now = now or dt.datetime.now(dt.timezone.utc)
    source = session.get(Source, source_id)
    if source is None or not source.enabled:
        return None
    bound = log.bind(source_id=source.id, country=source.country, kind=source.kind)
    state = FetchState(etag=source.etag, last_modified=source.last_modified, cursor=source.cursor)
    source.last_polled_at = now
    try:
        result = connector(source.kind).fetch(
            source.locator, state, timeout_s=fetch.timeout_s, max_bytes=fetch.max_bytes
        )
    except FetchError as exc:
        source.consecutive_failures = (source.consecutive_failures or 0) + 1
        source.last_error = str(exc)[:2000]
        source.next_due_at = now + backoff(source.poll_interval_s, source.consecutive_failures)
        record_errors(session, source.id, [RowError(location="fetch", error=str(exc)[:2000])], once=False)
        bound.warning("fetch_failed", error=str(exc)[:200], failures=source.consecutive_failures)
        return IngestResult()
    stored = store_posts(session, source, [*result.posts, *result.errors], ingest, now)
    if not result.not_modified:
        source.etag, source.last_modified = result.state.etag, result.state.last_modified
        source.cursor = result.state.cursor or source.cursor
    source.consecutive_failures = 0
    source.last_error = None
    source.last_success_at = now
    source.next_due_at = now + dt.timedelta(seconds=source.poll_interval_s)
    return stored
