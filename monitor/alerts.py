"""Turn spikes and silences into deduplicated alerts with their drivers.

Series checked per country: the daily antisemitic count with its share of all posts (the volume
is the exposure, so a busier day alone is no spike), the same per trigger ("trigger:<id>") and per
category ("category:<id>") from the daily rollups, and the hourly count computed on the fly from
posts and classifications, so a rise within a day is caught before the day ends. Each runs through
the seasonal negative-binomial and CUSUM detectors of `monitor.spikes`.

An alert is one event of one (country, metric): opened once, updated while it lasts (alarms within
the cooldown belong to it, whichever resolution saw them), resolved by "vigil" when it has been quiet
for longer than the cooldown, or by an analyst. States: open -> acknowledged -> resolved. Sources
that stop succeeding raise "no_data" alerts of their own: silence never reads as a drop to zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog
from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from monitor.db import insert_for
from monitor.models import Alert, Classification, Post, Rollup, Source
from monitor.privacy import excerpt
from monitor.rollups import ALL
from monitor.spikes import SEVERITIES, Detection, default_detector, phases_for, worse

log = structlog.get_logger(__name__)

METRIC = "antisemitic_count"
GAP_METRIC = "posts"
SYSTEM = "vigil"  # who resolves an alert on recovery
LIFT_BASELINE_DAYS = 28
TERM_POSTS = 3000  # most recent antisemitic posts read for emerging terms
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class AlertParams:
    """How the checks read the series; one set for every country, no tuning per series."""

    min_count: int = 5           # antisemitic posts a day needs before it can alert
    series_min_count: int = 10   # the same for one trigger's or category's day: small series must not flap
    hourly_min_count: int = 5    # the same for one hour
    history_days: int = 112      # daily points the online detectors learn from
    hourly_days: int = 14        # days of hourly points they learn from
    lookback_days: int = 7       # recent days whose alarms are recorded (a late rollup still counts)
    cooldown_days: int = 3       # an event without an alarm for longer than this is over
    gap_hours: float = 6.0       # a source without a success for this long (and four polls) is a gap


def spike_params(settings) -> AlertParams:
    """The checks' parameters from Settings."""
    return AlertParams(min_count=settings.spike_min_count, cooldown_days=settings.spike_cooldown_days,
                       history_days=max(4 * settings.spike_baseline_days, 56))


def _utc(t: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


# --- series -------------------------------------------------------------------------------------

def daily_series(session: Session, country: str, days: list[dt.date], recent_from: int,
                 params: AlertParams) -> list[tuple[str, list, list, int]]:
    """(metric, counts, totals, min_count) per daily series of `country`, from one rollup query.

    The volume of every series is the country-day total of posts. A day without that total is no
    data (None); a trigger or category without a row on a day with data had zero posts. Only triggers
    and categories that reach their minimum count on a recent day are returned: no other can alert.
    """
    rows = session.execute(
        select(Rollup.day, Rollup.category, Rollup.trigger, Rollup.posts, Rollup.antisemitic)
        .where(Rollup.country == country, Rollup.day >= days[0], Rollup.day <= days[-1],
               or_(Rollup.category == ALL, Rollup.trigger == ALL), Rollup.category != "none")
    ).all()
    volume: dict[dt.date, int] = {}
    hostile: dict[dt.date, int] = {}
    keyed: dict[str, dict[dt.date, int]] = {}
    for r in rows:
        if r.category == ALL and r.trigger == ALL:
            volume[r.day], hostile[r.day] = r.posts, r.antisemitic
        else:
            metric = f"trigger:{r.trigger}" if r.category == ALL else f"category:{r.category}"
            keyed.setdefault(metric[:64], {})[r.day] = r.antisemitic
    totals = [volume.get(d) for d in days]
    out = [(METRIC, [hostile.get(d) for d in days], totals, params.min_count)]
    recent = days[recent_from:]
    for metric, by_day in sorted(keyed.items()):
        if max(by_day.get(d, 0) for d in recent) < params.series_min_count:
            continue
        out.append((metric, [by_day.get(d, 0) if d in volume else None for d in days], totals,
                    params.series_min_count))
    return out


def _hour_bucket(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        # Literals, not bound parameters: GROUP BY must repeat the very expression of the SELECT.
        return func.date_trunc(literal_column("'hour'"), func.timezone(literal_column("'UTC'"), Post.published_at))
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), Post.published_at)


