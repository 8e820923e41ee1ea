"""Spike alerts: one alert per event across series and resolutions, escalation, small series, hourly."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from monitor.alerts import AlertParams, check_spikes, hourly_series, replay_spikes, resolve
from monitor.db import Base
from monitor.models import Alert, Classification, Post, Rollup
from tests.factories import make_source

START = dt.date(2024, 1, 1)
PARAMS = AlertParams()


def _rollups(session, country: str, hostile: list[int], posts: int = 200) -> None:
    for i, n in enumerate(hostile):
        day = START + dt.timedelta(days=i)
        session.add(Rollup(country=country, day=day, category="*", trigger="*", posts=posts, antisemitic=n))
        if n > 10:
            session.add(Rollup(country=country, day=day, category="collective_blame", trigger="*",
                               posts=n - 4, antisemitic=n - 4))
            session.add(Rollup(country=country, day=day, category="*", trigger="israel_azerbaijan_ties",
                               posts=n + 20, antisemitic=n - 6))
    session.flush()


def _alerts(session, country="AM"):
    return list(session.scalars(select(Alert).where(Alert.country == country).order_by(Alert.id)))


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def test_one_alert_per_event_with_drivers(db_session):
    series = [6, 5, 7, 6, 5, 6, 7] * 5 + [30, 34, 28, 6, 5, 6, 5, 6, 5, 6]
    _rollups(db_session, "AM", series)
    opened = replay_spikes(db_session, "AM", START, _day(len(series) - 1), PARAMS)
    # The trigger and category rose with the count: the country's alert names them, no alert of their own.
    [alert] = _alerts(db_session)
    assert opened == [alert.id]
    assert (alert.metric, alert.started_on, alert.last_seen_on) == ("antisemitic_count", _day(35), _day(37))
    assert alert.observed == 34
    assert alert.details["triggers"][0]["id"] == "israel_azerbaijan_ties"
    assert alert.details["categories"][0]["id"] == "collective_blame"
    assert alert.status == "resolved" and alert.resolved_by == "vigil"  # quiet for longer than the cooldown

    # Rerunning the same checks (a redelivered task) changes nothing.
    again = replay_spikes(db_session, "AM", START, _day(len(series) - 1), PARAMS)
    assert again == []
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1


def test_escalation_is_reported_once(db_session):
    _rollups(db_session, "DE", [5, 6, 5, 7, 6, 5, 6] * 4 + [16])
    [alert_id] = check_spikes(db_session, "DE", _day(28), PARAMS)
    assert db_session.get(Alert, alert_id).severity == "warning"
    assert check_spikes(db_session, "DE", _day(28), PARAMS) == []  # the next beat: nothing new
    db_session.add(Rollup(country="DE", day=_day(29), category="*", trigger="*", posts=200, antisemitic=60))
    db_session.flush()
    assert check_spikes(db_session, "DE", _day(29), PARAMS) == [alert_id]  # escalated: deliver again
    assert check_spikes(db_session, "DE", _day(29), PARAMS) == []
    [alert] = _alerts(db_session, "DE")
    assert alert.observed == 60 and alert.status == "open" and alert.severity == "critical"
    assert alert.last_seen_on == _day(29)
    assert (alert.notice, alert.notice_reason) == (2, "escalated")  # its next notice, to everyone it reaches


def test_a_trigger_rising_inside_a_flat_total_gets_its_own_alert(db_session):
    rng = random.Random(2)
    for i in range(41):
        day = _day(i)
        db_session.add(Rollup(country="GE", day=day, category="*", trigger="*", posts=2000, antisemitic=100))
        db_session.add(Rollup(country="GE", day=day, category="*", trigger="israel_azerbaijan_ties", posts=300,
                              antisemitic=20 if i == 40 else rng.choice([1, 2, 3])))
        db_session.add(Rollup(country="GE", day=day, category="*", trigger="elections", posts=50,
                              antisemitic=9 if i == 40 else rng.choice([0, 0, 1, 2])))  # small: guarded
    db_session.flush()
    [alert_id] = check_spikes(db_session, "GE", _day(40), PARAMS)
    alert = db_session.get(Alert, alert_id)
    assert (alert.metric, alert.observed, alert.started_on) == ("trigger:israel_azerbaijan_ties", 20, _day(40))
    assert alert.details["posts"] == 2000  # the country's volume is the series' exposure


def test_quiet_series_and_missing_days_raise_nothing(db_session):
    _rollups(db_session, "GE", [5, 6, 5, 7, 6, 5, 6] * 5)
    assert replay_spikes(db_session, "GE", START, _day(40), PARAMS) == []


def test_replay_as_dry_run_logs_no_opened_alerts(db_session):
    _rollups(db_session, "AM", [6, 5, 7, 6, 5, 6, 7] * 5 + [30, 34])
    with capture_logs() as logs:
        assert len(replay_spikes(db_session, "AM", START, _day(36), PARAMS, dry_run=True)) == 1
    assert not [e for e in logs if e["event"] == "alert_opened"]


def _hourly_posts(session, country: str, days: int, until: dt.datetime, burst: dict[dt.datetime, tuple[int, int]]):
    """Two weeks of hourly posts (a day/night cycle, about 5 % antisemitic), plus `burst` hours."""
    source = make_source(session, country=country)
    rng = random.Random(7)
    rows, hostile = [], []
    first = until - dt.timedelta(days=days)
    hour = first
    while hour < until:
        n, a = burst.get(hour) or (20 if 8 <= hour.hour < 22 else 6, None)
        a = a if a is not None else sum(rng.random() < 0.05 for _ in range(n))
        for k in range(n):
            rows.append({"source_id": source.id, "external_id": f"{hour:%Y%m%d%H}-{k}", "text": "a post",
                         "country": country, "published_at": hour + dt.timedelta(minutes=k % 60),
                         "content_hash": "0" * 64, "language": "en"})
            hostile.append(k < a)
        hour += dt.timedelta(hours=1)
    ids = session.scalars(insert(Post).returning(Post.id), rows).all()
    session.execute(insert(Classification), [
        {"post_id": i, "model_version": "test", "antisemitic": h, "score": 0.9 if h else 0.1,
         "category": "collective_blame" if h else "none", "triggers": []} for i, h in zip(ids, hostile)])
    session.flush()


def test_an_hourly_spike_alerts_before_the_day_ends(db_session):
    now = dt.datetime(2024, 3, 15, 10, 40, tzinfo=dt.timezone.utc)
    spike = now.replace(minute=0)
    volume = now.replace(day=14, hour=15, minute=0)  # five times the posts, the same share
    _hourly_posts(db_session, "AM", 14, spike + dt.timedelta(hours=1), {spike: (20, 12), volume: (100, 5)})
    [alert_id] = check_spikes(db_session, "AM", now.date(), PARAMS, now=now)
    alert = db_session.get(Alert, alert_id)
    assert (alert.metric, alert.started_on, alert.observed) == ("antisemitic_count", now.date(), 12)
    assert alert.details["resolution"] == "hour" and alert.details["hour"].startswith("2024-03-15T10:00")
    assert alert.details["posts"] == 20
    assert check_spikes(db_session, "AM", now.date(), PARAMS, now=now) == []  # the next beat
    # The day's rollup seen later by the daily check joins the same event, not a new alert.
    db_session.add(Rollup(country="AM", day=now.date(), category="*", trigger="*", posts=300, antisemitic=40))
    db_session.flush()
    check_spikes(db_session, "AM", now.date(), PARAMS, now=now)
    assert [a.id for a in _alerts(db_session)] == [alert_id]


def test_an_hourly_alarm_reopens_an_alert_resolved_that_day_only_from_the_next_hour(db_session):
    now = dt.datetime(2024, 3, 15, 10, 40, tzinfo=dt.timezone.utc)
    ten, eleven = now.replace(minute=0), now.replace(hour=11, minute=0)
    _hourly_posts(db_session, "AM", 14, eleven, {ten: (20, 12)})
    [alert_id] = check_spikes(db_session, "AM", now.date(), PARAMS, now=now)
    alert = resolve(db_session, alert_id, "david")
    alert.resolved_at = now + dt.timedelta(minutes=5)
    # The checks after it still see the 10:00 alarm among the last 24 hours: not news.
    assert check_spikes(db_session, "AM", now.date(), PARAMS, now=now + dt.timedelta(minutes=15)) == []
    assert alert.status == "resolved"
    _hourly_posts(db_session, "AM", 1 / 24, eleven + dt.timedelta(hours=1), {eleven: (20, 12)})
    assert check_spikes(db_session, "AM", now.date(), PARAMS, now=now + dt.timedelta(minutes=30)) == [alert_id]
    assert (alert.status, alert.notice) == ("open", 2)
    assert check_spikes(db_session, "AM", now.date(), PARAMS, now=now + dt.timedelta(minutes=35)) == []


def test_hourly_series_agrees_on_postgresql_and_sqlite(db_session):
    now = dt.datetime(2024, 3, 15, 10, 40, tzinfo=dt.timezone.utc)
    burst = {now.replace(minute=0): (20, 12)}
    _hourly_posts(db_session, "AM", 2, now.replace(minute=0) + dt.timedelta(hours=1), burst)
    start = now - dt.timedelta(days=2)
    on_pg = hourly_series(db_session, "AM", start, now)
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as lite:
        _hourly_posts(lite, "AM", 2, now.replace(minute=0) + dt.timedelta(hours=1), burst)
        on_sqlite = hourly_series(lite, "AM", start, now)
    engine.dispose()
    assert on_pg == on_sqlite and on_pg[now.replace(minute=0)] == (20, 12)
    assert len(on_pg) == 48 and all(h.minute == 0 and h.tzinfo for h in on_pg)


def test_series_rising_in_one_event_make_one_alert(db_session):
    for i in range(41):
        day = _day(i)
        db_session.add(Rollup(country="AM", day=day, category="*", trigger="*", posts=2000, antisemitic=100))
        for trigger, peak in (("israel_azerbaijan_ties", 20), ("nagorno_karabakh", 15)):
            db_session.add(Rollup(country="AM", day=day, category="*", trigger=trigger, posts=300,
                                  antisemitic=peak if i == 40 else 1 + i % 3))
    db_session.flush()
    [alert_id] = check_spikes(db_session, "AM", _day(40), PARAMS)
    alert = db_session.get(Alert, alert_id)
    assert alert.metric == "trigger:israel_azerbaijan_ties"
    assert alert.details["related"] == ["trigger:nagorno_karabakh"]
    assert len(_alerts(db_session)) == 1


def test_a_series_rising_the_day_before_the_event_joins_its_alert(db_session):
    """Late posts raise one trigger's series the day before the open alert began: the same event, listed as
    rising too, not a second alert announced to everyone."""
    for i in range(41):
        day = _day(i)
        db_session.add(Rollup(country="AM", day=day, category="*", trigger="*", posts=2000, antisemitic=100))
        db_session.add(Rollup(country="AM", day=day, category="*", trigger="israel_azerbaijan_ties", posts=300,
                              antisemitic=20 if i == 40 else 1 + i % 3))
        db_session.add(Rollup(country="AM", day=day, category="*", trigger="nagorno_karabakh", posts=300,
                              antisemitic=1 + i % 3))
    db_session.flush()
    [alert_id] = check_spikes(db_session, "AM", _day(40), PARAMS)
    late = db_session.scalar(select(Rollup).where(Rollup.day == _day(39), Rollup.trigger == "nagorno_karabakh"))
    late.antisemitic = 15
    db_session.flush()
    assert check_spikes(db_session, "AM", _day(40), PARAMS) == []
    assert [a.id for a in _alerts(db_session)] == [alert_id]
    assert db_session.get(Alert, alert_id).details["related"] == ["trigger:nagorno_karabakh"]
