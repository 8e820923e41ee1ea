"""Connectors: one module per kind of source; each fetches since a cursor and yields raw posts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawPost:
    """A post as a connector read it, before normalisation and storage."""

    external_id: str
    text: str
    url: str | None = None
    title: str | None = None
    author: str | None = None  # the platform handle; pseudonymised at ingest, never stored as is
    published_at: dt.datetime | None = None  # timezone-aware UTC when known
    language: str | None = None  # the platform's own language field, if any
    country: str | None = None  # per-row country (file imports); else the source's
    # Where the connector read it ("line 12"), so that ingest names a rejected post by it; not part of the post.
    location: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RowError:
    """A row or item a connector could not read; `location` is e.g. 'line 12' or an item id.

    A `notice` is recorded like an error but rejected no row (a file's unknown fields, ignored)."""

    location: str
    error: str
    raw: str | None = None
    notice: bool = False


@dataclass
class FetchState:
    """What a source remembers between polls."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None


@dataclass
class FetchResult:
    """The outcome of one fetch: posts, per-row errors and the state to remember for next time.

    A connector whose input may be large (a file) gives `rows` instead: posts and row errors read while they are
    stored, so memory holds one ingest batch, not the whole input. Reading them may raise FetchError part way;
    the poll then keeps none of them."""

    posts: list[RawPost] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    state: FetchState = field(default_factory=FetchState)
    not_modified: bool = False
    rows: Iterable[RawPost | RowError] | None = None

    def items(self) -> Iterable[RawPost | RowError]:
        """Everything to store: the streamed rows, else the posts and the errors."""
        return self.rows if self.rows is not None else [*self.posts, *self.errors]


class FetchError(Exception):
    """The whole fetch failed (network, HTTP status, unparseable document); the source backs off."""
