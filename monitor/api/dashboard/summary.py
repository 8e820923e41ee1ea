"""What the pages show, from rollups and alerts: country shares over the last week and their breakdowns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.models import Alert, Rollup, Source
from monitor.rollups import ALL

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Window:
    """Two consecutive 7-day windows ending `end` (inclusive): this week and the one before."""

    end: dt.date

    @property
    def start(self) -> dt.date:
        return self.end - WEEK + dt.timedelta(days=1)

    @property
    def previous_start(self) -> dt.date:
        return self.start - WEEK


@dataclass(frozen=True)
class Share:
    posts: int
    antisemitic: int

    @property
    def share(self) -> float | None:
        return self.antisemitic / self.posts if self.posts else None


@dataclass(frozen=True)
class CountryRow:
    country: str
    current: Share | None  # None: no data at all this week
    previous: Share | None
    open_alerts: int

    @property
    def change(self) -> float | None:
        """Change of the share in percentage points (as a fraction), None without both weeks."""
        if not (self.current and self.previous) or self.current.share is None or self.previous.share is None:
            return None
        return self.current.share - self.previous.share


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    antisemitic: int
    previous: int | None  # None when the previous week has no data


def _sums(session: Session, countries: list[str] | None, window: Window, category: str, trigger: str,
          column=None) -> dict[tuple[str, bool], tuple[int, int]]:
    """{(country or key, is_current): (posts, antisemitic)} over both windows."""
    key = column if column is not None else Rollup.country
    current = Rollup.day >= window.start
    query = (select(key, current.label("current"), func.sum(Rollup.posts), func.sum(Rollup.antisemitic))
             .where(Rollup.day >= window.previous_start, Rollup.day <= window.end)
             .group_by(key, current))
    query = query.where(Rollup.category == category) if category is not None else query
    query = query.where(Rollup.trigger == trigger) if trigger is not None else query
    if countries is not None:
        query = query.where(Rollup.country.in_(countries))
    return {(k, bool(cur)): (int(p or 0), int(a or 0)) for k, cur, p, a in session.execute(query)}


def country_rows(session: Session, countries: list[str] | None, window: Window) -> list[CountryRow]:
    """Each country in scope (with data or with sources) with this week's share, the last one's and alerts."""
    sums = _sums(session, countries, window, ALL, ALL)
    known = select(Source.country).distinct()
    alerts_q = (select(Alert.country, func.count()).where(Alert.status.in_(("open", "acknowledged")))
                .group_by(Alert.country))
    if countries is not None:
        known = known.where(Source.country.in_(countries))
        alerts_q = alerts_q.where(Alert.country.in_(countries))
    alerts = dict(session.execute(alerts_q).all())
    names = sorted({c for c, _ in sums} | set(session.scalars(known)) | set(alerts))
    rows = []
    for c in names:
        cur, prev = sums.get((c, True)), sums.get((c, False))
        rows.append(CountryRow(c, Share(*cur) if cur else None, Share(*prev) if prev else None, alerts.get(c, 0)))
    return rows


def breakdown(session: Session, country: str, window: Window, by: str) -> list[BreakdownRow]:
    """Antisemitic posts per category or trigger this week against the week before, most first."""
    column = Rollup.category if by == "category" else Rollup.trigger
    fixed = {"category": None, "trigger": ALL} if by == "category" else {"category": ALL, "trigger": None}
    sums = _sums(session, [country], window, fixed["category"], fixed["trigger"], column)
    has_previous = (ALL, False) in sums  # the rollups' all-posts cell of the previous week
    keys = {k for k, _ in sums if k not in (ALL, "none")}
    rows = [BreakdownRow(k, sums.get((k, True), (0, 0))[1],
                         sums.get((k, False), (0, 0))[1] if has_previous else None) for k in keys]
    return sorted([r for r in rows if r.antisemitic or r.previous], key=lambda r: (-r.antisemitic, r.key))


def country_alerts(session: Session, country: str, limit: int = 20) -> list[Alert]:
    """The country's alerts, open ones first, then newest."""
    rank = case((Alert.status == "resolved", 1), else_=0)
    return list(session.scalars(select(Alert).where(Alert.country == country)
                                .order_by(rank, Alert.started_on.desc(), Alert.id.desc()).limit(limit)))


def emerging_terms(session: Session, country: str) -> list[dict]:
    """The terms the country's latest spike alert found rising."""
    details = session.scalar(select(Alert.details).where(Alert.country == country, Alert.kind == "spike")
                             .order_by(Alert.last_seen_on.desc(), Alert.id.desc()).limit(1))
    return list((details or {}).get("terms") or [])
