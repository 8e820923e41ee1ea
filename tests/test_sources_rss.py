"""RSS/Atom connector against a real local HTTP server and local files."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

from monitor.sources import FetchError, FetchState
from monitor.sources.rss import fetch
from tests.httpserver import http_server  # noqa: F401  (until conftest registers the plugin)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
UTC = dt.timezone.utc


@pytest.fixture
def feed_url(http_server):  # noqa: F811
    shutil.copy(FIXTURES / "news.rss", http_server.root / "news.rss")
    return http_server.url("news.rss")


def test_reads_entries_with_plain_text_utc_dates_and_language(feed_url):
    result = fetch(feed_url, FetchState())

    by_id = {post.external_id: post for post in result.posts}
    assert set(by_id) >= {"riverside-1001", "riverside-1002", "https://riverside.example/news/winds"}
    first = by_id["riverside-1001"]
    assert first.text == ("Council approves new bus routes\n\nThe council voted 7 to 2 for three new routes."
                          "\n\nService starts in May & runs hourly.")
    assert first.published_at == dt.datetime(2024, 3, 4, 8, 15, tzinfo=UTC)
    assert first.language == "en"  # from <language>en-GB</language>
    assert first.url == "https://riverside.example/news/bus-routes"
    # content:encoded wins over the summary; <script> is dropped, <br> kept as a line break.
    assert by_id["riverside-1002"].text == "Library reopens after repairs\n\nThe reading room is open again.\nHours: 9–18."
    # A summary that repeats the title is kept once.
    assert by_id["https://riverside.example/news/winds"].text == "Weather: heavy winds expected in the north"


def test_entry_without_text_is_a_row_error_located_by_its_id(feed_url):
    result = fetch(feed_url, FetchState())

    assert [(e.location, e.error) for e in result.errors] == [
        ("riverside-1003", "entry has no title, summary or content")]


def test_entry_without_id_or_link_gets_a_stable_content_hash(feed_url):
    first = fetch(feed_url, FetchState())
    second = fetch(feed_url, FetchState())

    undated = [p for p in first.posts if p.published_at is None]
    assert len(undated) == 1 and undated[0].external_id.startswith("sha256:")
    assert undated[0].external_id in {p.external_id for p in second.posts}


def test_new_state_carries_validators_and_newest_timestamp(feed_url):
    result = fetch(feed_url, FetchState())

    assert result.state.etag and result.state.last_modified
    assert result.state.cursor == "2024-03-07T07:30:00+00:00"
    assert not result.not_modified


def test_conditional_get_with_etag_returns_not_modified(http_server, feed_url):  # noqa: F811
    state = fetch(feed_url, FetchState()).state

    again = fetch(feed_url, state)

    assert again.not_modified and again.posts == [] and again.errors == []
    assert again.state == state
    assert http_server.requests[-1][1]["If-None-Match"] == state.etag


def test_conditional_get_with_last_modified_only(feed_url):
    state = fetch(feed_url, FetchState()).state

    again = fetch(feed_url, FetchState(last_modified=state.last_modified, cursor=state.cursor))

    assert again.not_modified


def test_changed_feed_is_fetched_again(http_server, feed_url):  # noqa: F811
    state = fetch(feed_url, FetchState()).state
    feed = http_server.root / "news.rss"
    feed.write_text(feed.read_text().replace("Stalls will open at eight.", "Stalls open at nine."))

    again = fetch(feed_url, state)

    assert not again.not_modified and again.state.etag != state.etag


def test_cursor_skips_dated_entries_older_than_its_overlap_but_keeps_undated(feed_url):
    """Entries dated up to 48 hours before the cursor are read again (storage ignores the ones stored), so an
    entry that shows up late, dated before one already read, is not lost."""
    everything = {p.title: p for p in fetch(feed_url, FetchState()).posts}
    result = fetch(feed_url, FetchState(cursor="2024-03-07T07:30:00+00:00"))

    kept = {t for t, p in everything.items() if p.published_at is None
            or p.published_at >= dt.datetime(2024, 3, 5, 7, 30, tzinfo=dt.timezone.utc)}
    assert {p.title for p in result.posts} == kept and len(kept) < len(everything)
    assert "Market day moved to Saturday" in kept  # 2024-03-05 14:00, before the cursor but within the overlap
    assert result.state.cursor == "2024-03-07T07:30:00+00:00"


def test_cursor_is_kept_when_nothing_is_newer(feed_url):
    result = fetch(feed_url, FetchState(cursor="2024-03-20T00:00:00+00:00"))

    assert result.posts == [] or all(p.published_at is None for p in result.posts)
    assert result.state.cursor == "2024-03-20T00:00:00+00:00"


def test_a_stored_cursor_past_now_counts_as_now(feed_url):
    """A 2034 date (a typo, a wrong clock) would otherwise hide every real entry until 2034."""
    now = dt.datetime(2024, 3, 7, 12, tzinfo=dt.timezone.utc)
    result = fetch(feed_url, FetchState(cursor="2034-01-01T00:00:00+00:00"), now=now)
    assert result.state.cursor == now.isoformat()  # a stored cursor past now counts as now
    assert "Weather: heavy winds expected in the north" in {p.title for p in result.posts}


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "chunked"])
def test_body_over_the_size_cap_is_refused(http_server, content_length):  # noqa: F811
    http_server.huge("big.rss", 3 * 1024 * 1024, content_length=content_length)

    with pytest.raises(FetchError, match="byte limit"):
        fetch(http_server.url("big.rss"), FetchState(), max_bytes=1024 * 1024)


def test_slow_server_times_out(http_server, feed_url):  # noqa: F811
    http_server.slow("news.rss", 5)
    started = time.monotonic()

    with pytest.raises(FetchError, match="timed out"):
        fetch(feed_url, FetchState(), timeout_s=0.3)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_error_status_is_a_fetch_error(http_server, status):  # noqa: F811
    http_server.fail("news.rss", status)

    with pytest.raises(FetchError, match=f"HTTP {status}"):
        fetch(http_server.url("news.rss"), FetchState())


def test_connection_refused_is_a_fetch_error(http_server):  # noqa: F811
    url = http_server.base_url.rsplit(":", 1)[0] + ":1/feed.rss"

    with pytest.raises(FetchError, match="could not fetch"):
        fetch(url, FetchState(), timeout_s=2)


def test_malformed_document_without_entries_is_a_fetch_error(http_server):  # noqa: F811
    shutil.copy(FIXTURES / "malformed.rss", http_server.root / "down.rss")

    with pytest.raises(FetchError, match="not a readable RSS/Atom feed"):
        fetch(http_server.url("down.rss"), FetchState())


def test_malformed_feed_with_entries_keeps_them():
    result = fetch(str(FIXTURES / "broken_but_readable.rss"), FetchState())

    assert [p.external_id for p in result.posts] == ["hilltop-1", "hilltop-2"]
    assert result.posts[0].url is None  # a <guid> that is no URL is not offered as the post's link


def test_atom_from_file_url_with_entry_language():
    result = fetch((FIXTURES / "news.atom").as_uri(), FetchState())

    assert [(p.external_id, p.language) for p in result.posts] == [
        ("urn:example:valley-news:1", "ru"), ("urn:example:valley-news:2", "hy")]
    assert result.posts[0].published_at == dt.datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    assert result.posts[0].text == "Открылся новый мост через реку\n\nДвижение по мосту открыто с утра."


def test_local_file_over_the_cap_is_refused():
    with pytest.raises(FetchError, match="byte limit"):
        fetch(str(FIXTURES / "news.rss"), FetchState(), max_bytes=100)


def test_missing_local_file_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match="cannot read feed file"):
        fetch(str(tmp_path / "absent.rss"), FetchState())


def test_entries_dated_after_now_are_read_but_never_become_the_cursor(feed_url):
    now = dt.datetime(2024, 3, 6, tzinfo=dt.timezone.utc)  # the 03-06 and 03-07 entries are "in the future"
    result = fetch(feed_url, FetchState(), now=now)
    assert result.state.cursor == "2024-03-05T14:00:00+00:00"
    assert any(p.published_at and p.published_at > now for p in result.posts)
