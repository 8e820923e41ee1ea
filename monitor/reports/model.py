"""The weekly report as plain dataclasses, built from rollups, alerts and classified posts."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import structlog
from sqlalchemy.orm import Session

from monitor.emerging import emerging_for_country
from monitor.privacy import excerpt
from monitor.reports import queries
from monitor.reports.coverage import Coverage, build_coverage
from monitor.reports.methodology import ModelCard
from monitor.reports.stats import percent_change, points_change, wilson_interval
from monitor.reports.weeks import iso_week_of, parse_iso_week, utc_bounds
from monitor.triggers import current_taxonomy

log = structlog.get_logger(__name__)

NOT_ANTISEMITIC = "none"
EXCERPT_CHARS = 200
LEADING_CATEGORIES = 3
EXAMPLES_PER_CATEGORY = 3
WEEK = dt.timedelta(days=7)
EMERGING_BASELINE = dt.timedelta(weeks=4)  # the week's terms are compared with the four weeks before
EMERGING_TERMS = 8


@dataclass(frozen=True)
class WeekTotals:
    """Posts and antisemitic posts summed over the days of a week that have data."""

    posts: int
    antisemitic: int
    days_with_data: int
    share: float | None  # antisemitic / posts; None when no posts
    share_interval: tuple[float, float] | None  # 95% Wilson interval of the share

    @classmethod
    def of(cls, posts: int, antisemitic: int, days_with_data: int) -> WeekTotals:
        """Totals with their share and its 95% Wilson interval."""
        share = antisemitic / posts if posts else None
        return cls(posts, antisemitic, days_with_data, share, wilson_interval(antisemitic, posts))


@dataclass(frozen=True)
class TrendPoint:
    """One week of the trend chart; totals is None when the week has no data at all (not zero)."""

    iso_week: str
    monday: dt.date
    totals: WeekTotals | None


@dataclass(frozen=True)
class CategoryRow:
    """A category this week and the week before; previous values are None when that week has no data."""

    category: str
    posts: int
    antisemitic: int
    previous_posts: int | None
    previous_antisemitic: int | None


@dataclass(frozen=True)
class TriggerRow:
    """Posts mentioning a trigger, and how many were antisemitic, this week and the week before."""

    trigger: str
    posts: int
    antisemitic: int
    previous_posts: int | None
    previous_antisemitic: int | None
    antisemitic_change_pct: float | None


@dataclass(frozen=True)
class AlertItem:
    """An alert that was active during the week, with its state."""

    kind: str
    metric: str
    status: str
    severity: str
    started_on: dt.date
    last_seen_on: dt.date
    observed: float
    expected: float
    score: float
    started_this_week: bool
    details: dict


@dataclass(frozen=True)
class ExamplePost:
    """A classified post shown as an example: excerpt only, pseudonymous author."""

    post_id: int
    category: str
    excerpt: str
    author_pseudonym: str | None
    url: str | None
    score: float
    published_at: dt.datetime


@dataclass(frozen=True)
class CountryReport:
    """One country's week: totals, change against the previous week, breakdowns, trend, alerts, examples."""

    country: str
    this_week: WeekTotals | None
    previous_week: WeekTotals | None
    antisemitic_change: int | None
    antisemitic_change_pct: float | None  # None when the previous week has no data or a zero count
    share_change_pp: float | None
    missing_days: list[dt.date]
    categories: list[CategoryRow]
    triggers: list[TriggerRow]
    trend: list[TrendPoint]
    alerts: list[AlertItem]
    examples: dict[str, list[ExamplePost]]  # leading category -> its examples, in leading order
    emerging: list[dict] = field(default_factory=list)  # {"term","z","posts","baseline_posts","triggers"}


@dataclass(frozen=True)
class Overview:
    """All countries of the report together; a country without data in a week adds nothing to it."""

    countries: int
    countries_with_data: int
    countries_without_data: list[str]
    this_week: WeekTotals | None
    previous_week: WeekTotals | None
    antisemitic_change_pct: float | None
    share_change_pp: float | None
    alerts: int
    open_alerts: int


