"""Rollups are recomputed for a window, so rerunning them changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from monitor.models import Classification, Rollup
from monitor.rollups import count_cells, daily_series, recompute_rollups
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
