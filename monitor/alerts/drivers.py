"""What drives an alert: top categories and triggers with their lift, and emerging terms."""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.series import DAY, as_utc, day_start
from monitor.models import Classification, Post, Rollup
from monitor.rollups import ALL
from monitor.spikes import Detection

log = structlog.get_logger(__name__)


LIFT_BASELINE_DAYS = 28


TERM_POSTS = 3000  # most recent antisemitic posts read for emerging terms


def alert_details(session: Session, country: str, metric: str, day: dt.date, hour: dt.datetime | None,
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


def in_metric(metric: str, category: str | None, triggers: list[str] | None) -> bool:
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
    start = day_start(day)
    rows = session.execute(
        select(Post.text, Post.published_at, Classification.category, Classification.triggers)
        .join(Classification, Classification.post_id == Post.id)
        .where(Post.country == country, Classification.antisemitic.is_(True),
               Post.published_at >= start - dt.timedelta(days=LIFT_BASELINE_DAYS), Post.published_at < start + DAY)
        .order_by(Post.published_at.desc())
        .limit(TERM_POSTS)
    ).all()
    rows = [r for r in rows if in_metric(metric, r.category, r.triggers)]
    target = [r.text for r in rows if as_utc(r.published_at) >= start]
    baseline = [r.text for r in rows if as_utc(r.published_at) < start]
    if len(target) < 3:
        return []
    try:
        terms = emerging_terms(target, baseline, min_count=3, top=top)
    except (TypeError, ValueError) as exc:  # an interface still settling must not block an alert
        log.warning("emerging_terms_failed", country=country, error=type(exc).__name__)
        return []
    return [{"term": t.term, "z": round(t.z, 1), "posts": t.target_count} for t in terms]
