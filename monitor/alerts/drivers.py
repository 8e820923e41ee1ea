"""What drives an alert: top categories and triggers with their lift, and emerging terms."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.series import DAY, day_start
from monitor.emerging import emerging_for_country
from monitor.models import Rollup
from monitor.rollups import ALL
from monitor.spikes import Detection

LIFT_BASELINE_DAYS = 28




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


def metric_filter(metric: str) -> dict[str, str]:
    """The category or trigger an alert's metric counts ("category:x", "trigger:y"), as keyword arguments of
    `classification.filter_clauses` and `emerging_for_country`; {} for the country's whole count."""
    kind, _, key = metric.partition(":")
    return {kind: key} if kind in ("category", "trigger") else {}


def _emerging(session: Session, country: str, metric: str, day: dt.date, top: int = 5) -> list[dict]:
    """Terms whose share among the day's antisemitic posts rose most against the previous weeks'."""
    start = day_start(day)
    terms = emerging_for_country(session, country, start, start + DAY,
                                 start - dt.timedelta(days=LIFT_BASELINE_DAYS), **metric_filter(metric), top=top)
    return [{"term": t["term"], "z": t["z"], "posts": t["posts"]} for t in terms]
