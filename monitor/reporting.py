"""Report runs: claimed once per (scope, ISO week), rendered to a file, recorded with a checksum."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import insert_for
from monitor.models import ReportRun
from monitor.reports import write_report

log = structlog.get_logger(__name__)


def iso_week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_iso_week(today: dt.date) -> str:
    """The last complete ISO week before `today`."""
    return iso_week_of(today - dt.timedelta(days=7))


def scope_of(countries: list[str] | None) -> str:
    return "all" if not countries else "countries:" + ",".join(sorted(countries))


def claim_run(session: Session, iso_week: str, countries: list[str] | None) -> int | None:
    """Claim the run for (scope, week) by its unique key; None when another run has it or it is done.

    A run left in `error` is taken over again, so a retry after a failure renders it.
    """
    scope = scope_of(countries)
    now = dt.datetime.now(dt.timezone.utc)
    stmt = insert_for(session, ReportRun.__table__).values(
        scope=scope, iso_week=iso_week, status="working", started_at=now
    ).on_conflict_do_nothing(index_elements=["scope", "iso_week"]).returning(ReportRun.id)
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        return new_id
    run = session.scalar(select(ReportRun).where(ReportRun.scope == scope, ReportRun.iso_week == iso_week)
                         .with_for_update())
    if run is not None and run.status == "error":
        run.status, run.started_at, run.error = "working", now, None
        return run.id
    return None


def render_run(session: Session, run_id: int, out_dir: Path, countries: list[str] | None) -> ReportRun:
    """Render a claimed run's HTML report and record where it is and its checksum."""
    run = session.get(ReportRun, run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"vigil-report-{run.iso_week}-{run.scope.replace(':', '-').replace(',', '-')}.html"
    try:
        write_report(session, run.iso_week, countries, path)
    except Exception as exc:  # recorded on the run; the task's retry takes it over
        run.status, run.error = "error", f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = dt.datetime.now(dt.timezone.utc)
        log.exception("report_failed", run_id=run.id)
        return run
    run.status, run.path = "success", str(path)
    run.checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    run.finished_at = dt.datetime.now(dt.timezone.utc)
    log.info("report_rendered", run_id=run.id, iso_week=run.iso_week, path=str(path))
    return run
