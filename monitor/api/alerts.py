"""Alerts: list, read with their explanation, acknowledge and resolve."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import AlertStateError, acknowledge, describe_alert, resolve
from monitor.api.deps import Analyst, Db, Principal, Viewer, audit
from monitor.api.errors import ApiError, not_found
from monitor.models import Alert

router = APIRouter(tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AlertOut(BaseModel):
    id: int
    country: str
    kind: str
    metric: str
    status: str
    severity: str
    started_on: dt.date
    last_seen_on: dt.date
    observed: float
    expected: float
    score: float
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    notice: int  # 1 when opened, one more each time it was announced again
    notice_reason: str  # why the latest notice was sent: opened | reopened | escalated


class AlertDetail(AlertOut):
    subject: str
    text: str  # the explanation e-mail and webhooks carry; example excerpts are truncated
    fields: dict


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: int | None


def find_alerts(session: Session, principal: Principal, country: str | None = None, status: str | None = None,
                kind: str | None = None, cursor: int | None = None, limit: int = 50) -> list[Alert]:
    """Alerts in scope, newest id first."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    cc = principal.country_filter(country)
    if cc:
        query = query.where(Alert.country == cc)
    if status:
        query = query.where(Alert.status == status)
    if kind:
        query = query.where(Alert.kind == kind)
    if cursor is not None:
        query = query.where(Alert.id < cursor)
    return list(session.scalars(query))


def visible_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise not_found("alert")
    principal.check_row(alert.country)
    return alert


def alert_detail(session: Session, alert: Alert) -> AlertDetail:
    text = describe_alert(session, alert)
    return AlertDetail(**AlertOut.model_validate(alert, from_attributes=True).model_dump(),
                       subject=text.subject, text=text.body, fields=text.fields)


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    request: Request, session: Db, principal: Viewer,
    country: Annotated[str | None, Query(max_length=2)] = None,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    kind: Literal["spike", "no_data"] | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> AlertPage:
    """Alerts, newest first."""
    limit = min(limit, request.app.state.settings.api_page_size_max)
    alerts = find_alerts(session, principal, country, status, kind, cursor, limit)
    return AlertPage(items=[AlertOut.model_validate(a, from_attributes=True) for a in alerts],
                     next_cursor=alerts[-1].id if len(alerts) == limit else None)


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(session: Db, principal: Viewer, alert_id: AlertId) -> AlertDetail:
    """One alert with its explanation: what rose, against what baseline, its drivers and examples."""
    return alert_detail(session, visible_alert(session, principal, alert_id))


def change_alert(session: Session, request: Request, principal: Principal, alert_id: int, action: str) -> Alert:
    """Acknowledge or resolve an alert in scope, as the caller, and audit it."""
    visible_alert(session, principal, alert_id)
    try:
        alert = (acknowledge if action == "acknowledge" else resolve)(session, alert_id, principal.name)
    except AlertStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    audit(session, request, principal, f"alert.{action}", f"alert:{alert_id}")
    return alert


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge_alert(request: Request, session: Db, principal: Analyst, alert_id: AlertId) -> AlertOut:
    """open -> acknowledged, as the calling token."""
    return AlertOut.model_validate(change_alert(session, request, principal, alert_id, "acknowledge"),
                                   from_attributes=True)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
def resolve_alert(request: Request, session: Db, principal: Analyst, alert_id: AlertId) -> AlertOut:
    """open or acknowledged -> resolved, as the calling token."""
    return AlertOut.model_validate(change_alert(session, request, principal, alert_id, "resolve"),
                                   from_attributes=True)
