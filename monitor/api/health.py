"""Health for load balancers, container checks and the on-call engineer: no token, no posts, only states and
how far the workers are behind."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import structlog
from fastapi import APIRouter, Request, Response
from kombu import Connection
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from monitor import rollups

log = structlog.get_logger(__name__)

router = APIRouter(tags=["health"])

State = Literal["ok", "error", "in_process"]
# The broker check's limit. The database check is bounded by the engine's connect timeout (10 s on PostgreSQL,
# monitor/db.py): a server that accepts and never answers stalls the connect, which nothing here can cut short.
TIMEOUT_S = 2


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]  # down: no database (503); degraded: the broker is away
    database: State
    broker: State  # in_process: the embedded default's in-memory broker, nothing to reach
    # Tasks waiting in the workers' queue: a number that keeps growing means too few workers, or none.
    # None when the broker is in process or away.
    queued: int | None = None
    # Seconds since the oldest country-day whose rollups still lag behind its classifications was marked (0: none
    # lags); minutes here mean recomputes are not keeping up. None when the database is away.
    rollups_behind_s: float | None = None


def _database(request: Request) -> tuple[State, float | None]:
    """The database's state (SELECT 1, in a session of its own closed at once: not the request's `Db`, whose
    failure would be a 500) and how far the rollups are behind (None when that cannot be read, e.g. a schema not
    yet migrated: the API still serves, so that alone is no 503)."""
    try:
        with request.app.state.sessions() as session:
            session.execute(select(1))
            try:
                behind = rollups.lag_seconds(session, dt.datetime.now(dt.timezone.utc))
            except SQLAlchemyError as exc:
                log.warning("health_rollup_lag_unreadable", error=type(exc).__name__)
                behind = None
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, named in the log
        log.warning("health_database_error", error=type(exc).__name__)
        return "error", None
    return "ok", behind


def _broker(request: Request) -> tuple[State, int | None]:
    """The broker's state and the number of tasks waiting in the workers' queue."""
    from workers.app import queue_length

    settings = request.app.state.settings
    if settings.embedded:
        return "in_process", None
    # Timeouts on the connect and on every read, so a broker that accepts and never answers fails the check.
    options = {"socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S, "max_retries": 0}
    try:
        with Connection(settings.broker_url, connect_timeout=TIMEOUT_S, transport_options=options) as connection:
            connection.ensure_connection(max_retries=0, timeout=TIMEOUT_S)  # connects and, on Redis, pings
            queued = queue_length(connection)
    except Exception as exc:  # noqa: BLE001
        log.warning("health_broker_error", error=type(exc).__name__)
        return "error", None
    return "ok", queued


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request, response: Response) -> Health:
    """Whether the API reaches its database and the workers' broker, with the tasks queued for the workers and how
    far the rollups are behind. 200 when the database answers (the API serves without the broker: only queued work
    waits), 503 when it does not."""
    (database, behind), (broker, queued) = _database(request), _broker(request)
    if database != "ok":
        response.status_code = 503
        status = "down"
    else:
        status = "ok" if broker != "error" else "degraded"
    return Health(status=status, database=database, broker=broker, queued=queued, rollups_behind_s=behind)
