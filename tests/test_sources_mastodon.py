"""Mastodon connector against the local server's emulation of the tag timeline and account endpoints."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.sources import FetchError, FetchState, RawPost
from monitor.sources.html import html_to_text
from monitor.sources.mastodon import fetch
from tests.httpserver import http_server  # noqa: F401  (until conftest registers the plugin)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
TIMELINE = "/api/v1/timelines/tag/buses"


def load_statuses() -> list[dict]:
    return json.loads((FIXTURES / "mastodon_statuses.json").read_text(encoding="utf-8"))


def numbered(first: int, count: int) -> list[dict]:
    """`count` plain statuses with ids first..first+count-1, built on the fixture's first status."""
    template = load_statuses()[0]
    statuses = []
    for number in range(first, first + count):
        status = copy.deepcopy(template)
        status["id"] = str(number)
        status["content"] = f"<p>Bus route update number {number}.</p>"
        statuses.append(status)
    return statuses


def timeline_queries(server) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(path).query) for path in server.paths() if path.startswith(TIMELINE)]


@pytest.fixture
def tag_url(http_server):  # noqa: F811
    return http_server.url("tags/buses")


def test_pages_back_across_three_pages_since_the_cursor(http_server, tag_url):  # noqa: F811
    # Ids 95..109: the cursor "99" must compare as a number against "100".
    http_server.mastodon(numbered(95, 15))

    result = fetch(tag_url, FetchState(cursor="99"), page_limit=4)

    assert sorted(int(p.external_id) for p in result.posts) == list(range(100, 110))
    assert result.state.cursor == "109"
    queries = timeline_queries(http_server)
    assert len(queries) == 3  # 4 + 4 + 2 statuses; a short page has no "next" link
    assert all(q["since_id"] == ["99"] and q["limit"] == ["4"] for q in queries)
    assert [q.get("max_id") for q in queries] == [None, ["106"], ["102"]]


def test_pages_by_smallest_id_when_the_server_sends_no_link_header(http_server, tag_url):  # noqa: F811
    http_server.mastodon(numbered(100, 10))
    http_server.link_headers = False

    result = fetch(tag_url, FetchState(cursor="101"), page_limit=4)

    assert sorted(int(p.external_id) for p in result.posts) == list(range(102, 110))
    assert [q.get("max_id") for q in timeline_queries(http_server)] == [None, ["106"], ["102"]]


def test_first_poll_has_no_since_id_and_stops_at_max_pages(http_server, tag_url):  # noqa: F811
    http_server.mastodon(numbered(100, 30))

    result = fetch(tag_url, FetchState(), page_limit=5, max_pages=2)

    assert len(result.posts) == 10 and result.state.cursor == "129"
    assert all("since_id" not in q for q in timeline_queries(http_server))
    assert result.errors == []  # a first poll has no gap to report, only a backfill limit


def test_gap_after_max_pages_is_reported(http_server, tag_url):  # noqa: F811
    http_server.mastodon(numbered(100, 30))

    result = fetch(tag_url, FetchState(cursor="105"), page_limit=5, max_pages=2)

    assert result.state.cursor == "129"
    assert [e.location for e in result.errors] == ["ids 105..120"]
    assert "older ones skipped" in result.errors[0].error


def test_no_new_statuses_keeps_the_cursor(http_server, tag_url):  # noqa: F811
    http_server.mastodon(numbered(100, 3))

    result = fetch(tag_url, FetchState(cursor="102"))

    assert result.posts == [] and result.state.cursor == "102"


def test_parses_status_shape_reblog_spoiler_and_empty_status(http_server, tag_url):  # noqa: F811
    http_server.mastodon(load_statuses())

    result = fetch(tag_url, FetchState())

    posts = {p.external_id: p for p in result.posts}
    plain = posts["110000000000000101"]
    assert plain == RawPost(
        external_id="110000000000000101",
        text="Council approves three new #buses routes.\nService starts in May & runs hourly.\n\n"
             "Details: https://riverside.example/news/bus-routes",
        url="https://social.example/@riverside/110000000000000101",
        author="riverside@127.0.0.1:" + http_server.base_url.rsplit(":", 1)[1],
        published_at=dt.datetime(2024, 3, 4, 9, 15, tzinfo=dt.timezone.utc),
        language="en",
    )
    reblog = posts["110000000000000102"]  # outer id and time, inner text, link, author and language
    assert reblog.text == "Новый мост через реку открыт для #buses с утра."
    assert reblog.url == "https://other.example/@valley/109999999999999001"
    assert reblog.author == "valley@other.example"
    assert reblog.language == "ru"
    assert reblog.published_at == dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.timezone.utc)
    warned = posts["110000000000000104"]
    assert warned.text == 'Road closure\n\nՁյունը փակել է լեռնային ճանապարհը "մինչև կեսօր"։'
    assert [(e.location, e.error) for e in result.errors] == [
        ("110000000000000103", "status has no text (media or poll only)")]
    assert result.state.cursor == "110000000000000104"


