"""Rollups are recomputed for a window, so rerunning them changes nothing."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from monitor.models import Classification, Rollup, StaleDay
from monitor.rollups import (
    count_cells,
    daily_series,
    mark_stale,
    recompute_rollups,
    recompute_stale,
    stale_countries,
)
from tests.factories import make_post, make_source

DAY = dt.date(2024, 2, 20)
HOSTILE = {"antisemitic": True, "score": 0.9, "category": "collective_blame",
           "triggers": ["israel_azerbaijan_ties", "nagorno_karabakh"]}


def test_count_cells():
    cells = count_cells([(True, "conspiracy", ["gaza_war"]), (False, "none", ["gaza_war"]), (None, None, None)])
    assert cells[("*", "*")] == [3, 1]
    assert cells[("conspiracy", "*")] == [1, 1]
    assert cells[("none", "*")] == [1, 0]
    assert cells[("*", "gaza_war")] == [2, 1]
    assert cells[("conspiracy", "gaza_war")] == [1, 1]


def _cells(session, country="AM"):
    return {(r.day, r.category, r.trigger): (r.posts, r.antisemitic)
            for r in session.scalars(select(Rollup).where(Rollup.country == country))}


def test_recompute_is_idempotent_and_follows_changes(db_session):
    source = make_source(db_session, country="AM")
    for _ in range(3):
        make_post(db_session, source, DAY, classification=HOSTILE)
    neutral = make_post(db_session, source, DAY, classification={"triggers": ["israel_azerbaijan_ties"]})
    make_post(db_session, source, DAY)  # not classified yet: counts in the volume only
    make_post(db_session, source, DAY + dt.timedelta(days=1), classification={})
    recompute_rollups(db_session, "AM", [DAY, DAY + dt.timedelta(days=1)])
    first = _cells(db_session)
    assert first[(DAY, "*", "*")] == (5, 3)
    assert first[(DAY, "collective_blame", "*")] == (3, 3)
    assert first[(DAY, "none", "*")] == (1, 0)
    assert first[(DAY, "*", "israel_azerbaijan_ties")] == (4, 3)
    assert first[(DAY, "*", "nagorno_karabakh")] == (3, 3)
    assert first[(DAY + dt.timedelta(days=1), "*", "*")] == (1, 0)

    recompute_rollups(db_session, "AM", [DAY])
    assert _cells(db_session) == first

    # A reclassification drops a trigger: its cell must go, not linger.
    db_session.execute(Classification.__table__.update()
                       .where(Classification.post_id == neutral.id).values(triggers=[]))
    for c in db_session.scalars(select(Classification).where(Classification.antisemitic.is_(True))):
        c.triggers = ["israel_azerbaijan_ties"]
    db_session.flush()
    recompute_rollups(db_session, "AM", [DAY])
    after = _cells(db_session)
    assert (DAY, "*", "nagorno_karabakh") not in after
    assert after[(DAY, "*", "israel_azerbaijan_ties")] == (3, 3)


def test_daily_series_marks_missing_days(db_session):
    source = make_source(db_session, country="GE")
    make_post(db_session, source, DAY, classification={})
    recompute_rollups(db_session, "GE", [DAY, DAY + dt.timedelta(days=1)])
    series = daily_series(db_session, "GE", DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
    assert series == {DAY: (1, 0)}


def test_recomputes_of_one_day_take_turns(pg_engine):
    """A recompute holds its (country, day) until it commits (see lock_day): another worker's recompute of that
    day waits for it, then reads what it committed, so an older count is never written over a newer one."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    day = dt.date(2024, 2, 20)
    with Session(pg_engine) as first, Session(pg_engine) as second:
        recompute_rollups(first, "AM", [day])
        second.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            recompute_rollups(second, "AM", [day])
        second.rollback()
        second.execute(text("SET lock_timeout = '200ms'"))
        recompute_rollups(second, "AM", [day + dt.timedelta(days=1)])  # another day, or another country, goes on
        recompute_rollups(second, "DE", [day])
        second.rollback()
        first.rollback()
        recompute_rollups(second, "AM", [day])  # the first one ended: its turn is over
        second.rollback()


