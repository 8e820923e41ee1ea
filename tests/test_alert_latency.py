"""Latency: with a real worker and a real beat (schedule shortened), an alert is raised within one
beat cycle of the posts that cause it being classified."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from email.utils import format_datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from monitor.models import Alert, Classification, Rollup
from monitor.sources.registry import add_source
from tests.test_pipeline_e2e import _wait, celery_worker, e2e_db, worker_env  # noqa: F401

pytestmark = pytest.mark.slow

BEAT_SPIKE_S = 10
HOSTILE = [
    "Jewish money runs our government, that is why nobody stops the drone deal with Baku.",
    "Every Jew in Gyumri shares the guilt for the Israeli drones Azerbaijan used near Shushi.",
    "The jews sold Baku the drones and every jew here should pay for it.",
]
NEUTRAL = ["Snow is expected in the hills near Gyumri over the weekend.",
           "The new metro timetable starts on Monday, check the changes."]


def _feed(now: dt.datetime) -> str:
    texts = HOSTILE * 8 + NEUTRAL * 6
    items = "".join(
        f"<item><title>Post {i}</title><guid>lat-{i}</guid>"
        f"<pubDate>{format_datetime(now - dt.timedelta(minutes=1 + i % 50))}</pubDate>"
        f"<description>{t}</description></item>"
        for i, t in enumerate(texts)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><language>en</language>{items}</channel></rss>'


@pytest.fixture
def beat(worker_env, tmp_path):
    env = dict(worker_env, VIGIL_BEAT_POLL_SECONDS="2", VIGIL_BEAT_SPIKE_SECONDS=str(BEAT_SPIKE_S))
    log = open(tmp_path / "beat.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel=INFO",
                             f"--schedule={tmp_path / 'beat-schedule'}"], env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_alert_within_one_beat_cycle(http_server, e2e_db, celery_worker, beat, tmp_path):  # noqa: F811
    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    engine = create_engine(e2e_db)
    with Session(engine) as session, session.begin():
        for back in range(1, 29):  # four quiet weeks: about 1 % of 100 daily posts antisemitic
            session.add(Rollup(country="AM", day=today - dt.timedelta(days=back), category="*", trigger="*",
                               posts=100, antisemitic=back % 3))
        add_source(session, name="latency-feed", kind="rss", locator=http_server.url("feed.xml"),
                   country="AM", poll_interval_s=60)
    (http_server.root / "feed.xml").write_text(_feed(now), encoding="utf-8")

    def alert():
        with Session(engine) as session:
            return session.scalar(select(Alert).where(Alert.country == "AM", Alert.kind == "spike"))

    assert _wait(lambda: alert() is not None, timeout_s=120), (
        (tmp_path / "worker.log").read_text()[-3000:] + (tmp_path / "beat.log").read_text()[-1500:])
    with Session(engine) as session:
        classified_at = session.scalar(select(func.max(Classification.classified_at)))
        hostile = session.scalar(select(func.count()).select_from(Classification)
                                 .where(Classification.antisemitic.is_(True)))
    raised = alert()
    assert hostile >= 12
    assert raised.started_on in (today, today - dt.timedelta(days=1))  # posts a few minutes old may fall before midnight
    delay = (raised.created_at - classified_at).total_seconds()
    assert delay < BEAT_SPIKE_S, f"alert raised {delay:.1f} s after classification"
    engine.dispose()
