"""Cost of one rollup recompute (monitor.rollups.recompute_rollups) as a country-day grows, on PostgreSQL.

    .venv/bin/python bench/rollup_cost.py [--posts 1000000] [--days 4] [--repeat 5]
                                          [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A recompute reads every post of the day. Before stale marks (migration 0014) every classify batch
(VIGIL_CLASSIFY_BATCH_SIZE posts) paid it for each day it touched; now one recompute serves
the batches that marked the day meanwhile (bench/pipeline_day.py times a one-day burst end to end). Creates a scratch database, migrates it,
COPYs `--posts` posts over `--days` days in 30 countries of uneven size with their classifications (the
generator of bench/api_latency.py), then times recompute_rollups for one day of the largest, a middle and a
small country, `--repeat` times each (median printed), and drops the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import api_latency
from alembic import command
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from migrations import alembic_config
from monitor.models import Post
from monitor.rollups import recompute_rollups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    day = api_latency.FIRST_DAY + dt.timedelta(days=args.days // 2)
    with api_latency.scratch_database(args.pg_url, keep=False) as url:
        psycopg_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        command.upgrade(alembic_config(url), "head")
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            sources = api_latency.make_sources(session)
        print(f"generating {args.posts:,} posts over {args.days} days in {len(api_latency.COUNTRIES)} countries ...")
        api_latency.generate(psycopg_url, args.posts, sources, days=args.days)
        api_latency.vacuum_analyze(psycopg_url)
        for country in (api_latency.COUNTRIES[0], api_latency.COUNTRIES[9], api_latency.COUNTRIES[-1]):
            seconds = []
            with Session(engine) as session:
                posts = session.scalar(select(func.count()).select_from(Post).where(
                    Post.country == country, func.date(func.timezone("UTC", Post.published_at)) == day))
                session.rollback()
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    with session.begin():
                        cells = recompute_rollups(session, country, [day])
                    seconds.append(time.perf_counter() - start)
            median = statistics.median(seconds)
            print(f"  {country} {day}: {posts:,} posts in the day, {cells} cells; one recompute {median * 1000:,.0f} ms "
                  f"(median of {args.repeat}) = {posts / median:,.0f} posts/s")
        engine.dispose()


if __name__ == "__main__":
    main()
