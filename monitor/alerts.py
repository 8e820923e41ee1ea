"""Turn spikes and silences in the daily rollups into deduplicated alerts with their drivers.

An alert is one event: opened once, updated while it lasts, resolved when it recovers (by "vigil")
or by an analyst. States: open -> acknowledged -> resolved. A country whose data stops raises a
"no_data" alert of its own: silence never reads as a drop to zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.db import insert_for
from monitor.models import Alert, Classification, Post, Rollup
from monitor.privacy import excerpt
from monitor.rollups import ALL, daily_series
from monitor.spikes import Detection, SpikeParams, detect_spikes, worse

log = structlog.get_logger(__name__)

METRIC = "antisemitic_count"
GAP_METRIC = "posts"
SYSTEM = "vigil"  # who resolves an alert on recovery
LIFT_BASELINE_DAYS = 28


def spike_params(settings) -> SpikeParams:
    """The daily detector's parameters from Settings."""
    return SpikeParams(baseline=settings.spike_baseline_days, min_count=settings.spike_min_count)


def _drivers(session: Session, country: str, day: dt.date, column) -> list[dict]:
    """The categories or triggers with the most antisemitic posts on `day`, with their lift.

    Lift is the day's count over the mean daily count of the preceding weeks (days without a row
    count as zero only when the country had data that day), each plus one to tame small numbers.
    """
    other = Rollup.trigger if column is Rollup.category else Rollup.category
    rows = session.execute(
        select(column, Rollup.antisemitic)
        .where(Rollup.country == country, Rollup.day == day, column != ALL, other == ALL,
               column != "none", Rollup.antisemitic > 0)
        .order_by(Rollup.antisemitic.desc(), column)
        .limit(5)
    ).all()
    if not rows:
        return []
    first = day - dt.timedelta(days=LIFT_BASELINE_DAYS)
    days_with_data = session.scalar(
        select(func.count()).select_from(Rollup).where(
            Rollup.country == country, Rollup.category == ALL, Rollup.trigger == ALL,
            Rollup.day >= first, Rollup.day < day)) or 0
    past = dict(session.execute(
        select(column, func.sum(Rollup.antisemitic))
        .where(Rollup.country == country, Rollup.day >= first, Rollup.day < day, other == ALL,
               column.in_([r[0] for r in rows]))
        .group_by(column)).all())
    out = []
    for key, n in rows:
        mean = (past.get(key) or 0) / days_with_data if days_with_data else None
        out.append({"id": key, "antisemitic": n,
                    "lift": round((n + 1) / (mean + 1), 2) if mean is not None else None})
    return out


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
        "posts": day_volume(session, country, day),
        "categories": _drivers(session, country, day, Rollup.category),
        "triggers": _drivers(session, country, day, Rollup.trigger),
    }
    alert = _event_alert(session, country, day, cooldown)
    if alert is not None:
        # The same event growing: update it rather than raise another alert.
        if day > alert.last_seen_on and alert.status == "resolved":
            # Resolved while it still grows: the same event, open again.
            alert.status, alert.resolved_at, alert.resolved_by = "open", None, None
        alert.last_seen_on = max(alert.last_seen_on, day)
        if det.observed >= alert.observed:
            alert.observed, alert.expected, alert.details = det.observed, det.expected, details
        alert.score = max(alert.score, det.score)
        alert.severity = worse(alert.severity, det.severity)
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
            Alert.country == country, Alert.kind == "spike", Alert.status.in_(("open", "acknowledged")),
            Alert.last_seen_on < until - dt.timedelta(days=cooldown))):
        _set_resolved(alert, SYSTEM)


def day_volume(session: Session, country: str, day: dt.date) -> int | None:
    """All posts collected for `country` on `day` (the volume the share is taken of)."""
    return session.scalar(select(Rollup.posts).where(
        Rollup.country == country, Rollup.day == day, Rollup.category == ALL, Rollup.trigger == ALL))


