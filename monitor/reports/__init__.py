"""Weekly trend reports: build a report model from the database, render it as HTML, PDF or CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.orm import Session

from monitor.reports.export import render_csv
from monitor.reports.methodology import read_model_card
from monitor.reports.model import WeeklyReport, build_weekly_report
from monitor.reports.pdf import render_pdf
from monitor.reports.render import Chart, render_charts, render_html

__all__ = ["FORMATS", "RenderedReport", "WeeklyReport", "build_weekly_report", "render_all", "render_charts",
           "render_csv", "render_html", "render_pdf", "render_report", "write_report"]

log = structlog.get_logger(__name__)

FORMATS = ("html", "pdf", "csv")


def render_report(report: WeeklyReport, fmt: str) -> bytes:
    """The report in one of FORMATS, as the bytes of its file."""
    if fmt == "html":
        return render_html(report).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(report)
    if fmt == "csv":
        return render_csv(report).encode("utf-8")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")


def write_report(
    session: Session, iso_week: str, countries: list[str] | None, path: str | Path, fmt: str = "html",
    model_dir: Path | None = None,
) -> Path:
    """Build and render the report of `iso_week`; write it to `path` (a directory gets a named file)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    report = build_weekly_report(session, iso_week, countries, model_card=read_model_card(model_dir))
    data = render_report(report, fmt)
    target = Path(path)
    if target.is_dir():
        target = target / f"vigil-weekly-{iso_week}.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    log.info("weekly_report.written", iso_week=iso_week, path=str(target), format=fmt, bytes=len(data))
    return target


@dataclass(frozen=True)
class RenderedReport:
    """A report in every format, its charts rendered once for all of them."""

    report: WeeklyReport
    charts: dict[str, Chart]
    html: str  # self-contained: charts as data: URIs
    pdf: bytes
    csv: str


def render_all(
    session: Session, iso_week: str, countries: list[str] | None, model_dir: Path | None = None
) -> RenderedReport:
    """Build the report of `iso_week` and render it as HTML, PDF and CSV."""
    report = build_weekly_report(session, iso_week, countries, model_card=read_model_card(model_dir))
    charts = render_charts(report)
    return RenderedReport(report, charts, render_html(report, charts=charts), render_pdf(report, charts),
                          render_csv(report))
