"""ISO weeks: parse "2024-W07" into its Monday and name the week of a day."""

from __future__ import annotations

import datetime as dt
import re

_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def parse_iso_week(iso_week: str) -> dt.date:
    """The Monday of an ISO week written like "2024-W07"; ValueError when it is not one."""
    match = _ISO_WEEK.fullmatch(iso_week) if isinstance(iso_week, str) else None
    if match is None:
        raise ValueError(f"an ISO week looks like '2024-W07'; got {iso_week!r}")
    year, week = int(match[1]), int(match[2])
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(
            f"{iso_week!r} is not an ISO week: weeks run from W01 to W52 (W53 in some years), years from 0001"
        ) from None


def iso_week_of(day: dt.date) -> str:
    """The ISO week a day falls in, like "2024-W07"."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def utc_bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open UTC interval [Monday 00:00, next Monday 00:00) of a week."""
    start = dt.datetime.combine(monday, dt.time(), tzinfo=dt.timezone.utc)
    return start, start + dt.timedelta(days=7)
