"""Throughput of `vigil ingest` for a 100,000-row JSONL file into PostgreSQL.

    .venv/bin/python bench/ingest_throughput.py [--rows 100000] [--pg-url postgresql+psycopg://postgres@127.0.0.1/postgres]

Creates a scratch database, migrates it, writes a JSONL file of synthetic posts (~200 characters,
the project's own words), runs the real `vigil ingest ... --no-classify` command in a subprocess,
prints its own figure and the wall-clock rate, runs it again to time the all-duplicates path,
and drops the database.
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

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

WORDS = ("the market in Yerevan opened early today while drivers waited on the bridge and "
         "students talked about the concert the football match the weather and new prices of bread").split()


def write_rows(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            words = " ".join(rng.choice(WORDS) for _ in range(34))
            fh.write(json.dumps({"id": f"b{i}", "text": words[:200], "author": f"user{i % 5000}",
                                 "published_at": f"2024-02-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                                 "lang": "en"}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=None, help="VIGIL_INGEST_BATCH_SIZE (default: Settings')")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    name = f"vigil_bench_{os.getpid()}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    vigil = str(Path(sys.executable).with_name("vigil"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATABASE_URL=url, VIGIL_PSEUDONYM_KEY="bench-key-0123456789abcdef0123")
    if args.batch_size:
        env["VIGIL_INGEST_BATCH_SIZE"] = str(args.batch_size)
    try:
        subprocess.run([vigil, "db", "upgrade"], env=env, check=True, capture_output=True)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "posts.jsonl"
            write_rows(data, args.rows)
            for label in ("new rows", "all duplicates"):
                t0 = time.perf_counter()
                out = subprocess.run([vigil, "ingest", str(data), "--country", "AM", "--source", "bench",
                                      "--no-classify"], env=env, check=True, capture_output=True, text=True)
                wall = time.perf_counter() - t0
                print(f"{label}: {out.stdout.strip()}")
                print(f"  wall clock incl. process start: {wall:.2f} s = {args.rows / wall:,.0f} rows/s")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
