"""E-mail and webhooks: the one module that talks outward.

Each alert goes to the active subscribers of its country whose minimum severity it reaches, by e-mail and
(if they set one) webhook. An alert that escalates, or reopens after being resolved, starts its next notice
(`Alert.notice`), delivered afresh to every subscriber its severity reaches, those told before included:
everything below counts per notice. A subscriber who starts following a country (or adds
a webhook, or lowers their minimum severity) gets the country's open and acknowledged alerts at beat's next
spike check (`undelivered_alerts`), so nobody joins in the middle of an incident without hearing of it.
Every attempt leaves a `Delivery` row, and the rows are the whole state: a (subscriber, channel) with a
sent row is done, one with a sending row is in a round's hands, one with `notify_attempts` failed rows has
given up (the admin address is then told, once per notice), any other is pending.

A delivery round lists what is pending, then claims each attempt just before its send: it inserts the
attempt as a `sending` row under a unique (alert, notice, subscriber, channel, attempt) key, commits, and
sends only if it inserted the row. So rounds that overlap (a check escalating an alert while the first round
is under way, a redelivered task, beat resending an alert whose delivery is still queued) never send one
message twice, and no claim is held for longer than its one send; a round that planned a notice since
superseded claims nothing more of it, so an older text never follows a newer one unless already in flight.
Each outcome is then recorded on its row. A claim still `sending` after `notify_claim_timeout_s` lost its
worker: the next round records it as failed and claims the next attempt (beat's resend brings that round).
A round makes one attempt per pending channel; the task retries the round later (Celery countdown with
exponential backoff), so no one waits inside a transaction. Webhook bodies are signed:
`X-Vigil-Signature: sha256=HMAC(secret, "<timestamp>.<body>")` with `X-Vigil-Timestamp`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import NamedTuple

import httpx
import structlog
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from monitor.alerts import AlertText, describe_alert
from monitor.config import Settings
from monitor.db import as_utc, insert_for
from monitor.models import Alert, Delivery, Subscriber
from monitor.spikes import SEVERITIES

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value of a webhook body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, now: float | None = None,
           tolerance_s: int = 300) -> bool:
    """True for a genuine, fresh webhook: the receiver's check, also used in tests."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False  # a replayed old body
    return hmac.compare_digest(sign(secret, ts, body), signature)


