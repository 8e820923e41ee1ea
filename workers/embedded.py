"""An in-process Celery worker on the in-memory broker, for the embedded default and the demo."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from celery.contrib.testing.worker import start_worker

from monitor.config import Settings
from workers.app import QUEUE, queue_length


@contextmanager
def embedded_worker(app: Celery, settings: Settings) -> Iterator[None]:
    """Run the same tasks in a worker thread of this process: real Celery, no servers."""
    if not settings.embedded:
        raise RuntimeError("the embedded worker runs only with the in-memory broker (VIGIL_BROKER_URL unset)")
    app.conf.update(broker_url=settings.broker_url, result_backend=settings.result_backend)
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=120):
        yield


def queued_messages(app: Celery, queue: str = QUEUE) -> int:
    """Messages waiting in a queue of the app's broker (0 when it does not exist yet)."""
    with app.connection_for_write() as conn:
        return queue_length(conn, queue)


def wait_for(predicate, timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll `predicate` until it is true or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()
