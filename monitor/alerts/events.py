"""Spike events: detections become one alert per (country, metric) event, updated while it lasts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import structlog
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from monitor.alerts.drivers import alert_details
from monitor.alerts.params import METRIC, SYSTEM, AlertParams
from monitor.alerts.series import (
    DAY,
    HOUR,
    daily_series,
    day_start,
    hourly_series,
)
from monitor.alerts.states import lock_country, note_escalation, reopen, set_resolved
from monitor.db import as_utc, insert_for
from monitor.models import Alert, utcnow
from monitor.spikes import Detection, default_detector, phases_for, worse

log = structlog.get_logger(__name__)


def check_spikes(session: Session, country: str, until: dt.date, params: AlertParams = AlertParams(),
                 now: dt.datetime | None = None, dry_run: bool = False) -> list[int]:
    """Record the alarms of the last `lookback_days` up to `until` (and of the hourly count in the 24
    hours up to `now`, default the end of `until` or the present); return the ids of alerts opened
    reopened or escalated, which are the ones to (re)deliver."""
    lock_country(session, country)
    now = now or min(utcnow(), day_start(until + DAY))
    first = until - dt.timedelta(days=params.history_days - 1)
    days = [first + dt.timedelta(days=i) for i in range(params.history_days)]
    start = len(days) - params.lookback_days
    detector = default_detector("day")
    phases = phases_for(days, "day")
    cooldown = params.cooldown_days
    notify: dict[int, None] = {}
    country_series, *sub_series = daily_series(session, country, days, start, params)
    for hour, det, volume in _hourly_alarms(session, country, now, params):
        _record(session, country, METRIC, hour.date(), det, cooldown=cooldown, notify=notify, dry_run=dry_run,
                hour=hour,
                details=lambda hour=hour, det=det, volume=volume: alert_details(
                    session, country, METRIC, hour.date(), hour, det, volume))
    for metric, counts, totals, min_count in [country_series, *sub_series]:
        for det in detector.alarms(counts, totals, phases, start=start, min_count=min_count):
            day = days[det.index]
            if metric != METRIC and _event_alert(session, country, metric, day, cooldown) is None:
                cover = _covering_alert(session, country, day, cooldown)
                if cover is not None:  # one event, one alert: the open one lists this series as rising too
                    related = (cover.details or {}).get("related", [])
                    if metric not in related:
                        cover.details = {**(cover.details or {}), "related": sorted([*related, metric])}
                    continue
            _record(session, country, metric, day, det, cooldown=cooldown, notify=notify, dry_run=dry_run,
                    details=lambda day=day, metric=metric, det=det, totals=totals: alert_details(
                        session, country, metric, day, None, det, totals[det.index]))
    _resolve_recovered(session, country, until, cooldown)
    return list(notify)


def _hourly_alarms(session: Session, country: str, now: dt.datetime,
                   params: AlertParams) -> list[tuple[dt.datetime, Detection, int]]:
    """Alarms of the hourly count (share-normalised) in the 24 hours up to `now`."""
    end = now.replace(minute=0, second=0, microsecond=0) + HOUR  # the current hour counts, partly filled
    first = end - dt.timedelta(days=params.hourly_days)
    series = hourly_series(session, country, first, end)
    if not series:
        return []
    grid = [first + i * HOUR for i in range(params.hourly_days * 24)]
    counts = [series[h][1] if h in series else None for h in grid]
    totals = [series[h][0] if h in series else None for h in grid]  # no posts: no data, not zero
    found = default_detector("hour").alarms(counts, totals, phases_for(grid, "hour"), start=len(grid) - 24,
                                            min_count=params.hourly_min_count)
    return [(grid[d.index], d, totals[d.index]) for d in found]


def _in_event(country: str, day: dt.date, cooldown: int) -> tuple:
    """Where-clauses of the country's spike alerts whose event `day` belongs to: last seen within the cooldown
    before it, started by then or within the cooldown after it (late posts can raise a day before an alert's
    first: the same event)."""
    return (Alert.country == country, Alert.kind == "spike", Alert.started_on <= day + dt.timedelta(days=cooldown),
            Alert.last_seen_on >= day - dt.timedelta(days=cooldown))


def _event_alert(session: Session, country: str, metric: str, day: dt.date, cooldown: int) -> Alert | None:
    """The alert of `metric` of the event that `day` belongs to (see _in_event)."""
    return session.scalar(
        select(Alert)
        .where(*_in_event(country, day, cooldown), Alert.metric == metric)
        # One started by then comes first (the latest such); else the one starting soonest after `day`.
        .order_by((Alert.started_on > day).asc(),
                  case((Alert.started_on <= day, Alert.started_on), else_=None).desc(), Alert.started_on.asc())
        .limit(1)
    )


def _covering_alert(session: Session, country: str, day: dt.date, cooldown: int) -> Alert | None:
    """A spike alert of the country, of any series, whose event `day` belongs to (see _in_event; the count's
    first)."""
    return session.scalar(
        select(Alert)
        .where(*_in_event(country, day, cooldown))
        .order_by(case((Alert.metric == METRIC, 0), else_=1), Alert.started_on, Alert.id)
        .limit(1)
    )


def _record(session: Session, country: str, metric: str, day: dt.date, det: Detection, *, cooldown: int,
            details: Callable[[], dict], notify: dict[int, None], dry_run: bool,
            hour: dt.datetime | None = None) -> None:
    """Open the event's alert, or update it; add its id to `notify` when opened, reopened or escalated.

    A resolved alert reopens on an alarm of a day after it was last seen, or of an hour (`hour`, for the
    hourly series) that began after it was resolved: the checks see each alarm of the look-back again and
    again, and only these are news to whoever resolved it."""
    now = utcnow()
    alert = _event_alert(session, country, metric, day, cooldown)
    if alert is None:
        stmt = insert_for(session, Alert.__table__).values(
            country=country, kind="spike", metric=metric, status="open", severity=det.severity,
            started_on=day, last_seen_on=day, observed=det.observed, expected=det.expected,
            score=det.score, details=details(), created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["country", "kind", "metric", "started_on"]).returning(Alert.id)
        new_id = session.execute(stmt).scalar()
        if new_id is not None:
            notify[new_id] = None
            if not dry_run:
                log.info("alert_opened", country=country, alert_id=new_id, metric=metric,
                         severity=det.severity, started_on=day.isoformat())
            return
        alert = session.scalar(select(Alert).where(  # opened meanwhile by a concurrent check
            Alert.country == country, Alert.kind == "spike", Alert.metric == metric, Alert.started_on == day))
    if day < alert.started_on:  # late posts: it began earlier. No alert of the metric starts on `day` (the unique
        alert.started_on, alert.updated_at = day, now  # key): _event_alert would have returned that one first
    before = (alert.status, alert.severity, alert.last_seen_on, alert.score)
    if alert.status == "resolved" and (day > alert.last_seen_on or (
            hour is not None and alert.resolved_at is not None and hour >= as_utc(alert.resolved_at))):
        # Resolved while it still grows: the same event, open again, and announced again to everyone.
        reopen(alert, notify)
        if not dry_run:
            log.info("alert_reopened", country=country, alert_id=alert.id, metric=metric, notice=alert.notice,
                     day=day.isoformat())
    alert.last_seen_on = max(alert.last_seen_on, day)
    if det.observed > alert.observed:
        related = (alert.details or {}).get("related")
        alert.observed, alert.expected = det.observed, det.expected
        alert.details = details() | ({"related": related} if related else {})
    alert.score = max(alert.score, det.score)
    alert.severity = worse(alert.severity, det.severity)
    if (alert.status, alert.severity, alert.last_seen_on, alert.score) != before:
        alert.updated_at = now
    if note_escalation(alert, before[1], notify) and not dry_run:
        log.info("alert_escalated", country=country, alert_id=alert.id, metric=metric, severity=alert.severity)


def _resolve_recovered(session: Session, country: str, until: dt.date, cooldown: int) -> None:
    """Close spike alerts quiet for longer than the cooldown: the event is over."""
    for alert in session.scalars(select(Alert).where(
            Alert.country == country, Alert.kind == "spike", Alert.status.in_(("open", "acknowledged")),
            Alert.last_seen_on < until - dt.timedelta(days=cooldown))):
        set_resolved(alert, SYSTEM)


def replay_spikes(session: Session, country: str, start: dt.date, end: dt.date,
                  params: AlertParams = AlertParams(), dry_run: bool = False) -> list[int]:
    """Run the check for each day from `start` to `end` in order, as beat would have at each day's
    end; ids of alerts opened."""
    daily = replace(params, lookback_days=1)
    opened: list[int] = []
    day = start
    while day <= end:
        known = set(session.scalars(select(Alert.id).where(Alert.country == country)))
        opened += [i for i in check_spikes(session, country, day, daily, dry_run=dry_run) if i not in known]
        day += DAY
    return opened


# --- what an alert carries ----------------------------------------------------------------------
