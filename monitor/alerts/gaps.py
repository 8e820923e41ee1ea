"""No-data alerts: sources that stop succeeding, or a country whose sources answer but bring nothing for far longer
than its usual volume allows, are a gap, never a drop to zero."""

from __future__ import annotations

import datetime as dt
import math

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.params import GAP_METRIC, QUIET_METRIC, SYSTEM, AlertParams
from monitor.alerts.states import lock_country, note_escalation, reopen, set_resolved
from monitor.db import as_utc, insert_for
from monitor.models import Alert, Post, Rollup, Source, utcnow
from monitor.rollups import ALL
from monitor.spikes import worse

log = structlog.get_logger(__name__)

QUIET_RECOVERY_POSTS = 3  # posts that end a quiet gap: one stray post is not a feed that works again


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
    one ("source:<id>"). A gap resolves when a success follows it.

    Sources that succeed but bring no posts are quiet, and quiet is normal for a small country. It is a
    gap ("quiet") only when the country's enabled sources have brought no post for at least `gap_hours`
    and, at their usual rate (the posts they collected in the `quiet_baseline_days` before the silence),
    should have brought `quiet_expected` posts or more: a frozen feed, a changed hashtag, a blocked account.
    Posts of disabled sources (hand imports, a feed an operator turned off) count for neither. It resolves
    when QUIET_RECOVERY_POSTS posts have come since it began, so a feed that brings one post now and then
    keeps its alert open instead of resolving and reopening it.
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
    still_open: list[Alert] = []
    for alert in session.scalars(select(Alert).where(
            Alert.country == country, Alert.kind == "no_data", Alert.status.in_(("open", "acknowledged")))):
        if (ended := _gap_over(session, alert, sources)) is None:
            still_open.append(alert)
            continue
        set_resolved(alert, SYSTEM)
        if ended != "recovered":
            alert.details = {**(alert.details or {}), "ended": ended}
    quiet = {}
    source_ids = [s.id for s in sources]
    if sources and GAP_METRIC not in gaps and (last_post := _last_collected(session, country, source_ids)):
        silent_h = (now - last_post).total_seconds() / 3600
        if silent_h >= params.gap_hours:
            expected = _expected_posts(session, country, source_ids, last_post, silent_h, params)
            if expected >= params.quiet_expected:
                # A quiet gap still open goes on from where it began, though a post or two came meanwhile; one
                # that has just recovered does not, and the new silence is a gap of its own.
                since = next((_since(a) for a in still_open if a.metric == QUIET_METRIC), last_post)
                gaps[QUIET_METRIC] = (since, sources)
                quiet = {"reason": "no_posts", "expected_posts": round(expected, 1)}
    for metric, (last_ok, srcs) in gaps.items():
        _record_gap(session, country, metric, last_ok, srcs, now, notify, dry_run,
                    quiet if metric == QUIET_METRIC else None)
    return list(notify)


def _last_collected(session: Session, country: str, source_ids: list[int]) -> dt.datetime | None:
    """When the newest post of these sources for `country` was collected (found backwards on the (country, id)
    index)."""
    if not source_ids:
        return None
    value = session.scalar(select(Post.collected_at).where(Post.country == country, Post.source_id.in_(source_ids))
                           .order_by(Post.id.desc()).limit(1))
    return as_utc(value) if value is not None else None


def _first_id_since(session: Session, moment: dt.datetime) -> int | None:
    """The id of the first post collected at or after `moment` (ids grow with collection)."""
    return session.scalar(select(Post.id).where(Post.collected_at >= moment).order_by(Post.collected_at).limit(1))


def _collected(session: Session, country: str, source_ids: list[int], after: dt.datetime,
               before: dt.datetime | None, cap: int) -> int:
    """Posts of these sources collected after `after` (and before `before`), counted up to `cap`: from the first
    id collected then on, so a busy country costs a bounded scan."""
    first = _first_id_since(session, after)
    if first is None:
        return 0
    window = select(Post.id).where(Post.country == country, Post.source_id.in_(source_ids), Post.id >= first,
                                   Post.collected_at >= after)
    if before is not None:
        window = window.where(Post.collected_at < before)
    return session.scalar(select(func.count()).select_from(window.limit(cap).subquery())) or 0


def _expected_posts(session: Session, country: str, source_ids: list[int], last_post: dt.datetime,
                    silent_h: float, params: AlertParams) -> float:
    """Posts these sources would have brought in `silent_h` hours at their rate of the `quiet_baseline_days`
    before `last_post`, counted only as far as the decision needs: the count stops at ten times the posts that
    would make `quiet_expected` (the figure is then a lower bound)."""
    hours = params.quiet_baseline_days * 24
    needed = math.ceil(params.quiet_expected * hours / silent_h)
    posts = _collected(session, country, source_ids, last_post - dt.timedelta(hours=hours), last_post, 10 * needed)
    return posts / hours * silent_h


def _since(alert: Alert) -> dt.datetime:
    return dt.datetime.fromisoformat((alert.details or {}).get("last_success_at") or "1970-01-01T00:00:00+00:00")


def _gap_over(session: Session, alert: Alert, sources: list[Source]) -> str | None:
    """Why a gap is over, or None: "recovered" when one of its sources (any, for the country's) succeeded after it
    began (for a quiet country: when QUIET_RECOVERY_POSTS posts of its enabled sources came after it began),
    "no_enabled_source" when none of them is enabled any more (an operator disabled or removed them, and
    nothing is left to wait for)."""
    since = _since(alert)
    ids = [s["id"] for s in (alert.details or {}).get("sources", [])]
    watched = [s for s in sources if alert.metric in (GAP_METRIC, QUIET_METRIC) or s.id in ids]
    if not watched:
        return "no_enabled_source"
    if alert.metric == QUIET_METRIC:
        came = _collected(session, alert.country, [s.id for s in watched], since + dt.timedelta(microseconds=1),
                          None, QUIET_RECOVERY_POSTS)
        return "recovered" if came >= QUIET_RECOVERY_POSTS else None
    return "recovered" if any(s.last_success_at and as_utc(s.last_success_at) > since for s in watched) else None


def _record_gap(session: Session, country: str, metric: str, last_ok: dt.datetime, sources: list[Source],
                now: dt.datetime, notify: dict[int, None], dry_run: bool, extra: dict | None = None) -> None:
    """Open or update the gap alert `metric` of `country`, silent since `last_ok` (its last success, or for a
    quiet country its last post); `extra` details replace the polling reason."""
    hours = (now - last_ok).total_seconds() / 3600
    severity = "critical" if hours >= 72 else "high" if hours >= 24 else "warning"
    failing = any(s.last_polled_at and as_utc(s.last_polled_at) > last_ok for s in sources)
    details = {"last_success_at": last_ok.isoformat(), "reason": "failing" if failing else "not_polled",
               "sources": [{"id": s.id, "name": s.name, "kind": s.kind,
                            "last_polled_at": as_utc(s.last_polled_at).isoformat() if s.last_polled_at else None,
                            "last_error": (s.last_error or "")[:200] or None} for s in sources], **(extra or {})}
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
