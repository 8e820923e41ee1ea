"""Delivery: real SMTP (aiosmtpd) and a real HTTP receiver; retries, records, signatures, filters."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import select

from monitor.alerts import resolve
from monitor.alerts.states import note_escalation, reopen
from monitor.alerts.text import AlertText
from monitor.config import Settings
from monitor.models import Alert, Delivery, Subscriber
from monitor.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    claim,
    pending_deliveries,
    plan_deliveries,
    record_attempts,
    retry_countdown,
    send,
    sign,
    undelivered_alerts,
    verify,
    webhook_body,
)
from tests.mailserver import free_port

SECRET = "a3f1c9e07b2d4e5f8a6c1d0e9b7f3a2c"


def deliver_alert(session, alert_id: int, settings: Settings, now: dt.datetime | None = None) -> dict[str, int]:
    """One delivery round in the test's session, with the steps of `workers.tasks.deliver_alert`: plan, claim
    each attempt, send it, record it. {"sent", "failed", "pending"}."""
    now = now or dt.datetime.now(dt.timezone.utc)
    summary = {"sent": 0, "failed": 0}
    for out in plan_deliveries(session, alert_id, settings, now):
        if (mine := claim(session, out, now)) is not None:
            counts = record_attempts(session, [(mine, send(settings, mine))], settings)
            summary = {key: summary[key] + counts[key] for key in summary}
    return summary | {"pending": len(pending_deliveries(session, alert_id, settings))}


class _Receiver:
    """A webhook endpoint that fails its first `failures` requests with 503."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def webhook():
    state = _Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append((dict(self.headers), body))
            status = 503 if len(state.requests) <= state.failures else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", state
    finally:
        server.shutdown()
        server.server_close()


def _settings(port: int, **kw) -> Settings:
    return Settings(**{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, "smtp_from": "vigil@test",
                       "webhook_secret": SecretStr(SECRET), "webhook_timeout_s": 5, "notify_attempts": 3,
                       "notify_backoff_s": 0.5} | kw)


def _alert(session, country="AM", severity="high", metric="antisemitic_count", status="open") -> Alert:
    day = dt.date(2024, 2, 1)
    alert = Alert(country=country, kind="spike", metric=metric, status=status, severity=severity,
                  started_on=day, last_seen_on=day, observed=30, expected=6, score=9.5,
                  details={"day": day.isoformat(), "posts": 200,
                           "triggers": [{"id": "israel_azerbaijan_ties", "antisemitic": 20, "lift": 10.5}],
                           "categories": []})
    session.add(alert)
    session.flush()
    return alert


def _subscriber(session, email, countries=("AM",), min_severity="warning", **kw) -> Subscriber:
    sub = Subscriber(email=email, countries=list(countries), min_severity=min_severity, **kw)
    session.add(sub)
    session.flush()
    return sub


def _deliveries(session, alert_id):
    return [(d.subscriber_id, d.channel, d.attempt, d.status) for d in session.scalars(
        select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.id))]


def test_email_reaches_a_real_smtp_server_once(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session)
    sub = _subscriber(db_session, "analyst@example.org")
    assert deliver_alert(db_session, alert.id, _settings(port)) == {"sent": 1, "failed": 0, "pending": 0}
    [(sender, rcpts, content)] = inbox.messages
    assert sender == "vigil@test" and rcpts == ["analyst@example.org"]
    assert "Subject: [Vigil high] AM" in content and "israel_azerbaijan_ties 20 posts (lift 10.5x)" in content
    assert _deliveries(db_session, alert.id) == [(sub.id, "email", 1, "sent")]
    # A rerun (a redelivered task) sends nothing again.
    assert deliver_alert(db_session, alert.id, _settings(port)) == {"sent": 0, "failed": 0, "pending": 0}
    assert len(inbox.messages) == 1


