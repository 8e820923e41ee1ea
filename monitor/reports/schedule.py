"""When a subscriber's weekly report is due: a weekday and hour of local time, in their time zone.

The report of ISO week W-1 falls due in local week W at (weekday, hour). Due-ness is "that moment has
passed", never "the clock shows that hour", so a daylight-saving change can neither skip a report (a
02:30 that does not exist still passes) nor send one twice (the run is keyed by the week, not the hour).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from monitor.db import as_utc
from monitor.reports.weeks import iso_week_of

log = structlog.get_logger(__name__)

UTC = dt.timezone.utc
WEEK = dt.timedelta(days=7)
# A report waits this long after its UTC week ends, so that the posts of its last minutes, classified within
# seconds or minutes when workers keep up, are in. (A post whose classification was lost is swept up only after
# Settings.sweep_grace_s, and may miss the report.)
DATA_SETTLE = dt.timedelta(hours=1)


def zone_of(name: str | None) -> dt.tzinfo:
    """The zone of an IANA name; UTC (logged) when it is empty or unknown, so a typo delays no report."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown_timezone", timezone=str(name)[:64])
        return UTC


def due_at(weekday: int, hour: int, zone: dt.tzinfo, local_monday: dt.date) -> dt.datetime:
    """The UTC moment of (weekday, hour) local time in the week starting `local_monday`.

    A wall time skipped by a spring-forward change resolves (fold=0) to the moment an hour later in wall
    time; one repeated by a fall-back change resolves to its first occurrence.
    """
    if not (0 <= weekday <= 6 and 0 <= hour <= 23):
        raise ValueError(f"weekday must be 0..6 and hour 0..23, got {weekday}, {hour}")
    local = dt.datetime.combine(local_monday + dt.timedelta(days=weekday), dt.time(hour), tzinfo=zone)
    return local.astimezone(UTC)


def due_reports(
    weekday: int, hour: int, timezone: str | None, now: dt.datetime, since: dt.datetime | None = None,
    weeks: int = 2,
) -> list[tuple[str, dt.datetime]]:
    """(ISO week the report covers, UTC moment it fell due) for the last `weeks` local weeks whose due
    moment has passed by `now` and is not before `since` (the subscriber's creation), oldest first.

    The data weeks are UTC weeks: a report is never due before its week has ended in UTC and DATA_SETTLE has
    passed (Monday 02:00 in Yerevan is Sunday 22:00 UTC, two hours before the week it covers ends). Looking
    back more than the current week lets a beat outage across a week boundary be caught up.
    """
    zone = zone_of(timezone)
    if since is not None:
        since = as_utc(since)
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    found = []
    for back in reversed(range(weeks)):
        local_monday = monday - WEEK * back
        week_over = dt.datetime.combine(local_monday, dt.time(0), tzinfo=UTC) + DATA_SETTLE  # UTC Monday
        moment = max(due_at(weekday, hour, zone, local_monday), week_over)
        if moment <= now and (since is None or moment >= since):
            found.append((iso_week_of(local_monday - WEEK), moment))
    return found
