"""The weekly trend chart of a country as PNG bytes, readable in grey scale, with its alt text."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from monitor.reports.model import TrendPoint

WIDTH_IN, HEIGHT_IN, DPI = 7.2, 3.0, 100


def trend_png(country: str, trend: Sequence[TrendPoint]) -> bytes:
    """Bars of antisemitic posts per week and a line of their share; weeks without data are hatched."""
    # Figure without pyplot: no global backend or figure registry is touched; savefig uses Agg for PNG.
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    bars_ax = fig.add_subplot()
    share_ax = bars_ax.twinx()
    xs = list(range(len(trend)))
    with_data = [(x, p.totals) for x, p in zip(xs, trend) if p.totals is not None]

    bars_ax.bar([x for x, _ in with_data], [t.antisemitic for _, t in with_data], width=0.7,
                color="0.55", edgecolor="black", hatch="//", label="Antisemitic posts")
    for x, totals in with_data:
        if totals.antisemitic == 0:  # a zero bar is invisible; say so
            bars_ax.annotate("0", (x, 0), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8,
                             fontweight="bold")
    for x, point in zip(xs, trend):
        if point.totals is None:
            bars_ax.axvspan(x - 0.35, x + 0.35, facecolor="white", edgecolor="0.4", hatch="xx", linewidth=0.8)
            bars_ax.text(x, 0.5, "no data", transform=bars_ax.get_xaxis_transform(), rotation=90,
                         ha="center", va="center", fontsize=8, backgroundcolor="white")

    shares = [p.totals.share * 100 if p.totals and p.totals.share is not None else math.nan for p in trend]
    share_ax.plot(xs, shares, color="black", linestyle="-", marker="o", markerfacecolor="white",
                  label="Share of all posts (%)")
    share_ax.set_ylim(bottom=0, top=max([s for s in shares if not math.isnan(s)], default=1.0) * 1.25 or 1.0)
    bars_ax.set_ylim(bottom=0, top=max([t.antisemitic for _, t in with_data], default=0) * 1.25 or 1.0)

    labels = [p.iso_week if i == 0 else p.iso_week[-3:] for i, p in enumerate(trend)]
    bars_ax.set_xticks(xs, labels, fontsize=8)
    bars_ax.set_ylabel("Antisemitic posts")
    share_ax.set_ylabel("Share of all posts (%)")
    bars_ax.set_title(f"{country}: antisemitic posts per week", fontsize=10)
    handles = [*bars_ax.get_legend_handles_labels()[0], *share_ax.get_legend_handles_labels()[0],
               Patch(facecolor="white", edgecolor="0.4", hatch="xx", label="No data")]
    bars_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=7, frameon=False)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def trend_alt_text(country: str, trend: Sequence[TrendPoint]) -> str:
    """A sentence describing the chart for screen readers and mail clients that block images."""
    if not trend:
        return f"No trend data for {country}."
    span = f"{trend[0].iso_week} to {trend[-1].iso_week}"
    parts = [f"Chart of antisemitic posts per week in {country}, {span}, as bars, "
             "with their share of all posts as a line."]
    last = trend[-1].totals
    if last is None:
        parts.append(f"No data in {trend[-1].iso_week}.")
    else:
        share = "n/a" if last.share is None else f"{last.share * 100:.1f}%"
        parts.append(f"{trend[-1].iso_week}: {last.antisemitic} of {last.posts} posts ({share}).")
    with_data = [p for p in trend if p.totals is not None]
    if with_data:
        peak = max(with_data, key=lambda p: p.totals.antisemitic)
        parts.append(f"Highest: {peak.totals.antisemitic} in {peak.iso_week}.")
    missing = [p.iso_week for p in trend if p.totals is None]
    if missing:
        parts.append(f"No data in {', '.join(missing)}.")
    return " ".join(parts)
