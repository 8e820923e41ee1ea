"""Alert states: open -> acknowledged -> resolved, with who and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import advisory_xact_lock
from monitor.models import Alert, utcnow
from monitor.spikes import SEVERITIES


def set_resolved(alert: Alert, by: str) -> None:
    now = utcnow()
    alert.status, alert.resolved_at, alert.resolved_by, alert.updated_at = "resolved", now, by, now


def lock_country(session: Session, country: str) -> None:
    """Hold the country's alert lock until the transaction ends (PostgreSQL; SQLite has one writer anyway).

    Checks of one country run one after another, each reading what the one before committed: two checks
    working from the same read would both raise an alert's severity and number their notices alike, and the
    second escalation would reach nobody the first had told. Taking it again in one transaction is free.
    """
    advisory_xact_lock(session, f"vigil.alerts.{country}")


def announce(alert: Alert, why: str) -> None:
    """Start the alert's next notice, `why` it is news ("reopened" or "escalated"): delivered to every
    recipient afresh."""
    alert.notice = (alert.notice or 1) + 1
    alert.notice_reason = why
    alert.updated_at = utcnow()


def reopen(alert: Alert, notify: dict[int, None]) -> None:
    """resolved -> open: the event goes on after all, and is announced again (to be delivered: `notify`)."""
    alert.status, alert.resolved_at, alert.resolved_by = "open", None, None
    announce(alert, "reopened")
    notify[alert.id] = None


def note_escalation(alert: Alert, severity_before: str, notify: dict[int, None]) -> bool:
    """After a check raised `alert`'s severity above `severity_before`: unless the alert is resolved, it is to be
    delivered (`notify`), as a notice of its own unless this check announces it already (opened or reopened it).
    True when it escalated so."""
    if alert.status == "resolved" or SEVERITIES.index(alert.severity) <= SEVERITIES.index(severity_before):
        return False
    if alert.id not in notify:
        announce(alert, "escalated")
    notify[alert.id] = None
    return True


class AlertStateError(ValueError):
    """An analyst asked for a transition the alert's state does not allow."""


def acknowledge(session: Session, alert_id: int, by: str) -> Alert:
    """open -> acknowledged, recording who and when."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertStateError(f"no alert {alert_id}")
    if alert.status != "open":
        raise AlertStateError(f"alert {alert_id} is {alert.status}, not open")
    now = utcnow()
    alert.status, alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = "acknowledged", now, by, now
    return alert


def resolve(session: Session, alert_id: int, by: str) -> Alert:
    """open or acknowledged -> resolved, recording who and when."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertStateError(f"no alert {alert_id}")
    if alert.status == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    set_resolved(alert, by)
    return alert


def list_alerts(session: Session, country: str | None = None, status: str | None = None) -> list[Alert]:
    """Alerts, newest first."""
    query = select(Alert).order_by(Alert.started_on.desc(), Alert.id.desc())
    if country:
        query = query.where(Alert.country == country)
    if status:
        query = query.where(Alert.status == status)
    return list(session.scalars(query))


# --- text ---------------------------------------------------------------------------------------
