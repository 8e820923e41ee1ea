"""Weekly report delivery: when it is due (across daylight-saving changes), claimed exactly once,
e-mailed through a real SMTP server with its MIME structure checked, retried with backoff, overdue
runs told to the admin, and resent on request."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import threading
from email import policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor import notify, reporting
from monitor.config import Settings, use_settings
from monitor.db import as_utc
from monitor.models import ReportRun, Subscriber
from monitor.reports.schedule import due_at, due_reports
from tests.mailserver import free_port
from tests.test_reports import rollups, world  # noqa: F401 - fixtures

UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=UTC)


def _settings(tmp_path, port: int | None = None, **kw) -> Settings:
    values = {"data_dir": tmp_path / "data", "smtp_from": "vigil@test", "smtp_starttls": False,
              "webhook_timeout_s": 5, "report_backoff_s": 300, "report_attempts": 3} | kw
    if port is not None:
        values |= {"smtp_host": "127.0.0.1", "smtp_port": port}
    return Settings(**values)


def _subscriber(session, email_address="ngo@example.org", **kw) -> Subscriber:
    values = {"countries": ["DE", "FR"], "timezone": "UTC", "report_weekday": 0, "report_hour": 8,
              "created_at": LONG_AGO} | kw
    sub = Subscriber(email=email_address, **values)
    session.add(sub)
    session.flush()
    return sub


# --- due moments across daylight-saving changes (pure) ------------------------------------------------

def _beat(start: dt.datetime, end: dt.datetime, minutes: int = 15):
    moment = start
    while moment < end:
        yield moment
        moment += dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(("weekday", "hour", "start", "expected"), [
    # Sunday 02:00 does not exist in Berlin on 2024-03-31 (clocks jump 02:00 -> 03:00): it passes at 03:00 CEST.
    (6, 2, dt.datetime(2024, 3, 20, tzinfo=UTC), {
        "2024-W11": dt.datetime(2024, 3, 24, 1, 0, tzinfo=UTC),  # 02:00 CET
        "2024-W12": dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC),  # the skipped hour
        "2024-W13": dt.datetime(2024, 4, 7, 0, 0, tzinfo=UTC)}),  # 02:00 CEST
    # Sunday 02:00 happens twice on 2024-10-27 (03:00 -> 02:00): the first one counts, once.
    (6, 2, dt.datetime(2024, 10, 16, tzinfo=UTC), {
        "2024-W41": dt.datetime(2024, 10, 20, 0, 0, tzinfo=UTC),  # 02:00 CEST
        "2024-W42": dt.datetime(2024, 10, 27, 0, 0, tzinfo=UTC),  # the first of the two 02:00s
        "2024-W43": dt.datetime(2024, 11, 3, 1, 0, tzinfo=UTC)}),  # 02:00 CET
    # Monday 08:00 local is 07:00 UTC before the spring change and 06:00 UTC after it.
    (0, 8, dt.datetime(2024, 3, 20, tzinfo=UTC), {
        "2024-W12": dt.datetime(2024, 3, 25, 7, 0, tzinfo=UTC),
        "2024-W13": dt.datetime(2024, 4, 1, 6, 0, tzinfo=UTC)}),
])
def test_dst_neither_skips_nor_duplicates(weekday, hour, start, expected):
    sent: dict[str, dt.datetime] = {}
    for now in _beat(start, start + dt.timedelta(days=19)):
        for iso_week, due in due_reports(weekday, hour, "Europe/Berlin", now, since=start):
            if iso_week not in sent:  # what the unique (subscriber, week) key does
                sent[iso_week] = due
                assert now - due < dt.timedelta(minutes=15)  # picked up by the first beat after it fell due
    assert sent == expected


def test_due_at_resolves_nonexistent_and_repeated_wall_times():
    assert due_at(6, 2, BERLIN, dt.date(2024, 3, 25)) == dt.datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert due_at(6, 2, BERLIN, dt.date(2024, 10, 21)) == dt.datetime(2024, 10, 27, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        due_at(7, 0, BERLIN, dt.date(2024, 3, 25))


def test_due_reports_looks_back_one_week_and_not_before_the_subscriber_existed():
    now = dt.datetime(2024, 2, 20, 9, tzinfo=UTC)  # a Tuesday
    assert due_reports(0, 8, "UTC", now) == [("2024-W06", dt.datetime(2024, 2, 12, 8, tzinfo=UTC)),
                                             ("2024-W07", dt.datetime(2024, 2, 19, 8, tzinfo=UTC))]
    assert due_reports(0, 8, "UTC", now, since=dt.datetime(2024, 2, 14, tzinfo=UTC)) == [
        ("2024-W07", dt.datetime(2024, 2, 19, 8, tzinfo=UTC))]
    assert due_reports(2, 8, "UTC", now, since=now) == []
    assert due_reports(0, 8, "No/Such_Zone", now)[-1][0] == "2024-W07"  # unknown zone falls back to UTC


def test_a_report_is_never_due_before_its_utc_week_is_over():
    """Monday 02:00 in Yerevan (UTC+4) is Sunday 22:00 UTC, inside the week the report covers: it waits until
    an hour after that week ends in UTC. West of UTC, and later hours, the local moment stands."""
    sunday_night = dt.datetime(2024, 2, 25, 23, tzinfo=UTC)
    assert due_reports(0, 2, "Asia/Yerevan", sunday_night, weeks=1) == []
    monday = dt.datetime(2024, 2, 26, 1, tzinfo=UTC)
    assert due_reports(0, 2, "Asia/Yerevan", monday, weeks=1) == [("2024-W08", monday)]
    assert due_reports(0, 8, "Asia/Yerevan", dt.datetime(2024, 2, 26, 6, tzinfo=UTC), weeks=1) == [
        ("2024-W08", dt.datetime(2024, 2, 26, 4, tzinfo=UTC))]
    assert due_reports(0, 2, "America/New_York", dt.datetime(2024, 2, 26, 8, tzinfo=UTC), weeks=1) == [
        ("2024-W08", dt.datetime(2024, 2, 26, 7, tzinfo=UTC))]


# --- claims on PostgreSQL ------------------------------------------------------------------------------

def test_beat_over_a_dst_change_claims_each_week_once(db_session, tmp_path):
    s = _settings(tmp_path)
    sub = _subscriber(db_session, timezone="Europe/Berlin", report_weekday=6, report_hour=2)
    start = dt.datetime(2024, 3, 23, tzinfo=UTC)
    claims = []
    for now in _beat(start, start + dt.timedelta(days=16), minutes=30):
        for claim in reporting.claim_due_reports(db_session, now, s):
            claims.append(claim)
            reporting.record_sent(db_session, claim.run_id, now)  # delivered at once
    runs = db_session.scalars(select(ReportRun).where(ReportRun.scope == f"subscriber:{sub.id}")
                              .order_by(ReportRun.iso_week)).all()
    assert [(r.iso_week, r.due_at, r.status, r.sends) for r in runs] == [
        ("2024-W10", dt.datetime(2024, 3, 17, 1, tzinfo=UTC), "success", 1),  # the week before, caught up
        ("2024-W11", dt.datetime(2024, 3, 24, 1, tzinfo=UTC), "success", 1),
        ("2024-W12", dt.datetime(2024, 3, 31, 1, tzinfo=UTC), "success", 1),
        ("2024-W13", dt.datetime(2024, 4, 7, 0, tzinfo=UTC), "success", 1),
    ]
    assert len(claims) == 4


def test_a_second_beat_or_a_retry_claims_nothing(db_session, tmp_path):
    s = _settings(tmp_path)
    _subscriber(db_session, created_at=dt.datetime(2024, 2, 15, tzinfo=UTC))
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    [claim] = reporting.claim_due_reports(db_session, now, s)
    assert reporting.claim_due_reports(db_session, now, s) == []
    assert reporting.claim_due_reports(db_session, now + dt.timedelta(minutes=15), s) == []
    # A worker that died while rendering: its run is claimed again once stale, with a new attempt number.
    later = now + dt.timedelta(seconds=s.report_stale_s + 1)
    [again] = reporting.claim_due_reports(db_session, later, s)
    assert (again.run_id, again.attempt) == (claim.run_id, 2)
    assert reporting.prepare_run(db_session, claim, s, later) is None  # the old claim is void


def test_concurrent_beats_on_separate_connections_claim_once(pg_engine, tmp_path):
    s = _settings(tmp_path)
    with Session(pg_engine) as session, session.begin():
        sub_id = _subscriber(session, "race@example.org", countries=["DE"]).id
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    barrier, results = threading.Barrier(4), []

    def beat():
        with Session(pg_engine) as session, session.begin():
            barrier.wait()
            results.append(reporting.claim_subscriber_run(session, sub_id, "2024-W07", now, now, s))

    threads = [threading.Thread(target=beat) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sum(r is not None for r in results) == 1 and len(results) == 4
    finally:
        with Session(pg_engine) as session, session.begin():
            session.execute(delete(ReportRun).where(ReportRun.scope == f"subscriber:{sub_id}"))
            session.execute(delete(Subscriber).where(Subscriber.id == sub_id))


# --- delivery through a real SMTP server -----------------------------------------------------------------

@pytest.fixture
def tasks(task_sessions, monkeypatch):
    sent = []
    monkeypatch.setattr(task_sessions.deliver_report_run, "delay", lambda *args: sent.append(args))
    yield task_sessions, sent
    use_settings(None)


def _parts(msg):
    return [(p.get_content_type(), [c.get_content_type() for c in p.iter_parts()]) for p in msg.iter_parts()]


def test_email_mime_structure_and_exactly_once(db_session, world, smtp, tasks, tmp_path, monkeypatch):
    port, inbox = smtp
    module, queued = tasks
    s = _settings(tmp_path, port, admin_email="ops@example.org")
    use_settings(s)
    sub = _subscriber(db_session, created_at=dt.datetime(2024, 2, 15, tzinfo=UTC))
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    monkeypatch.setattr(module.dt, "datetime", _FrozenDatetime.at(now))

    assert module.send_due_reports() == 1
    run_w07 = db_session.scalar(select(ReportRun).where(ReportRun.iso_week == "2024-W07"))
    [args] = queued
    assert args == (run_w07.id, 1)
    assert module.deliver_report_run(*args) == "success"
    assert module.deliver_report_run(*args) == "skipped"  # a redelivered task sends nothing
    assert module.send_due_reports() == 0  # nor does the next beat, which finds nothing overdue either

    [(sender, rcpts, raw)] = inbox.messages
    assert sender == "vigil@test" and rcpts == ["ngo@example.org"]
    msg = email.message_from_string(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Subject"] == "Vigil weekly report 2024-W07: DE, FR"
    assert _parts(msg) == [("multipart/related", ["text/html", "image/png", "image/png"]),
                           ("application/pdf", []), ("text/csv", [])]
    related, pdf_part, csv_part = msg.iter_parts()
    html_part, *images = related.iter_parts()
    html = html_part.get_content()
    assert "data:image" not in html and "<script>" not in html
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'alt="Chart of antisemitic posts per week in DE' in html
    assert "style=" in html and "<style" not in html  # inline CSS only
    pdf = pdf_part.get_content()
    assert pdf[:5] == b"%PDF-" and pdf_part.get_filename() == "vigil-weekly-2024-W07.pdf"
    assert csv_part.get_content().startswith("section,country,iso_week")

    db_session.refresh(run_w07)
    assert run_w07.status == "success" and run_w07.sends == 1 and run_w07.attempts == 1
    assert run_w07.recipients == ["ngo@example.org"] and run_w07.scope == f"subscriber:{sub.id}"
    assert run_w07.checksum == hashlib.sha256(pdf).hexdigest()
    assert run_w07.due_at == dt.datetime(2024, 2, 19, 8, tzinfo=UTC)
    assert run_w07.started_at <= run_w07.finished_at

    # Resend: the stored e-mail again, same PDF, new Message-ID.
    assert reporting.resend_run(db_session, run_w07.id, s) == ["ngo@example.org"]
    assert len(inbox.messages) == 2
    again = email.message_from_string(inbox.messages[1][2], policy=policy.default)
    assert again["Message-ID"] != msg["Message-ID"]
    assert list(again.iter_parts())[1].get_content() == pdf
    assert run_w07.sends == 2


class _FrozenDatetime(dt.datetime):
    frozen: dt.datetime

    @classmethod
    def at(cls, moment):
        return type("Frozen", (cls,), {"frozen": moment})

    @classmethod
    def now(cls, tz=None):
        return cls.frozen if tz is None else cls.frozen.astimezone(tz)


def test_failed_send_is_retried_with_backoff_then_given_up_and_the_admin_told(db_session, world, smtp, tmp_path):
    port, inbox = smtp
    s = _settings(tmp_path, port, admin_email="ops@example.org")
    dead = _settings(tmp_path, free_port())  # nobody listens: every send fails
    _subscriber(db_session, report_weekday=0, report_hour=8, created_at=dt.datetime(2024, 2, 15, tzinfo=UTC))
    due = dt.datetime(2024, 2, 19, 8, tzinfo=UTC)

    def attempt(now):
        claims = reporting.claim_due_reports(db_session, now, s)
        for claim in claims:
            prepared = reporting.prepare_run(db_session, claim, s, now)
            try:
                notify.send_message(dead, prepared.message, prepared.recipients)
            except OSError as exc:
                reporting.record_failure(db_session, claim.run_id, exc, s, now)
        return [c.attempt for c in claims]

    assert attempt(due + dt.timedelta(minutes=5)) == [1]
    run = db_session.scalar(select(ReportRun))
    assert run.status == "error" and "ConnectionRefusedError" in run.error
    assert run.next_attempt_at == due + dt.timedelta(minutes=10)  # 5 min + 300 s
    assert attempt(due + dt.timedelta(minutes=9)) == []  # still backing off
    assert attempt(due + dt.timedelta(minutes=10)) == [2]
    assert run.next_attempt_at == due + dt.timedelta(minutes=20)  # 10 min + 600 s: doubled
    assert reporting.alert_overdue_runs(db_session, due + dt.timedelta(minutes=59), s) == []
    assert attempt(due + dt.timedelta(minutes=20)) == [3]
    assert run.next_attempt_at is None  # three attempts made: given up
    assert attempt(due + dt.timedelta(hours=5)) == []

    assert reporting.alert_overdue_runs(db_session, due + dt.timedelta(minutes=61), s) == [run.id]
    assert reporting.alert_overdue_runs(db_session, due + dt.timedelta(minutes=76), s) == []  # told once
    [(_, rcpts, raw)] = inbox.messages
    assert rcpts == ["ops@example.org"] and "is overdue" in raw and f"resend {run.id}" in raw


def test_a_run_lost_while_sending_is_not_sent_again_but_reported(db_session, world, tmp_path):
    s = _settings(tmp_path, admin_email="ops@example.org")
    _subscriber(db_session)
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    claims = reporting.claim_due_reports(db_session, now, s)
    prepared = [reporting.prepare_run(db_session, c, s, now) for c in claims]
    assert all(p is not None for p in prepared)  # both now `sending`; the worker dies here
    later = now + dt.timedelta(hours=3)
    assert reporting.claim_due_reports(db_session, later, s) == []
    told = []
    assert len(reporting.alert_overdue_runs(db_session, later, s, send=lambda *a: told.append(a))) == 2
    assert "'sending'" in told[0][2].body


def test_inactive_or_deleted_subscriber_cancels_the_run(db_session, world, tmp_path):
    s = _settings(tmp_path)
    sub = _subscriber(db_session)
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    claims = reporting.claim_due_reports(db_session, now, s)
    sub.active = False
    assert [reporting.prepare_run(db_session, c, s, now) for c in claims] == [None, None]
    assert {r.status for r in db_session.scalars(select(ReportRun))} == {"cancelled"}
    assert reporting.claim_due_reports(db_session, now, s) == []


def test_a_subscriber_with_no_countries_gets_no_report_of_all_countries(db_session, world, tmp_path):
    s = _settings(tmp_path)
    sub = _subscriber(db_session)
    now = dt.datetime(2024, 2, 19, 9, tzinfo=UTC)
    claims = reporting.claim_due_reports(db_session, now, s)
    sub.countries = []
    assert [reporting.prepare_run(db_session, c, s, now) for c in claims] == [None, None]
    assert {r.status for r in db_session.scalars(select(ReportRun))} == {"cancelled"}


def test_beat_timetable_checks_reports_often():
    from workers.app import beat_schedule

    entry = beat_schedule(Settings())["send-due-reports"]
    assert entry["task"] == "workers.tasks.send_due_reports" and entry["schedule"] == 900.0


def test_the_weekly_run_is_claimed_once_and_taken_over_after_an_error_or_a_lost_worker(db_session):
    stale = dt.timedelta(minutes=30)
    now = dt.datetime(2024, 2, 26, 5, tzinfo=UTC)
    run_id, found = reporting.claim_run(db_session, "2024-W08", None, stale, now)
    assert run_id is not None and found is None
    in_hand = (None, "working")
    assert reporting.claim_run(db_session, "2024-W08", None, stale, now + dt.timedelta(minutes=1)) == in_hand
    other, _ = reporting.claim_run(db_session, "2024-W08", ["AM"], stale, now)  # another scope
    assert other not in (None, run_id)
    # Its worker was lost mid-render: a redelivered task takes the run over once it is stale, not before.
    assert reporting.claim_run(db_session, "2024-W08", None, stale, now + dt.timedelta(minutes=29)) == in_hand
    later = now + dt.timedelta(minutes=31)
    assert reporting.claim_run(db_session, "2024-W08", None, stale, later) == (run_id, None)
    run = db_session.get(ReportRun, run_id)
    assert (run.status, as_utc(run.started_at)) == ("working", later)
    run.status = "error"
    assert reporting.claim_run(db_session, "2024-W08", None, stale, later) == (run_id, None)  # a failure is retried
    run.status = "success"
    assert reporting.claim_run(db_session, "2024-W08", None, stale, later + 10 * stale) == (None, "success")
