"""JSONL and CSV imports of platform exports and researchers' data sets, streamed row by row.

Fields: `text` (required), `id` or `external_id`, `url`, `title`, `author`, `published_at` (ISO 8601;
naive means UTC), `lang` or `language`, `country` (ISO 3166 alpha-2 or alpha-3).

Unknown fields lose no post: the row is imported with its known fields, and one RowError (a notice: recorded,
but not counted as a rejected row) names the unknown fields where they first appear: for CSV at `line 1` (the header), for JSONL at the first line
carrying each new unknown key. This flags a typo ("txt" for "text") or an export with extra columns
once, clearly, instead of rejecting every row or repeating the same error 100,000 times. A CSV with no
`text` column cannot yield any post, so it gives a single error at `line 1` and nothing else.

Every other problem is an error for its row only, located as `line N` (for CSV, the line where the
record starts; the header is line 1): invalid UTF-8, a line that is not a JSON object (or is nested too deeply
to read), empty text, an unparseable date, an unknown country, a CSV record with the wrong number of fields; a
post that ingest rejects later (too long, say) is named by its line too (RawPost.location).
A row without an id gets `sha256:` + the hash of its text, so re-importing a file is idempotent.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pycountry
import structlog

from monitor.db import as_utc
from monitor.language import normalise_code
from monitor.sources import FetchError, FetchResult, FetchState, RawPost, RowError

log = structlog.get_logger(__name__)

FIELDS = frozenset({"id", "external_id", "text", "url", "title", "author", "published_at",
                    "lang", "language", "country"})
SUFFIXES = (".jsonl", ".ndjson", ".csv")
_RAW_CHARS = 500  # how much of a bad row an error keeps: enough to find it, not a whole post

# Researchers' exports carry long texts; the csv module's default 128 KiB field cap is too low.
csv.field_size_limit(16 * 1024 * 1024)


def read_file(path: Path) -> Iterator[RawPost | RowError]:
    """Stream the posts and row errors of a .jsonl/.ndjson/.csv file; raise ValueError for other suffixes."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"cannot import {path.name}: expected one of {', '.join(SUFFIXES)}")
    return _read_csv(path) if suffix == ".csv" else _read_jsonl(path)


def fetch(locator: str, state: FetchState, **_options: object) -> FetchResult:
    """Import the file at `locator` (path or file:// URL) unless unchanged since the last fetch.

    Options such as timeout_s and max_bytes are accepted for a uniform connector call and ignored:
    imports are local files chosen by an operator, and large on purpose.
    """
    parts = urlsplit(locator)
    path = Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(locator)
    try:
        stat = path.stat()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # Size and mtime stand in for an ETag: a poll of an unchanged file is a no-op.
    signature = f"{stat.st_size}-{stat.st_mtime_ns}"
    if state.etag == signature:
        return FetchResult(state=FetchState(state.etag, state.last_modified, state.cursor), not_modified=True)
    try:
        rows = read_file(path)
    except ValueError as exc:
        raise FetchError(str(exc)) from exc
    return FetchResult(state=FetchState(etag=signature), rows=_streamed(rows, path))


def _streamed(rows: Iterator[RawPost | RowError], path: Path) -> Iterator[RawPost | RowError]:
    """The file's rows as they are read (a large file is never held whole); a read that fails part way raises
    FetchError, so the poll keeps none of them and tries the whole file again."""
    try:
        yield from rows
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a reader's failure the readers do not turn into a row error
        # fails this poll like a read error: recorded, the source backs off
        raise FetchError(f"cannot read {path}: file connector failed ({type(exc).__name__})") from exc


def _read_jsonl(path: Path) -> Iterator[RawPost | RowError]:
    reported: set[str] = set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"line {number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield RowError(location, f"{location}: invalid UTF-8 at byte {exc.start}")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                yield RowError(location, f"{location}: not JSON ({exc.msg})", line[:_RAW_CHARS])
                continue
            except RecursionError:  # arrays or objects nested past Python's recursion limit
                # No raw text: a line it cannot read may hold an author's handle, which _kept never keeps.
                yield RowError(location, f"{location}: JSON nested too deeply to read")
                continue
            if not isinstance(record, dict):
                yield RowError(location, f"{location}: expected a JSON object, got {type(record).__name__}",
                               line[:_RAW_CHARS])
                continue
            unknown = sorted(set(record) - FIELDS - reported)
            if unknown:
                reported.update(unknown)
                yield RowError(location, f"{location}: unknown field(s) {_names(unknown)} ignored; "
                                         f"accepted: {_names(sorted(FIELDS))}", notice=True)
            yield _to_post(record, location)