def slack_escape(text: str) -> str:
    """Text for Slack's mrkdwn with &, < and > escaped, as Slack asks: a post quoted in an alert can then never
    mention a channel (`<!channel>`), a user or hide a link behind other words (`<https://...|Acknowledge>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(text: AlertText, fmt: str = "json") -> bytes:
    """The JSON body: Vigil's own fields, or Slack's `text` (escaped, plus bold subject)."""
    if fmt == "slack":
        return json.dumps({"text": f"*{slack_escape(text.subject)}*\n{slack_escape(text.body)}"}).encode()
    return json.dumps({"subject": text.subject, "text": text.body, "alert": text.fields}).encode()


def send_email(settings: Settings, to: str, text: AlertText) -> None:
    """Send one plain-text e-mail over SMTP (STARTTLS and login when configured)."""
    if not settings.smtp_host:
        raise RuntimeError("VIGIL_SMTP_HOST is not set")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, to, text.subject
    msg.set_content(text.body)
    send_message(settings, msg)


def send_message(settings: Settings, msg: EmailMessage, to: list[str] | None = None) -> None:
    """Send a ready e-mail over SMTP (STARTTLS and login when configured); `to` overrides its To header."""
    if not settings.smtp_host:
        raise RuntimeError("VIGIL_SMTP_HOST is not set")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg, to_addrs=to)


def post_webhook(settings: Settings, url: str, body: bytes) -> None:
    """POST a signed body; any non-2xx answer is a failure."""
    if settings.webhook_secret is None:
        raise RuntimeError("VIGIL_WEBHOOK_SECRET is not set")
    ts = int(time.time())
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
               SIGNATURE_HEADER: sign(settings.webhook_secret.get_secret_value().encode(), ts, body)}
    httpx.post(url, content=body, headers=headers, timeout=settings.webhook_timeout_s).raise_for_status()


def _admits(country: str, severity: str, countries: list[str] | None, min_severity: str | None) -> bool:
    """True when a subscriber of `countries` and `min_severity` is to hear of an alert of `country` and `severity`."""
    level = SEVERITIES.index(severity) if severity in SEVERITIES else 0
    return country in (countries or []) and SEVERITIES.index(min_severity or "warning") <= level


def active_subscribers(session: Session) -> list[Subscriber]:
    return list(session.scalars(select(Subscriber).where(Subscriber.active.is_(True)).order_by(Subscriber.id)))


def recipients(alert: Alert, subscribers: list[Subscriber]) -> list[Subscriber]:
    """Of `subscribers` (active_subscribers), those who follow the alert's country and whose minimum severity
    it reaches."""
    return [s for s in subscribers if _admits(alert.country, alert.severity, s.countries, s.min_severity)]


def _channels(sub: Subscriber) -> list[tuple[str, str, str]]:
    """(channel, address, webhook format) of each way a subscriber is sent alerts."""
    out = [("email", sub.email, "json")]
    if sub.webhook_url:
        out.append(("webhook", sub.webhook_url, sub.webhook_format or "json"))
    return out


def undelivered_alerts(session: Session, country: str, settings: Settings, now: dt.datetime) -> list[int]:
    """Ids of the country's open or acknowledged alerts whose current notice has a delivery no round has
    in hand (see `_Pair.forgotten`): a recipient channel never attempted, a claim older than
    `notify_claim_timeout_s`, or a failed channel (or the admin note it calls for) whose retry is that late.

    These are the alerts whose delivery message was lost (sent after a commit that a failed send or a lost
    worker cut off), whose round lost its worker mid-send, or whose retry was lost (a broker restart drops
    the countdowns it held); no alert text. Fresh claims and failures are left to the rounds and retries
    under way, so beat's resend queues no round that would find nothing to do.
    """
    stale = now - dt.timedelta(seconds=settings.notify_claim_timeout_s)
    limit = settings.notify_attempts
    out = []
    subscribers = active_subscribers(session)  # once for all the country's alerts
    alerts = list(session.scalars(select(Alert).where(Alert.country == country,
                                                      Alert.status.in_(("open", "acknowledged")))))
    tallies = _tally(session, {alert.id: alert.notice for alert in alerts})
    for alert in alerts:
        state = _notice_state(alert, tallies[alert.id], settings, subscribers)
        pairs = [ch.pair for ch in state.channels] + ([state.admin] if state.admin else [])
        if any(pair.forgotten(limit, stale) for pair in pairs):
            out.append(alert.id)
    return sorted(out)


@dataclass(frozen=True)
class Outgoing:
    """One message still to send: to whom, by which channel, as which attempt, with its text."""

    alert_id: int
    notice: int  # the alert's notice this message announces
    subscriber_id: int | None  # None for the admin note
    channel: str  # email | webhook | admin_email
    attempt: int
    to: str  # an e-mail address or a webhook URL
    text: AlertText
    webhook_format: str = "json"
    delivery_id: int | None = None  # the row that claims it, once claimed


@dataclass
class _Pair:
    """The attempts so far of one (subscriber, channel) of an alert."""

    sent: bool = False
    sending: bool = False  # claimed by a round that has not recorded the outcome yet
    failed: int = 0
    last: int = 0  # the highest attempt number used
    last_at: dt.datetime | None = None  # when the latest attempt was claimed

    def pending(self, limit: int) -> bool:
        return not self.sent and not self.sending and self.failed < limit

    def forgotten(self, limit: int, stale: dt.datetime) -> bool:
        """Still to deliver, and in no round's hands: never attempted, or claimed (a lost claim) or failed
        (a lost retry) before `stale`. A claim ends with its one send, and at the default backoff every retry
        is due long before the claim timeout; a round brought earlier than its retry only claims it early."""
        if self.sent or (not self.sending and self.failed >= limit):
            return False
        return self.last_at is None or as_utc(self.last_at) < stale


Tally = dict[tuple[int | None, str], _Pair]


def _tally(session: Session, notices: dict[int, int]) -> dict[int, Tally]:
    """For each alert id in `notices` (id -> its current notice), the attempts of each (subscriber, channel) of
    that notice; one query for them all."""
    tallies: dict[int, Tally] = {alert_id: {} for alert_id in notices}
    if not notices:
        return tallies
    for alert_id, _notice, sub_id, channel, status, n, last, last_at in session.execute(
            select(Delivery.alert_id, Delivery.notice, Delivery.subscriber_id, Delivery.channel, Delivery.status,
                   func.count(), func.max(Delivery.attempt), func.max(Delivery.created_at))
            .where(tuple_(Delivery.alert_id, Delivery.notice).in_(list(notices.items())))
            .group_by(Delivery.alert_id, Delivery.notice, Delivery.subscriber_id, Delivery.channel, Delivery.status)):
        pair = tallies[alert_id].setdefault((sub_id, channel), _Pair())
        pair.last = max(pair.last, last)
        pair.last_at = last_at if pair.last_at is None else max(pair.last_at, last_at)
        if status == "sent":
            pair.sent = True
        elif status == "sending":
            pair.sending = True
        else:
            pair.failed += n
    return tallies


class _Channel(NamedTuple):
    """One way one recipient is sent an alert, with its attempts in the current notice."""

    subscriber_id: int
    channel: str
    to: str
    webhook_format: str
    pair: _Pair


@dataclass
class _NoticeState:
    """The attempts of an alert's current notice: each recipient channel's, the channels given up, and the
    admin note's when one is owed (some channel gave up and an admin address is set), else None."""

    channels: list[_Channel]
    given_up: list[_Channel]
    admin: _Pair | None


