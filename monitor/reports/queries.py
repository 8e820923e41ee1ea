"""The SELECTs behind the weekly report: rollup totals and breakdowns, alerts, example posts, coverage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from monitor.models import Alert, Classification, Post, Rollup, Source
from monitor.rollups import ALL

FETCHED_TEXT_CHARS = 1000  # enough for a 200-character excerpt after whitespace is collapsed


def _country_filter(column, countries: Sequence[str] | None):
    return true() if countries is None else column.in_(countries)


def select_daily_totals(
    session: Session, first_day: dt.date, last_day: dt.date, countries: Sequence[str] | None
) -> list[Row]:
    """(country, day, posts, antisemitic) from the all-category, all-trigger rollups of a date range."""
    # These rows already are daily totals: one indexed range scan for the whole trend, summed into weeks
    # by the caller, which must know which days of a week are missing.
    stmt = (
        select(Rollup.country, Rollup.day, Rollup.posts, Rollup.antisemitic)
        .where(
            Rollup.category == ALL,
            Rollup.trigger == ALL,
            Rollup.day.between(first_day, last_day),
            _country_filter(Rollup.country, countries),
        )
        .order_by(Rollup.country, Rollup.day)
    )
    return list(session.execute(stmt))


def select_breakdowns(
    session: Session, previous_monday: dt.date, monday: dt.date, countries: Sequence[str]
) -> list[Row]:
    """Category and trigger sums per country for a week and the week before, in one grouped SELECT."""
    current = case((Rollup.day >= monday, 1), else_=0).label("current")
    stmt = (
        select(
            Rollup.country,
            Rollup.category,
            Rollup.trigger,
            current,
            func.sum(Rollup.posts).label("posts"),
            func.sum(Rollup.antisemitic).label("antisemitic"),
        )
        .where(
            Rollup.day.between(previous_monday, monday + dt.timedelta(days=6)),
            or_(
                and_(Rollup.category != ALL, Rollup.trigger == ALL),
                and_(Rollup.category == ALL, Rollup.trigger != ALL),
            ),
            Rollup.country.in_(countries),
        )
        .group_by(Rollup.country, Rollup.category, Rollup.trigger, current)
    )
    return list(session.execute(stmt))


def select_overlapping_alerts(
    session: Session, first_day: dt.date, last_day: dt.date, countries: Sequence[str]
) -> list[Alert]:
    """Alerts of the countries whose [started_on, last_seen_on] overlaps the given days."""
    stmt = (
        select(Alert)
        .where(
            Alert.started_on <= last_day,
            Alert.last_seen_on >= first_day,
            Alert.country.in_(countries),
        )
        .order_by(Alert.country, Alert.started_on, Alert.id)
    )
    return list(session.scalars(stmt))


def select_example_posts(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    countries: Sequence[str],
    categories: Sequence[str],
    per_category: int,
) -> list[Row]:
    """The highest-scoring antisemitic posts per (country, category) published in [start, end).

    Reposts of one text (same content hash) count once, so three examples show three texts.
    """
    first_copy = (
        func.row_number()
        .over(
            partition_by=(Post.country, Classification.category, Post.content_hash),
            order_by=(Classification.score.desc(), Post.id),
        )
        .label("copy")
    )
    distinct_texts = (
        select(
            Post.id.label("post_id"),
            Post.country,
            Classification.category,
            func.substr(Post.text, 1, FETCHED_TEXT_CHARS).label("text"),
            Post.url,
            Post.author_pseudonym,
            Post.published_at,
            Classification.score,
            first_copy,
        )
        .join(Classification, Classification.post_id == Post.id)
        .where(
            Classification.antisemitic.is_(True),
            Post.published_at >= start,
            Post.published_at < end,
            Post.country.in_(countries),
            Classification.category.in_(categories),
        )
        .subquery()
    )
    d = distinct_texts.c
    rank = (
        func.row_number()
        .over(partition_by=(d.country, d.category), order_by=(d.score.desc(), d.post_id))
        .label("rank")
    )
    ranked = (
        select(d.post_id, d.country, d.category, d.text, d.url, d.author_pseudonym, d.published_at,
               d.score, rank)
        .where(d.copy == 1)
        .subquery()
    )
    stmt = (
        select(ranked)
        .where(ranked.c.rank <= per_category)
        .order_by(ranked.c.country, ranked.c.category, ranked.c.rank)
    )
    return list(session.execute(stmt))


def select_classifier_versions(
    session: Session, start: dt.datetime, end: dt.datetime, countries: Sequence[str]
) -> dict[tuple[str, str | None], int]:
    """Classified posts of the countries published in [start, end), per (model version, trigger taxonomy digest;
    None: classified before migration 0013 recorded it)."""
    stmt = (
        select(Classification.model_version, Classification.taxonomy_digest, func.count())
        .join(Post, Post.id == Classification.post_id)
        .where(Post.published_at >= start, Post.published_at < end, Post.country.in_(countries))
        .group_by(Classification.model_version, Classification.taxonomy_digest)
    )
    return {(version, digest): int(n) for version, digest, n in session.execute(stmt)}


def select_source_activity(
    session: Session, start: dt.datetime, end: dt.datetime, countries: Sequence[str]
) -> list[Row]:
    """Every source of the countries with its polling state and the posts it published in [start, end)."""
    published = (
        select(Post.source_id, func.count().label("posts"))
        .where(Post.published_at >= start, Post.published_at < end, Post.country.in_(countries))
        .group_by(Post.source_id)
        .subquery()
    )
    stmt = (
        select(Source.name, Source.country, Source.enabled, Source.consecutive_failures,
               func.coalesce(published.c.posts, 0).label("posts"))
        .outerjoin(published, published.c.source_id == Source.id)
        .where(Source.country.in_(countries))
        .order_by(Source.country, Source.name)
    )
    return list(session.execute(stmt))


def select_languages(
    session: Session, start: dt.datetime, end: dt.datetime, countries: Sequence[str]
) -> list[Row]:
    """(country, language, language_covered, posts) of the posts published in [start, end).

    language_covered is None for posts not classified yet.
    """
    stmt = (
        select(Post.country, Post.language, Classification.language_covered, func.count().label("posts"))
        .outerjoin(Classification, Classification.post_id == Post.id)
        .where(Post.published_at >= start, Post.published_at < end, Post.country.in_(countries))
        .group_by(Post.country, Post.language, Classification.language_covered)
    )
    return list(session.execute(stmt))
