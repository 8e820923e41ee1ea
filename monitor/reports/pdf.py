"""The report as PDF: the HTML with data: URI charts, laid out for A4 by WeasyPrint."""

from __future__ import annotations

from monitor.reports.model import WeeklyReport
from monitor.reports.render import Chart, render_charts, render_html

# Print rules the mail HTML cannot carry: page size, running footer, no breaks inside rows or charts.
PRINT_CSS = """
@page {
  size: A4;
  margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: "Vigil weekly report"; font: 8pt Arial, Helvetica, sans-serif; color: #444; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font: 8pt Arial, Helvetica, sans-serif;
                  color: #444; }
}
body { padding: 0 !important; }
h2, h3 { break-after: avoid; }
tr, img, blockquote { break-inside: avoid; }
a { text-decoration: none; }
"""


def render_pdf(report: WeeklyReport, charts: dict[str, Chart] | None = None) -> bytes:
    """The report as PDF bytes; pass charts already rendered to reuse them."""
    from weasyprint import CSS, HTML  # imported here: it loads Pango, which only this format needs
    from weasyprint.urls import URLFetcher

    html = render_html(report, charts=charts if charts is not None else render_charts(report), embed="data")
    # Only data: URIs are fetched: the document needs nothing else, and nothing in it may reach out.
    fetcher = URLFetcher(allowed_protocols=["data"])
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[CSS(string=PRINT_CSS)])
