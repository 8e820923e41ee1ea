"""End to end on the real servers: a `celery worker` process on Redis takes a feed served over HTTP
through polling, storage, classification and rollups into PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from email.utils import format_datetime

import pytest
import redis
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.models import Classification, Post, Rollup, Source
from monitor.sources.registry import add_source
from tests.conftest import migrated_database
from workers.app import create_app

pytestmark = pytest.mark.slow

ITEMS = [
    ("Cabinet approves budget amendments", "The government approved changes to the budget."),
    ("Central bank keeps rates on hold", "The key rate stays unchanged, the bank said."),
    ("Azerbaijan and Israel sign drone deal", "Baku signed a contract for Israeli drones, officials say."),
    ("Winter storm closes mountain roads", "Several roads were closed after heavy snowfall."),
]


def _feed() -> str:
    at = dt.datetime(2024, 2, 20, 8, tzinfo=dt.timezone.utc)
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example/{i}</link><guid>n-{i}</guid>"
        f"<pubDate>{format_datetime(at + dt.timedelta(hours=i))}</pubDate><description>{d}</description></item>"
        for i, (t, d) in enumerate(ITEMS)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>en</language>{items}</channel></rss>'


@pytest.fixture
def e2e_db(pg_admin_url):
    with migrated_database(pg_admin_url, "vigil_e2e") as url:
        yield url


@pytest.fixture
def worker_env(e2e_db, redis_url, tmp_path):
    redis.Redis.from_url(redis_url).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATABASE_URL=e2e_db, VIGIL_BROKER_URL=redis_url, VIGIL_RESULT_BACKEND=redis_url,
               VIGIL_PSEUDONYM_KEY="e2e-test-key-0123456789abcdef", VIGIL_DATA_DIR=str(tmp_path / "data"))
    return env


@pytest.fixture
def celery_worker(worker_env, tmp_path):
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", "solo", "-Q", "vigil",
         "--loglevel=INFO", "--without-mingle", "--without-gossip"],
        env=worker_env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait(predicate, timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_feed_to_classified_posts_through_a_real_worker(http_server, e2e_db, worker_env, celery_worker, tmp_path):
    (http_server.root / "feed.xml").write_text(_feed(), encoding="utf-8")
    engine = create_engine(e2e_db)
    with Session(engine) as session, session.begin():
        source_id = add_source(session, name="e2e-news", kind="rss", locator=http_server.url("feed.xml"),
                               country="AM", poll_interval_s=60).id
    client = create_app(Settings(broker_url=worker_env["VIGIL_BROKER_URL"],
                                 result_backend=worker_env["VIGIL_RESULT_BACKEND"]))

    def counts():
        with Session(engine) as session:
            posts = session.scalar(select(func.count()).select_from(Post))
            classified = session.scalar(select(func.count()).select_from(Classification))
            rolled = session.scalar(select(func.coalesce(func.sum(Rollup.posts), 0))
                                    .where(Rollup.category == "*", Rollup.trigger == "*"))
        return posts, classified, rolled

    client.send_task("workers.tasks.poll_due_sources")
    done = _wait(lambda: counts() == (len(ITEMS), len(ITEMS), len(ITEMS)))
    assert done, (counts(), (tmp_path / "worker.log").read_text()[-3000:])

    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source.last_success_at is not None and source.etag  # conditional GET state kept
        assert source.next_due_at > dt.datetime.now(dt.timezone.utc)
        versions = set(session.scalars(select(Classification.model_version)))
        assert len(versions) == 1 and next(iter(versions))
        deal = session.scalar(select(Post).where(Post.external_id == "n-2"))
        triggers = session.scalar(select(Classification.triggers).where(Classification.post_id == deal.id))
        assert "israel_azerbaijan_ties" in triggers
        post_ids = list(session.scalars(select(Post.id)))

    # Redelivery: the same poll and the same classification batch again change nothing.
    before = len(http_server.requests)
    client.send_task("workers.tasks.poll_source", args=[source_id]).get(timeout=60)
    client.send_task("workers.tasks.classify_posts", args=[post_ids]).get(timeout=60)
    assert counts() == (len(ITEMS), len(ITEMS), len(ITEMS))
    headers = http_server.requests[before][1]
    assert any(k.lower() == "if-none-match" for k in headers)  # the second poll was conditional
    engine.dispose()
