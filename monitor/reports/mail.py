"""The report as an e-mail: HTML with inline CSS, charts as related CID parts, PDF and CSV attached.

multipart/mixed
  multipart/related
    text/html              <img src="cid:trend-AM@vigil.report">
    image/png              Content-ID: <trend-AM@vigil.report>
  application/pdf          vigil-weekly-2024-W07.pdf
  text/csv                 vigil-weekly-2024-W07.csv
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from monitor.reports.model import WeeklyReport
from monitor.reports.render import Chart, render_html


def report_subject(report: WeeklyReport) -> str:
    countries = ", ".join(c.country for c in report.countries) or "no countries"
    return f"Vigil weekly report {report.iso_week}: {countries}"


def report_message(
    report: WeeklyReport,
    charts: dict[str, Chart],
    pdf: bytes,
    csv_text: str,
    sender: str,
    recipients: list[str],
) -> EmailMessage:
    """The e-mail of a report, ready for SMTP."""
    msg = EmailMessage()
    msg["Subject"] = report_subject(report)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = make_msgid(domain="vigil.report")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(render_html(report, charts=charts, embed="cid"), subtype="html")
    for chart in charts.values():
        msg.add_related(chart.png, maintype="image", subtype="png", cid=f"<{chart.content_id}>",
                        filename=f"trend-{chart.country}.png", disposition="inline")
    base = f"vigil-weekly-{report.iso_week}"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{base}.pdf")
    msg.add_attachment(csv_text.encode("utf-8"), maintype="text", subtype="csv", filename=f"{base}.csv")
    return msg
