"""Spike alerts from rollups: one alert per event, updated as it grows, closed when it recovers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from monitor.alerts import check_spikes, replay_spikes
from monitor.models import Alert, Rollup
from monitor.spikes import SpikeParams

START = dt.date(2024, 1, 1)
PARAMS = SpikeParams()


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


def test_one_alert_per_event_with_drivers(db_session):
    series = [6, 5, 7, 6, 5, 6, 7] * 5 + [30, 34, 28, 6, 5, 6, 5, 6, 5, 6]
    _rollups(db_session, "AM", series)
    event = START + dt.timedelta(days=35)
    opened = replay_spikes(db_session, "AM", START, START + dt.timedelta(days=len(series) - 1), PARAMS)
    alerts = _alerts(db_session)
    assert len(opened) == 1 and len(alerts) == 1
    alert = alerts[0]
    assert alert.started_on == event
    assert alert.last_seen_on >= event + dt.timedelta(days=1)
    assert alert.observed == 34
    assert alert.details["triggers"][0]["id"] == "israel_azerbaijan_ties"
    assert alert.details["categories"][0]["id"] == "collective_blame"
    assert alert.status == "resolved"  # quiet for longer than the cooldown by the end

    # Rerunning the same checks (a redelivered task) changes nothing.
    again = replay_spikes(db_session, "AM", START, START + dt.timedelta(days=len(series) - 1), PARAMS)
    assert again == []
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1


def test_check_for_today_opens_then_updates(db_session):
    series = [5, 6, 5, 7, 6, 5, 6] * 4 + [25]
    _rollups(db_session, "DE", series)
    today = START + dt.timedelta(days=len(series) - 1)
    assert len(check_spikes(db_session, "DE", today, PARAMS)) == 1
    db_session.add(Rollup(country="DE", day=today + dt.timedelta(days=1), category="*", trigger="*",
                          posts=200, antisemitic=60))
    db_session.flush()
    assert check_spikes(db_session, "DE", today + dt.timedelta(days=1), PARAMS) == []
    [alert] = _alerts(db_session, "DE")
    assert alert.observed == 60 and alert.status == "open"
    assert alert.severity in ("high", "critical")


def test_quiet_series_and_missing_days_raise_nothing(db_session):
    _rollups(db_session, "GE", [5, 6, 5, 7, 6, 5, 6] * 5)
    assert replay_spikes(db_session, "GE", START, START + dt.timedelta(days=40), PARAMS) == []
