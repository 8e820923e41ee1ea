"""Alert states, no-data alerts, one alert per event across beats, and the alert's text."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from monitor.alerts import (
    AlertStateError,
    acknowledge,
    check_gaps,
    check_spikes,
    describe_alert,
    resolve,
)
from monitor.models import Alert, Rollup
from monitor.spikes import SpikeParams
from tests.factories import make_post, make_source

START = dt.date(2024, 1, 1)
PARAMS = SpikeParams()


def _rollups(session, country: str, hostile: list[int | None], posts: list[int] | int = 200) -> None:
    for i, n in enumerate(hostile):
        if n is None:
            continue  # no data that day
        total = posts[i] if isinstance(posts, list) else posts
        session.add(Rollup(country=country, day=START + dt.timedelta(days=i), category="*", trigger="*",
                           posts=total, antisemitic=n))
    session.flush()


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def test_many_beats_on_one_day_make_one_alert(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 4 + [30])
    opened = [check_spikes(db_session, "AM", _day(28), PARAMS) for _ in range(12)]  # an hour of beats
    assert [len(o) for o in opened] == [1] + [0] * 11
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1


def test_volume_only_rise_with_flat_share_raises_nothing(db_session):
    posts = [200] * 28 + [800] * 3
    _rollups(db_session, "GE", [p // 20 for p in posts], posts)  # 5 % every day
    for i in range(28, 31):
        assert check_spikes(db_session, "GE", _day(i), PARAMS) == []


def test_ack_then_resolve_records_who_and_when(db_session):
    _rollups(db_session, "DE", [5, 6, 5, 7, 6, 5, 6] * 4 + [30])
    [alert_id] = check_spikes(db_session, "DE", _day(28), PARAMS)
    alert = acknowledge(db_session, alert_id, "rivka")
    assert alert.status == "acknowledged" and alert.acknowledged_by == "rivka" and alert.acknowledged_at
    with pytest.raises(AlertStateError):
        acknowledge(db_session, alert_id, "someone")
    alert = resolve(db_session, alert_id, "david")
    assert alert.status == "resolved" and alert.resolved_by == "david" and alert.resolved_at
    with pytest.raises(AlertStateError):
        resolve(db_session, alert_id, "david")
    with pytest.raises(AlertStateError):
        acknowledge(db_session, 10**9, "nobody")


def test_acknowledged_alert_resolves_on_recovery(db_session):
    _rollups(db_session, "FR", [5, 6, 5, 7, 6, 5, 6] * 4 + [30] + [6, 5, 6, 5, 6])
    [alert_id] = check_spikes(db_session, "FR", _day(28), PARAMS)
    acknowledge(db_session, alert_id, "rivka")
    for i in range(29, 34):
        check_spikes(db_session, "FR", _day(i), PARAMS)
    alert = db_session.get(Alert, alert_id)
    assert alert.status == "resolved" and alert.resolved_by == "vigil"


def test_silence_raises_one_no_data_alert_and_data_resolves_it(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 3 + [None] * 6)
    assert check_gaps(db_session, "AM", _day(21)) == []  # yesterday had data
    assert check_gaps(db_session, "AM", _day(22)) == []  # one silent day is within grace
    [gap_id] = check_gaps(db_session, "AM", _day(23))
    for i in (23, 24, 25, 26):  # later beats update the same alert
        assert check_gaps(db_session, "AM", _day(i)) == []
    # The spike check sees no data, not zeros: no spike and no "drop".
    assert check_spikes(db_session, "AM", _day(26), PARAMS) == []
    gap = db_session.get(Alert, gap_id)
    assert (gap.kind, gap.status, gap.started_on, gap.last_seen_on) == ("no_data", "open", _day(21), _day(26))
    assert gap.severity == "high"  # five silent days
    assert "not a drop to zero" in describe_alert(db_session, gap).body
    db_session.add(Rollup(country="AM", day=_day(27), category="*", trigger="*", posts=100, antisemitic=3))
    db_session.flush()
    assert check_gaps(db_session, "AM", _day(27)) == []
    assert db_session.get(Alert, gap_id).status == "resolved"
    assert db_session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "no_data")) == 1


def test_a_country_without_data_raises_no_gap_alert(db_session):
    assert check_gaps(db_session, "PL", _day(30)) == []


def test_alert_text_says_what_rose_why_and_shows_examples(db_session):
    source = make_source(db_session, country="AM")
    hostile = [5, 6, 5, 7, 6, 5, 6] * 4 + [30]
    _rollups(db_session, "AM", hostile)
    for i, n in enumerate(hostile):
        db_session.add(Rollup(country="AM", day=_day(i), category="*", trigger="israel_azerbaijan_ties",
                              posts=n, antisemitic=1 if i < 28 else 20))
        db_session.add(Rollup(country="AM", day=_day(i), category="collective_blame", trigger="*",
                              posts=n, antisemitic=2 if i < 28 else 18))
    long_text = "example hostile wording " * 30
    for k in range(3):
        post = make_post(db_session, source, _day(28), long_text, hour=10 + k,
                         classification={"antisemitic": True, "score": 0.9 - k / 10, "category": "collective_blame",
                                         "triggers": ["israel_azerbaijan_ties"]})
        post.url, post.author_pseudonym = f"https://example.org/p/{k}", "ab" * 32
    db_session.flush()
    [alert_id] = check_spikes(db_session, "AM", _day(28), PARAMS)
    text = describe_alert(db_session, db_session.get(Alert, alert_id))
    assert "AM" in text.subject and ("critical" in text.subject or "high" in text.subject)
    assert "30 antisemitic posts" in text.body and "expected" in text.body and "15.0% of 200" in text.body
    assert "israel_azerbaijan_ties 20 posts (lift 10.5x)" in text.body
    assert "collective_blame 18 posts" in text.body
    assert "https://example.org/p/0" in text.body and "[abababababab]" in text.body
    assert long_text not in text.body and "…" in text.body
    assert text.fields["triggers"][0]["lift"] == 10.5 and len(text.fields["examples"]) == 3
