"""Mastodon-compatible APIs: a hashtag timeline or an account's statuses, read since the last status seen.

Locators: `https://host/tags/HASHTAG` and `https://host/@account` (or `@account@other.host`).
A reblog keeps the outer status's id and time (when it reached this timeline) and takes the text,
URL, author and language of the reblogged status (what was said, and by whom).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import structlog

from monitor.db import as_utc
from monitor.language import normalise_code
from monitor.sources import FetchError, FetchResult, FetchState, RawPost, RowError
from monitor.sources.html import html_to_text

log = structlog.get_logger(__name__)

USER_AGENT = "Vigil/0.1 (discourse monitor; Mastodon reader)"


def fetch(locator: str, state: FetchState, *, timeout_s: float = 20.0, max_bytes: int = 10 * 1024 * 1024,
          client: httpx.Client | None = None, page_limit: int = 40, max_pages: int = 10) -> FetchResult:
    """Fetch statuses newer than `state.cursor` (a status id), paging backwards; the new cursor is the newest id."""
    base, kind, name = _parse_locator(locator)
    host = urlsplit(base).netloc
    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, headers={"User-Agent": USER_AGENT})
    get = _Getter(client, timeout_s=timeout_s, max_bytes=max_bytes)
    try:
        if kind == "account":
            account, _ = get(f"{base}/api/v1/accounts/lookup", {"acct": name}, missing=f"no account @{name} on {host}")
            if not isinstance(account, dict) or "id" not in account:
                raise FetchError(f"unexpected account lookup answer from {host}")
            endpoint = f"{base}/api/v1/accounts/{quote(str(account['id']), safe='')}/statuses"
        else:
            endpoint = f"{base}/api/v1/timelines/tag/{quote(name, safe='')}"
        return _read_pages(get, endpoint, state, host=host, page_limit=page_limit, max_pages=max_pages)
    finally:
        if own_client:
            client.close()


def _read_pages(get: _Getter, endpoint: str, state: FetchState, *, host: str,
                page_limit: int, max_pages: int) -> FetchResult:
    since_id = state.cursor
    result = FetchResult()
    newest, oldest, seen = since_id, None, set()
    max_id, more = None, False
    for _ in range(max_pages):
        params = {"limit": str(page_limit)}
        if since_id:
            params["since_id"] = since_id
        if max_id:
            params["max_id"] = max_id
        page, links = get(endpoint, params)
        if not isinstance(page, list):
            raise FetchError(f"expected a list of statuses from {host}, got {type(page).__name__}")
        for position, status in enumerate(page, start=1):
            status_id = str(status.get("id", "")) if isinstance(status, dict) else ""
            if not status_id:
                result.errors.append(RowError(location=f"item {position} before id {max_id or 'newest'}",
                                              error="status without an id", raw=_kept(status)))
                continue
            # Servers that ignore since_id would otherwise hand us statuses already stored.
            if status_id in seen or (since_id and not _newer(status_id, since_id)):
                continue
            seen.add(status_id)
            item = _to_post(status, host)
            (result.posts if isinstance(item, RawPost) else result.errors).append(item)
            if newest is None or _newer(status_id, newest):
                newest = status_id
            if oldest is None or _newer(oldest, status_id):
                oldest = status_id
        max_id, more = _next_max_id(page, links, oldest, page_limit)
        if not more:
            break
    if more and since_id:
        # Paging stopped at max_pages with statuses still between the cursor and the oldest read; they
        # will never be fetched, so say so where the source's errors are shown.
        result.errors.append(RowError(location=f"ids {since_id}..{oldest}",
                                      error=f"more than {max_pages} pages of new statuses; older ones skipped"))
        log.warning("mastodon.gap", host=host, since_id=since_id, oldest_read=oldest, pages=max_pages)
    result.state = FetchState(cursor=newest)
    log.info("mastodon.fetched", host=host, posts=len(result.posts), errors=len(result.errors), cursor=newest)
    return result


def _next_max_id(page: list[Any], links: dict[str, Any], oldest: str | None,
                 page_limit: int) -> tuple[str | None, bool]:
    # Mastodon's Link "next" carries max_id but drops since_id, so we keep only its max_id.
    if "next" in links:
        max_id = parse_qs(urlsplit(links["next"].get("url", "")).query).get("max_id", [None])[0]
        return max_id, max_id is not None
    if links or len(page) < page_limit or oldest is None:
        return None, False
    return oldest, True  # servers without Link headers: page below the smallest id seen


def _kept(status: Any) -> str:
    """A rejected status as it is kept for an operator: without the accounts that wrote or are named in it."""
    def strip(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {k: strip(v) if k == "reblog" else v for k, v in item.items() if k not in ("account", "mentions")}
    return json.dumps(strip(status), ensure_ascii=False, default=str)[:1000]


def _to_post(status: dict[str, Any], host: str) -> RawPost | RowError:
    """The status as a RawPost; a status whose fields are not what the API documents is a RowError."""
    try:
        return _read_status(status, host)
    except (TypeError, AttributeError, ValueError, OverflowError) as exc:
        return RowError(location=str(status["id"])[:100], error=f"malformed status ({type(exc).__name__}: {exc})"[:300],
                        raw=_kept(status))


def _read_status(status: dict[str, Any], host: str) -> RawPost | RowError:
    status_id = str(status["id"])
    source = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
    content = html_to_text(source.get("content") or "")
    # spoiler_text is the author's content warning: part of what they wrote, shown first.
    text = "\n\n".join(part for part in ((source.get("spoiler_text") or "").strip(), content) if part)
    if not text:
        return RowError(location=status_id, error="status has no text (media or poll only)")
    return RawPost(
        external_id=status_id,
        text=text,
        url=source.get("url") or source.get("uri") or status.get("url") or status.get("uri"),
        author=_acct(source.get("account"), host),
        published_at=_timestamp(status.get("created_at")),
        language=normalise_code(source.get("language")),
    )


def _acct(account: Any, host: str) -> str | None:
    acct = account.get("acct") if isinstance(account, dict) else None
    if not acct:
        return None
    # Local accounts come without a domain; add it so the handle is global before pseudonymisation.
    return acct if "@" in acct else f"{acct}@{host}"


def _timestamp(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return as_utc(parsed)


def _newer(a: str, b: str) -> bool:
    # Ids are decimal strings on Mastodon and fixed-width base62 on Pleroma: (length, text) orders both.
    return (len(a), a) > (len(b), b)


def _parse_locator(locator: str) -> tuple[str, str, str]:
    parts = urlsplit(locator)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"not a Mastodon URL: {locator!r}")
    base = f"{parts.scheme}://{parts.netloc}"
    if len(segments) == 2 and segments[0] == "tags":
        return base, "tag", segments[1]
    if len(segments) == 1 and segments[0].startswith("@") and len(segments[0]) > 1:
        return base, "account", segments[0][1:]
    raise FetchError(f"unsupported Mastodon locator {locator!r}; use https://host/tags/NAME or https://host/@account")


class _Getter:
    """GET JSON with a size cap and an overall deadline per request; HTTP failures become FetchError."""

    def __init__(self, client: httpx.Client, *, timeout_s: float, max_bytes: int) -> None:
        self.client, self.timeout_s, self.max_bytes = client, timeout_s, max_bytes

    def __call__(self, url: str, params: dict[str, str], *, missing: str | None = None) -> tuple[Any, dict]:
        deadline = time.monotonic() + self.timeout_s
        try:
            with self.client.stream("GET", url, params=params, timeout=self.timeout_s,
                                    headers={"Accept": "application/json"}) as response:
                self._check_status(response, url, missing)
                body = self._read_capped(response, url, deadline)
                links = response.links
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self.timeout_s} s fetching {url}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"could not fetch {url}: {exc}") from exc
        try:
            return json.loads(body), links
        except ValueError as exc:
            raise FetchError(f"{url} did not return JSON: {exc}") from exc

    def _check_status(self, response: httpx.Response, url: str, missing: str | None) -> None:
        if response.status_code == 429:
            retry = response.headers.get("Retry-After") or response.headers.get("X-RateLimit-Reset")
            raise FetchError(f"rate limit reached at {urlsplit(url).netloc} (HTTP 429)"
                             + (f"; retry after {retry}" if retry else ""))
        if response.status_code == 404 and missing:
            raise FetchError(missing)
        if not response.is_success:
            raise FetchError(f"HTTP {response.status_code} from {url}")

    def _read_capped(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"response from {url} is over the {self.max_bytes}-byte limit")
            if time.monotonic() > deadline:
                raise FetchError(f"{url} took over {self.timeout_s} s to answer")
            chunks.append(chunk)
        return b"".join(chunks)