def _set_resolved(alert: Alert, by: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    alert.status, alert.resolved_at, alert.resolved_by, alert.updated_at = "resolved", now, by, now


def check_gaps(session: Session, country: str, until: dt.date, silent_days: int = 2,
               lookback_days: int = 28) -> list[int]:
    """Open a no_data alert when a country with data in the lookback has none for `silent_days`
    full days before `until` (today may still fill); resolve it when data returns. Ids opened."""
    last = session.scalar(select(func.max(Rollup.day)).where(
        Rollup.country == country, Rollup.category == ALL, Rollup.trigger == ALL,
        Rollup.day <= until, Rollup.day >= until - dt.timedelta(days=lookback_days)))
    open_gaps = list(session.scalars(select(Alert).where(
        Alert.country == country, Alert.kind == "no_data", Alert.status.in_(("open", "acknowledged")))))
    quiet_days = (until - last).days - 1 if last is not None else 0  # full days without data
    silent = last is not None and quiet_days >= silent_days
    if not silent:
        for alert in open_gaps:
            if last is not None and last >= alert.started_on:
                _set_resolved(alert, SYSTEM)
        return []
    started = last + dt.timedelta(days=1)
    severity = "critical" if quiet_days >= 7 else "high" if quiet_days >= 3 else "warning"
    now = dt.datetime.now(dt.timezone.utc)
    stmt = insert_for(session, Alert.__table__).values(
        country=country, kind="no_data", metric=GAP_METRIC, status="open", severity=severity,
        started_on=started, last_seen_on=until, observed=0.0, expected=0.0, score=float(quiet_days),
        details={"last_data_on": last.isoformat()}, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["country", "kind", "metric", "started_on"]).returning(Alert.id)
    new_id = session.execute(stmt).scalar()
    if new_id is None:
        alert = session.scalar(select(Alert).where(
            Alert.country == country, Alert.kind == "no_data", Alert.metric == GAP_METRIC,
            Alert.started_on == started))
        alert.last_seen_on = max(alert.last_seen_on, until)
        alert.severity = worse(alert.severity, severity)
        alert.score = max(alert.score, float(quiet_days))
        alert.updated_at = now
        return []
    log.info("alert_opened", country=country, alert_id=new_id, kind="no_data", started_on=started.isoformat())
    return [new_id]


class AlertStateError(ValueError):
    """An analyst asked for a transition the alert's state does not allow."""


def acknowledge(session: Session, alert_id: int, by: str) -> Alert:
    """open -> acknowledged, recording who and when."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertStateError(f"no alert {alert_id}")
    if alert.status != "open":
        raise AlertStateError(f"alert {alert_id} is {alert.status}, not open")
    now = dt.datetime.now(dt.timezone.utc)
    alert.status, alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = "acknowledged", now, by, now
    return alert


def resolve(session: Session, alert_id: int, by: str) -> Alert:
    """open or acknowledged -> resolved, recording who and when."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertStateError(f"no alert {alert_id}")
    if alert.status == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    _set_resolved(alert, by)
    return alert


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


@dataclass(frozen=True)
class AlertText:
    """What an alert says, the same for e-mail and webhook."""

    subject: str
    body: str
    fields: dict


def _examples(session: Session, alert: Alert, limit: int = 3) -> list[dict]:
    """A few antisemitic posts of the alert's peak day: pseudonymised, truncated, with links."""
    day = dt.date.fromisoformat((alert.details or {}).get("day", alert.last_seen_on.isoformat()))
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)
    top = [t["id"] for t in (alert.details or {}).get("triggers", [])[:1]]
    rows = session.execute(
        select(Post.url, Post.author_pseudonym, Post.text, Classification.triggers, Classification.score)
        .join(Classification, Classification.post_id == Post.id)
        .where(Post.country == alert.country, Classification.antisemitic.is_(True),
               Post.published_at >= start, Post.published_at < start + dt.timedelta(days=1))
        .order_by(Classification.score.desc(), Post.id)
        .limit(50)
    ).all()
    # Posts with the top trigger first: they show what drives the rise.
    rows = sorted(rows, key=lambda r: (not (top and top[0] in (r.triggers or [])), -r.score))[:limit]
    return [{"author": (r.author_pseudonym or "unknown")[:12], "excerpt": excerpt(r.text, 160),
             "url": r.url} for r in rows]


def describe_alert(session: Session, alert: Alert) -> AlertText:
    """The alert's text: what rose, by how much against what baseline, since when, why, examples."""
    d = alert.details or {}
    if alert.kind == "no_data":
        subject = f"[Vigil {alert.severity}] {alert.country}: no data since {d.get('last_data_on')}"
        body = (f"{alert.country} has had no posts collected since {d.get('last_data_on')} "
                f"({alert.score:g} full day(s)). This is missing data, not a drop to zero: "
                f"check the sources of {alert.country}.\nAlert #{alert.id}, severity {alert.severity}.")
        return AlertText(subject, body, {"alert_id": alert.id, "country": alert.country, "kind": alert.kind,
                                         "severity": alert.severity, "last_data_on": d.get("last_data_on")})
    ratio = alert.observed / alert.expected if alert.expected > 0 else None
    rise = f"{ratio:.1f}x" if ratio is not None else "from nothing"
    posts = d.get("posts")
    share = f", {alert.observed / posts:.1%} of {posts} posts collected" if posts else ""
    lines = [
        f"{alert.country}: {alert.observed:g} antisemitic posts on {d.get('day', alert.last_seen_on)} "
        f"against {alert.expected:.1f} expected from the share of the previous weeks ({rise}{share}).",
        f"Since {alert.started_on}, last seen {alert.last_seen_on}; severity {alert.severity} "
        f"(score {alert.score:.1f}); status {alert.status}.",
    ]
    for label, key in (("Top triggers", "triggers"), ("Top categories", "categories")):
        items = d.get(key) or []
        if items:
            lines.append(f"{label}: " + "; ".join(
                f"{i['id']} {i['antisemitic']} posts" + (f" (lift {i['lift']:g}x)" if i.get("lift") else "")
                for i in items[:3]))
    examples = _examples(session, alert)
    if examples:
        lines.append("Examples (truncated; authors pseudonymised):")
        lines += [f"- [{e['author']}] {e['excerpt']} {e['url'] or ''}".rstrip() for e in examples]
    lines.append(f"Alert #{alert.id}. Acknowledge: vigil alerts ack {alert.id} --by NAME")
    subject = (f"[Vigil {alert.severity}] {alert.country}: antisemitic posts {rise} "
               f"since {alert.started_on}")
    fields = {"alert_id": alert.id, "country": alert.country, "kind": alert.kind, "metric": alert.metric,
              "severity": alert.severity, "status": alert.status, "started_on": alert.started_on.isoformat(),
              "last_seen_on": alert.last_seen_on.isoformat(), "observed": alert.observed,
              "expected": alert.expected, "score": alert.score, "posts": posts,
              "triggers": d.get("triggers", []), "categories": d.get("categories", []), "examples": examples}
    return AlertText(subject, "\n".join(lines), fields)
