"""No-data alerts: sources that stop succeeding are a gap, never a drop to zero."""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.params import GAP_METRIC, SYSTEM, AlertParams
from monitor.alerts.states import lock_country, note_escalation, reopen, set_resolved
from monitor.db import as_utc, insert_for
from monitor.models import Alert, Rollup, Source, utcnow
from monitor.rollups import ALL
from monitor.spikes import worse

log = structlog.get_logger(__name__)


def day_volume(session: Session, country: str, day: dt.date) -> int | None:
    """All posts collected for `country` on `day` (the volume the share is taken of)."""
    return session.scalar(select(Rollup.posts).where(
        Rollup.country == country, Rollup.day == day, Rollup.category == ALL, Rollup.trigger == ALL))


# --- data gaps ----------------------------------------------------------------------------------


def check_gaps(session: Session, country: str, now: dt.datetime | None = None,
               params: AlertParams = AlertParams(), dry_run: bool = False) -> list[int]:
    """Open or update no_data alerts from the polling state of the country's enabled sources; ids
    opened, reopened or escalated.

    A source is stale when it has not succeeded for `gap_hours` and four poll intervals, whether
    its polls fail or stopped. All stale: the country has a data gap. Some stale: each of those has
    one ("source:<id>"). Sources that succeed but bring no posts are quiet, not silent. A gap
    resolves when a success follows it.
    """
    lock_country(session, country)
    now = now or utcnow()
    sources = list(session.scalars(select(Source).where(Source.country == country, Source.enabled.is_(True))
                                   .order_by(Source.id)))
    stale: list[tuple[Source, dt.datetime]] = []
    for src in sources:
        ok = as_utc(src.last_success_at or src.created_at)
        limit = max(dt.timedelta(hours=params.gap_hours), 4 * dt.timedelta(seconds=src.poll_interval_s))
        if now - ok > limit:
            stale.append((src, ok))
    gaps: dict[str, tuple[dt.datetime, list[Source]]] = {}
    if sources and len(stale) == len(sources):
        gaps[GAP_METRIC] = (max(ok for _, ok in stale), [s for s, _ in stale])
    else:
        gaps.update({f"source:{s.id}": (ok, [s]) for s, ok in stale})
    notify: dict[int, None] = {}
    for alert in session.scalars(select(Alert).where(
            Alert.country == country, Alert.kind == "no_data", Alert.status.in_(("open", "acknowledged")))):
        if (ended := _gap_over(alert, sources)) is not None:
            set_resolved(alert, SYSTEM)
            if ended != "recovered":
                alert.details = {**(alert.details or {}), "ended": ended}
    for metric, (last_ok, srcs) in gaps.items():
        _record_gap(session, country, metric, last_ok, srcs, now, notify, dry_run)
    return list(notify)


def _gap_over(alert: Alert, sources: list[Source]) -> str | None:
    """Why a gap is over, or None: "recovered" when one of its sources (any, for the country's) succeeded after it
    began, "no_enabled_source" when none of them is enabled any more (an operator disabled or removed them, and
    nothing is left to wait for)."""
    since = dt.datetime.fromisoformat((alert.details or {}).get("last_success_at") or "1970-01-01T00:00:00+00:00")
    ids = [s["id"] for s in (alert.details or {}).get("sources", [])]
    watched = [s for s in sources if alert.metric == GAP_METRIC or s.id in ids]
    if not watched:
        return "no_enabled_source"
    return "recovered" if any(s.last_success_at and as_utc(s.last_success_at) > since for s in watched) else None


def _record_gap(session: Session, country: str, metric: str, last_ok: dt.datetime, sources: list[Source],
                now: dt.datetime, notify: dict[int, None], dry_run: bool) -> None:
    hours = (now - last_ok).total_seconds() / 3600
    severity = "critical" if hours >= 72 else "high" if hours >= 24 else "warning"
    failing = any(s.last_polled_at and as_utc(s.last_polled_at) > last_ok for s in sources)
    details = {"last_success_at": last_ok.isoformat(), "reason": "failing" if failing else "not_polled",
               "sources": [{"id": s.id, "name": s.name, "kind": s.kind,
                            "last_polled_at": as_utc(s.last_polled_at).isoformat() if s.last_polled_at else None,
                            "last_error": (s.last_error or "")[:200] or None} for s in sources]}
    started = last_ok.date()
    stmt = insert_for(session, Alert.__table__).values(
        country=country, kind="no_data", metric=metric, status="open", severity=severity,
        started_on=started, last_seen_on=now.date(), observed=0.0, expected=0.0, score=round(hours, 1),
        details=details, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["country", "kind", "metric", "started_on"]).returning(Alert.id)
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        notify[new_id] = None
        if not dry_run:
            log.info("alert_opened", country=country, alert_id=new_id, kind="no_data", metric=metric,
                     started_on=started.isoformat())
        return
    alert = session.scalar(select(Alert).where(
        Alert.country == country, Alert.kind == "no_data", Alert.metric == metric, Alert.started_on == started))
    if alert.status == "resolved" and alert.resolved_by == SYSTEM:  # the same gap again, announced again
        reopen(alert, notify)
        if not dry_run:
            log.info("alert_reopened", country=country, alert_id=alert.id, kind="no_data", metric=metric,
                     notice=alert.notice)
    before = alert.severity
    alert.last_seen_on = max(alert.last_seen_on, now.date())
    alert.severity = worse(alert.severity, severity)
    alert.score, alert.details, alert.updated_at = max(alert.score, round(hours, 1)), details, now
    if note_escalation(alert, before, notify) and not dry_run:
        log.info("alert_escalated", country=country, alert_id=alert.id, kind="no_data", metric=metric,
                 severity=alert.severity)


# --- states -------------------------------------------------------------------------------------
