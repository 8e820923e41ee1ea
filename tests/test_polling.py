"""Polling: due sources are leased once, a failing source backs off and never blocks the others, the fetch
state waits until it is remembered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from monitor.ingest import IngestOptions
from monitor.models import Classification, IngestError, Post
from monitor.polling import FetchOptions, PollResult, backoff, claim_due_sources, poll_source, remember_state
from monitor.sources import FetchState
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
        assert result.ingest.stored == 0 and result.state is None
        assert bad.consecutive_failures == attempt
        assert bad.next_due_at == NOW + dt.timedelta(seconds=600 * 2 ** attempt)
        assert "503" in bad.last_error
    assert len(db_session.scalars(select(IngestError).where(IngestError.source_id == bad.id)).all()) == 3

    stored = poll_source(db_session, good.id, OPTS, FETCH, now=NOW)
    assert stored.ingest.stored == 2 and good.consecutive_failures == 0
    assert remember_state(db_session, good.id, stored) and good.etag
    again = poll_source(db_session, good.id, OPTS, FETCH, now=NOW)
    assert again.ingest.stored == 0 and again.state is None  # 304 Not Modified: nothing new, nothing duplicated
    assert len(db_session.scalars(select(Post).where(Post.source_id == good.id)).all()) == 2

    (http_server.root / "bad.xml").write_text(FEED, encoding="utf-8")
    http_server.faults.clear()
    recovered = poll_source(db_session, bad.id, OPTS, FETCH, now=NOW)
    assert recovered.ingest.stored == 2 and bad.consecutive_failures == 0 and bad.last_error is None


def test_fetch_state_waits_until_remembered_so_a_repeated_poll_fetches_the_same_posts(db_session, http_server):
    (http_server.root / "feed.xml").write_text(FEED, encoding="utf-8")
    source = add_source(db_session, name="feed", kind="rss", locator=http_server.url("feed.xml"), country="AM")
    first = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    ids = sorted(first.ingest.new_post_ids)
    assert first.ingest.unclassified_post_ids == ids and len(ids) == 2
    assert (source.etag, source.cursor) == (None, None) and first.state.etag and first.state.cursor
    assert source.last_success_at == NOW  # the poll itself is recorded at once

    # Not remembered (the posts were never sent on): the same poll again is not conditional, finds the
    # posts stored and reports them again, as long as no classification reached them.
    before = len(http_server.requests)
    again = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert not any(k.lower() == "if-none-match" for k in http_server.requests[before][1])
    assert (again.ingest.stored, again.ingest.duplicates) == (0, 2)
    assert again.ingest.unclassified_post_ids == ids and again.state == first.state
    db_session.add(Classification(post_id=ids[0], model_version="m", antisemitic=False, score=0.1,
                                  category="none", triggers=[]))
    db_session.flush()
    assert poll_source(db_session, source.id, OPTS, FETCH, now=NOW).ingest.unclassified_post_ids == ids[1:]

    # A late run that started from an older state does not move the state back.
    assert remember_state(db_session, source.id, again)
    assert (source.etag, source.cursor) == (first.state.etag, first.state.cursor)
    stale = PollResult(first.ingest, FetchState(), FetchState(etag='"older"'))
    assert not remember_state(db_session, source.id, stale)
    assert source.etag == first.state.etag
    after = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert after.state is None and after.ingest.unclassified_post_ids == []  # 304 Not Modified
    assert len(db_session.scalars(select(Post).where(Post.source_id == source.id)).all()) == 2


def test_backoff_is_capped():
    assert backoff(900, 1) == dt.timedelta(seconds=1800)
    assert backoff(900, 30) == dt.timedelta(hours=24)


def test_a_connector_bug_fails_the_poll_like_a_fetch_error(db_session, monkeypatch):
    """An exception no connector should raise is recorded on the source, which backs off; the task goes on."""
    import monitor.sources.rss

    def broken(*_args, **_kwargs):
        raise TypeError("expected str, got int")

    monkeypatch.setattr(monitor.sources.rss, "fetch", broken)
    source = add_source(db_session, name="buggy", kind="rss", locator="http://x/feed", country="AM",
                        poll_interval_s=600)
    result = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert result.ingest.stored == 0 and result.state is None
    assert source.consecutive_failures == 1 and source.last_error == "rss connector failed: TypeError"
    assert source.next_due_at == NOW + dt.timedelta(seconds=1200)
    [error] = db_session.scalars(select(IngestError).where(IngestError.source_id == source.id)).all()
    assert error.location == "fetch" and error.error == "rss connector failed: TypeError"


def test_a_file_source_that_fails_part_way_keeps_none_of_it_and_is_read_whole_again(db_session, tmp_path,
                                                                                   monkeypatch):
    import types

    from monitor.sources import files

    path = tmp_path / "export.jsonl"
    path.write_text("".join(f'{{"id": "r{i}", "text": "Concert {i} in Gyumri"}}\n' for i in range(3)), encoding="utf-8")
    source = add_source(db_session, name="drop", kind="file", locator=str(path), country="AM")
    read = files.read_file

    def disk_error_after_two(p):
        for n, row in enumerate(read(p)):
            if n == 2:
                raise OSError(5, "Input/output error")
            yield row

    monkeypatch.setattr(files, "read_file", disk_error_after_two)
    one_by_one = IngestOptions(author_key=KEY, batch_size=1)  # the first two are inserted before the failure
    failed = poll_source(db_session, source.id, one_by_one, FETCH, now=NOW)
    assert failed.ingest.stored == 0 and failed.state is None
    assert db_session.scalars(select(Post).where(Post.source_id == source.id)).all() == []  # the first two too
    assert source.consecutive_failures == 1 and "Input/output error" in source.last_error
    monkeypatch.setattr(files, "read_file", read)
    whole = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert whole.ingest.stored == 3 and source.consecutive_failures == 0
    assert isinstance(files.fetch(str(path), FetchState()).rows, types.GeneratorType)  # read as stored


def test_a_line_nested_past_the_recursion_limit_is_a_row_error_and_the_rest_is_stored(db_session, tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text('{"id": "ok", "text": "fine"}\n' + "[" * 100_000 + '\n{"id": "ok2", "text": "also fine"}\n',
                    encoding="utf-8")
    source = add_source(db_session, name="deep", kind="file", locator=str(path), country="AM", poll_interval_s=600)
    polled = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert polled.ingest.stored == 2 and polled.ingest.rejected == 1 and source.consecutive_failures == 0
    [error] = db_session.scalars(select(IngestError).where(IngestError.source_id == source.id)).all()
    assert (error.location, error.error) == ("line 2", "line 2: JSON nested too deeply to read")
    assert error.raw is None  # a line it cannot read may hold a handle


def test_a_reader_that_fails_part_way_fails_the_poll_and_backs_off(db_session, tmp_path, monkeypatch):
    from monitor.sources import files

    path = tmp_path / "export.jsonl"
    path.write_text('{"id": "ok", "text": "fine"}\n{"id": "ok2", "text": "fine too"}\n', encoding="utf-8")
    source = add_source(db_session, name="choke", kind="file", locator=str(path), country="AM", poll_interval_s=600)
    read = files.read_file

    def choke_after_one(p):
        for n, row in enumerate(read(p)):
            if n == 1:
                raise RuntimeError("reader bug")
            yield row

    monkeypatch.setattr(files, "read_file", choke_after_one)
    failed = poll_source(db_session, source.id, OPTS, FETCH, now=NOW)
    assert failed.ingest.stored == 0 and failed.state is None
    assert source.consecutive_failures == 1 and "file connector failed (RuntimeError)" in source.last_error
    assert source.next_due_at == NOW + dt.timedelta(seconds=1200)  # backs off


