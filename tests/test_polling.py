"""Polling: due sources are leased once, a failing source backs off and never blocks the others."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from monitor.ingest import IngestOptions
from monitor.models import IngestError, Post
from monitor.polling import FetchOptions, backoff, claim_due_sources, poll_source
from monitor.sources.registry import add_source
from tests.factories import KEY

NOW = dt.datetime(2024, 2, 20, 12, tzinfo=dt.timezone.utc)
OPTS = IngestOptions(author_key=KEY)
FETCH = FetchOptions(timeout_s=5, max_bytes=1_000_000)

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>en</language>
<item><title>Budget approved</title><guid>a1</guid><pubDate>Tue, 20 Feb 2024 08:00:00 GMT</pubDate>
<description>The cabinet approved the budget.</description></item>
<item><title>Roads closed</title><guid>a2</guid><pubDate>Tue, 20 Feb 2024 09:00:00 GMT</pubDate>
<description>Snow closed the mountain roads.</description></item></channel></rss>"""


def test_claim_leases_due_sources_once(db_session):
    due = add_source(db_session, name="due", kind="rss", locator="http://x/feed", country="AM", poll_interval_s=600)
    later = add_source(db_session, name="later", kind="rss", locator="http://x/f2", country="AM")
    off = add_source(db_session, name="off", kind="rss", locator="http://x/f3", country="AM")
    due.next_due_at = NOW - dt.timedelta(minutes=1)
    later.next_due_at = NOW + dt.timedelta(minutes=5)
    off.next_due_at, off.enabled = NOW - dt.timedelta(hours=1), False
    db_session.flush()
    assert claim_due_sources(db_session, NOW) == [due.id]
    assert claim_due_sources(db_session, NOW) == []  # a second beat in the same minute sends nothing
    assert due.next_due_at == NOW + dt.timedelta(seconds=600)


def test_failing_source_backs_off_and_others_go_on(db_session, http_server):
    (http_server.root / "good.xml").write_text(FEED, encoding="utf-8")
    http_server.fail("bad.xml", 503)
    good = add_source(db_session, name="good", kind="rss", locator=http_server.url("good.xml"), country="AM")
    bad = add_source(db_session, name="bad", kind="rss", locator=http_server.url("bad.xml"), country="AM",
                     poll_interval_s=600)
    for attempt in (1, 2, 3):
        result = poll_source(db_session, bad.id, OPTS, FETCH, now=NOW)
        assert result.stored == 0
        assert bad.consecutive_failures == attempt
        assert bad.next_due_at == NOW + dt.timedelta(seconds=600 * 2 ** attempt)
        assert "503" in bad.last_error
    assert len(db_session.scalars(select(IngestError).where(IngestError.source_id == bad.id)).all()) == 3

    stored = poll_source(db_session, good.id, OPTS, FETCH, now=NOW)
    assert stored.stored == 2 and good.consecutive_failures == 0 and good.etag
    again = poll_source(db_session, good.id, OPTS, FETCH, now=NOW)
    assert again.stored == 0  # 304 Not Modified: nothing new, nothing duplicated
    assert len(db_session.scalars(select(Post).where(Post.source_id == good.id)).all()) == 2

    (http_server.root / "bad.xml").write_text(FEED, encoding="utf-8")
    http_server.faults.clear()
    recovered = poll_source(db_session, bad.id, OPTS, FETCH, now=NOW)
    assert recovered.stored == 2 and bad.consecutive_failures == 0 and bad.last_error is None


def test_backoff_is_capped():
    assert backoff(900, 1) == dt.timedelta(seconds=1800)
    assert backoff(900, 30) == dt.timedelta(hours=24)
