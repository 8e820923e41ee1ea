"""A burst of posts for one country-day through real Celery workers: how long until its rollups count them all.

    .venv/bin/python bench/pipeline_day.py [--posts 50000] [--concurrency 2] [--classify-batch-size N]
                                           [--redis-db 13]
                                           [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a scratch PostgreSQL database, migrates it and imports `--posts` posts of ~200 characters (the
project's own sentences, bench/classify_speed.py) published on one day in AM with `vigil ingest --no-classify`.
Starts a Celery worker (`--concurrency` processes) on a flushed Redis database, then runs `vigil reclassify`,
which sends the posts to it in batches of VIGIL_CLASSIFY_BATCH_SIZE. Prints when every post was classified,
when the day's rollup first agreed with every classification (posts and antisemitic ones), and when the queue
was empty (every recompute and spike check done). Drops the database, stops the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import api_latency
import classify_speed
import redis
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from monitor.models import Classification, Rollup

DAY = "2024-02-20"


def write_posts(path: Path, n: int) -> None:
    texts, langs = classify_speed.own_text_posts(n)
    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as fh:
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            second = rng.randrange(86400)
            fh.write(json.dumps({"id": f"d{i}", "text": text, "lang": lang, "author": f"user{i % 3000}",
                                 "published_at": f"{DAY}T{second // 3600:02d}:{second // 60 % 60:02d}:"
                                                 f"{second % 60:02d}Z"}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=50_000)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--classify-batch-size", type=int, default=None, help="VIGIL_CLASSIFY_BATCH_SIZE (default: Settings')")
    ap.add_argument("--redis-db", type=int, default=13, help="flushed at the start")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    queue = redis.Redis.from_url(broker)
    queue.flushdb()
    with api_latency.scratch_database(args.pg_url, keep=False) as url, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        env.update(VIGIL_DATABASE_URL=url, VIGIL_BROKER_URL=broker, VIGIL_RESULT_BACKEND=broker,
                   VIGIL_PSEUDONYM_KEY="bench-key-0123456789abcdef0123", VIGIL_DATA_DIR=tmp,
                   VIGIL_LOG_LEVEL="WARNING", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        if args.classify_batch_size:
            env["VIGIL_CLASSIFY_BATCH_SIZE"] = str(args.classify_batch_size)
        subprocess.run([bin_dir / "vigil", "db", "upgrade"], env=env, check=True, capture_output=True)
        data = Path(tmp) / "posts.jsonl"
        write_posts(data, args.posts)
        subprocess.run([bin_dir / "vigil", "ingest", str(data), "--country", "AM", "--source", "bench",
                        "--no-classify"], env=env, check=True, capture_output=True)
        worker = subprocess.Popen([bin_dir / "celery", "-A", "workers.app", "worker", "-Q", "vigil",
                                   f"--concurrency={args.concurrency}", "--loglevel=WARNING"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engine = create_engine(url)
        try:
            for _ in range(30):  # until the worker answers
                ping = subprocess.run([bin_dir / "celery", "-A", "workers.app", "inspect", "ping", "--timeout", "2"],
                                      env=env, capture_output=True)
                if ping.returncode == 0:
                    break
            else:
                sys.exit("the worker did not start")
            start = time.perf_counter()
            subprocess.run([bin_dir / "vigil", "reclassify"], env=env, check=True, capture_output=True)
            marks: dict[str, float] = {}
            while True:
                with Session(engine) as session:
                    classified, hostile = session.execute(select(
                        func.count(), func.count().filter(Classification.antisemitic.is_(True)))).one()
                    counted = session.execute(select(Rollup.posts, Rollup.antisemitic).where(
                        Rollup.country == "AM", Rollup.category == "*", Rollup.trigger == "*")).one_or_none()
                now = time.perf_counter() - start
                if classified == args.posts:
                    marks.setdefault("classified", now)
                # The rollup holds every post and every antisemitic one (a post not yet classified counts in its
                # volume only, so the volume alone would be complete before classification is).
                if classified == args.posts and counted and tuple(counted) == (args.posts, hostile):
                    marks.setdefault("counted", now)
                # acks_late: a task being run stays in kombu's "unacked" hash until it ends
                if "counted" in marks and queue.llen("vigil") == 0 and queue.hlen("unacked") == 0:
                    marks.setdefault("drained", now)
                    break
                if now > 3600:
                    sys.exit(f"gave up after an hour: {classified:,} classified, rollup {counted}")
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.communicate(timeout=60)
            engine.dispose()
        print(f"{args.posts:,} posts of one country-day, {args.concurrency} worker processes:")
        for name, label in (("classified", "every post classified"),
                            ("counted", "the day's rollup agrees with every classification"),
                            ("drained", "queue empty (recomputes and spike checks done)")):
            print(f"  {label}: {marks[name]:.1f} s = {args.posts / marks[name]:,.0f} posts/s")


if __name__ == "__main__":
    main()
