"""Build and render the weekly reports of 30 countries from 52 weeks of rollups: HTML and PDF.

    .venv/bin/python bench/report_render.py [--countries 30] [--weeks 52] [--posts 50000000]
                                            [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a scratch database, migrates it, and COPYs in the rollups that 50 million synthetic posts
would have produced (generated directly, not from posts): per country and day a total row, one row
per category and one per trigger, with weekly seasonality and a few spikes; plus sources and alerts.
Then, for the last week, builds and renders one report per country (as 30 single-country subscribers
would get) in HTML and in PDF, and one report of all 30 together; prints the time of each stage and
what dominates. Targets: all 30 in under 10 s as HTML and under 30 s as PDF. Drops the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import time
from collections import defaultdict

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alembic import command
from migrations import alembic_config

COUNTRIES = ("AM", "AZ", "GE", "IL", "DE", "FR", "PL", "IT", "ES", "NL", "BE", "AT", "CH", "CZ", "HU",
             "RO", "BG", "GR", "TR", "UA", "LT", "LV", "EE", "SE", "NO", "DK", "FI", "GB", "IE", "PT")
CATEGORIES = ("conspiracy", "dehumanization", "holocaust_denial", "collective_blame", "dual_loyalty",
              "classic_tropes", "delegitimization")
TRIGGERS = ("gaza_war", "israel_azerbaijan_ties", "nagorno_karabakh", "israel_armenia_relations",
            "holocaust_remembrance", "elections", "financial_crisis", "migration", "middle_east_ceasefire",
            "synagogue_attack", "religious_holidays", "sports_events")


def rollup_rows(countries, first_day: dt.date, days: int, total_posts: int, seed: int = 7):
    """(country, day, category, trigger, posts, antisemitic) rows adding up to about `total_posts` posts."""
    rng = random.Random(seed)
    per_day = total_posts / (len(countries) * days)
    for country in countries:
        base_share = rng.uniform(0.02, 0.09)
        size = rng.uniform(0.4, 1.6)
        spikes = {rng.randrange(days) for _ in range(4)}
        for i in range(days):
            day = first_day + dt.timedelta(days=i)
            weekly = 0.75 if day.weekday() >= 5 else 1.08
            posts = max(1, int(rng.gauss(per_day * size * weekly, per_day * 0.08)))
            share = base_share * (3.5 if i in spikes else 1.0) * rng.uniform(0.85, 1.15)
            anti = min(posts, int(posts * share))
            yield country, day, "*", "*", posts, anti
            split = [rng.random() ** 2 for _ in CATEGORIES]
            left = anti
            for j, category in enumerate(CATEGORIES):
                n = left if j == len(CATEGORIES) - 1 else min(left, int(anti * split[j] / sum(split)))
                left -= n
                yield country, day, category, "*", n, n
            yield country, day, "none", "*", posts - anti, 0
            for trigger in TRIGGERS:
                mentions = int(posts * rng.uniform(0.005, 0.08))
                yield country, day, "*", trigger, mentions, min(mentions, int(mentions * share * 2.5))


def load(url: str, countries, first_day: dt.date, days: int, total_posts: int) -> tuple[int, int]:
    """COPY the rollups, sources and a few alerts in; return (rows, posts represented)."""
    import psycopg

    now = dt.datetime.now(dt.timezone.utc)
    buffer, rows, posts = io.StringIO(), 0, 0
    for country, day, category, trigger, n, anti in rollup_rows(countries, first_day, days, total_posts):
        buffer.write(f"{country}\t{day.isoformat()}\t{category}\t{trigger}\t{n}\t{anti}\t{now.isoformat()}\n")
        rows += 1
        posts += n if category == "*" and trigger == "*" else 0
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        columns = "country, day, category, trigger, posts, antisemitic, computed_at"
        with cur.copy(f"COPY rollups ({columns}) FROM STDIN") as cp:
            cp.write(buffer.getvalue())
        rng = random.Random(3)
        for country in countries:
            for k in range(3):
                cur.execute("INSERT INTO sources (name, kind, locator, country, poll_interval_s, enabled, "
                            "consecutive_failures, next_due_at, created_at) VALUES (%s, 'rss', %s, %s, 900, %s, %s, "
                            "now(), now())", (f"{country.lower()}-feed-{k}", f"https://example.org/{country}/{k}.xml",
                                              country, k != 2, 2 if k == 1 and rng.random() < 0.3 else 0))
            last = first_day + dt.timedelta(days=days - 1)
            for back in (2, 9, 40):
                day = last - dt.timedelta(days=back)
                cur.execute("INSERT INTO alerts (country, kind, metric, status, severity, started_on, last_seen_on, "
                            "observed, expected, score, details, created_at, updated_at) VALUES (%s, 'spike', "
                            "'antisemitic', %s, 'warning', %s, %s, 40, 12.5, 4.2, '{}', now(), now())",
                            (country, "open" if back == 2 else "resolved", day, day))
        cur.execute("ANALYZE")
    return rows, posts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--countries", type=int, default=30)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--posts", type=int, default=50_000_000)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    from monitor.logs import configure_logging
    from monitor.reports import build_weekly_report, render_charts, render_html, render_pdf
    from monitor.reports.methodology import read_model_card
    from monitor.reports.weeks import iso_week_of

    configure_logging("WARNING", False)
    countries = COUNTRIES[: args.countries]
    last_monday = dt.date(2024, 12, 23)
    first_day = last_monday - dt.timedelta(weeks=args.weeks - 1)
    week = iso_week_of(last_monday)

    name = f"vigil_bench_reports_{os.getpid()}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        command.upgrade(alembic_config(url), "head")
        t0 = time.perf_counter()
        rows, posts = load(url, countries, first_day, args.weeks * 7, args.posts)
        print(f"loaded {rows:,} rollup rows ({posts:,} posts represented, {len(countries)} countries x "
              f"{args.weeks} weeks) with COPY in {time.perf_counter() - t0:.1f} s")

        card = read_model_card()
        engine = create_engine(url)
        timings: dict[str, float] = defaultdict(float)
        pdf_bytes = 0
        with Session(engine) as session:
            build_weekly_report(session, week, [countries[0]], model_card=card)  # warm caches and imports
            render_pdf(build_weekly_report(session, week, [countries[0]], model_card=card))
            for country in countries:
                t = time.perf_counter()
                report = build_weekly_report(session, week, [country], model_card=card)
                timings["build (SQL + model)"] += (t1 := time.perf_counter()) - t
                charts = render_charts(report)
                timings["charts (matplotlib PNG)"] += (t2 := time.perf_counter()) - t1
                render_html(report, charts=charts)
                timings["html (Jinja2)"] += (t3 := time.perf_counter()) - t2
                pdf = render_pdf(report, charts)
                timings["pdf layout (WeasyPrint)"] += time.perf_counter() - t3
                pdf_bytes += len(pdf)

            t = time.perf_counter()
            combined = build_weekly_report(session, week, list(countries), model_card=card)
            combined_charts = render_charts(combined)
            combined_html = render_html(combined, charts=combined_charts)
            combined_html_s = time.perf_counter() - t
            combined_pdf = render_pdf(combined, combined_charts)
            combined_pdf_s = time.perf_counter() - t
        engine.dispose()

        html_total = sum(v for k, v in timings.items() if not k.startswith("pdf"))
        pdf_total = html_total + timings["pdf layout (WeasyPrint)"]
        print(f"\n{len(countries)} single-country reports of {week}, built and rendered one after another:")
        for stage, seconds in timings.items():
            print(f"  {stage:<26} {seconds:6.2f} s  ({seconds / len(countries) * 1000:5.0f} ms per report, "
                  f"{seconds / pdf_total:4.0%} of the PDF path)")
        print(f"  HTML total (build + charts + html)   {html_total:6.2f} s   target < 10 s: "
              f"{'met' if html_total < 10 else 'MISSED'}")
        print(f"  PDF total (HTML path + layout)       {pdf_total:6.2f} s   target < 30 s: "
              f"{'met' if pdf_total < 30 else 'MISSED'}")
        print(f"  PDF output: {pdf_bytes / 1e6:.1f} MB in all")
        print(f"\none report of all {len(countries)} countries together: HTML {combined_html_s:.2f} s "
              f"({len(combined_html) / 1e6:.1f} MB with data: URIs), PDF {combined_pdf_s:.2f} s "
              f"({len(combined_pdf) / 1e6:.1f} MB)")
        dominant = max(timings, key=timings.get)
        print(f"\ndominant stage: {dominant} ({timings[dominant] / pdf_total:.0%} of the PDF path); "
              f"of the HTML path: {max((k for k in timings if not k.startswith('pdf')), key=timings.get)}")
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