def _read_csv(path: Path) -> Iterator[RawPost | RowError]:
    with path.open("rb") as handle:
        # surrogateescape keeps undecodable bytes as markers, so one bad line cannot stop the import;
        # the record holding them is reported below.
        lines = (raw.decode("utf-8", "surrogateescape") for raw in handle)
        reader = csv.reader(_strip_bom(lines))
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a header line with a NUL byte or past the field size limit
            yield RowError("line 1", f"line 1: unreadable CSV header ({exc})")
            return
        if not _is_utf8(header):
            yield RowError("line 1", "line 1: invalid UTF-8 in the header")
            return
        if "text" not in header:
            yield RowError("line 1", f"line 1: no 'text' column; columns are {_names(header)}")
            return
        unknown = [name for name in header if name not in FIELDS]
        if unknown:
            yield RowError("line 1", f"line 1: unknown column(s) {_names(unknown)} ignored; "
                                     f"accepted: {_names(sorted(FIELDS))}", notice=True)
        yield from _csv_records(reader, header)


def _csv_records(reader: Any, header: list[str]) -> Iterator[RawPost | RowError]:
    known = [(i, name) for i, name in enumerate(header) if name in FIELDS]
    while True:
        start = reader.line_num + 1
        location = f"line {start}"
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(location, f"{location}: malformed CSV ({exc})")
            continue
        if not fields:
            continue  # a blank line
        if not _is_utf8(fields):
            yield RowError(location, f"{location}: invalid UTF-8",
                           ",".join(fields).encode("utf-8", "replace").decode("utf-8")[:_RAW_CHARS])
            continue
        if len(fields) != len(header):
            yield RowError(location, f"{location}: {len(fields)} fields, the header has {len(header)}",
                           ",".join(fields)[:_RAW_CHARS])
            continue
        yield _to_post({name: fields[i] for i, name in known}, location)


def _kept(record: dict[str, Any]) -> str:
    """A rejected row as it is kept for an operator: its fields, but never the author's handle."""
    shown = {k: "[author removed]" if k == "author" and v else v for k, v in record.items()}
    try:
        return json.dumps(shown, ensure_ascii=False, default=str)[:_RAW_CHARS]
    except RecursionError:  # a value nested just short of what json.loads could read, too deep to write back
        return json.dumps({k: v if isinstance(v, (str, int, float, bool, type(None))) else "[nested value]"
                           for k, v in shown.items()}, ensure_ascii=False)[:_RAW_CHARS]


def _to_post(record: dict[str, Any], location: str) -> RawPost | RowError:
    values: dict[str, str | None] = {}
    for name in FIELDS & record.keys():
        value = record[name]
        if isinstance(value, (dict, list)):
            return RowError(location, f"{location}: field '{name}' must be text, not {type(value).__name__}",
                            _kept(record))
        values[name] = None if value is None else str(value).strip() or None
    text = values.get("text")
    if not text:
        return RowError(location, f"{location}: missing or empty 'text'", _kept(record))
    try:
        published_at = _timestamp(values.get("published_at"))
    except (ValueError, OverflowError):  # OverflowError: a date whose UTC time falls outside years 1-9999
        return RowError(location, f"{location}: unreadable published_at {values['published_at'][:64]!r}; "
                                  "expected ISO 8601 like 2024-03-01T12:00:00Z", _kept(record))
    country = values.get("country")
    if country is not None:
        country = _country(country)
        if country is None:
            return RowError(location, f"{location}: unknown country {values['country'][:64]!r}", _kept(record))
    return RawPost(
        external_id=values.get("id") or values.get("external_id")
        or "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text=text,
        url=values.get("url"),
        title=values.get("title"),
        author=values.get("author"),
        published_at=published_at,
        language=normalise_code(values.get("lang") or values.get("language")),
        country=country,
        location=location,
    )


def _timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return as_utc(dt.datetime.fromisoformat(value))


def _country(value: str) -> str | None:
    code = value.strip().upper()
    match = (pycountry.countries.get(alpha_2=code) if len(code) == 2
             else pycountry.countries.get(alpha_3=code) if len(code) == 3 else None)
    return match.alpha_2 if match else None


def _is_utf8(fields: Iterable[str]) -> bool:
    try:
        for field in fields:
            field.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strip_bom(lines: Iterator[str]) -> Iterator[str]:
    first = next(lines, None)
    if first is not None:
        yield first.removeprefix("\ufeff")
        yield from lines


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)

