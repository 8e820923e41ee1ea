"""A real HTTP server on 127.0.0.1 for connector tests: static files with validators, faults, a Mastodon API.

Register with `pytest_plugins = ["tests.httpserver"]` in tests/conftest.py, then use the `http_server`
fixture: files written under `http_server.root` are served with ETag and Last-Modified (and 304s);
`fail`, `slow` and `huge` inject faults by path; `mastodon` installs statuses behind the tag timeline,
account lookup and account statuses endpoints, with since_id, max_id, min_id, limit and Link headers.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest


def _id_key(status_id: str) -> tuple[int, str]:
    # Mastodon ids are decimal strings of growing length; compare them as numbers would.
    return len(status_id), status_id


@dataclass
class Fault:
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """What the tests steer: the served directory, injected faults, the Mastodon data, the request log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base_url = ""
        self.faults: dict[str, Fault] = {}
        self.delays: dict[str, float] = {}
        self.huge_bodies: dict[str, tuple[int, bool]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.link_headers = True  # False emulates servers that page without Link headers
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.released = threading.Event()  # set at teardown so sleeping handlers return at once

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.base_url + "/" + path.lstrip("/")

    def fail(self, path: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer requests for `path` with `status` from now on."""
        self.faults["/" + path.lstrip("/")] = Fault(status, body, headers or {})

    def slow(self, path: str, seconds: float) -> None:
        """Sleep `seconds` before answering requests for `path`."""
        self.delays["/" + path.lstrip("/")] = seconds

    def huge(self, path: str, nbytes: int, *, content_length: bool = True) -> None:
        """Answer `path` with `nbytes` of filler, announcing the length or not (chunked)."""
        self.huge_bodies["/" + path.lstrip("/")] = (nbytes, content_length)

    def mastodon(self, statuses: list[dict[str, Any]]) -> None:
        """Serve these statuses (any order) from the tag timeline and the account endpoints."""
        self.statuses = sorted(statuses, key=lambda s: _id_key(s["id"]), reverse=True)
        for status in statuses:
            account = status["account"]
            self.accounts[account["acct"]] = account

    def paths(self) -> list[str]:
        """The paths requested so far, with their query strings."""
        return [path for path, _ in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> LocalServer:
        return self.server.local  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        state = self.state
        state.requests.append((self.path, dict(self.headers)))
        url = urlsplit(self.path)
        if url.path in state.delays:
            state.released.wait(state.delays[url.path])
        if url.path in state.faults:
            fault = state.faults[url.path]
            return self._send(fault.status, fault.body, fault.headers)
        if url.path in state.huge_bodies:
            return self._send_huge(*state.huge_bodies[url.path])
        if url.path.startswith("/api/v1/"):
            return self._mastodon(url.path, parse_qs(url.query))
        return self._file(url.path)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status != 304:
            self.wfile.write(body)

    def _send_huge(self, nbytes: int, content_length: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        if content_length:
            self.send_header("Content-Length", str(nbytes))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<!-- filler -->" * 4096
        sent = 0
        try:
            while sent < nbytes:
                piece = chunk[: nbytes - sent]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if not content_length else piece)
                sent += len(piece)
            if not content_length:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up past its cap, as it should

    def _file(self, path: str) -> None:
        target = (self.state.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.state.root.resolve()) or not target.is_file():
            return self._send(404, b"not found")
        body = target.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        mtime = int(target.stat().st_mtime)
        validators = {"ETag": etag, "Last-Modified": email.utils.formatdate(mtime, usegmt=True)}
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        # RFC 9110: If-None-Match decides when present; If-Modified-Since only without it.
        if if_none_match is not None:
            if etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*":
                return self._send(304, b"", validators)
        elif if_modified_since:
            since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
            if mtime <= since:
                return self._send(304, b"", validators)
        content_type = {".xml": "application/xml", ".rss": "application/rss+xml",
                        ".atom": "application/atom+xml", ".json": "application/json"}
        return self._send(200, body, {**validators,
                                      "Content-Type": content_type.get(target.suffix, "application/octet-stream")})

    def _mastodon(self, path: str, query: dict[str, list[str]]) -> None:
        state = self.state
        parts = path.strip("/").split("/")  # api, v1, ...
        if parts[2:4] == ["accounts", "lookup"]:
            account = state.accounts.get(query.get("acct", [""])[0].lstrip("@"))
            if account is None:
                return self._json(404, {"error": "Record not found"})
            return self._json(200, account)
        if parts[2:4] == ["timelines", "tag"] and len(parts) == 5:
            tag = parts[4].lower()
            selected = [s for s in state.statuses
                        if tag in {t["name"].lower() for t in (s.get("reblog") or s).get("tags", [])}]
        elif parts[2] == "accounts" and len(parts) == 5 and parts[4] == "statuses":
            selected = [s for s in state.statuses if s["account"]["id"] == parts[3]]
        else:
            return self._json(404, {"error": "Record not found"})
        return self._page(path, query, selected)

    def _page(self, path: str, query: dict[str, list[str]], selected: list[dict[str, Any]]) -> None:
        limit = min(int(query.get("limit", ["20"])[0]), 40)
        since_id, max_id, min_id = (query.get(k, [None])[0] for k in ("since_id", "max_id", "min_id"))
        if since_id:
            selected = [s for s in selected if _id_key(s["id"]) > _id_key(since_id)]
        if max_id:
            selected = [s for s in selected if _id_key(s["id"]) < _id_key(max_id)]
        if min_id:
            # min_id pages forward: the statuses just above min_id, still returned newest first.
            selected = [s for s in selected if _id_key(s["id"]) > _id_key(min_id)][-limit:]
        page = selected[:limit]
        headers = {}
        if page and self.state.link_headers:
            # Like Mastodon: next (older) only after a full page, prev (newer) always; neither carries since_id.
            links = []
            if len(page) == limit:
                links.append(f'<{self.state.base_url}{path}?{urlencode({"max_id": page[-1]["id"]})}>; rel="next"')
            links.append(f'<{self.state.base_url}{path}?{urlencode({"min_id": page[0]["id"]})}>; rel="prev"')
            headers["Link"] = ", ".join(links)
        return self._json(200, page, headers)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or stop reading past their cap hang up on us: expected in these tests.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


@pytest.fixture
def http_server(tmp_path: Path):
    """A LocalServer on 127.0.0.1 serving tmp_path/'www', torn down after the test."""
    root = tmp_path / "www"
    root.mkdir()
    state = LocalServer(root)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.local = state  # type: ignore[attr-defined]
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="http_server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