@dataclass(frozen=True)
class WeeklyReport:
    """The weekly trend report of a set of countries."""

    iso_week: str
    monday: dt.date
    sunday: dt.date
    previous_iso_week: str
    weeks_of_trend: int
    overview: Overview
    countries: list[CountryReport]
    model_versions: list[str]
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    coverage: dict[str, Coverage] = field(default_factory=dict)  # country -> its sources and languages
    model_card: ModelCard | None = None  # the card of the model named in the methodology
    # Classified posts of the week per trigger taxonomy digest, and the digest of the taxonomy in use: posts tagged
    # by an earlier version keep its triggers until `vigil reclassify`
    taxonomy_digests: dict[str | None, int] = field(default_factory=dict)
    taxonomy_digest: str = ""
    trigger_labels: dict[str, str] = field(default_factory=dict)  # id -> label, from the same taxonomy

    @property
    def tagged_earlier(self) -> int:
        """Classified posts of the week tagged with another version of the trigger taxonomy than the one in use."""
        return sum(n for digest, n in self.taxonomy_digests.items() if digest != self.taxonomy_digest)


def _week_totals(days: dict[dt.date, tuple[int, int]], monday: dt.date) -> WeekTotals | None:
    week = [days[d] for d in (monday + dt.timedelta(days=i) for i in range(7)) if d in days]
    if not week:
        return None
    return WeekTotals.of(sum(p for p, _ in week), sum(a for _, a in week), len(week))


