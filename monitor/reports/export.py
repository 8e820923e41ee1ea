"""The numbers behind every table and chart of a report as one long CSV: section, country, week, item,
measure, value. An empty value means no data, which is not zero."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from monitor.reports.model import WeekTotals, WeeklyReport

HEADER = ("section", "country", "iso_week", "item", "measure", "value")
ALL = "ALL"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def _text(value: str) -> str:
    # A spreadsheet runs a cell starting with "=" as a formula; names here come from operators and sources.
    return "'" + value if value.startswith(_FORMULA_START) else value


def _totals(totals: WeekTotals | None) -> Iterator[tuple[str, object]]:
    yield "posts", totals and totals.posts
    yield "antisemitic", totals and totals.antisemitic
    yield "share", totals and totals.share
    yield "share_low_95", totals and totals.share_interval and totals.share_interval[0]
    yield "share_high_95", totals and totals.share_interval and totals.share_interval[1]
    yield "days_with_data", totals.days_with_data if totals else 0


def report_rows(report: WeeklyReport) -> Iterator[tuple[str, str, str, str, str, object]]:
    """(section, country, iso_week, item, measure, value) for every number the report shows."""
    week, previous = report.iso_week, report.previous_iso_week
    ov = report.overview
    for measure, value in _totals(ov.this_week):
        yield "overview", ALL, week, "*", measure, value
    for measure, value in _totals(ov.previous_week):
        yield "overview", ALL, previous, "*", measure, value
    yield "overview", ALL, week, "*", "antisemitic_change_pct", ov.antisemitic_change_pct
    yield "overview", ALL, week, "*", "share_change_pp", ov.share_change_pp
    yield "overview", ALL, week, "*", "alerts", ov.alerts
    yield "overview", ALL, week, "*", "open_alerts", ov.open_alerts

    for c in report.countries:
        for measure, value in _totals(c.this_week):
            yield "country", c.country, week, "*", measure, value
        yield "country", c.country, week, "*", "antisemitic_change", c.antisemitic_change
        yield "country", c.country, week, "*", "antisemitic_change_pct", c.antisemitic_change_pct
        yield "country", c.country, week, "*", "share_change_pp", c.share_change_pp
        for point in c.trend:
            for measure, value in _totals(point.totals):
                yield "trend", c.country, point.iso_week, "*", measure, value
        for row in c.categories:
            yield "category", c.country, week, row.category, "posts", row.posts
            yield "category", c.country, week, row.category, "antisemitic", row.antisemitic
            yield "category", c.country, previous, row.category, "posts", row.previous_posts
            yield "category", c.country, previous, row.category, "antisemitic", row.previous_antisemitic
        for row in c.triggers:
            yield "trigger", c.country, week, row.trigger, "posts", row.posts
            yield "trigger", c.country, week, row.trigger, "antisemitic", row.antisemitic
            yield "trigger", c.country, previous, row.trigger, "posts", row.previous_posts
            yield "trigger", c.country, previous, row.trigger, "antisemitic", row.previous_antisemitic
            yield "trigger", c.country, week, row.trigger, "antisemitic_change_pct", row.antisemitic_change_pct
        for a in c.alerts:
            item = f"{a.kind}:{a.metric}:{a.started_on.isoformat()}"
            for measure, value in (("status", a.status), ("severity", a.severity), ("observed", a.observed),
                                   ("expected", a.expected), ("score", a.score),
                                   ("last_seen_on", a.last_seen_on.isoformat())):
                yield "alert", c.country, week, item, measure, value
        cov = report.coverage.get(c.country)
        if cov is not None:
            for state in ("active", "failing", "silent", "disabled"):
                yield "coverage", c.country, week, "*", f"sources_{state}", len(getattr(cov, state))
            yield "coverage", c.country, week, "*", "classified_posts", cov.classified
            yield "coverage", c.country, week, "*", "uncovered_language_posts", cov.uncovered
            yield "coverage", c.country, week, "*", "uncovered_language_share", cov.uncovered_share
            for language, posts in cov.languages:
                yield "language", c.country, week, language, "posts", posts


def render_csv(report: WeeklyReport) -> str:
    """The report's numbers as CSV text (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for section, country, iso_week, item, measure, value in report_rows(report):
        writer.writerow((section, _text(country), iso_week, _text(item), measure, _cell(value)))
    return buffer.getvalue()