def test_webhook_retries_round_by_round_and_signs_its_body(db_session, smtp, webhook):
    port, _ = smtp
    url, receiver = webhook
    receiver.failures = 2
    alert = _alert(db_session)
    sub = _subscriber(db_session, "ngo@example.org", webhook_url=url)
    settings = _settings(port)
    # Each round makes one attempt per pending channel; the task schedules the next round.
    rounds = [deliver_alert(db_session, alert.id, settings) for _ in range(4)]
    assert rounds == [{"sent": 1, "failed": 1, "pending": 1}, {"sent": 0, "failed": 1, "pending": 1},
                      {"sent": 1, "failed": 0, "pending": 0}, {"sent": 0, "failed": 0, "pending": 0}]
    assert [retry_countdown(settings, n) for n in range(3)] == [0.5, 1.0, 2.0]  # exponential backoff
    assert _deliveries(db_session, alert.id) == [
        (sub.id, "email", 1, "sent"), (sub.id, "webhook", 1, "failed"),
        (sub.id, "webhook", 2, "failed"), (sub.id, "webhook", 3, "sent")]
    headers, body = receiver.requests[-1]
    assert verify(SECRET.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(b"another-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(SECRET.encode(), headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER])
    stale = int(headers[TIMESTAMP_HEADER])
    assert not verify(SECRET.encode(), str(stale), body, headers[SIGNATURE_HEADER], now=stale + 3600)
    payload = json.loads(body)
    assert payload["alert"]["country"] == "AM" and payload["alert"]["severity"] == "high"
    assert payload["subject"].startswith("[Vigil high] AM")


def test_slack_format(db_session, smtp, webhook):
    port, _ = smtp
    url, receiver = webhook
    alert = _alert(db_session)
    _subscriber(db_session, "slack@example.org", webhook_url=url, webhook_format="slack")
    deliver_alert(db_session, alert.id, _settings(port))
    [(_, body)] = receiver.requests
    payload = json.loads(body)
    assert list(payload) == ["text"] and payload["text"].startswith("*[Vigil high] AM")


def test_slack_text_escapes_what_a_quoted_post_could_use_to_ping_or_disguise_a_link():
    post = 'Example: "<!channel> read <https://evil.example|Acknowledge alert> & more"'
    text = AlertText("[Vigil high] AM <b>", f"Examples:\n{post}", {"examples": [post]})
    payload = json.loads(webhook_body(text, "slack"))
    assert payload["text"] == ("*[Vigil high] AM &lt;b&gt;*\nExamples:\nExample: \"&lt;!channel&gt; read "
                               "&lt;https://evil.example|Acknowledge alert&gt; &amp; more\"")
    assert "<" not in payload["text"] and ">" not in payload["text"]
    assert json.loads(webhook_body(text))["text"] == text.body  # Vigil's own JSON keeps the text as it is


def test_persistent_failure_is_recorded_and_admins_are_told(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session)
    sub = _subscriber(db_session, "ngo@example.org", webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    settings = _settings(port, admin_email="ops@example.org")
    rounds = [deliver_alert(db_session, alert.id, settings) for _ in range(5)]
    assert [r["pending"] for r in rounds] == [1, 1, 1, 0, 0]  # the third failure leaves the admin note
    rows = _deliveries(db_session, alert.id)
    assert rows[1:4] == [(sub.id, "webhook", n, "failed") for n in (1, 2, 3)]
    assert rows[4] == (None, "admin_email", 1, "sent")
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"], ["ops@example.org"]]
    assert "could not be delivered" in inbox.messages[1][2]


def test_subscribers_choose_countries_and_min_severity(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session, severity="high")
    _subscriber(db_session, "am-warning@example.org", min_severity="warning")
    _subscriber(db_session, "am-critical@example.org", min_severity="critical")
    _subscriber(db_session, "de@example.org", countries=("DE",))
    _subscriber(db_session, "inactive@example.org", active=False)
    deliver_alert(db_session, alert.id, _settings(port))
    assert [m[1] for m in inbox.messages] == [["am-warning@example.org"]]


def _escalate(session, alert: Alert, severity: str) -> None:
    """What a check does when the alert's severity rises."""
    before, alert.severity = alert.severity, severity
    assert note_escalation(alert, before, {})
    session.flush()


def test_an_escalation_reaches_everyone_its_severity_admits_once(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session, severity="warning")
    _subscriber(db_session, "all@example.org", min_severity="warning")
    _subscriber(db_session, "high@example.org", min_severity="high")
    _subscriber(db_session, "critical@example.org", min_severity="critical")
    deliver_alert(db_session, alert.id, _settings(port))
    _escalate(db_session, alert, "high")
    deliver_alert(db_session, alert.id, _settings(port))
    deliver_alert(db_session, alert.id, _settings(port))  # a redelivered task: nothing again
    _escalate(db_session, alert, "critical")
    deliver_alert(db_session, alert.id, _settings(port))
    assert [m[1] for m in inbox.messages] == [["all@example.org"], ["all@example.org"], ["high@example.org"],
                                              ["all@example.org"], ["high@example.org"], ["critical@example.org"]]
    assert "Subject: [Vigil high]" in inbox.messages[1][2] and "(escalated)" in inbox.messages[1][2]
    assert "Escalated: now critical." in inbox.messages[5][2]


def test_a_reopened_alert_is_delivered_again_to_everyone_as_its_next_notice(db_session, smtp, webhook):
    port, inbox = smtp
    url, hook = webhook
    alert = _alert(db_session, severity="high")
    _subscriber(db_session, "all@example.org", webhook_url=url)
    _subscriber(db_session, "high@example.org", min_severity="high")
    deliver_alert(db_session, alert.id, _settings(port))
    assert len(inbox.messages) == 2 and len(hook.requests) == 1
    resolve(db_session, alert.id, "david")
    reopen(alert, {})  # a check saw it rise again
    db_session.flush()
    assert undelivered_alerts(db_session, "AM", _settings(port), _now()) == [alert.id]  # so would beat's resend
    assert deliver_alert(db_session, alert.id, _settings(port)) == {"sent": 3, "failed": 0, "pending": 0}
    assert deliver_alert(db_session, alert.id, _settings(port)) == {"sent": 0, "failed": 0, "pending": 0}
    assert sorted(m[1][0] for m in inbox.messages[2:]) == ["all@example.org", "high@example.org"]
    assert all("(reopened)" in m[2] for m in inbox.messages[2:]) and len(hook.requests) == 2
    assert json.loads(hook.requests[1][1])["alert"]["notice"] == 2
    notices = db_session.execute(select(Delivery.notice, Delivery.attempt, Delivery.status)
                                 .where(Delivery.alert_id == alert.id).order_by(Delivery.id)).all()
    assert [tuple(n) for n in notices] == [(1, 1, "sent")] * 3 + [(2, 1, "sent")] * 3


def test_a_reopened_alert_whose_channel_gave_up_tells_the_admin_again(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session)
    _subscriber(db_session, "ngo@example.org", webhook_url="http://127.0.0.1:9/unreachable")
    settings = _settings(port, admin_email="ops@example.org", notify_attempts=1)
    for _ in range(2):  # the second round tells the admin of the webhook given up in the first
        deliver_alert(db_session, alert.id, settings)
    resolve(db_session, alert.id, "david")
    reopen(alert, {})
    db_session.flush()
    for _ in range(3):
        deliver_alert(db_session, alert.id, settings)
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"], ["ops@example.org"]] * 2


def test_undelivered_alerts_are_those_no_round_has_in_hand(db_session, smtp, webhook):
    port, inbox = smtp
    settings = _settings(port)
    late = dt.timedelta(seconds=settings.notify_claim_timeout_s + 1)
    url, _ = webhook
    alert = _alert(db_session, severity="warning")
    de = _alert(db_session, country="DE")
    _alert(db_session, metric="trigger:x", status="resolved")
    assert undelivered_alerts(db_session, "AM", settings, _now()) == []  # nobody to tell
    everyone = _subscriber(db_session, "all@example.org")
    high = _subscriber(db_session, "high@example.org", min_severity="high")
    _subscriber(db_session, "off@example.org", active=False)
    _subscriber(db_session, "de@example.org", countries=("DE",))
    assert undelivered_alerts(db_session, "AM", settings, _now()) == [alert.id]
    assert undelivered_alerts(db_session, "DE", settings, _now()) == [de.id]

    deliver_alert(db_session, alert.id, _settings(port))
    assert undelivered_alerts(db_session, "AM", settings, _now()) == []  # the next run sends nothing on
    assert [m[1] for m in inbox.messages] == [["all@example.org"]]
    second = _alert(db_session, metric="trigger:y")  # each alert of the country answers for itself
    assert undelivered_alerts(db_session, "AM", settings, _now()) == [second.id]
    deliver_alert(db_session, second.id, _settings(port))
    assert undelivered_alerts(db_session, "AM", settings, _now()) == []
    alert.status = "acknowledged"
    _escalate(db_session, alert, "high")  # its next notice: tried for nobody yet
    assert undelivered_alerts(db_session, "AM", settings, _now()) == [alert.id]
    deliver_alert(db_session, alert.id, _settings(free_port()))  # SMTP away: a failed attempt
    assert _deliveries(db_session, alert.id)[-1] == (high.id, "email", 1, "failed")
    assert undelivered_alerts(db_session, "AM", settings, _now()) == []  # a failure: the delivery task retries it
    assert undelivered_alerts(db_session, "AM", settings, _now() + late) == [alert.id]  # unless that retry was lost
    everyone.webhook_url = url
    db_session.flush()
    assert undelivered_alerts(db_session, "AM", settings, _now()) == [alert.id, second.id]  # a channel never tried
    alert.status = "resolved"
    db_session.flush()
    assert undelivered_alerts(db_session, "AM", settings, _now()) == [second.id]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _claim_all(session, alert_id: int, settings, now: dt.datetime) -> list:
    """A round that has claimed every attempt it planned and is still sending (each claim is committed
    before its send, so other rounds see them all)."""
    return [mine for out in plan_deliveries(session, alert_id, settings, now)
            if (mine := claim(session, out, now)) is not None]


def _finish(session, claimed, settings) -> None:
    """The rest of a round whose claims were taken earlier: send them, record the outcomes."""
    record_attempts(session, [(out, send(settings, out)) for out in claimed], settings)


def test_overlapping_rounds_send_one_message_per_recipient_and_channel(db_session, smtp, webhook):
    port, inbox = smtp
    url, receiver = webhook
    settings = _settings(port)
    alert = _alert(db_session)
    a = _subscriber(db_session, "a@example.org", webhook_url=url)
    b = _subscriber(db_session, "b@example.org")
    read_early = pending_deliveries(db_session, alert.id, settings)  # round C reads before anyone claims
    round_a = _claim_all(db_session, alert.id, settings, _now())  # round A claims, then starts sending
    assert [(o.subscriber_id, o.channel, o.attempt) for o in round_a] == [
        (a.id, "email", 1), (a.id, "webhook", 1), (b.id, "email", 1)]
    # Round B runs whole meanwhile (an escalation, a redelivered task, beat's resend): all is claimed.
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 0, "failed": 0, "pending": 0}
    assert [claim(db_session, out, _now()) for out in read_early] == [None] * 3  # round C loses on the unique key
    assert inbox.messages == [] and receiver.requests == []
    _finish(db_session, round_a, settings)
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 0, "failed": 0, "pending": 0}
    assert sorted(m[1] for m in inbox.messages) == [["a@example.org"], ["b@example.org"]]
    assert len(receiver.requests) == 1
    assert _deliveries(db_session, alert.id) == [
        (a.id, "email", 1, "sent"), (a.id, "webhook", 1, "sent"), (b.id, "email", 1, "sent")]


def test_the_admin_note_is_claimed_once(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session)
    _subscriber(db_session, "ngo@example.org", webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    settings = _settings(port, admin_email="ops@example.org")
    for _ in range(3):
        deliver_alert(db_session, alert.id, settings)  # the webhook gives up on its third failure
    [note] = _claim_all(db_session, alert.id, settings, _now())
    assert (note.channel, note.attempt) == ("admin_email", 1)
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 0, "failed": 0, "pending": 0}
    _finish(db_session, [note], settings)
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"], ["ops@example.org"]]


def test_an_admin_note_whose_round_was_lost_is_brought_back_by_beat(db_session, smtp):
    port, inbox = smtp
    alert = _alert(db_session)
    _subscriber(db_session, "ngo@example.org", webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    settings = _settings(port, admin_email="ops@example.org", notify_attempts=1)
    late = _now() + dt.timedelta(seconds=settings.notify_claim_timeout_s + 1)
    deliver_alert(db_session, alert.id, settings)  # the webhook gives up; the retry that would tell the admin is lost
    assert undelivered_alerts(db_session, "AM", settings, _now()) == []
    assert undelivered_alerts(db_session, "AM", settings.model_copy(update={"admin_email": None}), late) == []
    assert undelivered_alerts(db_session, "AM", settings, late) == [alert.id]
    deliver_alert(db_session, alert.id, settings)
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"], ["ops@example.org"]]
    assert undelivered_alerts(db_session, "AM", settings, late) == []


def test_a_stale_claim_is_taken_over_a_fresh_one_is_not(db_session, smtp):
    port, inbox = smtp
    settings = _settings(port)
    alert = _alert(db_session)
    sub = _subscriber(db_session, "ngo@example.org")
    claimed_at = _now()
    [lost] = _claim_all(db_session, alert.id, settings, claimed_at)  # then its worker is lost
    timeout = dt.timedelta(seconds=settings.notify_claim_timeout_s)
    # Within the timeout the round may still be sending: a redelivered task leaves it alone ...
    assert deliver_alert(db_session, alert.id, settings, now=claimed_at + timeout - dt.timedelta(seconds=1)) == {
        "sent": 0, "failed": 0, "pending": 0}
    assert undelivered_alerts(db_session, "AM", settings, claimed_at + timeout - dt.timedelta(seconds=1)) == []
    assert undelivered_alerts(db_session, "AM", settings, claimed_at + timeout + dt.timedelta(seconds=1)) == [
        alert.id]  # past it, beat's resend brings the round that takes the claim over
    assert inbox.messages == []
    # Past it, the claim is recorded as a failed attempt and the next attempt is claimed and sent.
    assert deliver_alert(db_session, alert.id, settings, now=claimed_at + timeout + dt.timedelta(seconds=1)) == {
        "sent": 1, "failed": 0, "pending": 0}
    assert _deliveries(db_session, alert.id) == [(sub.id, "email", 1, "failed"), (sub.id, "email", 2, "sent")]
    assert db_session.scalar(select(Delivery.error).where(Delivery.id == lost.delivery_id)).startswith(
        "claim expired")
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]
    assert undelivered_alerts(db_session, "AM", settings, claimed_at + timeout + dt.timedelta(seconds=1)) == []
    # Had the first round been slow rather than lost, its outcome is still recorded.
    record_attempts(db_session, [(lost, None)], settings)
    assert _deliveries(db_session, alert.id) == [(sub.id, "email", 1, "sent"), (sub.id, "email", 2, "sent")]


def test_an_escalation_during_a_round_is_a_notice_of_its_own_to_everyone(db_session, smtp):
    port, inbox = smtp
    settings = _settings(port)
    alert = _alert(db_session, severity="warning")
    _subscriber(db_session, "all@example.org", min_severity="warning")
    _subscriber(db_session, "high@example.org", min_severity="high")
    round_a = _claim_all(db_session, alert.id, settings, _now())  # the round for the opened alert
    _escalate(db_session, alert, "high")  # a check escalates it while round A is still sending
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 2, "failed": 0, "pending": 0}
    _finish(db_session, round_a, settings)
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 0, "failed": 0, "pending": 0}
    assert [m[1] for m in inbox.messages] == [["all@example.org"], ["high@example.org"], ["all@example.org"]]
    assert "Subject: [Vigil high]" in inbox.messages[0][2] and "Subject: [Vigil warning]" in inbox.messages[2][2]