def _breakdown_rows(rows, has_previous: bool) -> tuple[list[CategoryRow], list[TriggerRow]]:
    sums: dict[tuple[str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        sums[(row.category, row.trigger)][int(row.current)] = (int(row.posts), int(row.antisemitic))
    categories, triggers = [], []
    for (category, trigger), by_week in sums.items():
        posts, anti = by_week.get(1, (0, 0))
        prev_posts, prev_anti = by_week.get(0, (0, 0)) if has_previous else (None, None)
        if trigger == queries.ALL:
            categories.append(CategoryRow(category, posts, anti, prev_posts, prev_anti))
        else:
            change = percent_change(anti, prev_anti)
            triggers.append(TriggerRow(trigger, posts, anti, prev_posts, prev_anti, change))
    categories.sort(key=lambda c: (c.category == NOT_ANTISEMITIC, -c.antisemitic, -c.posts, c.category))
    triggers.sort(key=lambda t: (-t.antisemitic, -t.posts, t.trigger))
    return categories, triggers


def _leading(categories: list[CategoryRow]) -> list[str]:
    found = [c for c in categories if c.category != NOT_ANTISEMITIC and c.antisemitic > 0]
    return [c.category for c in found[:LEADING_CATEGORIES]]


def _alert_item(alert, monday: dt.date) -> AlertItem:
    return AlertItem(
        alert.kind, alert.metric, alert.status, alert.severity, alert.started_on, alert.last_seen_on,
        alert.observed, alert.expected, alert.score, alert.started_on >= monday, dict(alert.details or {}),
    )


def _example(row) -> ExamplePost:
    return ExamplePost(
        row.post_id, row.category, excerpt(row.text, EXCERPT_CHARS), row.author_pseudonym, row.url,
        float(row.score), row.published_at,
    )


def _sum_totals(totals: list[WeekTotals | None]) -> WeekTotals | None:
    present = [t for t in totals if t is not None]
    if not present:
        return None
    return WeekTotals.of(
        sum(t.posts for t in present),
        sum(t.antisemitic for t in present),
        sum(t.days_with_data for t in present),
    )


def _change(
    this: WeekTotals | None, previous: WeekTotals | None
) -> tuple[int | None, float | None, float | None]:
    if this is None or previous is None:
        return None, None, None
    return (
        this.antisemitic - previous.antisemitic,
        percent_change(this.antisemitic, previous.antisemitic),
        points_change(this.share, previous.share),
    )


def _overview(reports: list[CountryReport]) -> Overview:
    this = _sum_totals([r.this_week for r in reports])
    previous = _sum_totals([r.previous_week for r in reports])
    _, change_pct, change_pp = _change(this, previous)
    alerts = [a for r in reports for a in r.alerts]
    return Overview(
        countries=len(reports),
        countries_with_data=sum(r.this_week is not None for r in reports),
        countries_without_data=[r.country for r in reports if r.this_week is None],
        this_week=this,
        previous_week=previous,
        antisemitic_change_pct=change_pct,
        share_change_pp=change_pp,
        alerts=len(alerts),
        open_alerts=sum(a.status == "open" for a in alerts),
    )


def _select_examples(
    session: Session, start: dt.datetime, end: dt.datetime, leading: dict[str, list[str]]
) -> dict[str, dict[str, list[ExamplePost]]]:
    found = {country: {category: [] for category in cats} for country, cats in leading.items()}
    categories = sorted({cat for cats in leading.values() for cat in cats})
    if not categories:
        return found
    rows = queries.select_example_posts(session, start, end, list(leading), categories, EXAMPLES_PER_CATEGORY)
    for row in rows:
        if row.category in found[row.country]:  # else leading only in another country
            found[row.country][row.category].append(_example(row))
    return found


def _country_report(
    country: str,
    days: dict[dt.date, tuple[int, int]],
    monday: dt.date,
    trend_mondays: list[dt.date],
    categories: list[CategoryRow],
    triggers: list[TriggerRow],
    alerts: list[AlertItem],
    examples: dict[str, list[ExamplePost]],
    emerging: list[dict],
) -> CountryReport:
    this, previous = _week_totals(days, monday), _week_totals(days, monday - WEEK)
    change, change_pct, change_pp = _change(this, previous)
    return CountryReport(
        country=country,
        this_week=this,
        previous_week=previous,
        antisemitic_change=change,
        antisemitic_change_pct=change_pct,
        share_change_pp=change_pp,
        missing_days=[d for d in (monday + dt.timedelta(days=i) for i in range(7)) if d not in days],
        categories=categories,
        triggers=triggers,
        trend=[TrendPoint(iso_week_of(m), m, _week_totals(days, m)) for m in trend_mondays],
        alerts=alerts,
        examples=examples,
        emerging=emerging,
    )


def build_weekly_report(
    session: Session, iso_week: str, countries: list[str] | None = None, weeks_of_trend: int = 8,
    model_card: ModelCard | None = None,
) -> WeeklyReport:
    """The report of `iso_week` for `countries` (None: every country with rollups that week); reads only."""
    monday = parse_iso_week(iso_week)
    if weeks_of_trend < 1:
        raise ValueError(f"weeks_of_trend must be at least 1, got {weeks_of_trend}")
    sunday = monday + dt.timedelta(days=6)
    previous_monday = monday - WEEK
    trend_mondays = [monday - WEEK * i for i in reversed(range(weeks_of_trend))]
    wanted = None if countries is None else sorted(set(countries))

    daily: dict[str, dict[dt.date, tuple[int, int]]] = defaultdict(dict)
    for row in queries.select_daily_totals(session, min(trend_mondays[0], previous_monday), sunday, wanted):
        daily[row.country][row.day] = (row.posts, row.antisemitic)
    chosen = wanted if wanted is not None else sorted(c for c, days in daily.items() if max(days) >= monday)

    breakdowns = defaultdict(list)
    for row in queries.select_breakdowns(session, previous_monday, monday, chosen):
        breakdowns[row.country].append(row)
    alerts = defaultdict(list)
    for alert in queries.select_overlapping_alerts(session, monday, sunday, chosen):
        alerts[alert.country].append(_alert_item(alert, monday))

    start, end = utc_bounds(monday)
    sections = {c: _breakdown_rows(breakdowns[c], _week_totals(daily.get(c, {}), previous_monday) is not None)
                for c in chosen}
    leading = {c: _leading(categories) for c, (categories, _) in sections.items()}
    examples = _select_examples(session, start, end, leading)
    taxonomy = current_taxonomy()  # once per report: its digest, every trigger label, and what it matches
    reports = [
        _country_report(country, daily.get(country, {}), monday, trend_mondays, *sections[country],
                        alerts[country], examples[country],
                        emerging_for_country(session, country, start, end, start - EMERGING_BASELINE, top=EMERGING_TERMS,
                                             taxonomy=taxonomy))
        for country in chosen
    ]
    classified = queries.select_classifier_versions(session, start, end, chosen) if chosen else {}
    digests: Counter[str | None] = Counter()
    for (_, digest), n in classified.items():
        digests[digest] += n

    log.info("weekly_report.built", iso_week=iso_week, countries=len(reports), weeks_of_trend=weeks_of_trend)
    return WeeklyReport(
        iso_week=iso_week,
        monday=monday,
        sunday=sunday,
        previous_iso_week=iso_week_of(previous_monday),
        weeks_of_trend=weeks_of_trend,
        overview=_overview(reports),
        countries=reports,
        model_versions=sorted({version for version, _ in classified}),
        coverage=build_coverage(session, start, end, chosen),
        model_card=model_card,
        taxonomy_digests=dict(digests),
        taxonomy_digest=taxonomy.digest,
        trigger_labels={t.id: t.label for t in taxonomy.triggers},
    )
