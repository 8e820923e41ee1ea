"""Normalise raw posts and store them idempotently in batches; record every rejected row."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import structlog
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.countries import CountryError, validate_country
from monitor.db import as_utc, insert_for
from monitor.language import resolve_language
from monitor.models import Classification, IngestError, Post, Source
from monitor.privacy import content_hash, pseudonymise
from monitor.sources import RawPost, RowError

log = structlog.get_logger(__name__)

RAW_KEEP_CHARS = 65_536  # a rejected row is kept up to this size; the error says when it was cut


@dataclass
class IngestResult:
    """Counts of one ingest, the ids of the posts that are new, and of those to send on to classification."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    notices: int = 0  # recorded with the rejected rows, but no row was rejected (a file's unknown fields, ignored)
    new_post_ids: list[int] = field(default_factory=list)
    # New posts, and posts of this ingest stored before that still have no classification: a retried or
    # redelivered poll sends these again, since its first run may have stored them but never sent them on.
    unclassified_post_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.notices += other.notices
        self.new_post_ids.extend(other.new_post_ids)
        self.unclassified_post_ids.extend(other.unclassified_post_ids)


@dataclass(frozen=True)
class IngestOptions:
    """What ingest needs from the settings."""

    author_key: bytes
    max_post_chars: int = 20_000
    batch_size: int = 500


