"""RSS and Atom feeds, over HTTP with conditional GETs or from local files (the embedded demo)."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import feedparser
import httpx
import structlog

from monitor.db import as_utc
from monitor.language import normalise_code
from monitor.sources import FetchError, FetchResult, FetchState, RawPost, RowError
from monitor.sources.html import html_to_text

log = structlog.get_logger(__name__)

USER_AGENT = "Vigil/0.1 (discourse monitor; RSS reader)"
CURSOR_OVERLAP = dt.timedelta(hours=48)
_FEED_TYPES = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


def fetch(locator: str, state: FetchState, *, timeout_s: float = 20.0, max_bytes: int = 10 * 1024 * 1024,
          client: httpx.Client | None = None, now: dt.datetime | None = None) -> FetchResult:
    """Fetch the feed at `locator` (http(s) URL, file:// URL or path) and return its entries not older than the
    cursor's overlap (see read_entries)."""
    if urlsplit(locator).scheme in ("http", "https"):
        downloaded = _download(locator, state, timeout_s=timeout_s, max_bytes=max_bytes, client=client)
        if downloaded is None:
            return FetchResult(state=FetchState(state.etag, state.last_modified, state.cursor), not_modified=True)
        body, content_type, etag, last_modified = downloaded
    else:
        body, content_type, etag, last_modified = _read_local(locator, max_bytes), None, None, None

    headers = {"content-type": content_type} if content_type else {}
    feed = feedparser.parse(body, response_headers=headers)
    if feed.bozo and not feed.entries:
        raise FetchError(f"not a readable RSS/Atom feed: {feed.get('bozo_exception') or 'no entries'}")
    if feed.bozo:
        log.warning("rss.malformed_feed_kept", locator=locator, entries=len(feed.entries),
                    problem=str(feed.get("bozo_exception"))[:200])

    result = read_entries(feed, cursor=state.cursor, now=now)
    result.state = FetchState(etag=etag, last_modified=last_modified, cursor=result.state.cursor)
    log.info("rss.fetched", locator=locator, posts=len(result.posts), errors=len(result.errors),
             cursor=result.state.cursor)
    return result


def read_entries(feed: feedparser.FeedParserDict, *, cursor: str | None = None,
                 now: dt.datetime | None = None) -> FetchResult:
    """Turn parsed feed entries into posts and row errors; skip dated entries older than `CURSOR_OVERLAP` before
    the cursor (the newest date read so far).

    The cursor only saves work: storage ignores posts already stored. So it is read with an overlap (an entry
    that appears late, dated before one already read, is still taken) and never moves past `now` (an entry
    dated in the future would otherwise hide every real one until that date).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    since = _parse_cursor(cursor)
    if since is not None:
        since = min(since, now)
    newest = since
    feed_language = normalise_code(feed.feed.get("language"))
    result = FetchResult()
    for position, entry in enumerate(feed.entries, start=1):
        published = _published_at(entry)
        if published is not None and since is not None and published < since - CURSOR_OVERLAP:
            continue
        location = entry.get("id") or entry.get("link") or f"entry {position}"
        title = html_to_text(entry.get("title", ""))
        body = _body_text(entry)
        text = _entry_text(title, body)
        if not text:
            result.errors.append(RowError(location=location, error="entry has no title, summary or content"))
            continue
        link = _http_url(entry.get("link"))
        result.posts.append(RawPost(
            external_id=entry.get("id") or link or _content_id(title, link),
            text=text,
            url=link,
            title=title or None,
            author=entry.get("author") or None,
            published_at=published,
            language=_entry_language(entry) or feed_language,
        ))
        if published is not None and published <= now and (newest is None or published > newest):
            newest = published
    result.state = FetchState(cursor=newest.isoformat() if newest else None)
    return result


def _download(url: str, state: FetchState, *, timeout_s: float, max_bytes: int,
              client: httpx.Client | None) -> tuple[bytes, str | None, str | None, str | None] | None:
    """GET `url` conditionally; return (body, content type, ETag, Last-Modified), or None on 304."""
    headers = {"Accept": _FEED_TYPES}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, headers={"User-Agent": USER_AGENT})
    # httpx's timeout bounds each read; the deadline also bounds a server that trickles bytes forever.
    deadline = time.monotonic() + timeout_s
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout_s) as response:
            if response.status_code == 304:
                return None
            if not response.is_success:
                raise FetchError(f"HTTP {response.status_code} from {url}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"feed is {int(declared)} bytes, over the {max_bytes}-byte limit")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"feed is over the {max_bytes}-byte limit")
                if time.monotonic() > deadline:
                    raise FetchError(f"feed took over {timeout_s} s to download")
                chunks.append(chunk)
            return (b"".join(chunks), response.headers.get("Content-Type"),
                    response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out after {timeout_s} s fetching {url}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from exc
    finally:
        if own_client:
            client.close()


def _read_local(locator: str, max_bytes: int) -> bytes:
    parts = urlsplit(locator)
    path = Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(locator)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read feed file {path}: {exc.strerror or exc}") from exc
    if len(body) > max_bytes:
        raise FetchError(f"feed file {path} is over the {max_bytes}-byte limit")
    return body


def _parse_cursor(cursor: str | None) -> dt.datetime | None:
    try:
        since = dt.datetime.fromisoformat(cursor) if cursor else None
    except ValueError:
        # A cursor we cannot read only costs re-reading the feed; storage is idempotent.
        log.warning("rss.bad_cursor", cursor=cursor[:64])
        return None
    return as_utc(since) if since else None


def _entry_text(title: str, body: str) -> str:
    # Many feeds repeat the title as the summary, or open the summary with it; keep it once.
    if not body or body == title:
        return title
    if not title or body.startswith(title):
        return body
    return f"{title}\n\n{body}"


def _body_text(entry: feedparser.FeedParserDict) -> str:
    # Full content when the feed carries it, else the summary; both may be HTML or plain text.
    detail = (entry.get("content") or [None])[0] or entry.get("summary_detail")
    if not detail:
        return html_to_text(entry.get("summary", ""))
    value = detail.get("value", "")
    if "html" in (detail.get("type") or "text/html"):
        return html_to_text(value)
    return value.strip()


def _published_at(entry: feedparser.FeedParserDict) -> dt.datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    # feedparser normalises to a UTC struct_time; timegm reads it as UTC, unlike mktime.
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.timezone.utc)


def _entry_language(entry: feedparser.FeedParserDict) -> str | None:
    for detail in (*(entry.get("content") or []), entry.get("summary_detail"), entry.get("title_detail")):
        if detail and detail.get("language"):
            return normalise_code(detail["language"])
    return normalise_code(entry.get("language"))


def _http_url(link: str | None) -> str | None:
    # feedparser offers a <guid> as the link unless isPermaLink="false", even when it is no URL.
    return link if link and urlsplit(link).scheme in ("http", "https") else None


def _content_id(title: str, link: str | None) -> str:
    return "sha256:" + hashlib.sha256(f"{title}\n{link or ''}".encode()).hexdigest()
