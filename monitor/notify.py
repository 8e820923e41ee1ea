"""E-mail and webhooks: the one module that talks outward.

Each alert goes to the active subscribers of its country whose minimum severity it reaches, by
e-mail and (if they set one) webhook. Every attempt leaves a `Delivery` row; a (subscriber, channel)
that already has a sent row is skipped, so a rerun never sends twice. Failed attempts are retried
with exponential backoff; when all fail, the admin address is told. Webhook bodies are signed:
`X-Vigil-Signature: sha256=HMAC(secret, "<timestamp>.<body>")` with `X-Vigil-Timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import AlertText, describe_alert
from monitor.config import Settings
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


def webhook_body(text: AlertText, fmt: str = "json") -> bytes:
    """The JSON body: Vigil's own fields, or Slack's `text` (plus the fields for other readers)."""
    if fmt == "slack":
        return json.dumps({"text": f"*{text.subject}*\n{text.body}"}).encode()
    return json.dumps({"subject": text.subject, "text": text.body, "alert": text.fields}).encode()


def send_email(settings: Settings, to: str, text: AlertText) -> None:
    """Send one plain-text e-mail over SMTP (STARTTLS and login when configured)."""
    if not settings.smtp_host:
        raise RuntimeError("VIGIL_SMTP_HOST is not set")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, to, text.subject
    msg.set_content(text.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


def post_webhook(settings: Settings, url: str, body: bytes) -> None:
    """POST a signed body; any non-2xx answer is a failure."""
    if settings.webhook_secret is None:
        raise RuntimeError("VIGIL_WEBHOOK_SECRET is not set")
    ts = int(time.time())
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
               SIGNATURE_HEADER: sign(settings.webhook_secret.get_secret_value().encode(), ts, body)}
    httpx.post(url, content=body, headers=headers, timeout=settings.webhook_timeout_s).raise_for_status()


def recipients(session: Session, alert: Alert) -> list[Subscriber]:
    """Active subscribers who follow the alert's country and whose minimum severity it reaches."""
    level = SEVERITIES.index(alert.severity) if alert.severity in SEVERITIES else 0
    return [s for s in session.scalars(select(Subscriber).where(Subscriber.active.is_(True)).order_by(Subscriber.id))
            if alert.country in (s.countries or []) and SEVERITIES.index(s.min_severity or "warning") <= level]


def _attempts(session: Session, alert: Alert, subscriber_id: int | None, channel: str,
              send: Callable[[], None], settings: Settings, sleep: Callable[[float], None]) -> bool:
    """Try `send` up to the configured attempts with backoff, one Delivery row per attempt."""
    for attempt in range(1, settings.notify_attempts + 1):
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - any failure of the far end is recorded and retried
            session.add(Delivery(alert_id=alert.id, subscriber_id=subscriber_id, channel=channel,
                                 attempt=attempt, status="failed", error=f"{type(exc).__name__}: {exc}"[:500]))
            log.warning("delivery_failed", alert_id=alert.id, subscriber_id=subscriber_id, channel=channel,
                        attempt=attempt, error=type(exc).__name__)
            if attempt < settings.notify_attempts:
                sleep(settings.notify_backoff_s * 2 ** (attempt - 1))
            continue
        session.add(Delivery(alert_id=alert.id, subscriber_id=subscriber_id, channel=channel,
                             attempt=attempt, status="sent"))
        return True
    return False


def deliver_alert(session: Session, alert_id: int, settings: Settings,
                  sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Send an alert to its recipients by e-mail and webhook; skip what was already sent."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return {"sent": 0, "failed": 0}
    done = {tuple(r) for r in session.execute(select(Delivery.subscriber_id, Delivery.channel).where(
        Delivery.alert_id == alert_id, Delivery.status == "sent")).all()}
    text = describe_alert(session, alert)
    sent = failed = 0
    for sub in recipients(session, alert):
        channels: list[tuple[str, Callable[[], None]]] = [
            ("email", lambda sub=sub: send_email(settings, sub.email, text))]
        if sub.webhook_url:
            body = webhook_body(text, sub.webhook_format or "json")
            channels.append(("webhook", lambda sub=sub, body=body: post_webhook(settings, sub.webhook_url, body)))
        for channel, send in channels:
            if (sub.id, channel) in done:
                continue
            if _attempts(session, alert, sub.id, channel, send, settings, sleep):
                sent += 1
            else:
                failed += 1
                _tell_admin(session, alert, sub, channel, settings, sleep)
    session.flush()
    return {"sent": sent, "failed": failed}


def _tell_admin(session: Session, alert: Alert, sub: Subscriber, channel: str, settings: Settings,
                sleep: Callable[[float], None]) -> None:
    """Delivery keeps failing: tell the admin address, once per failed (subscriber, channel)."""
    if not settings.admin_email:
        log.error("delivery_gave_up", alert_id=alert.id, subscriber_id=sub.id, channel=channel)
        return
    note = AlertText(f"[Vigil admin] alert #{alert.id} could not be delivered",
                     f"Alert #{alert.id} ({alert.country}, {alert.severity}) failed {settings.notify_attempts} "
                     f"times by {channel} to subscriber #{sub.id}. See `deliveries` for the errors.",
                     {"alert_id": alert.id, "subscriber_id": sub.id, "channel": channel})
    _attempts(session, alert, None, "admin_email", lambda: send_email(settings, settings.admin_email, note),
              settings, sleep)
