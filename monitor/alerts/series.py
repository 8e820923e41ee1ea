"""The count series alerts are checked on: daily from rollups, hourly from posts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from monitor.alerts.params import METRIC, AlertParams
from monitor.db import as_utc
from monitor.models import Classification, Post, Rollup
from monitor.rollups import ALL

HOUR = dt.timedelta(hours=1)


DAY = dt.timedelta(days=1)


def day_start(day: dt.date) -> dt.datetime:
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
        out[as_utc(hour)] = (int(n), int(hostile or 0))
    return out


# --- spikes -------------------------------------------------------------------------------------