def hourly_series(session: Session, country: str, start: dt.datetime,
                  end: dt.datetime) -> dict[dt.datetime, tuple[int, int]]:
    """{hour (UTC): (classified posts, antisemitic)} for hours in [start, end) that have classified
    posts; one grouped query on (country, published_at)."""
    bucket = _hour_bucket(session).label("hour")
    rows = session.execute(
        select(bucket, func.count(), func.sum(case((Classification.antisemitic.is_(True), 1), else_=0)))
        .select_from(Post).join(Classification, Classification.post_id == Post.id)
        .where(Post.country == country, Post.published_at >= start, Post.published_at < end)
        .group_by(bucket)
    ).all()
    out: dict[dt.datetime, tuple[int, int]] = {}
    for hour, n, hostile in rows:
        hour = dt.datetime.fromisoformat(hour) if isinstance(hour, str) else hour
        out[_utc(hour)] = (int(n), int(hostile or 0))
    return out


# --- spikes -------------------------------------------------------------------------------------

def check_spikes(session: Session, country: str, until: dt.date, params: AlertParams = AlertParams(),
                 now: dt.datetime | None = None, dry_run: bool = False) -> list[int]:
    """Record the alarms of the last `lookback_days` up to `until` (and of the hourly count in the 24
    hours up to `now`, default the end of `until` or the present); return the ids of alerts opened
    or escalated, which are the ones to (re)deliver."""
    now = now or min(_now(), _day_start(until + DAY))
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
                details=lambda hour=hour, det=det, volume=volume: _details(
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
                    details=lambda day=day, metric=metric, det=det, totals=totals: _details(
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


def _event_alert(session: Session, country: str, metric: str, day: dt.date, cooldown: int) -> Alert | None:
    """The alert of the event that `day` belongs to: started by then, last seen within the cooldown."""
    return session.scalar(
        select(Alert)
        .where(Alert.country == country, Alert.kind == "spike", Alert.metric == metric,
               Alert.started_on <= day, Alert.last_seen_on >= day - dt.timedelta(days=cooldown))
        .order_by(Alert.started_on.desc())
        .limit(1)
    )


def _covering_alert(session: Session, country: str, day: dt.date, cooldown: int) -> Alert | None:
    """A spike alert of the country, of any series, whose event `day` belongs to (the count's first)."""
    return session.scalar(
        select(Alert)
        .where(Alert.country == country, Alert.kind == "spike", Alert.started_on <= day,
               Alert.last_seen_on >= day - dt.timedelta(days=cooldown))
        .order_by(case((Alert.metric == METRIC, 0), else_=1), Alert.started_on, Alert.id)
        .limit(1)
    )


def _record(session: Session, country: str, metric: str, day: dt.date, det: Detection, *, cooldown: int,
            details: Callable[[], dict], notify: dict[int, None], dry_run: bool) -> None:
    """Open the event's alert, or update it; add its id to `notify` when opened or escalated."""
    now = _now()
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
    before = (alert.status, alert.severity, alert.last_seen_on, alert.score)
    if day > alert.last_seen_on and alert.status == "resolved":
        # Resolved while it still grows: the same event, open again.
        alert.status, alert.resolved_at, alert.resolved_by = "open", None, None
    alert.last_seen_on = max(alert.last_seen_on, day)
    if det.observed > alert.observed:
        related = (alert.details or {}).get("related")
        alert.observed, alert.expected = det.observed, det.expected
        alert.details = details() | ({"related": related} if related else {})
    alert.score = max(alert.score, det.score)
    alert.severity = worse(alert.severity, det.severity)
    if (alert.status, alert.severity, alert.last_seen_on, alert.score) != before:
        alert.updated_at = now
    if SEVERITIES.index(alert.severity) > SEVERITIES.index(before[1]):
        notify[alert.id] = None  # subscribers whose minimum it now reaches hear of it once
        if not dry_run:
            log.info("alert_escalated", country=country, alert_id=alert.id, metric=metric,
                     severity=alert.severity)


def _resolve_recovered(session: Session, country: str, until: dt.date, cooldown: int) -> None:
    """Close spike alerts quiet for longer than the cooldown: the event is over."""
    for alert in session.scalars(select(Alert).where(
            Alert.country == country, Alert.kind == "spike", Alert.status.in_(("open", "acknowledged")),
            Alert.last_seen_on < until - dt.timedelta(days=cooldown))):
        _set_resolved(alert, SYSTEM)


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

def _details(session: Session, country: str, metric: str, day: dt.date, hour: dt.datetime | None,
             det: Detection, volume: float | None) -> dict:
    return {
        "day": day.isoformat(),
        "resolution": "hour" if hour else "day",
        "hour": hour.isoformat() if hour else None,
        "posts": int(volume) if volume is not None else None,
        "detector": det.detector,
        "categories": _drivers(session, country, day, Rollup.category),
        "triggers": _drivers(session, country, day, Rollup.trigger),
        "terms": _emerging(session, country, metric, day),
    }


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


def _in_metric(metric: str, category: str | None, triggers: list[str] | None) -> bool:
    kind, _, key = metric.partition(":")
    if kind == "category":
        return category == key
    if kind == "trigger":
        return key in (triggers or [])
    return True


def _emerging(session: Session, country: str, metric: str, day: dt.date, top: int = 5) -> list[dict]:
    """Terms whose share among the day's antisemitic posts rose most against the previous weeks'."""
    try:
        from classifiers.emerging import emerging_terms
    except ImportError:  # the terms are an extra; an alert never waits for them
        return []
    start = _day_start(day)
    rows = session.execute(
        select(Post.text, Post.published_at, Classification.category, Classification.triggers)
        .join(Classification, Classification.post_id == Post.id)
        .where(Post.country == country, Classification.antisemitic.is_(True),
               Post.published_at >= start - dt.timedelta(days=LIFT_BASELINE_DAYS), Post.published_at < start + DAY)
        .order_by(Post.published_at.desc())
        .limit(TERM_POSTS)
    ).all()
    rows = [r for r in rows if _in_metric(metric, r.category, r.triggers)]
    target = [r.text for r in rows if _utc(r.published_at) >= start]
    baseline = [r.text for r in rows if _utc(r.published_at) < start]
    if len(target) < 3:
        return []
    try:
        terms = emerging_terms(target, baseline, min_count=3, top=top)
    except (TypeError, ValueError) as exc:  # an interface still settling must not block an alert
        log.warning("emerging_terms_failed", country=country, error=type(exc).__name__)
        return []
    return [{"term": t.term, "z": round(t.z, 1), "posts": t.target_count} for t in terms]


def day_volume(session: Session, country: str, day: dt.date) -> int | None:
    """All posts collected for `country` on `day` (the volume the share is taken of)."""
    return session.scalar(select(Rollup.posts).where(
        Rollup.country == country, Rollup.day == day, Rollup.category == ALL, Rollup.trigger == ALL))


# --- data gaps ----------------------------------------------------------------------------------

def check_gaps(session: Session, country: str, now: dt.datetime | None = None,
               params: AlertParams = AlertParams(), dry_run: bool = False) -> list[int]:
    """Open or update no_data alerts from the polling state of the country's enabled sources; ids
    opened or escalated.

    A source is stale when it has not succeeded for `gap_hours` and four poll intervals, whether
    its polls fail or stopped. All stale: the country has a data gap. Some stale: each of those has
    one ("source:<id>"). Sources that succeed but bring no posts are quiet, not silent. A gap
    resolves when a success follows it.
    """
    now = now or _now()
    sources = list(session.scalars(select(Source).where(Source.country == country, Source.enabled.is_(True))
                                   .order_by(Source.id)))
    stale: list[tuple[Source, dt.datetime]] = []
    for src in sources:
        ok = _utc(src.last_success_at or src.created_at)
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
        if _gap_over(alert, sources):
            _set_resolved(alert, SYSTEM)
    for metric, (last_ok, srcs) in gaps.items():
        _record_gap(session, country, metric, last_ok, srcs, now, notify, dry_run)
    return list(notify)


def _gap_over(alert: Alert, sources: list[Source]) -> bool:
    """A gap is over when one of its sources (any, for the country's) succeeded after it began."""
    since = dt.datetime.fromisoformat((alert.details or {}).get("last_success_at") or "1970-01-01T00:00:00+00:00")
    ids = [s["id"] for s in (alert.details or {}).get("sources", [])]
    watched = [s for s in sources if alert.metric == GAP_METRIC or s.id in ids]
    return any(s.last_success_at and _utc(s.last_success_at) > since for s in watched)


def _record_gap(session: Session, country: str, metric: str, last_ok: dt.datetime, sources: list[Source],
                now: dt.datetime, notify: dict[int, None], dry_run: bool) -> None:
    hours = (now - last_ok).total_seconds() / 3600
    severity = "critical" if hours >= 72 else "high" if hours >= 24 else "warning"
    failing = any(s.last_polled_at and _utc(s.last_polled_at) > last_ok for s in sources)
    details = {"last_success_at": last_ok.isoformat(), "reason": "failing" if failing else "not_polled",
               "sources": [{"id": s.id, "name": s.name, "kind": s.kind,
                            "last_polled_at": _utc(s.last_polled_at).isoformat() if s.last_polled_at else None,
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
    if alert.status == "resolved" and alert.resolved_by == SYSTEM:
        alert.status, alert.resolved_at, alert.resolved_by = "open", None, None  # the same gap again
    before = alert.severity
    alert.last_seen_on = max(alert.last_seen_on, now.date())
    alert.severity = worse(alert.severity, severity)
    alert.score, alert.details, alert.updated_at = max(alert.score, round(hours, 1)), details, now
    if SEVERITIES.index(alert.severity) > SEVERITIES.index(before):
        notify[alert.id] = None


# --- states -------------------------------------------------------------------------------------

def _set_resolved(alert: Alert, by: str) -> None:
    now = _now()
    alert.status, alert.resolved_at, alert.resolved_by, alert.updated_at = "resolved", now, by, now


class AlertStateError(ValueError):
    """An analyst asked for a transition the alert's state does not allow."""


def acknowledge(session: Session, alert_id: int, by: str) -> Alert:
    """open -> acknowledged, recording who and when."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertStateError(f"no alert {alert_id}")
    if alert.status != "open":
        raise AlertStateError(f"alert {alert_id} is {alert.status}, not open")
    now = _now()
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


# --- text ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertText:
    """What an alert says, the same for e-mail and webhook."""

    subject: str
    body: str
    fields: dict


def _examples(session: Session, alert: Alert, limit: int = 3) -> list[dict]:
    """A few antisemitic posts of the alert's peak day (of its trigger or category): pseudonymised,
    truncated, with links."""
    day = dt.date.fromisoformat((alert.details or {}).get("day", alert.last_seen_on.isoformat()))
    start = _day_start(day)
    top = [t["id"] for t in (alert.details or {}).get("triggers", [])[:1]]
    rows = session.execute(
        select(Post.url, Post.author_pseudonym, Post.text, Classification.category, Classification.triggers,
               Classification.score)
        .join(Classification, Classification.post_id == Post.id)
        .where(Post.country == alert.country, Classification.antisemitic.is_(True),
               Post.published_at >= start, Post.published_at < start + DAY)
        .order_by(Classification.score.desc(), Post.id)
        .limit(200)
    ).all()
    rows = [r for r in rows if _in_metric(alert.metric, r.category, r.triggers)]
    # Posts with the top trigger first: they show what drives the rise.
    rows = sorted(rows, key=lambda r: (not (top and top[0] in (r.triggers or [])), -r.score))[:limit]
    return [{"author": (r.author_pseudonym or "unknown")[:12], "excerpt": excerpt(r.text, 160),
             "url": r.url} for r in rows]


def _what(metric: str) -> str:
    kind, _, key = metric.partition(":")
    return {"trigger": f"antisemitic posts about {key}", "category": f"antisemitic posts of category {key}"}.get(
        kind, "antisemitic posts")


def _describe_gap(alert: Alert) -> AlertText:
    d = alert.details or {}
    since = d.get("last_success_at") or d.get("last_data_on")
    names = ", ".join(s["name"] for s in d.get("sources", [])) or "its sources"
    who = alert.country if alert.metric == GAP_METRIC else f"{alert.country} source {names}"
    why = ("its polls fail" if d.get("reason") == "failing" else "it is not being polled")
    errors = sorted({s["last_error"] for s in d.get("sources", []) if s.get("last_error")})
    subject = f"[Vigil {alert.severity}] {who}: no data since {since}"
    body = (f"{who}: nothing collected successfully since {since} ({alert.score:g} h); {why}"
            + (f" (last error: {errors[0]})" if errors else "") + ". This is missing data, not a drop "
            f"to zero: check the sources of {alert.country} ({names}).\n"
            f"Alert #{alert.id}, severity {alert.severity}.")
    return AlertText(subject, body, {"alert_id": alert.id, "country": alert.country, "kind": alert.kind,
                                     "metric": alert.metric, "severity": alert.severity,
                                     "last_success_at": since, "sources": d.get("sources", [])})


def describe_alert(session: Session, alert: Alert) -> AlertText:
    """The alert's text: what rose, by how much against what baseline, since when, why, examples."""
    if alert.kind == "no_data":
        return _describe_gap(alert)
    d = alert.details or {}
    ratio = alert.observed / alert.expected if alert.expected > 0 else None
    rise = f"{ratio:.1f}x" if ratio is not None else "from nothing"
    posts = d.get("posts")
    share = f", {alert.observed / posts:.1%} of {posts} posts collected" if posts else ""
    when = (f"in the hour from {d['hour'][11:16]} UTC on {d.get('day')}" if d.get("resolution") == "hour"
            else f"on {d.get('day', alert.last_seen_on)}")
    what = _what(alert.metric)
    lines = [
        f"{alert.country}: {alert.observed:g} {what} {when} against {alert.expected:.1f} expected from "
        f"the share of the previous weeks ({rise}{share}).",
        f"Since {alert.started_on}, last seen {alert.last_seen_on}; severity {alert.severity} "
        f"(score {alert.score:.1f}); status {alert.status}.",
    ]
    for label, key in (("Top triggers", "triggers"), ("Top categories", "categories")):
        items = d.get(key) or []
        if items:
            lines.append(f"{label}: " + "; ".join(
                f"{i['id']} {i['antisemitic']} posts" + (f" (lift {i['lift']:g}x)" if i.get("lift") else "")
                for i in items[:3]))
    if d.get("related"):
        lines.append("Also rising in this event: " + ", ".join(_what(m) for m in d["related"]) + ".")
    if d.get("terms"):
        lines.append("Emerging terms: " + ", ".join(f"{t['term']} ({t['posts']} posts)" for t in d["terms"]))
    examples = _examples(session, alert)
    if examples:
        lines.append("Examples (truncated; authors pseudonymised):")
        lines += [f"- [{e['author']}] {e['excerpt']} {e['url'] or ''}".rstrip() for e in examples]
    lines.append(f"Alert #{alert.id}. Acknowledge: vigil alerts ack {alert.id} --by NAME")
    subject = f"[Vigil {alert.severity}] {alert.country}: {what} {rise} since {alert.started_on}"
    fields = {"alert_id": alert.id, "country": alert.country, "kind": alert.kind, "metric": alert.metric,
              "severity": alert.severity, "status": alert.status, "started_on": alert.started_on.isoformat(),
              "last_seen_on": alert.last_seen_on.isoformat(), "observed": alert.observed,
              "expected": alert.expected, "score": alert.score, "posts": posts,
              "resolution": d.get("resolution", "day"), "hour": d.get("hour"),
              "triggers": d.get("triggers", []), "categories": d.get("categories", []),
              "terms": d.get("terms", []), "related": d.get("related", []), "examples": examples}
    return AlertText(subject, "\n".join(lines), fields)
