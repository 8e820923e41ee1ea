"""Alert states, no-data alerts, one alert per event across beats, and the alert's text."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from monitor.alerts import (
    AlertStateError,
    acknowledge,
    check_gaps,
    check_spikes,
    describe_alert,
    resolve,
)
from monitor.models import Alert, Rollup
from monitor.alerts import AlertParams
from tests.factories import make_post, make_source

START = dt.date(2024, 1, 1)
PARAMS = AlertParams()


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


NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.timezone.utc)


def _hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def test_failing_sources_raise_one_no_data_alert_that_grows_and_resolves(db_session):
    src = make_source(db_session, country="AM", created_at=NOW - _hours(500), poll_interval_s=900,
                      last_success_at=NOW - _hours(5), last_polled_at=NOW - _hours(0.1), last_error="HTTP 503")
    assert check_gaps(db_session, "AM", NOW) == []  # five hours: still within grace
    [gap_id] = check_gaps(db_session, "AM", NOW + _hours(25))
    for h in (25.1, 26, 30):  # later beats update the same alert
        assert check_gaps(db_session, "AM", NOW + _hours(h)) == []
    gap = db_session.get(Alert, gap_id)
    assert (gap.kind, gap.metric, gap.status, gap.severity) == ("no_data", "posts", "open", "high")
    assert gap.started_on == (NOW - _hours(5)).date() and gap.details["reason"] == "failing"
    assert check_gaps(db_session, "AM", NOW + _hours(80)) == [gap_id]  # escalated to critical: tell again
    assert (db_session.get(Alert, gap_id).notice, db_session.get(Alert, gap_id).notice_reason) == (2, "escalated")
    text = describe_alert(db_session, gap)
    assert "not a drop to zero" in text.body and "HTTP 503" in text.body and "polls fail" in text.body
    # The spike check sees no data, not zeros: no spike and no "drop".
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 3 + [None] * 6)
    assert check_spikes(db_session, "AM", _day(26), PARAMS) == []
    src.last_success_at = NOW + _hours(81)
    db_session.flush()
    assert check_gaps(db_session, "AM", NOW + _hours(81)) == []
    assert db_session.get(Alert, gap_id).status == "resolved"
    assert db_session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "no_data")) == 1


def test_sources_that_succeed_without_posts_are_quiet_not_silent(db_session):
    make_source(db_session, country="GE", created_at=NOW - _hours(500), last_success_at=NOW - _hours(0.2),
                last_polled_at=NOW - _hours(0.2))
    assert check_gaps(db_session, "GE", NOW) == []  # no rollups, no posts at all: still no gap


def _history(session, src, last: dt.datetime, n: int) -> None:
    """`n` posts of `src` collected evenly over the 28 days before `last`, and one collected at `last`."""
    for i in range(n + 1):
        at = last - dt.timedelta(hours=672) * (n - i) / n if i < n else last
        post = make_post(session, src, at.date(), f"post {i}")
        post.collected_at = at
    session.flush()


def _collect(session, src, at: dt.datetime) -> None:
    post = make_post(session, src, at.date(), "a new post")
    post.collected_at = at
    session.flush()


def test_a_country_whose_sources_answer_but_bring_nothing_for_too_long_has_a_quiet_gap(db_session):
    src = make_source(db_session, country="AZ", created_at=NOW - _hours(900), poll_interval_s=900,
                      last_success_at=NOW - _hours(0.1), last_polled_at=NOW - _hours(0.1))
    last = NOW - _hours(30)
    _history(db_session, src, last, 336)  # twelve a day, usually; polls succeed but nothing new for 30 hours
    [quiet_id] = check_gaps(db_session, "AZ", NOW)
    quiet = db_session.get(Alert, quiet_id)
    assert (quiet.kind, quiet.metric, quiet.severity, quiet.details["reason"]) == ("no_data", "quiet", "high",
                                                                                   "no_posts")
    assert quiet.details["expected_posts"] == 15.0 and quiet.started_on == last.date()  # 336 / 672 h * 30 h
    body = describe_alert(db_session, quiet).body
    assert "no post collected since" in body and "would have brought at least 15" in body and "not a drop" in body
    assert check_gaps(db_session, "AZ", NOW + _hours(1)) == []  # the next beat updates it
    _collect(db_session, src, NOW + _hours(2))  # one stray post: still a gap, the same one
    src.last_success_at = NOW + _hours(8.9)  # the polls go on succeeding
    assert check_gaps(db_session, "AZ", NOW + _hours(9)) == []
    assert db_session.get(Alert, quiet_id).status == "open"
    assert db_session.scalar(select(func.count()).select_from(Alert).where(Alert.country == "AZ")) == 1
    for h in (10, 10.5):
        _collect(db_session, src, NOW + _hours(h))
    src.last_success_at = NOW + _hours(10.9)
    assert check_gaps(db_session, "AZ", NOW + _hours(11)) == []
    assert (db_session.get(Alert, quiet_id).status, db_session.get(Alert, quiet_id).resolved_by) == ("resolved",
                                                                                                     "vigil")


def test_a_quiet_gap_that_recovered_and_fell_silent_again_before_a_check_is_a_new_gap(db_session):
    src = make_source(db_session, country="AZ", created_at=NOW - _hours(900), poll_interval_s=900,
                      last_success_at=NOW - _hours(0.1), last_polled_at=NOW - _hours(0.1))
    _history(db_session, src, NOW - _hours(30), 336)
    [first] = check_gaps(db_session, "AZ", NOW)
    for h in (2, 3, 4):  # the feed works again for a while, then freezes; no check runs meanwhile
        _collect(db_session, src, NOW + _hours(h))
    src.last_success_at = NOW + _hours(59.9)
    [second] = check_gaps(db_session, "AZ", NOW + _hours(60))
    assert second != first and db_session.get(Alert, first).status == "resolved"
    new = db_session.get(Alert, second)
    assert (new.metric, new.started_on, new.details["last_success_at"]) == (
        "quiet", (NOW + _hours(4)).date(), (NOW + _hours(4)).isoformat())


def test_posts_of_disabled_sources_neither_hide_a_quiet_gap_nor_make_one(db_session):
    feed = make_source(db_session, country="AM", created_at=NOW - _hours(900), last_success_at=NOW - _hours(0.1),
                       last_polled_at=NOW - _hours(0.1))
    _history(db_session, feed, NOW - _hours(30), 336)
    manual = make_source(db_session, country="AM", created_at=NOW - _hours(900), enabled=False)
    _collect(db_session, manual, NOW - _hours(1))  # a hand import an hour ago does not prove the feed works
    [quiet_id] = check_gaps(db_session, "AM", NOW)
    assert db_session.get(Alert, quiet_id).metric == "quiet"
    busy = make_source(db_session, country="GE", created_at=NOW - _hours(900), enabled=False)
    _history(db_session, busy, NOW - _hours(30), 336)  # a busy feed an operator turned off 30 hours ago
    make_source(db_session, country="GE", created_at=NOW - _hours(900), last_success_at=NOW - _hours(0.1),
                last_polled_at=NOW - _hours(0.1))  # and a new one that has brought nothing yet
    assert check_gaps(db_session, "GE", NOW) == []


def test_a_country_whose_sources_all_fail_has_the_one_country_gap_not_a_quiet_one_too(db_session):
    src = make_source(db_session, country="IL", created_at=NOW - _hours(900), poll_interval_s=900,
                      last_success_at=NOW - _hours(30), last_polled_at=NOW - _hours(0.1), last_error="HTTP 500")
    _history(db_session, src, NOW - _hours(30), 336)
    [gap_id] = check_gaps(db_session, "IL", NOW)
    assert db_session.get(Alert, gap_id).metric == "posts"


def test_a_small_country_that_is_quiet_for_hours_has_no_gap(db_session):
    src = make_source(db_session, country="DE", created_at=NOW - _hours(900), last_success_at=NOW - _hours(0.1),
                      last_polled_at=NOW - _hours(0.1))
    _history(db_session, src, NOW - _hours(20), 168)  # six a day: 20 hours of silence is five posts
    assert check_gaps(db_session, "DE", NOW) == []
    assert check_gaps(db_session, "DE", NOW + _hours(30)) != []  # 50 hours: twelve and a half


def test_one_stopped_source_of_several_is_a_source_gap(db_session):
    make_source(db_session, country="DE", created_at=NOW - _hours(500), last_success_at=NOW - _hours(0.2))
    stopped = make_source(db_session, country="DE", created_at=NOW - _hours(500), last_success_at=NOW - _hours(10),
                          last_polled_at=NOW - _hours(10))
    [gap_id] = check_gaps(db_session, "DE", NOW)
    gap = db_session.get(Alert, gap_id)
    assert (gap.metric, gap.severity, gap.details["reason"]) == (f"source:{stopped.id}", "warning", "not_polled")
    assert "not being polled" in describe_alert(db_session, gap).body


def test_a_gap_whose_sources_are_disabled_or_removed_is_resolved(db_session):
    kept = make_source(db_session, country="DE", created_at=NOW - _hours(500), last_success_at=NOW - _hours(0.2))
    stopped = make_source(db_session, country="DE", created_at=NOW - _hours(500), last_success_at=NOW - _hours(10),
                          last_polled_at=NOW - _hours(10))
    [source_gap] = check_gaps(db_session, "DE", NOW)
    stopped.enabled = False  # the operator gave up on it: nothing is left to wait for
    db_session.flush()
    assert check_gaps(db_session, "DE", NOW + _hours(1)) == []
    gap = db_session.get(Alert, source_gap)
    assert (gap.status, gap.resolved_by, gap.details["ended"]) == ("resolved", "vigil", "no_enabled_source")
    kept.last_success_at = NOW - _hours(10)  # now the last one is silent too: the country's gap
    db_session.flush()
    [country_gap] = check_gaps(db_session, "DE", NOW + _hours(1))
    db_session.delete(kept)
    db_session.flush()
    assert check_gaps(db_session, "DE", NOW + _hours(2)) == []
    assert db_session.get(Alert, country_gap).status == "resolved"
    assert db_session.scalar(select(func.count()).select_from(Alert).where(
        Alert.country == "DE", Alert.status != "resolved")) == 0


def test_a_country_without_sources_raises_no_gap_alert(db_session):
    assert check_gaps(db_session, "PL", NOW) == []
    make_source(db_session, country="PL", created_at=NOW - _hours(1))  # new, never polled yet: grace
    assert check_gaps(db_session, "PL", NOW) == []


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
    for k in range(6):  # the previous weeks' hostile posts use other words
        make_post(db_session, source, _day(10 + k), "old grievance about banks", classification={
            "antisemitic": True, "score": 0.8, "category": "collective_blame", "triggers": []})
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
    assert "Emerging terms: " in text.body and "hostile wording" in {t["term"] for t in text.fields["terms"]}


def test_a_trigger_alerts_examples_are_its_trigger_posts_even_under_many_higher_scored_others(db_session):
    from monitor.alerts.text import _examples

    source = make_source(db_session, country="AM")
    for k in range(205):  # more than the 200 posts the examples are chosen from, all scoring higher
        make_post(db_session, source, _day(3), f"other hostile post {k}", hour=k % 24,
                  classification={"antisemitic": True, "score": 0.99, "category": "conspiracy", "triggers": []})
    post = make_post(db_session, source, _day(3), "the drone deal post", classification={
        "antisemitic": True, "score": 0.6, "category": "collective_blame", "triggers": ["israel_azerbaijan_ties"]})
    post.url = "https://example.org/drones"
    alert = Alert(country="AM", kind="spike", metric="trigger:israel_azerbaijan_ties", status="open",
                  severity="warning", started_on=_day(3), last_seen_on=_day(3), observed=1, expected=0.1, score=3.0,
                  details={"day": _day(3).isoformat()})
    db_session.add(alert)
    db_session.flush()
    assert [e["url"] for e in _examples(db_session, alert)] == ["https://example.org/drones"]


def test_an_alert_resolved_by_hand_that_rises_again_reopens_as_its_next_notice(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 4 + [30])
    [alert_id] = check_spikes(db_session, "AM", _day(28), PARAMS)
    alert = db_session.get(Alert, alert_id)
    assert alert.notice == 1 and "reopened" not in describe_alert(db_session, alert).subject
    resolve(db_session, alert_id, "david")
    assert check_spikes(db_session, "AM", _day(28), PARAMS) == []  # the alarm the analyst saw: stays resolved
    assert alert.status == "resolved"
    db_session.add(Rollup(country="AM", day=_day(29), category="*", trigger="*", posts=200, antisemitic=80))
    db_session.flush()
    assert check_spikes(db_session, "AM", _day(29), PARAMS) == [alert_id]  # news: announced again
    assert (alert.status, alert.resolved_by, alert.last_seen_on) == ("open", None, _day(29))
    assert (alert.notice, alert.notice_reason, alert.severity) == (2, "reopened", "critical")  # one notice for both
    assert check_spikes(db_session, "AM", _day(29), PARAMS) == []  # the next beat: nothing new
    text = describe_alert(db_session, alert)
    assert text.subject.endswith("(reopened)") and "Reopened: it had been resolved" in text.body
    assert text.fields["notice"] == 2


def test_a_gap_resolved_by_recovery_that_recurs_reopens_as_its_next_notice(db_session):
    src = make_source(db_session, country="AM", created_at=NOW - _hours(500), poll_interval_s=900,
                      last_success_at=NOW - _hours(30), last_polled_at=NOW - _hours(0.1), last_error="HTTP 503")
    [gap_id] = check_gaps(db_session, "AM", NOW)
    gap = db_session.get(Alert, gap_id)
    src.last_success_at = NOW - _hours(29)  # a success the same day as the last, then failures again
    db_session.flush()
    assert check_gaps(db_session, "AM", NOW) == [gap_id]  # resolved by the success, then the same gap again
    assert (gap.status, gap.notice) == ("open", 2) and gap.started_on == (NOW - _hours(29)).date()
    assert "(reopened)" in describe_alert(db_session, gap).subject
    assert check_gaps(db_session, "AM", NOW + _hours(0.5)) == []


def test_a_resolved_alert_that_escalates_on_its_last_day_stays_resolved_and_unannounced(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 4 + [30])
    [alert_id] = check_spikes(db_session, "AM", _day(28), PARAMS)
    alert = resolve(db_session, alert_id, "david")
    db_session.execute(update(Rollup).where(Rollup.country == "AM", Rollup.day == _day(28)).values(antisemitic=80))
    assert check_spikes(db_session, "AM", _day(28), PARAMS) == []  # the same day, grown: the analyst's call stands
    assert (alert.status, alert.severity, alert.notice) == ("resolved", "critical", 1)


def test_a_check_that_reopens_an_alert_and_escalates_it_announces_one_notice(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 4 + [30])
    [alert_id] = check_spikes(db_session, "AM", _day(28), PARAMS)
    alert = resolve(db_session, alert_id, "david")
    db_session.add_all([Rollup(country="AM", day=_day(29), category="*", trigger="*", posts=200, antisemitic=31),
                        Rollup(country="AM", day=_day(30), category="*", trigger="*", posts=200, antisemitic=90)])
    db_session.flush()
    assert check_spikes(db_session, "AM", _day(30), PARAMS) == [alert_id]  # day 29 reopens it, day 30 escalates
    assert (alert.status, alert.severity, alert.notice, alert.notice_reason) == ("open", "critical", 2, "reopened")
    assert "(reopened)" in describe_alert(db_session, alert).subject


def test_checks_of_one_country_take_turns(pg_engine):
    """Two checks of a country never work from the same read (see lock_country); other countries go on."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from monitor.alerts.states import lock_country

    with Session(pg_engine) as first, Session(pg_engine) as second:
        lock_country(first, "AM")
        lock_country(first, "AM")  # again in the same transaction: free
        second.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            lock_country(second, "AM")
        second.rollback()
        second.execute(text("SET lock_timeout = '200ms'"))
        lock_country(second, "DE")
        first.commit()  # the first check ends: the next takes its turn
        lock_country(second, "AM")
        second.rollback()
        # Both checks take it: while one holds the country, the other waits (here: times out) before reading.
        lock_country(first, "AM")
        for check in (lambda: check_spikes(second, "AM", _day(28), PARAMS), lambda: check_gaps(second, "AM")):
            second.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                check()
            second.rollback()
        first.rollback()


def test_late_posts_that_raise_the_day_before_an_alert_extend_it_instead_of_opening_another(db_session):
    _rollups(db_session, "AM", [5, 6, 5, 7, 6, 5, 6] * 4 + [6, 30])
    [alert_id] = check_spikes(db_session, "AM", _day(29), PARAMS)
    alert = db_session.get(Alert, alert_id)
    assert alert.started_on == _day(29)
    late = db_session.scalar(select(Rollup).where(Rollup.country == "AM", Rollup.day == _day(28),
                                                  Rollup.category == "*", Rollup.trigger == "*"))
    late.antisemitic = 28  # an export of the day before arrives
    db_session.flush()
    assert check_spikes(db_session, "AM", _day(29), PARAMS) == []  # nothing new to announce
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1
    assert (alert.started_on, alert.last_seen_on, alert.notice) == (_day(28), _day(29), 1)
