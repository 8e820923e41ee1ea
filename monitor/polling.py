"""Which sources are due, and one poll of a source: fetch, store, back off on failure, remember state.

The fetch state (ETag, Last-Modified, cursor) is remembered in a step of its own, once the poll's posts
were sent on to classification: a poll retried or redelivered before that fetches the same posts again
instead of a `304 Not Modified`, finds them stored and still unclassified, and sends them on.
"""

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


@dataclass(frozen=True)
class PollResult:
    """What one poll stored, the fetch state it started from, and the state to remember once its posts
    are sent on (None when there is nothing new to remember: not modified, or the fetch failed)."""

    ingest: IngestResult
    seen: FetchState
    state: FetchState | None = None


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
) -> PollResult | None:
    """Fetch one source and store what is new; a failed fetch is recorded and the source backs off.

    The source's fetch state is left as it was: pass the result to `remember_state` once its posts are
    sent on."""
    now = now or dt.datetime.now(dt.timezone.utc)
    source = session.get(Source, source_id)
    if source is None or not source.enabled:
        return None
    bound = log.bind(source_id=source.id, country=source.country, kind=source.kind)
    seen = FetchState(etag=source.etag, last_modified=source.last_modified, cursor=source.cursor)
    source.last_polled_at = now
    try:
        result = connector(source.kind).fetch(
            source.locator, seen, timeout_s=fetch.timeout_s, max_bytes=fetch.max_bytes
        )
    except Exception as exc:  # noqa: BLE001 - a connector's bug fails this poll like a fetch error, not the task
        return _failed(session, source, seen, exc, now, bound)
    try:
        with session.begin_nested():  # rows streamed from a file: a read failing part way keeps none of them
            stored = store_posts(session, source, result.items(), ingest, now)
    except FetchError as exc:
        return _failed(session, source, seen, exc, now, bound)
    source.consecutive_failures = 0
    source.last_error = None
    source.last_success_at = now
    source.next_due_at = now + dt.timedelta(seconds=source.poll_interval_s)
    if result.not_modified:
        return PollResult(stored, seen)
    state = FetchState(result.state.etag, result.state.last_modified, result.state.cursor or seen.cursor)
    return PollResult(stored, seen, None if state == seen else state)


def _failed(session: Session, source: Source, seen: FetchState, exc: Exception, now: dt.datetime,
            bound) -> PollResult:
    """Record a failed fetch on the source, which backs off; the poll stores nothing and keeps its state."""
    error = str(exc) if isinstance(exc, FetchError) else f"{source.kind} connector failed: {type(exc).__name__}"
    source.consecutive_failures = (source.consecutive_failures or 0) + 1
    source.last_error = error[:2000]
    source.next_due_at = now + backoff(source.poll_interval_s, source.consecutive_failures)
    record_errors(session, source.id, [RowError(location="fetch", error=error[:2000])], once=False)
    if isinstance(exc, FetchError):
        bound.warning("fetch_failed", error=error[:200], failures=source.consecutive_failures)
    else:  # a traceback for the on-call engineer (plain: no local variables, see monitor/logs.py)
        bound.exception("fetch_crashed", error=error, failures=source.consecutive_failures)
    return PollResult(IngestResult(), seen)


def remember_state(session: Session, source_id: int, poll: PollResult) -> bool:
    """Store the fetch state a poll reached, unless the source's state is no longer the one it started
    from (another poll got further meanwhile); True when stored."""
    if poll.state is None:
        return False
    source = session.get(Source, source_id, with_for_update=True, populate_existing=True)  # locked, fresh
    if source is None or (source.etag, source.last_modified, source.cursor) != (
            poll.seen.etag, poll.seen.last_modified, poll.seen.cursor):
        return False
    source.etag, source.last_modified, source.cursor = poll.state.etag, poll.state.last_modified, poll.state.cursor
    return True