def _notice_state(alert: Alert, pairs: Tally, settings: Settings, subscribers: list[Subscriber]) -> _NoticeState:
    """The state of the alert's current notice, from its attempts (`_tally`) and the active subscribers."""
    channels = [_Channel(sub.id, channel, to, fmt, pairs.get((sub.id, channel), _Pair()))
                for sub in recipients(alert, subscribers) for channel, to, fmt in _channels(sub)]
    given_up = [ch for ch in channels if not ch.pair.sent and ch.pair.failed >= settings.notify_attempts]
    admin = None
    if given_up and settings.admin_email:  # never tried: due from the last give-up on, as if it failed then
        admin = pairs.get((None, "admin_email")) or _Pair(last_at=max(ch.pair.last_at for ch in given_up))
    return _NoticeState(channels, given_up, admin)


def pending_deliveries(session: Session, alert_id: int, settings: Settings) -> list[Outgoing]:
    """What is still to send for an alert's current notice: every (recipient, channel) neither sent,
    claimed by a round nor given up, and the admin note once some channel has given up."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return []
    state = _notice_state(alert, _tally(session, {alert.id: alert.notice})[alert.id], settings,
                          active_subscribers(session))
    limit = settings.notify_attempts
    todo = [ch for ch in state.channels if ch.pair.pending(limit)]
    out: list[Outgoing] = []
    if todo:
        text = describe_alert(session, alert)
        # The next attempt number, never one already used: the claim's unique key depends on it.
        out = [Outgoing(alert.id, alert.notice, ch.subscriber_id, ch.channel, ch.pair.last + 1, ch.to, text,
                        ch.webhook_format) for ch in todo]
    if state.admin is not None and state.admin.pending(limit):
        given_up = state.given_up
        note = AlertText(
            f"[Vigil admin] alert #{alert.id} could not be delivered",
            f"Alert #{alert.id} ({alert.country}, {alert.severity}) failed {limit} times to "
            + ", ".join(f"subscriber #{ch.subscriber_id} by {ch.channel}" for ch in given_up)
            + ". See `deliveries` for the errors.",
            {"alert_id": alert.id,
             "given_up": [{"subscriber_id": ch.subscriber_id, "channel": ch.channel} for ch in given_up]})
        out.append(Outgoing(alert.id, alert.notice, None, "admin_email", state.admin.last + 1, settings.admin_email,
                            note))
    return out


def expire_claims(session: Session, alert_id: int, settings: Settings, now: dt.datetime) -> int:
    """Record as failed the alert's attempts claimed more than `notify_claim_timeout_s` before `now` and
    still `sending`: their worker was lost, and the attempt counts towards the limit."""
    stale = now - dt.timedelta(seconds=settings.notify_claim_timeout_s)
    expired = session.execute(
        update(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.status == "sending", Delivery.created_at < stale)
        .values(status="failed",
                error=f"claim expired: no outcome recorded within {settings.notify_claim_timeout_s:g} s")
        .returning(Delivery.subscriber_id, Delivery.channel, Delivery.attempt)
        .execution_options(synchronize_session="fetch")
    ).all()
    for sub_id, channel, attempt in expired:
        log.warning("delivery_claim_expired", alert_id=alert_id, subscriber_id=sub_id, channel=channel,
                    attempt=attempt)
    return len(expired)


def plan_deliveries(session: Session, alert_id: int, settings: Settings, now: dt.datetime) -> list[Outgoing]:
    """Expire lost claims, then what is pending: the attempts a round will try to claim, one by one."""
    expire_claims(session, alert_id, settings, now)  # a write first: SQLite then takes its lock up front
    return pending_deliveries(session, alert_id, settings)


def claim(session: Session, out: Outgoing, now: dt.datetime) -> Outgoing | None:
    """Insert the attempt as a `sending` row and return it with its row id; None when another round took its
    key first (and so sends it), or when the alert has moved on to a later notice since the round planned it
    (that notice's round tells everyone, and an older text must not follow it). Commit the claim before
    sending, so that every other round sees it; claim each attempt just before its send, so no claim waits
    behind other sends and outlives its timeout."""
    if session.scalar(select(Alert.notice).where(Alert.id == out.alert_id)) != out.notice:
        return None
    delivery_id = session.execute(
        insert_for(session, Delivery.__table__)
        .values(alert_id=out.alert_id, notice=out.notice, subscriber_id=out.subscriber_id, channel=out.channel,
                attempt=out.attempt, status="sending", created_at=now)
        .on_conflict_do_nothing()  # either key: a subscriber's attempt or the admin note's
        .returning(Delivery.__table__.c.id)
    ).scalar()
    return None if delivery_id is None else replace(out, delivery_id=delivery_id)


def send(settings: Settings, out: Outgoing) -> str | None:
    """Send one message: None when it went, else the error. Network I/O: call it outside a transaction."""
    try:
        if out.channel == "webhook":
            post_webhook(settings, out.to, webhook_body(out.text, out.webhook_format))
        else:
            send_email(settings, out.to, out.text)
    except Exception as exc:  # noqa: BLE001 - any failure of the far end is recorded and retried
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def record_attempts(session: Session, results: list[tuple[Outgoing, str | None]], settings: Settings) -> dict[str, int]:
    """Set each claimed attempt's row to sent or failed; {"sent": n, "failed": n}."""
    sent = failed = 0
    for out, error in results:
        if out.delivery_id is None:
            raise ValueError("only claimed attempts are recorded: see claim")
        # By id alone: if a slow round's claim expired meanwhile, what really happened still wins.
        session.execute(update(Delivery).where(Delivery.id == out.delivery_id)
                        .values(status="failed" if error else "sent", error=error))
        if error is None:
            sent += 1
            continue
        failed += 1
        log.warning("delivery_failed", alert_id=out.alert_id, notice=out.notice, subscriber_id=out.subscriber_id,
                    channel=out.channel, attempt=out.attempt, error=error.split(":", 1)[0])
        if out.attempt >= settings.notify_attempts:
            log.error("delivery_gave_up", alert_id=out.alert_id, notice=out.notice, subscriber_id=out.subscriber_id,
                      channel=out.channel)
    session.flush()
    return {"sent": sent, "failed": failed}


def retry_countdown(settings: Settings, retries: int) -> float:
    """Seconds before delivery round `retries + 2`: the backoff doubling from `notify_backoff_s`."""
    return settings.notify_backoff_s * 2 ** retries
