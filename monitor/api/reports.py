"""Report runs and their files; a country-scoped token sees only the runs about its country alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select

from monitor.api.deps import Db, Principal, Viewer
from monitor.api.errors import forbidden, not_found
from monitor.models import ReportRun

router = APIRouter(tags=["reports"])


class ReportRunOut(BaseModel):
    id: int
    scope: str
    iso_week: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    attempts: int
    has_file: bool


class ReportRunPage(BaseModel):
    items: list[ReportRunOut]
    next_cursor: int | None


def visible_runs(principal: Principal):
    """The runs a token may see: all for a global one, else those whose report covers its country alone (as
    rendered: a subscriber who follows other countries since then does not move their old reports)."""
    query = select(ReportRun)
    if principal.country:
        query = query.where(ReportRun.countries == principal.country)
    return query


def run_out(run: ReportRun) -> ReportRunOut:
    return ReportRunOut(id=run.id, scope=run.scope, iso_week=run.iso_week, status=run.status,
                        started_at=run.started_at, finished_at=run.finished_at, attempts=run.attempts,
                        has_file=bool(run.path))


@router.get("/reports", response_model=ReportRunPage)
def list_runs(request: Request, session: Db, principal: Viewer,
              iso_week: Annotated[str | None, Query(max_length=8)] = None,
              cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> ReportRunPage:
    """Report runs, newest first."""
    limit = min(limit, request.app.state.settings.api_page_size_max)
    query = visible_runs(principal).order_by(ReportRun.id.desc()).limit(limit)
    if iso_week:
        query = query.where(ReportRun.iso_week == iso_week)
    if cursor is not None:
        query = query.where(ReportRun.id < cursor)
    runs = list(session.scalars(query))
    return ReportRunPage(items=[run_out(r) for r in runs], next_cursor=runs[-1].id if len(runs) == limit else None)


@router.get("/reports/{run_id}/file", response_class=FileResponse,
            responses={200: {"content": {"application/pdf": {}, "text/html": {}}}})
def run_file(request: Request, session: Db, principal: Viewer,
             run_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> FileResponse:
    """The rendered report of a run (HTML or PDF), when it is still in the data directory."""
    run = session.get(ReportRun, run_id)
    if run is None:
        raise not_found("report run")
    if principal.country and run.countries != principal.country:
        raise forbidden(f"this token is limited to {principal.country}")
    if not run.path:
        raise not_found("report file")
    path = FilePath(run.path).resolve()
    root = request.app.state.settings.data_dir.resolve()
    if not path.is_relative_to(root) or not path.is_file():  # the database never points us elsewhere
        raise not_found("report file")
    return FileResponse(path, filename=path.name)
