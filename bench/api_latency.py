"""Latency of the trend and post-list endpoints with 10 million posts, measured by wrk against `vigil serve`.

    .venv/bin/python bench/api_latency.py [--posts 10000000] [--duration 20] [--connections 4] [--workers 1]
                                          [--before 0006] [--explain] [--keep]
                                          [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a scratch database, migrates it, and COPYs in synthetic posts (30 countries of uneven size, two
years, three sources each, short texts of the project's own words), their classifications (5 % antisemitic,
seven categories, some triggers) and the rollups they make (counted with monitor.rollups.count_cells as
the rows are generated), then VACUUM ANALYZE. Starts the real server (`vigil serve`) on 127.0.0.1 with
an analyst token and no rate limit, and runs `wrk` (Debian's package; a Lua script varies the country,
dates, category and cursor per request) against each endpoint: p50/p95/p99 and requests/s. Targets:
trends p95 < 100 ms, post list p95 < 200 ms. `--before REV` first measures at migration REV, then
upgrades to head and measures again; `--explain` prints EXPLAIN ANALYZE of the SQL the endpoints run.
Drops the database at the end, also on failure (unless --keep).

One server process is saturated at 2-4 connections (it is the Python work per request, not the queries,
that dominates), so more connections only add queueing: latency ~ connections / throughput. Keep
--workers 1 unless uvicorn sets TCP_NODELAY with --workers N (uvicorn 0.54 does not: its supervisor binds
the socket with proto 0, so asyncio leaves Nagle on and every keep-alive request waits ~40 ms for the
client's delayed ACK; Kludex/uvicorn#3149).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import psycopg
from alembic import command
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from migrations import alembic_config
from monitor.rollups import count_cells

COUNTRIES = ("AM", "AZ", "GE", "IL", "DE", "FR", "PL", "IT", "ES", "NL", "BE", "AT", "CH", "CZ", "HU",
             "RO", "BG", "GR", "TR", "UA", "LT", "LV", "EE", "SE", "NO", "DK", "FI", "GB", "IE", "PT")
CATEGORIES = ("conspiracy", "dehumanization", "holocaust_denial", "collective_blame", "dual_loyalty",
              "classic_tropes", "delegitimization")
TRIGGERS = ("gaza_war", "israel_azerbaijan_ties", "nagorno_karabakh", "israel_armenia_relations",
            "iran_israel_conflict", "holocaust_remembrance", "attacks_on_jewish_sites", "covid_pandemic")
KINDS = ("rss", "mastodon", "file")
WORDS = ["the", "market", "in", "town", "opened", "early", "today", "while", "drivers", "waited", "on", "the",
         "bridge", "and", "students", "talked", "about", "the", "concert", "the", "football", "match", "the",
         "weather", "new", "prices", "of", "bread", "a", "long", "queue", "at", "the", "station", "the", "city",
         "council", "voted", "on", "the", "park", "river", "flooded", "again", "after", "rain", "festival",
         "tickets", "sold", "out", "within", "hours"]
FIRST_DAY = dt.date(2024, 1, 1)
DAYS = 730
HOSTILE_SHARE = 0.05
CLASSIFIED_SHARE = 0.99
CHUNK = 100_000
TARGETS_MS = {"trends": 100, "posts": 200}


# --- data -------------------------------------------------------------------------------------------------

def country_weights() -> np.ndarray:
    """Uneven country sizes, as in reality: the largest about 13 %, the smallest about 1 %."""
    w = 1 / np.arange(1, len(COUNTRIES) + 1) ** 0.8
    return w / w.sum()


def trigger_sets(rng: random.Random) -> list[tuple[tuple[str, ...], str, float]]:
    """(triggers, their JSON, probability): most posts none, some one, a few two."""
    sets = [((), "[]", 0.82)]
    sets += [((t,), json.dumps([t]), 0.15 / len(TRIGGERS)) for t in TRIGGERS]
    pairs = [(a, b) for i, a in enumerate(TRIGGERS) for b in TRIGGERS[i + 1:]]
    sets += [(p, json.dumps(list(p)), 0.03 / len(pairs)) for p in pairs]
    return sets


def make_sources(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Three sources per country; returns country -> [(source id, kind)]."""
    from monitor.models import Source

    out: dict[str, list[tuple[int, str]]] = {}
    for cc in COUNTRIES:
        for kind in KINDS:
            src = Source(name=f"bench-{cc}-{kind}", kind=kind, locator=f"https://example.org/{cc}/{kind}",
                         country=cc, language="en")
            session.add(src)
            session.flush()
            out.setdefault(cc, []).append((src.id, kind))
    return out


