"""Coverage of a week: which sources delivered, failed or fell silent; which languages were seen."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monitor.reports import queries

UNKNOWN_LANGUAGE = "unknown"


@dataclass(frozen=True)
class Coverage:
    """One country's sources and languages in a week.

    Source states are as of the report's generation: failing = enabled and its last poll failed;
    silent = enabled, not failing, but no post published in the week; active = the rest of the enabled.
    """

    country: str
    active: list[str]
    failing: list[str]
    silent: list[str]
    disabled: list[str]
    languages: list[tuple[str, int]]  # (ISO 639-1 code or "unknown", posts), most posts first
    classified: int
    uncovered: int  # classified posts in a language the classifier was not trained on
    uncovered_share: float | None  # uncovered / classified; None without classified posts


def build_coverage(
    session: Session, start: dt.datetime, end: dt.datetime, countries: Sequence[str]
) -> dict[str, Coverage]:
    """The coverage of each country over posts published in [start, end)."""
    if not countries:
        return {}
    sources: dict[str, dict[str, list[str]]] = {c: defaultdict(list) for c in countries}
    for row in queries.select_source_activity(session, start, end, countries):
        if not row.enabled:
            state = "disabled"
        elif row.consecutive_failures:
            state = "failing"
        else:
            state = "active" if row.posts else "silent"
        sources[row.country][state].append(row.name)

    languages: dict[str, dict[str, int]] = {c: defaultdict(int) for c in countries}
    classified, uncovered = defaultdict(int), defaultdict(int)
    for row in queries.select_languages(session, start, end, countries):
        languages[row.country][row.language or UNKNOWN_LANGUAGE] += row.posts
        if row.language_covered is not None:
            classified[row.country] += row.posts
            uncovered[row.country] += 0 if row.language_covered else row.posts

    return {
        c: Coverage(
            country=c,
            active=sources[c]["active"],
            failing=sources[c]["failing"],
            silent=sources[c]["silent"],
            disabled=sources[c]["disabled"],
            languages=sorted(languages[c].items(), key=lambda item: (-item[1], item[0])),
            classified=classified[c],
            uncovered=uncovered[c],
            uncovered_share=uncovered[c] / classified[c] if classified[c] else None,
        )
        for c in countries
    }
