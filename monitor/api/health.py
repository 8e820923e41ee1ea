"""Health for load balancers, container checks and the on-call engineer: no token, no data, only states."""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, Request, Response
from kombu import Connection
from pydantic import BaseModel
from sqlalchemy import text

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


def _database(request: Request) -> State:
    """SELECT 1 in a session of its own, closed at once (not the request's `Db`, whose failure would be a 500)."""
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, named in the log
        log.warning("health_database_error", error=type(exc).__name__)
        return "error"
    return "ok"


def _broker(request: Request) -> State:
    settings = request.app.state.settings
    if settings.embedded:
        return "in_process"
    # Timeouts on the connect and on every read, so a broker that accepts and never answers fails the check.
    options = {"socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S, "max_retries": 0}
    try:
        with Connection(settings.broker_url, connect_timeout=TIMEOUT_S, transport_options=options) as connection:
            connection.ensure_connection(max_retries=0, timeout=TIMEOUT_S)  # connects and, on Redis, pings
    except Exception as exc:  # noqa: BLE001
        log.warning("health_broker_error", error=type(exc).__name__)
        return "error"
    return "ok"


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request, response: Response) -> Health:
    """Whether the API reaches its database and the workers' broker. 200 when the database answers (the API
    serves without the broker: only queued work waits), 503 when it does not."""
    database, broker = _database(request), _broker(request)
    if database != "ok":
        response.status_code = 503
        status = "down"
    else:
        status = "ok" if broker != "error" else "degraded"
    return Health(status=status, database=database, broker=broker)
