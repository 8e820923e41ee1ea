"""Turn spikes in the daily rollups into deduplicated alerts with their drivers."""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import insert_for
from monitor.models import Alert, Rollup
from monitor.rollups import ALL, daily_series
from monitor.spikes import SEVERITIES, Detection, SpikeParams, detect_spikes

log = structlog.get_logger(__name__)

METRIC = "antisemitic_count"


def _drivers(session: Session, country: str, day: dt.date, column) -> list[dict]:
    """The categories or triggers with the most antisemitic posts on `day`."""
    other = Rollup.trigger if column is Rollup.category else Rollup.category
    rows = session.execute(
        select(column, Rollup.antisemitic)
        .where(Rollup.country == country, Rollup.day == day, column != ALL, other == ALL,
               column != "none", Rollup.antisemitic > 0)
        .order_by(Rollup.antisemitic.desc(), column)
        .limit(5)
    ).all()
    return [{"id": r[0], "antisemitic": r[1]} for r in rows]


def _worse(a: str, b: str) -> str:
    return max(a, b, key=SEVERITIES.index)


def _event_alert(session: Session, country: str, day: dt.date, cooldown: int) -> Alert | None:
    """The alert of the event that `day` belongs to: started by then, last seen within the cooldown."""
    return session.scalar(
        select(Alert)
        .where(Alert.country == country, Alert.kind == "spike", Alert.metric == METRIC,
               Alert.started_on <= day,
               Alert.last_seen_on >= day - dt.timedelta(days=cooldown))
        .order_by(Alert.started_on.desc())
        .limit(1)
    )


def _record(session: Session, country: str, day: dt.date, det: Detection, cooldown: int) -> tuple[Alert, bool]:
    details = {
        "day": day.isoformat(),
        "categories": _drivers(session, country, day, Rollup.category),
        "triggers": _drivers(session, country, day, Rollup.trigger),
    }
    alert = _event_alert(session, country, day, cooldown)
    if alert is not None:
        # The same event growing: update it rather than raise another alert.
        if day > alert.last_seen_on and alert.status == "resolved":
            alert.status = "open"  # resolved by hand while it still grows
        alert.last_seen_on = max(alert.last_seen_on, day)
        if det.observed >= alert.observed:
            alert.observed, alert.expected, alert.details = det.observed, det.expected, details
        alert.score = max(alert.score, det.score)
        alert.severity = _worse(alert.severity, det.severity)
        alert.updated_at = dt.datetime.now(dt.timezone.utc)
        return alert, False
    now = dt.datetime.now(dt.timezone.utc)
    stmt = insert_for(session, Alert.__table__).values(
        country=country, kind="spike", metric=METRIC, status="open", severity=det.severity,
        started_on=day, last_seen_on=day, observed=det.observed, expected=det.expected,
        score=det.score, details=details, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["country", "kind", "metric", "started_on"]).returning(Alert.id)
    new_id = session.execute(stmt).scalar()
    alert = session.scalar(select(Alert).where(
        Alert.country == country, Alert.kind == "spike", Alert.metric == METRIC, Alert.started_on == day))
    return alert, new_id is not None


def check_spikes(session: Session, country: str, until: dt.date, params: SpikeParams,
                 lookback_days: int = 7, cooldown_days: int = 3) -> list[int]:
    """Detect spikes in the last `lookback_days` up to `until`; return ids of alerts newly opened."""
    first = until - dt.timedelta(days=lookback_days + params.baseline - 1)
    series = daily_series(session, country, first, until)
    days = [first + dt.timedelta(days=i) for i in range((until - first).days + 1)]
    counts = [series[d][1] if d in series else None for d in days]
    totals = [series[d][0] if d in series else None for d in days]
    opened: list[int] = []
    for det in detect_spikes(counts, totals, params, start=len(days) - lookback_days):
        alert, created = _record(session, country, days[det.index], det, cooldown_days)
        if created:
            opened.append(alert.id)
            log.info("alert_opened", country=country, alert_id=alert.id, severity=alert.severity,
                     started_on=alert.started_on.isoformat())
    _resolve_recovered(session, country, until, cooldown_days)
    return opened


def _resolve_recovered(session: Session, country: str, until: dt.date, cooldown: int) -> None:
    """Close spike alerts quiet for longer than the cooldown: the event is over."""
    for alert in session.scalars(select(Alert).where(
            Alert.country == country, Alert.kind == "spike", Alert.status == "open",
            Alert.last_seen_on < until - dt.timedelta(days=cooldown))):
        alert.status = "resolved"
        alert.updated_at = dt.datetime.now(dt.timezone.utc)


def list_alerts(session: Session, country: str | None = None, status: str | None = None) -> list[Alert]:
    """Alerts, newest first."""
    query = select(Alert).order_by(Alert.started_on.desc(), Alert.id.desc())
    if country:
        query = query.where(Alert.country == country)
    if status:
        query = query.where(Alert.status == status)
    return list(session.scalars(query))


def replay_spikes(session: Session, country: str, start: dt.date, end: dt.date, params: SpikeParams,
                  cooldown_days: int = 3) -> list[int]:
    """Run the daily check for each day from `start` to `end` in order, as beat would have; ids opened."""
    opened: list[int] = []
    day = start
    while day <= end:
        opened += check_spikes(session, country, day, params, lookback_days=1, cooldown_days=cooldown_days)
        day += dt.timedelta(days=1)
    return opened
