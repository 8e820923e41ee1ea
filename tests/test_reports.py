"""Weekly reports: numbers against the rollups on real PostgreSQL, the HTML, the chart, ISO weeks."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import struct

import pytest
from sqlalchemy import select

from monitor.models import Alert, Classification, Post, Rollup, Source
from monitor.reports import build_weekly_report, render_html, write_report
from monitor.reports.charts import DPI, HEIGHT_IN, WIDTH_IN, trend_alt_text, trend_png
from monitor.reports.model import TrendPoint, WeekTotals
from monitor.reports.stats import percent_change, points_change, wilson_interval
from monitor.reports.weeks import parse_iso_week

UTC = dt.timezone.utc
WEEK = "2024-W07"
MONDAY = dt.date(2024, 2, 12)
PREVIOUS = dt.date(2024, 2, 5)
DE_MISSING_DAY = dt.date(2024, 2, 14)
CATEGORIES = ("conspiracy", "classic_tropes", "dehumanization")
MODEL = "clf-2024.02"


# --- row factories -------------------------------------------------------------------------------

def add_day(session, country: str, day: dt.date, posts: int, antisemitic: int) -> list[Rollup]:
    """All rollup rows of one (country, day): totals, categories (round robin) and two triggers."""
    by_category = dict.fromkeys(CATEGORIES, 0)
    for i in range(antisemitic):
        by_category[CATEGORIES[i % len(CATEGORIES)]] += 1
    rows = [Rollup(country=country, day=day, category="*", trigger="*", posts=posts, antisemitic=antisemitic)]
    rows += [Rollup(country=country, day=day, category=c, trigger="*", posts=n, antisemitic=n)
             for c, n in by_category.items() if n]
    rows.append(Rollup(country=country, day=day, category="none", trigger="*",
                       posts=posts - antisemitic, antisemitic=0))
    rows.append(Rollup(country=country, day=day, category="*", trigger="gaza_war",
                       posts=posts // 5, antisemitic=antisemitic // 2))
    rows.append(Rollup(country=country, day=day, category="*", trigger="israel_azerbaijan_ties",
                       posts=3, antisemitic=1 if antisemitic >= 3 else 0))
    session.add_all(rows)
    return rows


def add_source(session, country: str) -> Source:
    source = Source(name=f"test-{country}", kind="rss", locator=f"https://example.org/{country}.xml",
                    country=country)
    session.add(source)
    session.flush()
    return source


def add_post(session, source: Source, text: str, published_at: dt.datetime, *, category: str = "conspiracy",
             antisemitic: bool = True, score: float = 0.9, url: str | None = "https://example.org/p",
             model_version: str = MODEL) -> Post:
    post = Post(source_id=source.id, external_id=hashlib.sha1(f"{text}{published_at}".encode()).hexdigest(),
                url=url, text=text, country=source.country, published_at=published_at,
                author_pseudonym=hashlib.sha256(text.encode()).hexdigest(),
                content_hash=hashlib.sha256(text.encode()).hexdigest())
    session.add(post)
    session.flush()
    session.add(Classification(post_id=post.id, model_version=model_version, antisemitic=antisemitic,
                               score=score, category=category, triggers=[]))
    return post


def add_alert(session, country: str, kind: str, started: dt.date, last_seen: dt.date, status: str) -> Alert:
    alert = Alert(country=country, kind=kind, metric="antisemitic", status=status, severity="warning",
                  started_on=started, last_seen_on=last_seen, observed=24.0, expected=12.5, score=3.2,
                  details={"note": "test"})
    session.add(alert)
    return alert


def daily_pattern(country: str, monday: dt.date) -> tuple[int, int] | None:
    """(posts, antisemitic) on each day of the week starting `monday`; None: no data that week."""
    if country == "DE":
        return (70, 4) if monday == MONDAY else (60, 3)
    if country == "FR":
        special = {dt.date(2024, 1, 15): None, dt.date(2024, 1, 22): (50, 0), PREVIOUS: (40, 1)}
        return special.get(monday, (40, 2))
    if country == "PL":
        return None if monday == PREVIOUS else ((30, 3) if monday == MONDAY else (30, 1))
    if country == "IT":  # data only long before the report week
        return (10, 1) if monday == dt.date(2024, 1, 1) else None
    raise AssertionError(country)


@pytest.fixture
def rollups(db_session) -> list[Rollup]:
    """Ten weeks (2023-W50 to 2024-W07) of rollups for DE, FR, PL and IT, with gaps."""
    rows = []
    for country in ("DE", "FR", "PL", "IT"):
        for week in range(10):
            monday = MONDAY - dt.timedelta(weeks=9 - week)
            pattern = daily_pattern(country, monday)
            for i in range(7 if pattern else 0):
                day = monday + dt.timedelta(days=i)
                if not (country == "DE" and day == DE_MISSING_DAY):
                    rows += add_day(db_session, country, day, *pattern)
    db_session.flush()
    return rows


@pytest.fixture
def world(db_session, rollups):
    """The rollups plus example posts and alerts around 2024-W07."""
    de, fr = add_source(db_session, "DE"), add_source(db_session, "FR")
    at = lambda day, hour=12: dt.datetime(2024, 2, day, hour, tzinfo=UTC)  # noqa: E731
    add_post(db_session, de, '<script>alert("x")</script> They control everything', at(13), score=0.99)
    add_post(db_session, de, "long " + "word " * 150, at(15), score=0.95)
    add_post(db_session, de, "third conspiracy post", at(16), score=0.90)
    add_post(db_session, de, "fourth conspiracy post, lowest score", at(16), score=0.80)
    add_post(db_session, de, "a classic trope post", at(17), category="classic_tropes", score=0.7,
             url="javascript:alert(1)")
    add_post(db_session, de, "denial post, not a leading category", at(17), category="holocaust_denial",
             score=0.98)
    add_post(db_session, de, "ordinary news", at(13), category="none", antisemitic=False, score=0.1)
    add_post(db_session, de, "previous week post", dt.datetime(2024, 2, 11, 23, 59, tzinfo=UTC), score=0.999,
             model_version="clf-old")
    add_post(db_session, de, "next week post", dt.datetime(2024, 2, 19, 0, 0, tzinfo=UTC), score=0.999,
             model_version="clf-next")
    add_post(db_session, fr, "a French conspiracy post", at(14), score=0.85)
    add_alert(db_session, "DE", "spike", dt.date(2024, 2, 15), dt.date(2024, 2, 17), "open")
    add_alert(db_session, "DE", "spike", dt.date(2024, 1, 1), dt.date(2024, 1, 5), "resolved")
    add_alert(db_session, "PL", "no_data", dt.date(2024, 2, 5), dt.date(2024, 2, 12), "resolved")
    add_alert(db_session, "FR", "spike", dt.date(2024, 2, 19), dt.date(2024, 2, 19), "open")
    db_session.flush()
    return rollups


def rollup_sum(rows, country, first: dt.date, category="*", trigger="*") -> tuple[int, int] | None:
    """(posts, antisemitic) of a week summed straight from the inserted rows; None if the week has none."""
    days = {first + dt.timedelta(days=i) for i in range(7)}
    week = [r for r in rows if r.country == country and r.day in days]
    if not any(r.category == "*" and r.trigger == "*" for r in week):
        return None
    hits = [r for r in week if r.category == category and r.trigger == trigger]
    return sum(r.posts for r in hits), sum(r.antisemitic for r in hits)


def by_country(report):
    return {c.country: c for c in report.countries}


# --- the report model on PostgreSQL ----------------------------------------------------------------

def test_totals_shares_and_changes_match_rollups(db_session, world):
    report = build_weekly_report(db_session, WEEK)
    countries = by_country(report)
    assert list(countries) == ["DE", "FR", "PL"]  # IT has rollups, but not this week

    de = countries["DE"]
    assert (de.this_week.posts, de.this_week.antisemitic, de.this_week.days_with_data) == (420, 24, 6)
    assert (de.previous_week.posts, de.previous_week.antisemitic) == (420, 21)
    assert de.this_week.share == pytest.approx(24 / 420)
    assert de.antisemitic_change == 3
    assert de.antisemitic_change_pct == pytest.approx((24 - 21) / 21 * 100)  # +14.29%
    assert de.share_change_pp == pytest.approx((24 / 420 - 21 / 420) * 100)
    assert de.missing_days == [DE_MISSING_DAY]

    for code, row in countries.items():
        assert (row.this_week.posts, row.this_week.antisemitic) == rollup_sum(world, code, MONDAY)

    pl = countries["PL"]  # previous week has no data: no change, not a change from zero
    assert (pl.this_week.posts, pl.this_week.antisemitic) == (210, 21)
    assert pl.previous_week is None
    assert pl.antisemitic_change is None and pl.antisemitic_change_pct is None and pl.share_change_pp is None

    overview = report.overview
    assert (overview.this_week.posts, overview.this_week.antisemitic) == (910, 59)
    assert (overview.previous_week.posts, overview.previous_week.antisemitic) == (700, 28)
    assert overview.antisemitic_change_pct == pytest.approx((59 - 28) / 28 * 100)
    assert overview.countries == overview.countries_with_data == 3


def test_wilson_interval_against_hand_computation(db_session, world):
    de = by_country(build_weekly_report(db_session, WEEK, ["DE"]))["DE"]
    x, n, z = 24, 420, 1.959963984540054
    root = z * math.sqrt(z * z + 4 * x * (n - x) / n)
    low, high = (2 * x + z * z - root) / (2 * (n + z * z)), (2 * x + z * z + root) / (2 * (n + z * z))
    assert de.this_week.share_interval == pytest.approx((low, high))
    assert de.this_week.share_interval == pytest.approx((0.038697, 0.083616), abs=1e-6)


def test_no_data_week_is_not_a_zero_week(db_session, world):
    fr = by_country(build_weekly_report(db_session, WEEK, ["FR"]))["FR"]
    weeks = {p.iso_week: p.totals for p in fr.trend}
    assert [p.iso_week for p in fr.trend] == ["2023-W52"] + [f"2024-W{w:02d}" for w in range(1, 8)]
    assert weeks["2024-W03"] is None
    assert weeks["2024-W04"] is not None
    assert (weeks["2024-W04"].posts, weeks["2024-W04"].antisemitic, weeks["2024-W04"].share) == (350, 0, 0.0)
    assert weeks["2024-W06"].antisemitic == rollup_sum(world, "FR", PREVIOUS)[1] == 7
    assert fr.antisemitic_change_pct == pytest.approx(100.0)
    assert fr.share_change_pp == pytest.approx(2.5)


def test_breakdowns_by_category_and_trigger(db_session, world):
    de = by_country(build_weekly_report(db_session, WEEK, ["DE"]))["DE"]
    categories = {c.category: c for c in de.categories}
    assert (categories["conspiracy"].antisemitic, categories["conspiracy"].previous_antisemitic) == (12, 7)
    assert (categories["classic_tropes"].antisemitic, categories["dehumanization"].antisemitic) == (6, 6)
    assert (categories["none"].posts, categories["none"].antisemitic) == (420 - 24, 0)
    assert de.categories[0].category == "conspiracy" and de.categories[-1].category == "none"
    for c in de.categories:
        assert (c.posts, c.antisemitic) == rollup_sum(world, "DE", MONDAY, category=c.category)
        previous = rollup_sum(world, "DE", PREVIOUS, category=c.category)
        assert (c.previous_posts, c.previous_antisemitic) == previous
    triggers = {t.trigger: t for t in de.triggers}
    assert (triggers["gaza_war"].posts, triggers["gaza_war"].antisemitic) == (84, 12)
    assert triggers["gaza_war"].previous_antisemitic == 7
    assert triggers["gaza_war"].antisemitic_change_pct == pytest.approx((12 - 7) / 7 * 100)
    ties = triggers["israel_azerbaijan_ties"]
    assert (ties.antisemitic, ties.previous_antisemitic) == (6, 7)

    pl = by_country(build_weekly_report(db_session, WEEK, ["PL"]))["PL"]
    assert all(c.previous_antisemitic is None for c in pl.categories)


def test_alerts_overlapping_the_week(db_session, world):
    countries = by_country(build_weekly_report(db_session, WEEK))
    de_alerts = countries["DE"].alerts
    assert [(a.started_on, a.status, a.started_this_week) for a in de_alerts] == [
        (dt.date(2024, 2, 15), "open", True)
    ]
    assert [(a.kind, a.started_this_week) for a in countries["PL"].alerts] == [("no_data", False)]
    assert countries["FR"].alerts == []
    assert build_weekly_report(db_session, WEEK).overview.open_alerts == 1


def test_a_quiet_country_gap_reads_as_silence_not_as_failing_polls(db_session, world):
    alert = add_alert(db_session, "PL", "no_data", MONDAY, MONDAY + dt.timedelta(days=2), "open")
    alert.metric, alert.score = "quiet", 30.0
    alert.details = {"reason": "no_posts", "expected_posts": 15.0, "sources": [{"id": 1, "name": "pl-feed"}]}
    db_session.flush()
    html = render_html(build_weekly_report(db_session, WEEK), charts=False)
    assert "30 h since the last post at most, while the sources answered (at least 15 posts expected)" in html
    assert "without a successful poll" in html  # the failing-source gap of the fixture reads as before


def test_example_posts_of_leading_categories(db_session, world):
    report = build_weekly_report(db_session, WEEK)
    de = by_country(report)["DE"]
    assert list(de.examples) == ["conspiracy", "classic_tropes", "dehumanization"]
    assert [p.score for p in de.examples["conspiracy"]] == [0.99, 0.95, 0.90]
    assert len(de.examples["conspiracy"][1].excerpt) <= 200
    assert de.examples["conspiracy"][1].excerpt.endswith("…")
    assert de.examples["dehumanization"] == []
    fr_examples = by_country(report)["FR"].examples["conspiracy"]
    assert [p.excerpt for p in fr_examples] == ["a French conspiracy post"]
    assert report.model_versions == [MODEL]


def test_requested_country_without_data(db_session, world):
    report = build_weekly_report(db_session, WEEK, ["DE", "XX"])
    xx = by_country(report)["XX"]
    assert xx.this_week is None and xx.previous_week is None
    assert len(xx.missing_days) == 7 and all(p.totals is None for p in xx.trend)
    assert report.overview.countries_without_data == ["XX"]
    assert "no data this week" in render_html(report, charts=False)


# --- HTML ------------------------------------------------------------------------------------------

def test_html_has_table_chart_escaped_text_and_warning(db_session, world):
    html = render_html(build_weekly_report(db_session, WEEK))
    cell = '<td style="border:1px solid #999999;padding:4px 8px;text-align:right;white-space:nowrap;">{}</td>'
    assert cell.format(420) in html and cell.format(24) in html
    assert "5.7% (3.9–8.4%)" in html  # DE share and its 95% interval
    assert "+3 (+14.3%)" in html and "+0.7 pp" in html
    assert "no data in 2024-W06" in html  # PL
    assert "No data on 2024-02-14: totals cover 6 of 7 days." in html
    assert html.count('<img src="data:image/png;base64,') == 3
    assert 'alt="Chart of antisemitic posts per week in DE, 2023-W52 to 2024-W07' in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert html.index("Content warning: the excerpts below") < html.index("They control everything")
    assert "cannot be regarded as antisemitic" in html and "IHRA" in html
    assert MODEL in html


def test_html_model_version_argument(db_session, world):
    html = render_html(build_weekly_report(db_session, WEEK, ["PL"]), model_version="clf-9.9", charts=False)
    assert "clf-9.9" in html and MODEL not in html


def test_html_says_when_posts_were_tagged_with_an_earlier_trigger_list(db_session, world):
    from monitor.triggers import current_taxonomy

    report = build_weekly_report(db_session, WEEK)
    classified = sum(report.taxonomy_digests.values())
    assert classified > 0 and report.tagged_earlier == classified  # stored before any digest was recorded
    html = render_html(report, charts=False)
    assert f"{classified} of this week's {classified} classified posts were tagged with an earlier version" in html
    db_session.execute(Classification.__table__.update().values(taxonomy_digest=current_taxonomy().digest))
    again = render_html(build_weekly_report(db_session, WEEK), charts=False)
    assert "earlier version" not in again and "was tagged with the trigger list in use" in again


def test_trigger_labels_come_from_the_one_taxonomy_the_report_read(db_session, world, tmp_path):
    from monitor.config import Settings, use_settings
    from monitor.reports.formats import label

    assert label("gaza_war", {"gaza_war": "War in Gaza"}) == "War in Gaza"
    assert label("collective_blame", {}) == "Collective blame" and label("new_thing") == "New thing"
    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: israel_azerbaijan_ties\n    label: Baku-Jerusalem axis\n"
                    "    terms: {en: [drones]}\n", encoding="utf-8")
    use_settings(Settings(data_dir=tmp_path, triggers_file=path))
    try:
        report = build_weekly_report(db_session, WEEK)
    finally:
        use_settings(None)
    assert report.trigger_labels == {"israel_azerbaijan_ties": "Baku-Jerusalem axis"}
    html = render_html(report, charts=False)
    assert "Baku-Jerusalem axis" in html and "Israel–Azerbaijan ties" not in html


def test_write_report(db_session, world, tmp_path):
    path = write_report(db_session, WEEK, ["DE"], tmp_path)
    assert path == tmp_path / "vigil-weekly-2024-W07.html"
    assert "Vigil weekly report: 2024-W07" in path.read_text(encoding="utf-8")


# --- pure ------------------------------------------------------------------------------------------

def test_chart_is_a_png_of_the_expected_size():
    start = dt.date(2024, 1, 1)
    trend = [TrendPoint(f"2024-W{i:02d}", start + dt.timedelta(weeks=i - 1),
                        None if i == 3 else WeekTotals.of(100, 0 if i == 4 else i, 7)) for i in range(1, 9)]
    png = trend_png("DE", trend)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))
    alt = trend_alt_text("DE", trend)
    assert "No data in 2024-W03" in alt and "2024-W08: 8 of 100 posts (8.0%)" in alt


@pytest.mark.parametrize(
    "bad", ["2024-W7", "2024-07", "2024W07", "2021-W53", "2024-W00", "2024-W54", " 2024-W07", "", None]
)
def test_iso_week_validation(bad):
    with pytest.raises(ValueError, match="ISO week"):
        parse_iso_week(bad)


def test_iso_week_parsing():
    assert parse_iso_week("2024-W07") == MONDAY
    assert parse_iso_week("2020-W53") == dt.date(2020, 12, 28)
    assert parse_iso_week("2024-W01") == dt.date(2024, 1, 1)


def test_report_refuses_bad_arguments(db_session):
    with pytest.raises(ValueError, match="ISO week"):
        build_weekly_report(db_session, "2024-13")
    with pytest.raises(ValueError, match="weeks_of_trend"):
        build_weekly_report(db_session, WEEK, weeks_of_trend=0)


def test_stats():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # textbook value
    assert wilson_interval(0, 0) is None
    assert percent_change(5, 0) is None and percent_change(5, None) is None
    assert percent_change(15, 10) == pytest.approx(50.0)
    assert points_change(0.05, None) is None and points_change(0.06, 0.05) == pytest.approx(1.0)



def test_html_alerts_name_their_drivers_and_gaps_say_data_is_missing(db_session, world):
    de = next(a for a in db_session.scalars(select(Alert).where(Alert.country == "DE")))
    de.details = {"triggers": [{"id": "israel_azerbaijan_ties", "antisemitic": 31, "lift": 16.0}],
                  "categories": [{"id": "collective_blame", "antisemitic": 28, "lift": 17.3}]}
    pl = next(a for a in db_session.scalars(select(Alert).where(Alert.country == "PL")))
    pl.details, pl.score = {"sources": [{"name": "pl-news"}]}, 30.0
    db_session.flush()
    html = render_html(build_weekly_report(db_session, WEEK), charts=False)
    assert "Top triggers: Israel–Azerbaijan ties 31 posts (16.0x)." in html
    assert "Top categories: Collective blame 28 posts (17.3x)." in html
    assert "no data from pl-news" in html and "Missing data, not a drop to zero." in html
    assert "observed 24, expected 12.5" in html  # the spike's line; the gap's has none
    assert html.count("observed 24") == 1
