"""Storing posts: batches, idempotency, pseudonyms, and every bad row recorded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from monitor.ingest import IngestOptions, store_posts
from monitor.models import Classification, IngestError, Post
from monitor.privacy import pseudonymise
from monitor.sources import RawPost, RowError
from tests.factories import KEY, make_source

OPTS = IngestOptions(author_key=KEY, max_post_chars=1000, batch_size=3)
WHEN = dt.datetime(2024, 2, 20, 9, 30, tzinfo=dt.timezone.utc)


def _raw(i: int, **kw) -> RawPost:
    return RawPost(external_id=kw.pop("external_id", f"id-{i}"), text=kw.pop("text", f"Post number {i} about the weather"),
                   author=kw.pop("author", "@someone"), published_at=kw.pop("published_at", WHEN), **kw)


def test_store_is_idempotent_and_counts_duplicates(db_session):
    source = make_source(db_session)
    first = store_posts(db_session, source, [_raw(i) for i in range(7)], OPTS)
    assert (first.stored, first.duplicates, first.rejected) == (7, 0, 0)
    assert len(first.new_post_ids) == 7
    again = store_posts(db_session, source, [_raw(i) for i in range(9)], OPTS)
    assert (again.stored, again.duplicates, again.rejected) == (2, 7, 0)
    assert db_session.scalar(select(func.count()).select_from(Post)) == 9


def test_a_repeated_ingest_reports_its_posts_still_unclassified(db_session):
    source, other = make_source(db_session), make_source(db_session)
    first = store_posts(db_session, source, [_raw(i) for i in range(5)], OPTS)
    assert first.unclassified_post_ids == first.new_post_ids and len(first.new_post_ids) == 5
    done = first.new_post_ids[1]
    db_session.add(Classification(post_id=done, model_version="m", antisemitic=False, score=0.1,
                                  category="none", triggers=[]))
    store_posts(db_session, other, [_raw(i) for i in range(5)], OPTS)  # the same ids at another source
    earlier = store_posts(db_session, source, [_raw(9)], OPTS).new_post_ids  # unclassified, not fetched again
    again = store_posts(db_session, source, [_raw(i) for i in range(6)], OPTS)  # a retried or redelivered poll
    assert (again.stored, again.duplicates) == (1, 5)
    assert again.unclassified_post_ids == [i for i in first.new_post_ids if i != done] + again.new_post_ids
    assert set(earlier).isdisjoint(again.unclassified_post_ids)
    assert db_session.scalar(select(func.count()).select_from(Post).where(Post.source_id == source.id)) == 7


def test_authors_are_pseudonymised_with_the_key(db_session):
    source = make_source(db_session)
    store_posts(db_session, source, [_raw(1, author="@Alice"), _raw(2, author="alice")], OPTS)
    pseudonyms = set(db_session.scalars(select(Post.author_pseudonym)))
    assert pseudonyms == {pseudonymise("alice", KEY)}
    assert "alice" not in next(iter(pseudonyms))
    assert pseudonymise("alice", b"another key") != pseudonymise("alice", KEY)


def test_bad_rows_are_recorded_and_the_rest_is_stored(db_session):
    source = make_source(db_session, country="AM")
    items = [
        _raw(1),
        _raw(2, text="   "),
        _raw(3, text="x" * 5000),
        _raw(4, country="XX"),
        RowError(location="line 7", error="line 7: invalid UTF-8", raw="\\xff\\xfe"),
        _raw(5, text="nul\x00 bytes are dropped", country="de"),
        _raw(6, published_at=None),
    ]
    result = store_posts(db_session, source, items, OPTS)
    assert (result.stored, result.rejected) == (3, 4)
    errors = {e.error for e in db_session.scalars(select(IngestError).where(IngestError.source_id == source.id))}
    assert "post has no text" in errors
    assert any("over the 1000 limit" in e for e in errors)
    assert any("country code" in e for e in errors)
    assert "line 7: invalid UTF-8" in errors
    giant = db_session.scalar(select(IngestError).where(IngestError.error.like("%limit%")))
    assert len(giant.raw) == 5000  # the rejected text is kept, not lost
    de = db_session.scalar(select(Post).where(Post.external_id == "id-5"))
    assert de.country == "DE" and "\x00" not in de.text
    undated = db_session.scalar(select(Post).where(Post.external_id == "id-6"))
    assert undated.published_at is not None  # falls back to the collection time


def test_a_file_row_ingest_rejects_is_named_by_its_line_and_notices_reject_nothing(db_session, tmp_path):
    from monitor.sources.files import read_file

    path = tmp_path / "export.jsonl"
    path.write_text('{"id": "a1", "text": "Council opens a library", "likes": 3}\n'
                    + '{"id": "a2", "text": "' + "x" * 1500 + '"}\n'
                    + '{"id": "a3", "text": "Bridge reopened"}\n', encoding="utf-8")
    source = make_source(db_session, country="AM")
    result = store_posts(db_session, source, read_file(path), OPTS)
    assert (result.stored, result.rejected, result.notices) == (2, 1, 1)  # the unknown field rejected no row
    errors = dict(db_session.execute(select(IngestError.location, IngestError.error)
                                     .where(IngestError.source_id == source.id)).all())
    assert errors["line 2"] == "post text is 1500 characters, over the 1000 limit"
    assert errors["line 1"].startswith("line 1: unknown field(s) 'likes' ignored")


def test_rejected_rows_are_recorded_once_when_the_batch_comes_again(db_session):
    source = make_source(db_session, country="AM")
    items = [_raw(1), _raw(2, text="   "), RowError(location="line 7", error="line 7: not JSON", raw="{oops"),
             RowError(location="line 9", error="line 9: not JSON", raw="{oops")]  # same raw, another line

    def recorded() -> list[tuple[str, str]]:
        return sorted(tuple(row) for row in db_session.execute(
            select(IngestError.location, IngestError.error).where(IngestError.source_id == source.id)))

    first = store_posts(db_session, source, items, OPTS)
    again = store_posts(db_session, source, items, OPTS)  # a re-imported file or a redelivered task
    assert first.rejected == again.rejected == 3  # the caller is still told what was rejected
    assert recorded() == [("id id-2", "post has no text"), ("line 7", "line 7: not JSON"),
                          ("line 9", "line 9: not JSON")]
    other = make_source(db_session, name="another source", country="AM")
    store_posts(db_session, other, items[2:3], OPTS)  # the same row from another source is its own error
    assert db_session.scalar(select(func.count()).select_from(IngestError)
                             .where(IngestError.source_id == other.id)) == 1


def test_language_comes_from_platform_then_detection(db_session):
    source = make_source(db_session)
    store_posts(db_session, source, [
        _raw(1, language="hy", text="Any text at all"),
        _raw(2, text="Сегодня в Ереване снова пробки, выезжайте пораньше, пожалуйста."),
    ], OPTS)
    langs = dict(db_session.execute(select(Post.external_id, Post.language)).all())
    assert langs["id-1"] == "hy"
    assert langs["id-2"] == "ru"


def test_rows_postgres_would_refuse_are_recorded_and_the_batch_goes_on(db_session):
    """NUL characters in any field, lone surrogates, values of the wrong type and dates out of range: each row is
    an IngestError with its reason (and its storable raw text), never a failed batch."""
    source = make_source(db_session, country="AM")
    items = [
        _raw(1, url="http://a.example/\x00x", title="t\x00itle"),
        _raw(2, text="broken \ud800 text"),
        _raw(3, author=["@not", "text"]),
        _raw(4, published_at="2024-02-20"),
        _raw(5, external_id=12345),
        _raw(6),
        RowError(location="line 9\x00", error="bad \udcff row", raw="raw \x00 with \ud800"),
    ]
    result = store_posts(db_session, source, items, OPTS)
    assert (result.stored, result.rejected) == (2, 5)
    stored = {p.external_id: p for p in db_session.scalars(select(Post).where(Post.source_id == source.id))}
    assert set(stored) == {"id-1", "id-6"}
    assert stored["id-1"].url == "http://a.example/x" and stored["id-1"].title == "title"
    errors = {e.error: e for e in db_session.scalars(select(IngestError).where(IngestError.source_id == source.id))}
    assert "post text is not valid Unicode (a lone surrogate)" in errors
    assert errors["post text is not valid Unicode (a lone surrogate)"].raw == "broken \\ud800 text"
    assert "post author must be text, not list" in errors
    assert "post published_at must be a datetime, not str" in errors
    assert "post id must be text, not int" in errors
    assert errors["bad \\udcff row"].raw == "raw  with \\ud800" and errors["bad \\udcff row"].location == "line 9"
