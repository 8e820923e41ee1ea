"""Generate the demo's sample: news feeds (RSS files) and social exports (JSONL) for five countries,
nine weeks long, with a surge in AM after a fictional Israel–Azerbaijan drone deal."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from monitor.countries import country_name
from monitor.demo import texts as T

START = dt.date(2024, 1, 1)  # Monday of 2024-W01
DAYS = 63  # nine ISO weeks, to Sunday 2024-03-03
EVENT_DAY = dt.date(2024, 2, 20)  # Tuesday of 2024-W08: the fictional deal is reported
REPORT_WEEK = "2024-W08"
COUNTRIES = ("AM", "AZ", "GE", "IL", "DE")
SOCIAL_PER_DAY = {"AM": 60, "AZ": 40, "GE": 35, "IL": 40, "DE": 35}
# One social post in this many, evenly spaced, is a background hostile one in every country: a steady background
# (drawn at random, a few landed on one day often enough for a flat country to raise a warning).
BACKGROUND_HOSTILE_EVERY = 50


@dataclass(frozen=True)
class DemoSource:
    name: str
    kind: str
    locator: str
    country: str
    language: str | None


def _fill(template: str, country: str, rng: random.Random, ru: bool) -> str:
    cities = (T.CITIES_RU if ru else T.CITIES_EN)[country]
    places = T.PLACES_RU if ru else T.PLACES_EN
    return template.format(city=rng.choice(cities), place=rng.choice(places))


def _surge(country: str, day: dt.date) -> float:
    """0 before the event; in AM a jump on the day, decaying over about ten days."""
    if country != "AM" or day < EVENT_DAY:
        return 0.0
    return math.exp(-(day - EVENT_DAY).days / 6.0)


def _social_post(country: str, day: dt.date, n: int, rng: random.Random, background: bool) -> dict:
    surge = _surge(country, day)
    ru = rng.random() < (0.45 if country in ("AM", "AZ", "GE") else 0.15)
    r = rng.random()
    if r < 0.30 * surge:
        pool = T.HOSTILE_RU if ru else T.HOSTILE_EN
    elif background:
        pool = T.BACKGROUND_HOSTILE_RU if ru else T.BACKGROUND_HOSTILE_EN
    elif r < 0.65 * surge:
        pool = T.EVENT_NEUTRAL_RU if ru else T.EVENT_NEUTRAL_EN
    else:
        pool = T.NEUTRAL_RU if ru else T.NEUTRAL_EN
    at = dt.datetime.combine(day, dt.time(rng.randint(6, 23), rng.randint(0, 59), rng.randint(0, 59)),
                             tzinfo=dt.timezone.utc)
    return {
        "id": f"{country.lower()}-{day.isoformat()}-{n}",
        "text": _fill(rng.choice(pool), country, rng, ru),
        "author": rng.choice(T.HANDLES),
        "published_at": at.isoformat(),
        "lang": "ru" if ru else "en",
        "url": f"https://social.example/{country.lower()}/{day:%Y%m%d}/{n}",
    }


def _social_rows(country: str, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(DAYS):
        day = START + dt.timedelta(days=i)
        weekly = 0.8 if day.weekday() >= 5 else 1.0
        volume = SOCIAL_PER_DAY[country] * weekly * (1 + 0.8 * _surge(country, day))
        for n in range(max(1, round(rng.gauss(volume, math.sqrt(volume))))):
            background = len(rows) % BACKGROUND_HOSTILE_EVERY == BACKGROUND_HOSTILE_EVERY // 2
            rows.append(_social_post(country, day, n, rng, background))
    return rows


def _rss(country: str, rng: random.Random) -> str:
    name = country_name(country)
    items = []
    for i in range(DAYS):
        day = START + dt.timedelta(days=i)
        pool = list(T.NEWS_EN)
        if country in ("AM", "AZ", "IL") and EVENT_DAY <= day < EVENT_DAY + dt.timedelta(days=5):
            pool = T.EVENT_NEWS_EN * 2 + pool
        for n in range(3):
            title, body = rng.choice(pool)
            at = dt.datetime.combine(day, dt.time(8 + 4 * n), tzinfo=dt.timezone.utc)
            items.append(
                f"<item><title>{escape(title.format(country_name=name))}</title>"
                f"<link>https://news.example/{country.lower()}/{day:%Y%m%d}-{n}</link>"
                f"<guid>news-{country.lower()}-{day:%Y%m%d}-{n}</guid>"
                f"<pubDate>{format_datetime(at)}</pubDate>"
                f"<description>{escape(body.format(date=day.isoformat()))}</description></item>"
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Demo news: {escape(name)}</title><link>https://news.example/{country.lower()}</link>"
        f"<description>Fictional news for the Vigil demo</description><language>en</language>"
        + "".join(items) + "</channel></rss>\n"
    )


# Rows that a real export contains sometimes; each must be rejected with a clear, recorded error.
BAD_ROWS = [
    "{this is not json",
    json.dumps({"id": "am-empty", "text": "   ", "published_at": "2024-02-01T10:00:00Z"}),
    json.dumps({"id": "am-badcc", "text": "Concert tonight in Yerevan", "country": "XX",
                "published_at": "2024-02-01T10:00:00Z"}),
]


def write_sample(directory: Path, seed: int = 7) -> list[DemoSource]:
    """Write the sample files under `directory` and return the sources that read them."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    sources = []
    for country in COUNTRIES:
        feed = directory / f"news-{country.lower()}.xml"
        feed.write_text(_rss(country, rng), encoding="utf-8")
        sources.append(DemoSource(f"demo-news-{country.lower()}", "rss", feed.as_uri(), country, "en"))
        social = directory / f"social-{country.lower()}.jsonl"
        lines = [json.dumps(row, ensure_ascii=False) for row in _social_rows(country, rng)]
        if country == "AM":
            lines[len(lines) // 3: len(lines) // 3] = BAD_ROWS
        social.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sources.append(DemoSource(f"demo-social-{country.lower()}", "file", str(social), country, None))
    return sources
