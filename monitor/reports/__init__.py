"""Weekly trend reports: build a report model from the database, render it as HTML, write it to a file."""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy.orm import Session

from monitor.reports.model import WeeklyReport, build_weekly_report
from monitor.reports.render import render_html

__all__ = ["WeeklyReport", "build_weekly_report", "render_html", "write_report"]

log = structlog.get_logger(__name__)


def write_report(session: Session, iso_week: str, countries: list[str] | None, path: str | Path) -> Path:
    """Build and render the report of `iso_week`; write it to `path` (a directory gets a named file)."""
    html = render_html(build_weekly_report(session, iso_week, countries))
    target = Path(path)
    if target.is_dir():
        target = target / f"vigil-weekly-{iso_week}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    log.info("weekly_report.written", iso_week=iso_week, path=str(target), bytes=len(html))
    return target
