"""Daily aggregates per (country, day, category, trigger), recomputed for a window, never incremented.

Classification marks the country-days it touched as stale (`mark_stale`, in its own transaction); a recompute
takes a country's marks and recomputes those days (`recompute_stale`). A day's recompute reads every post of
the day (counted in SQL on PostgreSQL, `day_cells`), so it is done once for all the batches that marked the day
meanwhile, not once per batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, delete, func, select, text, tuple_
from sqlalchemy.orm import Session

from monitor.db import advisory_xact_lock, as_utc, insert_for
from monitor.models import Classification, Post, Rollup, StaleDay

ALL = "*"


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)
    return start, start + dt.timedelta(days=1)


def count_cells(rows: Iterable[tuple[bool | None, str | None, list[str] | None]]) -> dict[tuple[str, str], list[int]]:
    """Cells (category, trigger) -> [posts, antisemitic] from (antisemitic, category, triggers) rows.

    Unclassified posts (antisemitic None) count in the ('*','*') volume only.
    """
    cells: dict[tuple[str, str], list[int]] = {}

    def bump(key: tuple[str, str], hostile: bool) -> None:
        cell = cells.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += int(hostile)

    for antisemitic, category, triggers in rows:
        hostile = bool(antisemitic)
        bump((ALL, ALL), hostile)
        if antisemitic is None:
            continue
        bump((category or "none", ALL), hostile)
        for trigger in dict.fromkeys(triggers or ()):
            bump((ALL, trigger), hostile)
            if hostile:
                bump((category or "none", trigger), hostile)
    return cells


def lock_day(session: Session, country: str, day: dt.date) -> None:
    """Hold the (country, day) rollup lock until the transaction ends (PostgreSQL; SQLite has one writer anyway).

    Two workers recomputing one day must take turns: each reads the posts and then writes what it counted, and
    a worker that read before another's commit would otherwise write its older count over the newer one. With
    the lock, the later one reads after the earlier one's commit. Days are taken in order, so no deadlock.
    """
    advisory_xact_lock(session, f"vigil.rollups.{country}", day.toordinal())


# count_cells in SQL, for PostgreSQL: the day's rows are read once (the CTEs are referenced more than once, so
# they are materialised) and counted there, instead of sent to Python with their JSON (bench/rollup_cost.py).
_COUNT_CELLS_SQL = text("""
WITH day AS (
    SELECT c.antisemitic, c.category,
           CASE WHEN jsonb_typeof(c.triggers) = 'array' THEN c.triggers END AS triggers
    FROM posts p LEFT JOIN classifications c ON c.post_id = p.id
    WHERE p.country = :country AND p.published_at >= :start AND p.published_at < :end
), tagged AS (
    SELECT DISTINCT d.id, d.antisemitic, d.category, t.trigger
    FROM (SELECT row_number() OVER () AS id, * FROM day WHERE antisemitic IS NOT NULL) d,
         jsonb_array_elements_text(d.triggers) AS t(trigger)
)
SELECT '*', '*', count(*), count(*) FILTER (WHERE antisemitic) FROM day
UNION ALL
SELECT coalesce(nullif(category, ''), 'none'), '*', count(*), count(*) FILTER (WHERE antisemitic)
FROM day WHERE antisemitic IS NOT NULL GROUP BY 1
UNION ALL
SELECT '*', trigger, count(*), count(*) FILTER (WHERE antisemitic) FROM tagged GROUP BY 2
UNION ALL
SELECT coalesce(nullif(category, ''), 'none'), trigger, count(*), count(*) FROM tagged WHERE antisemitic GROUP BY 1, 2
""")


def day_cells(session: Session, country: str, day: dt.date) -> dict[tuple[str, str], list[int]]:
    """count_cells of the country's posts published on `day` (UTC), counted by the database on PostgreSQL (run it
    with JIT off, as recompute_rollups does)."""
    start, end = _day_bounds(day)
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_COUNT_CELLS_SQL, {"country": country, "start": start, "end": end})
        return {(category, trigger): [int(posts), int(hostile)] for category, trigger, posts, hostile in rows if posts}
    return count_cells(session.execute(
        select(Classification.antisemitic, Classification.category, Classification.triggers)
        .select_from(Post)
        .outerjoin(Classification, Classification.post_id == Post.id)
        .where(Post.country == country, Post.published_at >= start, Post.published_at < end)
    ).all())


def recompute_rollups(session: Session, country: str, days: Iterable[dt.date]) -> int:
    """Recompute the rollups of `country` for `days` from posts and classifications; return cells written."""
    written = 0
    now = dt.datetime.now(dt.timezone.utc)
    if session.get_bind().dialect.name == "postgresql":
        # day_cells' query: the planner guesses 100 triggers per post, prices it high and compiles it with JIT,
        # which took longer than running it (seen with EXPLAIN ANALYZE). Off until this transaction ends.
        session.execute(text("SET LOCAL jit = off"))
    for day in sorted(set(days)):
        lock_day(session, country, day)
        cells = day_cells(session, country, day)
        stale = delete(Rollup).where(Rollup.country == country, Rollup.day == day)
        if cells:
            stale = stale.where(tuple_(Rollup.category, Rollup.trigger).not_in(list(cells)))
        session.execute(stale)
        if not cells:
            continue
        values = [
            {"country": country, "day": day, "category": cat, "trigger": trig,
             "posts": n, "antisemitic": a, "computed_at": now}
            for (cat, trig), (n, a) in cells.items()
        ]
        stmt = insert_for(session, Rollup.__table__)  # executemany: one cached statement (see classify_posts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["country", "day", "category", "trigger"],
            set_={"posts": stmt.excluded.posts, "antisemitic": stmt.excluded.antisemitic,
                  "computed_at": stmt.excluded.computed_at},
        )
        session.execute(stmt, values)
        written += len(values)
    return written


def mark_stale(session: Session, touched: dict[str, Iterable[dt.date]]) -> None:
    """Mark the rollups of these country-days stale, in the caller's transaction (call it last: the marks stay
    locked until it ends). A mark that exists already is updated, not skipped, so it is locked too: a recompute
    taking it waits for this transaction and then reads the posts it classified; it keeps its first `marked_at`,
    so the health check's rollups_behind_s counts from when the day first lagged. Marked in key order, as
    `recompute_stale` takes them, so the two wait for each other instead of deadlocking."""
    now = dt.datetime.now(dt.timezone.utc)
    values = [{"country": country, "day": day, "marked_at": now}
              for country in sorted(touched) for day in sorted(set(touched[country]))]
    if values:
        stmt = insert_for(session, StaleDay.__table__)
        session.execute(stmt.on_conflict_do_update(index_elements=["country", "day"],
                                                   set_={"marked_at": StaleDay.marked_at}), values)


def recompute_stale(session: Session, country: str, also: Iterable[dt.date] = ()) -> list[dt.date]:
    """Take the country's stale marks and recompute those days (and the days `also` names); return the days.

    The marks are locked in day order, then deleted in this transaction, so a failure leaves them for the next
    try. A batch still open on a mark holds it (see mark_stale): the take waits for that batch to commit, and the
    recompute then reads its posts. A batch marking a day after the take waits for this transaction to end, and
    its mark stays for the recompute that the batch sends.
    """
    locked = session.scalars(select(StaleDay.day).where(StaleDay.country == country).order_by(StaleDay.day)
                             .with_for_update()).all()
    if locked:
        session.execute(delete(StaleDay).where(StaleDay.country == country, StaleDay.day.in_(locked)))
    days = sorted({*locked, *also})
    if days:  # most recompute messages find their marks taken by an earlier one: nothing to do
        recompute_rollups(session, country, days)
    return days


def lag_seconds(session: Session, now: dt.datetime) -> float:
    """Seconds since the oldest stale mark was made (0 when no country-day lags; the marks carry the marking
    worker's clock, so never below 0)."""
    oldest = session.scalar(select(func.min(StaleDay.marked_at)))
    return 0.0 if oldest is None else round(max((now - as_utc(oldest)).total_seconds(), 0.0), 1)


def stale_countries(session: Session, marked_before: dt.datetime) -> list[str]:
    """Countries with a stale mark older than `marked_before`: the recompute their batch sent was lost."""
    return list(session.scalars(select(StaleDay.country).distinct().where(StaleDay.marked_at < marked_before)
                                .order_by(StaleDay.country)))


def daily_series(session: Session, country: str, start: dt.date, end: dt.date,
                 category: str = ALL, trigger: str = ALL) -> dict[dt.date, tuple[int, int]]:
    """{day: (posts, antisemitic)} for days in [start, end] that have data; a missing day means no data."""
    rows = session.execute(
        select(Rollup.day, Rollup.posts, Rollup.antisemitic).where(
            and_(Rollup.country == country, Rollup.category == category, Rollup.trigger == trigger,
                 Rollup.day >= start, Rollup.day <= end)
        )
    ).all()
    return {r.day: (r.posts, r.antisemitic) for r in rows}