def test_a_failed_attempt_is_claimed_again_by_a_later_round(db_session, smtp):
    port, inbox = smtp
    settings = _settings(port)
    alert = _alert(db_session)
    sub = _subscriber(db_session, "ngo@example.org")
    round_a = _claim_all(db_session, alert.id, settings, _now())
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 0, "failed": 0, "pending": 0}
    _finish(db_session, round_a, _settings(free_port()))  # round A's SMTP server is away
    assert [(o.attempt, o.channel) for o in pending_deliveries(db_session, alert.id, settings)] == [(2, "email")]
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 1, "failed": 0, "pending": 0}  # its retry
    assert _deliveries(db_session, alert.id) == [(sub.id, "email", 1, "failed"), (sub.id, "email", 2, "sent")]
    assert [m[1] for m in inbox.messages] == [["ngo@example.org"]]


def test_claims_hold_on_sqlite(tmp_path, smtp):
    from sqlalchemy.orm import sessionmaker

    from migrations import alembic_config
    from monitor.db import make_engine

    port, inbox = smtp
    settings = _settings(port, data_dir=tmp_path)  # the embedded default: SQLite in the data dir
    command.upgrade(alembic_config(settings.sqlalchemy_url), "head")
    engine = make_engine(settings.sqlalchemy_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        with sessions.begin() as session:
            alert_id = _alert(session).id
            a, b = (_subscriber(session, f"{n}@example.org").id for n in "ab")
        claimed_at = _now()
        with sessions.begin() as session:
            round_a = _claim_all(session, alert_id, settings, claimed_at)
        assert [o.subscriber_id for o in round_a] == [a, b]
        with sessions.begin() as session:
            assert deliver_alert(session, alert_id, settings) == {"sent": 0, "failed": 0, "pending": 0}
        with sessions.begin() as session:  # round A's worker was lost; a later round takes over
            later = claimed_at + dt.timedelta(seconds=settings.notify_claim_timeout_s + 1)
            assert deliver_alert(session, alert_id, settings, now=later) == {"sent": 2, "failed": 0, "pending": 0}
        with sessions.begin() as session:
            assert _deliveries(session, alert_id) == [(a, "email", 1, "failed"), (b, "email", 1, "failed"),
                                                      (a, "email", 2, "sent"), (b, "email", 2, "sent")]
        assert sorted(m[1] for m in inbox.messages) == [["a@example.org"], ["b@example.org"]]
    finally:
        engine.dispose()


def test_the_task_retries_with_celery_and_never_sends_inside_a_transaction(db_session, smtp, webhook, monkeypatch):
    from sqlalchemy.orm import sessionmaker

    from workers import tasks

    port, _ = smtp
    url, receiver = webhook
    receiver.failures = 2
    alert = _alert(db_session)
    sub = _subscriber(db_session, "ngo@example.org", webhook_url=url)
    factory = sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint")
    active: list[int] = []
    begin = factory.begin

    @contextlib.contextmanager
    def tracked_begin():
        with begin() as session:
            active.append(1)
            try:
                yield session
            finally:
                active.pop()

    monkeypatch.setattr(factory, "begin", tracked_begin)
    monkeypatch.setattr(tasks, "sessions", lambda: factory)
    monkeypatch.setattr(tasks, "get_settings", lambda: _settings(port))
    countdowns: list[float] = []
    monkeypatch.setattr(tasks.notify, "retry_countdown", lambda s, n: countdowns.append(retry_countdown(s, n)) or 0)
    real_send = tasks.notify.send

    def send(settings, out):
        assert not active, "sending inside the task's transaction"
        return real_send(settings, out)

    monkeypatch.setattr(tasks.notify, "send", send)
    result = tasks.deliver_alert.apply(args=[alert.id]).get()  # eager: Celery runs each retry in turn
    assert result == {"sent": 1, "failed": 0, "pending": 0}
    assert countdowns == [0.5, 1.0]
    assert _deliveries(db_session, alert.id) == [
        (sub.id, "email", 1, "sent"), (sub.id, "webhook", 1, "failed"),
        (sub.id, "webhook", 2, "failed"), (sub.id, "webhook", 3, "sent")]


def test_sign_matches_a_known_vector():
    ts, body = 1700000000, b'{"a":1}'
    assert sign(b"k", ts, body) == sign(b"k", ts, body)
    assert sign(b"k", ts, body).startswith("sha256=") and len(sign(b"k", ts, body)) == 71
    assert verify(b"k", str(ts), body, sign(b"k", ts, body), now=ts + 10)
    assert not verify(b"k", "not-a-number", body, sign(b"k", ts, body), now=time.time())


def test_db_now_is_the_database_clock_in_utc(db_session, tmp_path):
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from monitor.db import db_now, make_engine

    now = db_now(db_session)
    assert now.tzinfo == dt.timezone.utc
    server = db_session.scalar(text("SELECT extract(epoch FROM now())"))  # PostgreSQL's own, as a number
    assert abs(now.timestamp() - float(server)) < 1e-3
    engine = make_engine(f"sqlite:///{tmp_path / 'clock.db'}")
    with Session(engine) as session:
        local = db_now(session)
        expected = session.scalar(text("SELECT strftime('%s', 'now')"))
    engine.dispose()
    assert local.tzinfo == dt.timezone.utc and abs(local.timestamp() - int(expected)) <= 1


def test_a_round_planned_before_a_new_notice_sends_none_of_the_old_one(db_session, smtp):
    port, inbox = smtp
    settings = _settings(port)
    alert = _alert(db_session, severity="warning")
    _subscriber(db_session, "all@example.org")
    planned = plan_deliveries(db_session, alert.id, settings, _now())  # round A plans, then waits its turn
    _escalate(db_session, alert, "critical")
    assert deliver_alert(db_session, alert.id, settings) == {"sent": 1, "failed": 0, "pending": 0}
    assert [claim(db_session, out, _now()) for out in planned] == [None]  # its warning would follow the critical
    assert [m[1] for m in inbox.messages] == [["all@example.org"]] and "[Vigil critical]" in inbox.messages[0][2]
