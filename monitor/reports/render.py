"""Render a weekly report as one HTML document with inline CSS; charts as data: URIs or cid: references."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context

from monitor.reports.charts import trend_alt_text, trend_png
from monitor.reports.formats import FILTERS, label
from monitor.reports.model import WeeklyReport

TEMPLATE = "weekly.html.j2"


@dataclass(frozen=True)
class Chart:
    """A country's trend chart: PNG bytes, alt text, and the Content-ID it has in an e-mail."""

    country: str
    png: bytes
    alt: str

    @property
    def content_id(self) -> str:
        return f"trend-{self.country}@vigil.report"


@dataclass(frozen=True)
class ChartImage:
    """A chart ready for an <img>: its src (data: URI or cid:) and alt text."""

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
    env.filters["label"] = _report_label
    return env


@pass_context
def _report_label(context, identifier: str) -> str:
    """`label` with the trigger labels of the report being rendered (read from the taxonomy it was built with):
    one environment serves every render, so the labels come from the render's own context."""
    return label(identifier, triggers=context["report"].trigger_labels)


def render_charts(report: WeeklyReport) -> dict[str, Chart]:
    """The trend chart of each country of the report, keyed by country; render once, use in every format."""
    return {c.country: Chart(c.country, trend_png(c.country, c.trend), trend_alt_text(c.country, c.trend))
            for c in report.countries}


def _images(charts: dict[str, Chart], embed: str) -> dict[str, ChartImage]:
    if embed == "cid":
        return {k: ChartImage(f"cid:{c.content_id}", c.alt) for k, c in charts.items()}
    if embed == "data":
        return {k: ChartImage("data:image/png;base64," + base64.b64encode(c.png).decode("ascii"), c.alt)
                for k, c in charts.items()}
    raise ValueError(f"embed must be 'data' or 'cid', got {embed!r}")


def render_html(
    report: WeeklyReport,
    model_version: str | None = None,
    charts: bool | dict[str, Chart] = True,
    embed: str = "data",
) -> str:
    """The report as HTML; model_version overrides the versions read from the week's classifications.

    `charts` is True (render them), False (none) or charts already rendered; `embed` is "data" for a
    self-contained file or PDF, "cid" for an e-mail whose images are attached as related parts.
    """
    versions = [model_version] if model_version else report.model_versions
    if charts is True:
        charts = render_charts(report)
    env = _environment()
    return env.get_template(TEMPLATE).render(
        report=report,
        charts=_images(charts or {}, embed),
        model_versions=versions,
        card=report.model_card,
    )