def test_a_malformed_status_is_a_row_error_kept_without_its_accounts(http_server, tag_url):  # noqa: F811
    statuses = numbered(301, 3)
    statuses[1]["content"] = {"not": "html"}  # a server that does not follow the API
    statuses[1]["account"]["acct"] = "erin_handle"
    http_server.mastodon(statuses)

    result = fetch(tag_url, FetchState())

    assert sorted(p.external_id for p in result.posts) == ["301", "303"]
    [error] = result.errors
    assert error.location == "302" and error.error.startswith("malformed status (")
    assert "erin_handle" not in error.raw and '"id": "302"' in error.raw


def test_account_locator_looks_up_the_account_then_reads_its_statuses(http_server):  # noqa: F811
    http_server.mastodon(load_statuses())

    result = fetch(http_server.url("@hilltop"), FetchState())

    assert sorted(p.external_id for p in result.posts) == ["110000000000000102", "110000000000000104"]
    assert http_server.paths()[0] == "/api/v1/accounts/lookup?acct=hilltop"
    assert http_server.paths()[1].startswith("/api/v1/accounts/43/statuses?")


def test_unknown_account_is_a_fetch_error(http_server):  # noqa: F811
    http_server.mastodon(load_statuses())

    with pytest.raises(FetchError, match="no account @nobody"):
        fetch(http_server.url("@nobody"), FetchState())


def test_rate_limit_is_a_fetch_error_that_says_so(http_server, tag_url):  # noqa: F811
    http_server.fail(TIMELINE, 429, b'{"error":"Too many requests"}', {"Retry-After": "120"})

    with pytest.raises(FetchError, match=r"rate limit.*HTTP 429.*retry after 120"):
        fetch(tag_url, FetchState())


def test_server_error_is_a_fetch_error(http_server, tag_url):  # noqa: F811
    http_server.fail(TIMELINE, 502)

    with pytest.raises(FetchError, match="HTTP 502"):
        fetch(tag_url, FetchState())


def test_non_json_answer_is_a_fetch_error(http_server, tag_url):  # noqa: F811
    http_server.fail(TIMELINE, 200, b"<html>maintenance</html>")

    with pytest.raises(FetchError, match="did not return JSON"):
        fetch(tag_url, FetchState())


def test_answer_over_the_size_cap_is_refused(http_server, tag_url):  # noqa: F811
    http_server.huge(TIMELINE, 2 * 1024 * 1024, content_length=False)

    with pytest.raises(FetchError, match="byte limit"):
        fetch(tag_url, FetchState(), max_bytes=256 * 1024)


def test_slow_server_times_out(http_server, tag_url):  # noqa: F811
    http_server.mastodon(load_statuses())
    http_server.slow(TIMELINE, 5)

    with pytest.raises(FetchError, match="timed out"):
        fetch(tag_url, FetchState(), timeout_s=0.3)


@pytest.mark.parametrize("locator", ["https://social.example/", "https://social.example/@",
                                     "https://social.example/tags/a/b", "ftp://social.example/tags/x"])
def test_unsupported_locator_is_a_fetch_error(locator):
    with pytest.raises(FetchError):
        fetch(locator, FetchState())


def test_html_reduction_keeps_breaks_and_unescapes():
    html = ('<p>First &amp; <strong>bold</strong><br>second line</p>'
            '<p>Para <a href="https://x.example/"><span class="invisible">https://</span>'
            '<span>x.example</span></a>&nbsp;&#1329;&lt;3</p><script>alert(1)</script>')

    assert html_to_text(html) == "First & bold\nsecond line\n\nPara https://x.example Ա<3"