def generate(conn_url: str, posts: int, sources: dict[str, list[tuple[int, str]]], seed: int = 1,
             days: int = DAYS) -> dict:
    """COPY `posts` posts over `days` days, their classifications and rollups; ids grow with published_at, as when
    ingested."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))) for _ in range(4096)]
    authors = [f"{rng.getrandbits(256):064x}" for _ in range(20_000)]
    day_str = [(FIRST_DAY + dt.timedelta(days=d)).isoformat() + " " for d in range(days)]
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86400)]
    sets = trigger_sets(rng)
    set_p = np.array([p for *_, p in sets])
    weights = country_weights()
    step = days * 86400 / posts
    cells_of_day: dict[str, list] = {cc: [] for cc in COUNTRIES}
    rollup_lines: list[str] = []
    current_day = 0
    cls_id = 0
    t0 = time.perf_counter()

    def flush_day(d: int) -> None:
        for cc, rows in cells_of_day.items():
            if rows:
                day = day_str[d].strip()
                rollup_lines.extend(f"{cc}\t{day}\t{cat}\t{trig}\t{n}\t{a}\t{day} 23:59:59+00\n"
                                    for (cat, trig), (n, a) in count_cells(rows).items())
                rows.clear()

    with psycopg.connect(conn_url, autocommit=True) as pc, psycopg.connect(conn_url, autocommit=True) as cc_conn:
        for c in (pc, cc_conn):
            c.execute("SET synchronous_commit = off")
        cc_conn.execute("SET session_replication_role = replica")  # skip the FK check: ids match by construction
        p_cur, c_cur = pc.cursor(), cc_conn.cursor()
        p_copy_stmt = ("COPY posts (id, source_id, external_id, url, title, text, language, country, published_at, "
                       "collected_at, author_pseudonym, content_hash) FROM STDIN")
        c_copy_stmt = ("COPY classifications (id, post_id, model_version, antisemitic, score, category, triggers, "
                       "language_covered, classified_at) FROM STDIN")
        with p_cur.copy(p_copy_stmt, writer=QueuedLibpqWriter(p_cur)) as p_copy, \
                c_cur.copy(c_copy_stmt, writer=QueuedLibpqWriter(c_cur)) as c_copy:
            for start in range(0, posts, CHUNK):
                n = min(CHUNK, posts - start)
                country = nrng.choice(len(COUNTRIES), n, p=weights).tolist()
                kind = nrng.integers(0, len(KINDS), n).tolist()
                text_i = nrng.integers(0, len(texts), n).tolist()
                author = nrng.integers(0, len(authors), n).tolist()
                classified = (nrng.random(n) < CLASSIFIED_SHARE).tolist()
                hostile = (nrng.random(n) < HOSTILE_SHARE).tolist()
                category = nrng.integers(0, len(CATEGORIES), n).tolist()
                trig = nrng.choice(len(sets), n, p=set_p).tolist()
                score = nrng.random(n).tolist()
                p_lines, c_lines = [], []
                for j in range(n):
                    pid = start + j + 1
                    sec = int((start + j) * step)
                    d, s = divmod(sec, 86400)
                    if d != current_day:
                        flush_day(current_day)
                        current_day = d
                    ts = day_str[d] + clock[s]
                    cc = COUNTRIES[country[j]]
                    src, _ = sources[cc][kind[j]]
                    p_lines.append(f"{pid}\t{src}\t{pid}\thttps://example.org/p/{pid}\t\\N\t{texts[text_i[j]]}\ten\t"
                                   f"{cc}\t{ts}\t{ts}\t{authors[author[j]]}\t{pid:064x}\n")
                    if not classified[j]:
                        cells_of_day[cc].append((None, None, None))
                        continue
                    cls_id += 1
                    triggers, trig_json, _ = sets[trig[j]]
                    bad = hostile[j]
                    cat = CATEGORIES[category[j]] if bad else "none"
                    sc = 0.5 + score[j] / 2 if bad else score[j] / 2
                    c_lines.append(f"{cls_id}\t{pid}\tbench-1\t{'t' if bad else 'f'}\t{sc:.4f}\t{cat}\t{trig_json}\t"
                                   f"t\t{ts}\n")
                    cells_of_day[cc].append((bad, cat, triggers))
                p_copy.write("".join(p_lines).encode())
                c_copy.write("".join(c_lines).encode())
                done = start + n
                if done % (CHUNK * 10) == 0 or done == posts:
                    print(f"  generated {done:,} posts ({done / (time.perf_counter() - t0):,.0f}/s)", flush=True)
            flush_day(current_day)
        with p_cur.copy("COPY rollups (country, day, category, trigger, posts, antisemitic, computed_at) "
                        "FROM STDIN") as r_copy:
            r_copy.write("".join(rollup_lines).encode())
        for table in ("posts", "classifications"):
            pc.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return {"posts": posts, "classifications": cls_id, "rollups": len(rollup_lines),
            "seconds": time.perf_counter() - t0}


# --- server and load --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(db_url: str, workers: int):
    """`vigil serve` on a free loopback port, with bench secrets and no rate limit; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATABASE_URL=db_url, VIGIL_PSEUDONYM_KEY="bench-pseudonym-key-0123456789abcdef",
               VIGIL_SESSION_SECRET="bench-session-secret-0123456789abcdef", VIGIL_API_RATE_LIMIT_PER_MINUTE="0",
               VIGIL_LOG_LEVEL="WARNING")
    vigil = str(Path(sys.executable).with_name("vigil"))
    proc = subprocess.Popen([vigil, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"vigil serve exited: {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("vigil serve did not answer within a minute")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


LUA = r"""
local countries = {%(countries)s}
local categories = {%(categories)s}
local scenario, token = "%(scenario)s", "%(token)s"
local first_day, days, posts = %(first_epoch)d, %(days)d, %(posts)d
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  headers = {["Authorization"] = "Bearer " .. token}
end

local function day(n) return os.date("!%%Y-%%m-%%d", first_day + n * 86400) end

function request()
  local cc = countries[math.random(#countries)]
  local path
  if scenario:sub(1, 6) == "trends" then
    local e = math.random(89, days - 1)
    path = "/api/v1/trends?country=" .. cc .. "&start=" .. day(e - 89) .. "&end=" .. day(e) .. "&resolution=day"
    if scenario == "trends_category" then path = path .. "&category=" .. categories[math.random(#categories)] end
  else
    path = "/api/v1/posts?country=" .. cc .. "&limit=50"
    if scenario:find("filtered") then
      path = path .. "&antisemitic=true&category=" .. categories[math.random(#categories)]
    end
    if scenario:find("deep") then
      path = path .. "&cursor=" .. math.random(math.floor(posts * 0.1), math.floor(posts * 0.5))
    end
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""

SCENARIOS = (
    ("trends", "GET /trends?country=XX&start&end (90 days)&resolution=day"),
    ("trends_category", "GET /trends ... &category=C"),
    ("posts", "GET /posts?country=XX&limit=50 (first page)"),
    ("posts_deep", "GET /posts?country=XX&limit=50&cursor=(10-50 % of ids)"),
    ("posts_filtered", "GET /posts ... &antisemitic=true&category=C (first page)"),
    ("posts_filtered_deep", "GET /posts ... &antisemitic=true&category=C&cursor=(10-50 %)"),
)


def run_wrk(base: str, token: str, scenario: str, posts: int, seconds: int, connections: int) -> dict:
    """One wrk run; latencies in ms."""
    lua = LUA % {"countries": ", ".join(f'"{c}"' for c in COUNTRIES),
                 "categories": ", ".join(f'"{c}"' for c in CATEGORIES), "scenario": scenario, "token": token,
                 "first_epoch": int(dt.datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day,
                                                tzinfo=dt.UTC).timestamp()),
                 "days": DAYS, "posts": posts}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                              "-s", script.name, base], check=True, capture_output=True, text=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    reqs, dur_us, p50, p95, p99, mx, status_errors, socket_errors = map(int, line.split()[1:])
    return {"requests": reqs, "rps": reqs / (dur_us / 1e6), "p50": p50 / 1e3, "p95": p95 / 1e3, "p99": p99 / 1e3,
            "max": mx / 1e3, "non_2xx": status_errors, "socket_errors": socket_errors}


def check_responses(base: str, token: str, posts: int) -> None:
    """One request of each kind answers 200 with rows of the country asked for, so the load measures real work."""
    h = {"Authorization": f"Bearer {token}"}
    t = httpx.get(f"{base}/api/v1/trends", headers=h, timeout=30,
                  params={"country": "DE", "start": "2024-06-01", "end": "2024-08-29", "resolution": "day"})
    assert t.status_code == 200 and t.json()["points"], t.text[:500]
    for params in ({}, {"cursor": posts // 4}, {"antisemitic": "true", "category": "conspiracy"},
                   {"antisemitic": "true", "category": "conspiracy", "cursor": posts // 4}):
        page = httpx.get(f"{base}/api/v1/posts", headers=h, timeout=30, params={"country": "DE", "limit": 50, **params})
        items = page.json()["items"] if page.status_code == 200 else None
        assert items and all(p["country"] == "DE" for p in items), (params, page.text[:500])


def measure(base: str, token: str, posts: int, seconds: int, connections: int, label: str) -> list[dict]:
    check_responses(base, token, posts)
    print(f"\n{label}: wrk, {connections} connections, {seconds} s per endpoint after a 3 s warm-up")
    print(f"  {'endpoint':<74} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'req/s':>7}  target")
    results = []
    for scenario, title in SCENARIOS:
        run_wrk(base, token, scenario, posts, 3, connections)
        r = run_wrk(base, token, scenario, posts, seconds, connections)
        target = TARGETS_MS["trends" if scenario.startswith("trends") else "posts"]
        verdict = "ok" if r["p95"] < target else "MISSED"
        errors = f"  ({r['non_2xx']} non-2xx, {r['socket_errors']} socket errors)" if r["non_2xx"] or \
            r["socket_errors"] else ""
        print(f"  {title:<74} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {r['max']:>7.1f} "
              f"{r['rps']:>7.0f}  p95<{target} ms {verdict}{errors}", flush=True)
        results.append({"scenario": scenario, **r})
    return results


# --- EXPLAIN ----------------------------------------------------------------------------------------------

def explain(db_url: str, posts: int) -> None:
    """EXPLAIN ANALYZE the statements the routers send, captured from their own query functions."""
    from monitor.api.deps import Principal
    from monitor.api.posts import find_posts
    from monitor.api.trends import trend_points

    engine = create_engine(db_url)
    seen: list[tuple[str, dict]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, stmt, params, ctx, many: seen.append((stmt, params)))
    analyst = Principal(0, "bench", "analyst", None)
    cases = [
        ("trends PT 90 days", lambda s: trend_points(s, ["PT"], dt.date(2024, 6, 1), dt.date(2024, 8, 29))),
        ("posts PT first page", lambda s: find_posts(s, analyst, country="PT")),
        ("posts PT deep", lambda s: find_posts(s, analyst, country="PT", cursor=posts // 4)),
        ("posts PT antisemitic conspiracy", lambda s: find_posts(s, analyst, country="PT", antisemitic=True,
                                                                 category="conspiracy")),
        ("posts PT antisemitic conspiracy deep", lambda s: find_posts(s, analyst, country="PT", antisemitic=True,
                                                                      category="conspiracy", cursor=posts // 4)),
    ]
    for title, run in cases:
        with Session(engine) as session:
            seen.clear()
            run(session)
            stmt, params = seen[0]
            plan = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).scalars()
            print(f"\n-- {title}\n" + "\n".join(plan))
    engine.dispose()


# --- main -------------------------------------------------------------------------------------------------

@contextmanager
def scratch_database(admin_url: str, keep: bool):
    name = f"vigil_bench_api_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"\nkept database {name}; drop it with: psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE {name}'")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def vacuum_analyze(url: str) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) posts, classifications, rollups, sources")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=10_000_000)
    ap.add_argument("--duration", type=int, default=20, help="seconds of load per endpoint")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1, help="`vigil serve --workers` (see above before raising it)")
    ap.add_argument("--before", metavar="REV", help="measure at this migration first, then at head")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the endpoints' queries")
    ap.add_argument("--keep", action="store_true", help="keep the database (for EXPLAIN by hand)")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    from monitor.tokens import create_token

    with scratch_database(args.pg_url, args.keep) as url:
        psycopg_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        cfg = alembic_config(url)
        command.upgrade(cfg, args.before or "head")
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            sources = make_sources(session)
            _, token = create_token(session, "bench", "analyst")
        engine.dispose()
        print(f"generating {args.posts:,} posts over {DAYS} days in {len(COUNTRIES)} countries with COPY ...")
        made = generate(psycopg_url, args.posts, sources)
        print(f"  {made['posts']:,} posts, {made['classifications']:,} classifications, {made['rollups']:,} rollups "
              f"in {made['seconds']:.0f} s ({made['posts'] / made['seconds']:,.0f} posts/s)")
        print(f"  VACUUM ANALYZE: {vacuum_analyze(psycopg_url):.0f} s")
        revisions = [args.before, "head"] if args.before else ["head"]
        for rev in revisions:
            if rev == "head" and args.before:
                t0 = time.perf_counter()
                command.upgrade(cfg, "head")
                print(f"\nalembic upgrade head (the new indexes on {args.posts:,} posts): "
                      f"{time.perf_counter() - t0:.0f} s")
                print(f"  VACUUM ANALYZE: {vacuum_analyze(psycopg_url):.0f} s")
            if args.explain:
                explain(url, args.posts)
            with running_server(url, args.workers) as base:
                measure(base, token, args.posts, args.duration, args.connections,
                        f"at migration {rev}, {args.posts:,} posts, vigil serve --workers {args.workers}")


if __name__ == "__main__":
    main()
