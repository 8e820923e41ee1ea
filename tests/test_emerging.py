"""Emerging terms over stored posts: in alerts' neighbour, the weekly report, and `vigil triggers emerging`."""

from __future__ import annotations

import datetime as dt
import re

from monitor.emerging import emerging_for_country
from monitor.reports import build_weekly_report, render_html
from monitor.rollups import recompute_rollups
from tests.factories import make_post, make_source

MONDAY = dt.date(2024, 2, 19)  # 2024-W08
HOSTILE = {"antisemitic": True, "score": 0.9, "category": "conspiracy"}
OLD = ["they run the banks and the newspapers", "they decide every election from behind",
       "the bankers and the newspapers are theirs"]
NEW = "they sold the kamikaze drones to baku"


def _world(session):
    source = make_source(session, country="AM")
    days = set()
    for week in range(1, 5):
        for i, text in enumerate(OLD):
            day = MONDAY - dt.timedelta(days=7 * week - i)
            make_post(session, source, day, text, classification=HOSTILE)
            days.add(day)
    for i in range(6):
        day = MONDAY + dt.timedelta(days=i)
        make_post(session, source, day, NEW, classification=HOSTILE)
        make_post(session, source, day, OLD[i % 3], classification=HOSTILE)
        make_post(session, source, day, "a quiet day at the market", classification={})
        days.add(day)
    recompute_rollups(session, "AM", days)


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def test_new_terms_rise_and_old_ones_do_not(db_session):
    _world(db_session)
    terms = emerging_for_country(db_session, "AM", _utc(MONDAY), _utc(MONDAY + dt.timedelta(days=7)),
                                 _utc(MONDAY - dt.timedelta(weeks=4)))
    found = [t["term"] for t in terms]
    assert "kamikaze drones" in found and "baku" in found
    assert not {"banks", "newspapers", "election"} & set(found)
    assert all(t["posts"] >= 3 for t in terms)
    assert terms == sorted(terms, key=lambda t: -t["z"])


def test_emerging_terms_say_which_triggers_list_them_already(db_session):
    from classifiers.taxonomy import load_taxonomy

    _world(db_session)
    terms = emerging_for_country(db_session, "AM", _utc(MONDAY), _utc(MONDAY + dt.timedelta(days=7)),
                                 _utc(MONDAY - dt.timedelta(weeks=4)), taxonomy=load_taxonomy())
    by_term = {t["term"]: t["triggers"] for t in terms}
    assert by_term["baku"] == ["israel_azerbaijan_ties"]  # one of its Azerbaijan-side terms
    assert by_term["kamikaze drones"] == []  # a driver no trigger lists yet


def test_weekly_report_lists_emerging_terms(db_session):
    _world(db_session)
    report = build_weekly_report(db_session, "2024-W08", ["AM"])
    [am] = report.countries
    assert "kamikaze drones" in [t["term"] for t in am.emerging]
    html = render_html(report, charts=False)
    assert "Emerging terms" in html and "kamikaze drones" in html
    assert re.search(r">baku</td>(<td[^>]*>[^<]*</td>){3}<td[^>]*>Israel–Azerbaijan ties</td>", html)
    assert re.search(r">kamikaze drones</td>(<td[^>]*>[^<]*</td>){3}<td[^>]*>new</td>", html)


def test_too_few_posts_give_no_terms(db_session):
    source = make_source(db_session, country="GE")
    make_post(db_session, source, MONDAY, NEW, classification=HOSTILE)
    assert emerging_for_country(db_session, "GE", _utc(MONDAY), _utc(MONDAY + dt.timedelta(days=7)),
                                _utc(MONDAY - dt.timedelta(weeks=4))) == []


def test_a_trigger_filter_applies_before_the_post_limit(db_session, monkeypatch):
    """With more antisemitic posts than MAX_POSTS, the filtered terms still read the posts of that trigger."""
    from monitor import emerging

    monkeypatch.setattr(emerging, "MAX_POSTS", 3)
    source = make_source(db_session, country="AM")
    ties = HOSTILE | {"triggers": ["israel_azerbaijan_ties"]}
    for week in range(1, 3):
        for i, text in enumerate(OLD):
            make_post(db_session, source, MONDAY - dt.timedelta(days=7 * week - i), text, classification=ties)
    for i in range(3):  # the trigger's posts, early in the window
        make_post(db_session, source, MONDAY + dt.timedelta(days=i), NEW, classification=ties)
    for i in range(3, 7):  # more recent posts of no trigger, enough to fill the limit
        make_post(db_session, source, MONDAY + dt.timedelta(days=i), "the weather talk again", classification=HOSTILE)
    window = (_utc(MONDAY), _utc(MONDAY + dt.timedelta(days=7)), _utc(MONDAY - dt.timedelta(weeks=2)))
    filtered = emerging_for_country(db_session, "AM", *window, trigger="israel_azerbaijan_ties")
    by_term = {t["term"]: t["posts"] for t in filtered}
    assert by_term.get("kamikaze drones") == 3  # all three of the trigger's posts were read
    assert not {"weather", "talk", "weather talk"} & set(by_term)  # and none of the posts of no trigger
    by_category = emerging_for_country(db_session, "AM", *window, category="dual_loyalty")
    assert by_category == []  # no post of that category


def test_a_window_with_more_posts_than_the_limit_is_read_as_a_sample_over_all_of_it(db_session, monkeypatch):
    """Not only its most recent posts: a busy four-week baseline would otherwise be its last few days."""
    from monitor import emerging

    monkeypatch.setattr(emerging, "MAX_POSTS", 10)
    source = make_source(db_session, country="AM")
    start = MONDAY - dt.timedelta(days=40)
    for i in range(40):
        make_post(db_session, source, start + dt.timedelta(days=i), f"day{i:02d} post", classification=HOSTILE)
    read = emerging._texts(db_session, "AM", _utc(start), _utc(MONDAY), None, None)
    days = sorted(int(text[3:5]) for text, _ in read)
    assert len(days) == 10 and len(set(days)) == 10
    assert days[0] < 30  # the 10 most recent would all be days 30-39
    assert emerging._texts(db_session, "AM", _utc(start), _utc(MONDAY), None, None) == read  # the same sample