def test_a_day_marked_by_many_batches_is_recomputed_once(db_session):
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    make_post(db_session, am, DAY, classification=HOSTILE)
    make_post(db_session, am, DAY + dt.timedelta(days=1), classification={})
    make_post(db_session, de, DAY, classification={})
    mark_stale(db_session, {"AM": {DAY}})  # one batch
    first = db_session.scalar(select(StaleDay.marked_at).where(StaleDay.country == "AM"))
    mark_stale(db_session, {"AM": [DAY + dt.timedelta(days=1), DAY], "DE": {DAY}})  # the next: the same day again
    db_session.expire_all()
    again = db_session.scalar(select(StaleDay.marked_at).where(StaleDay.country == "AM", StaleDay.day == DAY))
    assert again == first  # lagging since the first mark, not since the last batch
    now = dt.datetime.now(dt.timezone.utc)
    assert stale_countries(db_session, now + dt.timedelta(minutes=1)) == ["AM", "DE"]
    assert stale_countries(db_session, now - dt.timedelta(minutes=5)) == []  # none lost yet

    assert recompute_stale(db_session, "AM") == [DAY, DAY + dt.timedelta(days=1)]
    cells = _cells(db_session)
    assert cells[(DAY, "*", "*")] == (1, 1) and cells[(DAY + dt.timedelta(days=1), "*", "*")] == (1, 0)
    assert recompute_stale(db_session, "AM") == []  # taken: a second recompute has nothing to do
    assert stale_countries(db_session, now + dt.timedelta(minutes=1)) == ["DE"]
    assert recompute_stale(db_session, "DE", [DAY - dt.timedelta(days=1)]) == [DAY - dt.timedelta(days=1), DAY]
    assert _cells(db_session, "DE") == {(DAY, "*", "*"): (1, 0), (DAY, "none", "*"): (1, 0)}


def test_a_batch_marking_a_day_whose_mark_is_being_taken_waits_and_its_mark_stays(pg_engine):
    """The recompute that took a mark may have read the day before this batch committed: the batch's own mark
    must then survive for the recompute it sends next."""
    import pytest
    from sqlalchemy import delete, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    country = "QZ"  # committed below: a code no other test uses, cleaned up at the end
    with Session(pg_engine) as recompute, Session(pg_engine) as batch:
        try:
            mark_stale(batch, {country: {DAY}})
            batch.commit()
            assert recompute_stale(recompute, country) == [DAY]  # taken, not committed yet
            batch.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                mark_stale(batch, {country: {DAY}})  # waits for the recompute's transaction
            batch.rollback()
            recompute.commit()
            mark_stale(batch, {country: {DAY}})
            batch.commit()
            assert recompute_stale(recompute, country) == [DAY]  # the mark made after the take stayed
            recompute.commit()

            # The other order: a batch re-marks a day whose mark is already there and has not committed; the
            # take waits for it (and so reads the posts it classified), rather than take the mark and read early.
            mark_stale(batch, {country: {DAY}})
            batch.commit()
            mark_stale(batch, {country: {DAY}})  # the next batch of that day, still open
            recompute.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                recompute_stale(recompute, country)
            recompute.rollback()
            batch.commit()
            assert recompute_stale(recompute, country) == [DAY]
            recompute.commit()

            # A batch blocked on a mark that the recompute then deletes goes on after its commit and leaves a
            # fresh mark (PostgreSQL retries the insert), for the recompute that the batch sends.
            mark_stale(batch, {country: {DAY}})
            batch.commit()
            assert recompute_stale(recompute, country) == [DAY]  # holds the mark, deleted, uncommitted
            blocked = threading.Thread(target=lambda: (mark_stale(batch, {country: {DAY}}), batch.commit()))
            blocked.start()
            blocked.join(0.5)
            assert blocked.is_alive()  # waiting for the recompute's transaction
            recompute.commit()
            blocked.join(10)
            assert not blocked.is_alive()
            assert recompute_stale(recompute, country) == [DAY]
            recompute.commit()
        finally:
            recompute.rollback()
            batch.rollback()
            batch.execute(delete(StaleDay).where(StaleDay.country == country))
            batch.commit()


def test_postgresql_counts_the_cells_as_count_cells_does(db_session):
    """day_cells counts in SQL on PostgreSQL; the same rows counted by count_cells in Python must agree."""
    import random

    from monitor.rollups import day_cells

    rng = random.Random(7)
    am, de = make_source(db_session, country="AM"), make_source(db_session, country="DE")
    rows = []
    for n in range(300):
        hostile = rng.random() < 0.3
        triggers = rng.choice([[], ["gaza_war"], ["gaza_war", "gaza_war"], ["nagorno_karabakh", "gaza_war"], None])
        classified = rng.random() < 0.9
        values = {"antisemitic": hostile, "category": rng.choice(["conspiracy", "collective_blame"]) if hostile
                  else rng.choice(["none", ""]), "triggers": triggers}
        make_post(db_session, am, DAY, f"p{n}", hour=rng.randrange(24), classification=values if classified else None)
        rows.append((hostile, values["category"], triggers) if classified else (None, None, None))
    make_post(db_session, am, DAY + dt.timedelta(days=1), "next day", classification=HOSTILE)  # not this day
    make_post(db_session, de, DAY, "another country", classification=HOSTILE)
    assert db_session.get_bind().dialect.name == "postgresql"
    assert day_cells(db_session, "AM", DAY) == count_cells(rows)
    assert day_cells(db_session, "AM", DAY - dt.timedelta(days=1)) == {}
