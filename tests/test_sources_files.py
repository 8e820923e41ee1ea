"""JSONL and CSV imports: posts, per-row errors with line numbers, idempotent ids, streaming."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from monitor.sources import FetchError, FetchState, RawPost, RowError
from monitor.sources.files import fetch, read_file

UTC = dt.timezone.utc


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def split(rows) -> tuple[list[RawPost], list[RowError]]:
    rows = list(rows)
    return [r for r in rows if isinstance(r, RawPost)], [r for r in rows if isinstance(r, RowError)]


def test_jsonl_fields_dates_language_and_country(tmp_path):
    path = write(tmp_path / "export.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a1", "text": "Council approves new bus routes", "url": "https://x.example/1", "title": "Buses",
         "author": "desk", "published_at": "2024-03-04T09:15:00", "lang": "en-GB", "country": "ARM"},
        {"external_id": 7, "text": "Мост открыт", "published_at": "2024-03-04T12:00:00+03:00",
         "language": "rus", "country": "am"},
    ]) + "\n")

    posts, errors = split(read_file(path))

    assert errors == []
    assert posts[0] == RawPost(external_id="a1", text="Council approves new bus routes", url="https://x.example/1",
                               title="Buses", author="desk", published_at=dt.datetime(2024, 3, 4, 9, 15, tzinfo=UTC),
                               language="en", country="AM")
    assert (posts[1].external_id, posts[1].language, posts[1].country) == ("7", "ru", "AM")
    assert posts[1].published_at == dt.datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def test_jsonl_bad_rows_are_errors_and_the_rest_goes_on(tmp_path):
    lines = [
        b'{"id": "1", "text": "first good row"}',
        b'{"id": "2", "text": "broken \xff\xfe bytes"}',
        b"not json at all",
        b'["a", "list"]',
        b'{"id": "5", "text": "   "}',
        b'{"id": "6"}',
        b'{"id": "7", "text": "bad date", "published_at": "yesterday"}',
        b'{"id": "8", "text": "bad country", "country": "Atlantis"}',
        b'{"id": "9", "text": {"nested": true}}',
        b"",
        b'{"id": "11", "text": "last good row"}',
    ]
    path = write(tmp_path / "rows.ndjson", b"\n".join(lines))

    posts, errors = split(read_file(path))

    assert [p.external_id for p in posts] == ["1", "11"]
    assert [e.location for e in errors] == [f"line {n}" for n in (2, 3, 4, 5, 6, 7, 8, 9)]
    assert errors[0].error.startswith("line 2: invalid UTF-8")
    assert "not JSON" in errors[1].error
    assert "expected a JSON object, got list" in errors[2].error
    assert "missing or empty 'text'" in errors[3].error and "missing or empty 'text'" in errors[4].error
    assert "unreadable published_at 'yesterday'" in errors[5].error
    assert "unknown country 'Atlantis'" in errors[6].error
    assert "must be text" in errors[7].error


def test_a_rejected_row_is_kept_without_its_author(tmp_path):
    """The raw row kept for an operator names no one: the author's handle is left out (it is only ever stored
    pseudonymised); a date whose UTC time falls before year 1 is an unreadable date, not a crash."""
    lines = [b'{"id": "1", "text": "bad date", "author": "@carol_handle", "published_at": "0001-01-01T00:00:00+05:00"}',
             b'id,text,author,country\n2,"bad country",@dave_handle,Atlantis']
    posts, errors = split(read_file(write(tmp_path / "rows.jsonl", lines[0])))
    assert posts == [] and "unreadable published_at" in errors[0].error
    assert "@carol_handle" not in errors[0].raw and "bad date" in errors[0].raw
    posts, errors = split(read_file(write(tmp_path / "rows.csv", lines[1])))
    assert posts == [] and "unknown country" in errors[0].error
    assert "@dave_handle" not in errors[0].raw and "bad country" in errors[0].raw


def test_jsonl_unknown_keys_are_reported_once_and_the_rows_imported(tmp_path):
    path = write(tmp_path / "x.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "1", "text": "one", "likes": 3},
        {"id": "2", "text": "two", "likes": 4},
        {"id": "3", "text": "three", "likes": 5, "shares": 1},
    ]))

    posts, errors = split(read_file(path))

    assert [p.external_id for p in posts] == ["1", "2", "3"]
    assert [(e.location, e.error.split(";")[0]) for e in errors] == [
        ("line 1", "line 1: unknown field(s) 'likes' ignored"),
        ("line 3", "line 3: unknown field(s) 'shares' ignored")]


def test_missing_id_is_the_hash_of_the_text_so_reimports_are_idempotent(tmp_path):
    path = write(tmp_path / "x.jsonl", '{"text": "same words"}\n')

    first, second = list(read_file(path)), list(read_file(path))

    assert first == second
    assert first[0].external_id == "sha256:" + hashlib.sha256(b"same words").hexdigest()


def test_csv_unknown_column_is_one_header_error_and_known_columns_import(tmp_path):
    path = write(tmp_path / "data.csv", "id,text,likes,country\n1,Bus routes approved,3,AM\n2,Bridge opened,5,GE\n")

    posts, errors = split(read_file(path))

    assert [(p.external_id, p.text, p.country) for p in posts] == [
        ("1", "Bus routes approved", "AM"), ("2", "Bridge opened", "GE")]
    assert len(errors) == 1 and errors[0].location == "line 1"
    assert errors[0].error.startswith("line 1: unknown column(s) 'likes' ignored")


def test_csv_without_text_column_is_a_single_error(tmp_path):
    path = write(tmp_path / "data.csv", "id,txt\n1,typo in the header\n2,again\n")

    rows = list(read_file(path))

    assert rows == [RowError("line 1", "line 1: no 'text' column; columns are 'id', 'txt'")]


def test_csv_line_numbers_follow_multiline_records_and_bad_rows(tmp_path):
    content = (b'\xef\xbb\xbfid,text,published_at\n'          # line 1, with a BOM
               b'1,"a post\nover two lines",2024-03-04\n'     # lines 2-3
               b'2,"broken \xff bytes",\n'                    # line 4
               b'3,too,many,fields\n'                          # line 5
               b'\n'                                           # line 6, blank
               b'4,,\n'                                        # line 7, empty text
               b'5,"last one",2024-03-04T10:00:00Z\n')        # line 8
    path = write(tmp_path / "data.csv", content)

    posts, errors = split(read_file(path))

    assert [(p.external_id, p.text) for p in posts] == [("1", "a post\nover two lines"), ("5", "last one")]
    assert posts[0].published_at == dt.datetime(2024, 3, 4, tzinfo=UTC)
    assert [(e.location, e.error) for e in errors] == [
        ("line 4", "line 4: invalid UTF-8"),
        ("line 5", "line 5: 4 fields, the header has 3"),
        ("line 7", "line 7: missing or empty 'text'"),
    ]


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected one of .jsonl, .ndjson, .csv"):
        read_file(write(tmp_path / "data.xlsx", b""))


def test_fetch_imports_once_then_reports_not_modified(tmp_path):
    path = write(tmp_path / "x.jsonl", '{"id": "1", "text": "hello"}\n{"text": ""}\n')

    first = fetch(str(path), FetchState())
    again = fetch(path.as_uri(), first.state)

    rows = list(first.items())  # streamed as they are read, not held as lists
    assert first.posts == [] and [r.external_id for r in rows if isinstance(r, RawPost)] == ["1"]
    assert sum(isinstance(r, RowError) for r in rows) == 1
    assert again.not_modified and list(again.items()) == []
    os.utime(path, ns=(0, 0))
    assert not fetch(str(path), first.state).not_modified


def test_fetch_errors_for_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FetchError, match="cannot read"):
        fetch(str(tmp_path / "absent.jsonl"), FetchState())
    with pytest.raises(FetchError, match="cannot import"):
        fetch(str(write(tmp_path / "x.txt", "text")), FetchState())


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_100k_rows_stream_in_bounded_memory(tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    with path.open("w", encoding="utf-8") as handle:
        if suffix == ".csv":
            handle.write("id,text,published_at\n")
            handle.writelines(f"{i},Row number {i} about the bus routes,2024-03-04T10:00:00Z\n" for i in range(100_000))
        else:
            handle.writelines(json.dumps({"id": str(i), "text": f"Row number {i} about the bus routes"}) + "\n"
                              for i in range(100_000))

    tracemalloc.start()
    try:
        count = sum(1 for row in read_file(path) if isinstance(row, RawPost))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 100_000
    assert peak < 5 * 1024 * 1024  # a ~6 MB file never sits in memory as Python objects


def test_a_jsonl_line_nested_past_the_recursion_limit_is_an_error_for_that_line_only(tmp_path):
    path = write(tmp_path / "x.jsonl", '{"id": "1", "text": "one"}\n' + "{\"a\": " * 50_000 + "\n"
                 + '{"id": "3", "text": "three"}\n')

    posts, errors = split(read_file(path))

    assert [p.external_id for p in posts] == ["1", "3"] and [p.location for p in posts] == ["line 1", "line 3"]
    assert [(e.location, e.error, e.raw) for e in errors] == [("line 2", "line 2: JSON nested too deeply to read", None)]


def test_a_rejected_row_too_deep_to_write_back_is_kept_without_its_nesting():
    """A line json.loads could just read may be too deep for json.dumps a few calls further down the stack."""
    from monitor.sources.files import _kept

    deep: list = []
    for _ in range(5000):
        deep = [deep]
    kept = _kept({"id": "1", "author": "@handle", "text": "", "title": deep})
    assert json.loads(kept) == {"id": "1", "author": "[author removed]", "text": "", "title": "[nested value]"}
