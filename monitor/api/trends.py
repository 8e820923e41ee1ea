"""GET /trends: antisemitic posts and their share per country and day or ISO week.

From the rollups; filtered by source kind or language, from the posts themselves (the rollups keep
neither), which is why those filters need one country.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.api.deps import Db, Viewer
from monitor.api.errors import ApiError
from monitor.db import as_utc
from monitor.models import Classification, Post, Rollup, Source
from monitor.rollups import ALL, count_cells

router = APIRouter(tags=["trends"])
MAX_DAYS = 731
DEFAULT_DAYS = 90


class TrendPoint(BaseModel):
    country: str
    period: dt.date  # the day, or the Monday of the ISO week
    posts: int  # posts of the category/trigger (all posts for '*'/'*')
    antisemitic: int
    total_posts: int  # all posts of the country in the period: what the share is taken of
    share: float | None  # antisemitic / total_posts
    days_with_data: int


class Trend(BaseModel):
    resolution: Literal["day", "week"]
    category: str
    trigger: str
    start: dt.date
    end: dt.date
    points: list[TrendPoint]


def date_range(start: dt.date | None, end: dt.date | None, default_days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    """[start, end] with defaults (the last `default_days` up to today), refusing reversed or huge spans."""
    end = end or dt.date.today()
    try:
        start = start or end - dt.timedelta(days=default_days - 1)
    except OverflowError:
        raise ApiError(422, "invalid_request", "end is too early") from None
    if start > end:
        raise ApiError(422, "invalid_request", "start is after end")
    if (end - start).days >= MAX_DAYS:
        raise ApiError(422, "invalid_request", f"a range spans at most {MAX_DAYS} days")
    return start, end


def trend_points(session: Session, countries: list[str] | None, start: dt.date, end: dt.date,
                 category: str = ALL, trigger: str = ALL, resolution: str = "day") -> list[TrendPoint]:
    """Points per (country, period) from the rollups; periods without data are absent (not zero)."""
    keys = {(category, trigger), (ALL, ALL)}
    query = select(Rollup.country, Rollup.day, Rollup.category, Rollup.trigger, Rollup.posts, Rollup.antisemitic) \
        .where(Rollup.day >= start, Rollup.day <= end,
               Rollup.category.in_({k[0] for k in keys}), Rollup.trigger.in_({k[1] for k in keys}))
    if countries is not None:
        query = query.where(Rollup.country.in_(countries))
    sums: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in session.execute(query):
        period = r.day - dt.timedelta(days=r.day.weekday()) if resolution == "week" else r.day
        cell = sums[(r.country, period)]
        if (r.category, r.trigger) == (category, trigger):
            cell[0] += r.posts
            cell[1] += r.antisemitic
        if (r.category, r.trigger) == (ALL, ALL):
            cell[2] += r.posts
            cell[3] += 1
    return [TrendPoint(country=c, period=p, posts=v[0], antisemitic=v[1], total_posts=v[2],
                       share=round(v[1] / v[2], 6) if v[2] else None, days_with_data=v[3])
            for (c, p), v in sorted(sums.items()) if v[3]]


def _period(day: dt.date, resolution: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if resolution == "week" else day


def filtered_trend_points(session: Session, country: str, start: dt.date, end: dt.date, category: str,
                          trigger: str, resolution: str, source_kind: str | None,
                          language: str | None) -> list[TrendPoint]:
    """Points for one country's posts of a source kind and/or language; the share is of those posts."""
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone.utc)
    query = (select(Post.published_at, Classification.antisemitic, Classification.category, Classification.triggers)
             .outerjoin(Classification, Classification.post_id == Post.id)
             .where(Post.country == country, Post.published_at >= lo, Post.published_at < hi))
    if source_kind:
        query = query.join(Source, Source.id == Post.source_id).where(Source.kind == source_kind)
    if language:
        query = query.where(Post.language == language)
    rows: dict[dt.date, list] = defaultdict(list)
    days: dict[dt.date, set[dt.date]] = defaultdict(set)
    for r in session.execute(query):
        day = as_utc(r.published_at).date()
        rows[_period(day, resolution)].append((r.antisemitic, r.category, r.triggers))
        days[_period(day, resolution)].add(day)
    points = []
    for period in sorted(rows):
        cells = count_cells(rows[period])
        posts, hostile = cells.get((category, trigger), [0, 0])
        total = cells[(ALL, ALL)][0]
        points.append(TrendPoint(country=country, period=period, posts=posts, antisemitic=hostile, total_posts=total,
                                 share=round(hostile / total, 6) if total else None,
                                 days_with_data=len(days[period])))
    return points


@router.get("/trends", response_model=Trend)
def get_trends(
    session: Db, principal: Viewer,
    country: Annotated[str | None, Query(max_length=2, description="ISO 3166-1 alpha-2; default: all in scope")] = None,
    category: Annotated[str, Query(max_length=32)] = ALL,
    trigger: Annotated[str, Query(max_length=64)] = ALL,
    start: dt.date | None = None,
    end: dt.date | None = None,
    resolution: Literal["day", "week"] = "day",
    source_kind: Literal["rss", "mastodon", "file"] | None = None,
    language: Annotated[str | None, Query(min_length=2, max_length=8)] = None,
) -> Trend:
    """Counts and shares per country and period; category and trigger '*' mean all."""
    cc = principal.country_filter(country)
    start, end = date_range(start, end)
    if source_kind or language:
        if not cc:
            raise ApiError(422, "invalid_request", "source_kind and language filters need a country")
        points = filtered_trend_points(session, cc, start, end, category, trigger, resolution, source_kind, language)
    else:
        points = trend_points(session, [cc] if cc else None, start, end, category, trigger, resolution)
    return Trend(resolution=resolution, category=category, trigger=trigger, start=start, end=end, points=points)