def _text_field(value: object, name: str) -> str | None:
    """A string field of a raw post with NUL characters removed (PostgreSQL refuses them); ValueError for a
    value that is not text or holds a lone surrogate (no UTF-8 encoding)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"post {name} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"post {name} is not valid Unicode (a lone surrogate)") from None
    return value.replace("\x00", "")


def normalise_post(raw: RawPost, source: Source, opts: IngestOptions, now: dt.datetime) -> dict:
    """A row for the posts table, or ValueError with a reason a person can act on."""
    text = (_text_field(raw.text, "text") or "").strip()
    if not text:
        raise ValueError("post has no text")
    if len(text) > opts.max_post_chars:
        raise ValueError(f"post text is {len(text)} characters, over the {opts.max_post_chars} limit")
    external_id = (_text_field(raw.external_id, "id") or "").strip()
    if not external_id:
        raise ValueError("post has no id")
    if len(external_id) > 512:
        raise ValueError("post id is longer than 512 characters")
    url, title = _text_field(raw.url, "url"), _text_field(raw.title, "title")
    author, language = _text_field(raw.author, "author"), _text_field(raw.language, "language")
    try:
        country = validate_country(raw.country) if raw.country else source.country
    except CountryError as exc:
        raise ValueError(str(exc)) from None
    if raw.published_at is not None and not isinstance(raw.published_at, dt.datetime):
        raise ValueError(f"post published_at must be a datetime, not {type(raw.published_at).__name__}")
    try:
        published = as_utc(raw.published_at or now)  # a time without a zone is taken as UTC
    except OverflowError:
        raise ValueError("post published_at is out of range") from None
    return {
        "source_id": source.id,
        "external_id": external_id,
        "url": url,
        "title": title[:1000] if title else None,
        "text": text,
        "language": resolve_language(language, text) or source.language,
        "country": country,
        "published_at": published,
        "collected_at": now,
        "author_pseudonym": pseudonymise(author, opts.author_key),
        "content_hash": content_hash(text),
    }


def _batches(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def record_errors(session: Session, source_id: int | None, errors: list[RowError], *, once: bool = True) -> None:
    """Keep rejected rows and failed fetches where an operator can see them.

    With `once` (rejected rows), each error carries a fingerprint of its source, location, message and raw
    row, so re-importing a file or redelivering a task records it only once. Failed fetches pass
    once=False: each failure is an event of its own.
    """
    if not errors:
        return
    rows: dict[str | int, dict] = {}
    for n, err in enumerate(errors):
        raw = _storable(err.raw) if err.raw is not None else None
        message = _storable(err.error)
        if raw is not None and len(raw) > RAW_KEEP_CHARS:
            message = f"{message} (raw row cut to {RAW_KEEP_CHARS} of {len(raw)} characters)"
            raw = raw[:RAW_KEEP_CHARS]
        row = {"source_id": source_id, "location": _storable(err.location)[:200], "error": message, "raw": raw}
        row["fingerprint"] = _fingerprint(row) if once else None
        rows[row["fingerprint"] or n] = row
    statement = insert_for(session, IngestError).on_conflict_do_nothing(index_elements=["fingerprint"])
    session.execute(statement, list(rows.values()))


def _storable(value: object) -> str:
    """Text PostgreSQL accepts: no NUL characters, lone surrogates written out as escapes."""
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "")


def _fingerprint(row: dict) -> str:
    parts = (str(row["source_id"]), row["location"], row["error"], row["raw"] or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()  # parts are _storable: no surrogates


POST_COLUMNS = ("source_id", "external_id", "url", "title", "text", "language", "country",
                "published_at", "collected_at", "author_pseudonym", "content_hash")


def _copy_posts(session: Session, rows: list[dict]) -> list[int]:
    """PostgreSQL: COPY the batch into a temporary table, then one INSERT ... SELECT ... ON CONFLICT."""
    cols = ", ".join(POST_COLUMNS)
    dbapi = session.connection().connection.dbapi_connection
    with dbapi.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS posts_incoming "
            "(LIKE posts INCLUDING DEFAULTS EXCLUDING IDENTITY) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE posts_incoming")
        with cur.copy(f"COPY posts_incoming ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in POST_COLUMNS))
        cur.execute(
            f"INSERT INTO posts ({cols}) SELECT {cols} FROM posts_incoming "
            "ON CONFLICT (source_id, external_id) DO NOTHING RETURNING id"
        )
        return [r[0] for r in cur.fetchall()]


def _insert_posts(session: Session, rows: list[dict]) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        return _copy_posts(session, rows)
    # executemany with RETURNING: SQLAlchemy batches it into multi-row VALUES ("insertmanyvalues")
    # from one cached compiled statement; building .values(rows) would recompile for every batch.
    stmt = (
        insert_for(session, Post.__table__)
        .on_conflict_do_nothing(index_elements=["source_id", "external_id"])
        .returning(Post.__table__.c.id)
    )
    return list(session.execute(stmt, rows).scalars())


def _unclassified(session: Session, source_id: int, external_ids: list[str]) -> list[int]:
    """Ids of these posts of a source, new or stored before, that no classification has reached yet."""
    # One lookup on the (source_id, external_id) unique index, anti-joined on classifications.post_id.
    return list(session.scalars(
        select(Post.id)
        .where(Post.source_id == source_id, Post.external_id.in_(external_ids),
               ~exists().where(Classification.post_id == Post.id))
        .order_by(Post.id)
    ))


def store_posts(
    session: Session,
    source: Source,
    items: Iterable[RawPost | RowError],
    opts: IngestOptions,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Store posts in batches with INSERT ... ON CONFLICT DO NOTHING; bad rows become IngestErrors."""
    now = now or dt.datetime.now(dt.timezone.utc)
    result = IngestResult()
    for batch in _batches(items, opts.batch_size):
        rows: list[dict] = []
        errors: list[RowError] = []
        for item in batch:
            if isinstance(item, RowError):
                errors.append(item)
                continue
            try:
                rows.append(normalise_post(item, source, opts, now))
            except Exception as exc:  # noqa: BLE001 - a bad row is recorded and the rest of the batch goes on
                reason = str(exc) if isinstance(exc, ValueError) else f"unreadable post ({type(exc).__name__})"
                errors.append(RowError(location=item.location or f"id {str(item.external_id)[:100]}", error=reason,
                                       raw=item.text if isinstance(item.text, str) else None))
        new_ids = _insert_posts(session, rows) if rows else []
        # All new (a first import, a feed read past its cursor): nothing to look up. With duplicates (a re-import,
        # a retried poll, a feed repeating items), one query on the (source, external id) key finds the batch's
        # posts still without a classification, new ones included.
        unclassified = (new_ids if len(new_ids) == len(rows)
                        else _unclassified(session, source.id, [r["external_id"] for r in rows]))
        record_errors(session, source.id, errors)
        notices = sum(e.notice for e in errors)
        result.add(IngestResult(stored=len(new_ids), duplicates=len(rows) - len(new_ids),
                                rejected=len(errors) - notices, notices=notices, new_post_ids=new_ids,
                                unclassified_post_ids=unclassified))
    log.info("posts_stored", source_id=source.id, country=source.country, stored=result.stored,
             duplicates=result.duplicates, rejected=result.rejected, notices=result.notices)
    return result
