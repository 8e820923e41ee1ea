"""Health for load balancers, container checks and the on-call engineer: no token, no data, only states."""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Request, Response
from kombu import Connection
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from monitor.api.deps import get_session

log = structlog.get_logger(__name__)

router = APIRouter(tags=["health"])

State = Literal["ok", "error", "in_process"]


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]  # down: no database (503); degraded: the broker is away
    database: State
    broker: State  # in_process: the embedded default's in-memory broker, nothing to reach


def _database(session: Session) -> State:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, named in the log
        log.warning("health_database_error", error=type(exc).__name__)
        session.rollback()
        return "error"
    return "ok"


def _broker(request: Request) -> State:
    settings = request.app.state.settings
    if settings.embedded:
        return "in_process"
    try:
        with Connection(settings.broker_url, connect_timeout=2) as connection:  # the workers' transport, as Celery's
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        log.warning("health_broker_error", error=type(exc).__name__)
        return "error"
    return "ok"


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request, response: Response, session: Annotated[Session, Depends(get_session)]) -> Health:
    """Whether the API reaches its database and the workers' broker. 200 when the database answers (the API
    serves without the broker: only queued work waits), 503 when it does not."""
    database, broker = _database(session), _broker(request)
    if database != "ok":
        response.status_code = 503
        status = "down"
    else:
        status = "ok" if broker != "error" else "degraded"
    return Health(status=status, database=database, broker=broker)
