"""Render a weekly report as one self-contained HTML document (inline CSS, charts as data URIs)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from monitor.reports.charts import trend_alt_text, trend_png
from monitor.reports.formats import FILTERS
from monitor.reports.model import WeeklyReport

TEMPLATE = "weekly.html.j2"


@dataclass(frozen=True)
class ChartImage:
    """A chart ready for an <img>: its data URI and alt text."""

    src: str
    alt: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # autoescape=True, not select_autoescape(): the template ends in .j2, which select_autoescape would
    # leave unescaped, and post texts are hostile.
    env = Environment(
        loader=PackageLoader("monitor.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_charts(report: WeeklyReport) -> dict[str, ChartImage]:
    """The trend chart of each country of the report, keyed by country."""
    charts = {}
    for country in report.countries:
        png = base64.b64encode(trend_png(country.country, country.trend)).decode("ascii")
        alt = trend_alt_text(country.country, country.trend)
        charts[country.country] = ChartImage(f"data:image/png;base64,{png}", alt)
    return charts


def render_html(report: WeeklyReport, model_version: str | None = None, charts: bool = True) -> str:
    """The report as HTML; model_version overrides the versions read from the week's classifications."""
    versions = [model_version] if model_version else report.model_versions
    return _environment().get_template(TEMPLATE).render(
        report=report,
        charts=render_charts(report) if charts else {},
        model_versions=versions,
    )
