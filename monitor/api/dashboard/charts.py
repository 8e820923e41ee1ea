"""Server-side SVG charts: no script, no inline style, every label escaped."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from monitor.api.trends import TrendPoint

W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 240, 48, 56, 16, 40
LEGEND = "Bars: antisemitic posts. Line: their share of all posts (right axis)."


def trend_svg(points: Sequence[TrendPoint], title: str) -> Markup:
    """Bars of antisemitic posts per period and a line of their share; periods without data are left out."""
    if not points:
        return Markup('<p class="empty">No data in this period.</p>')
    n = len(points)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / n
    top_count = max(p.antisemitic for p in points) or 1
    top_share = max((p.share or 0) for p in points) or 0.01
    parts = [(f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'),
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{W - RIGHT}" y2="{TOP + plot_h}" stroke="#444"/>']
    line = []
    for i, p in enumerate(points):
        x = LEFT + i * slot
        h = plot_h * p.antisemitic / top_count
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{h:.1f}" fill="#8a8a8a"><title>{escape(str(p.period))}: {p.antisemitic} of '
                     f'{p.total_posts} posts</title></rect>')
        if p.share is not None:
            line.append(f"{x + slot / 2:.1f},{TOP + plot_h - plot_h * p.share / top_share:.1f}")
        if n <= 16 or i % max(1, n // 12) == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{H - BOTTOM + 16}" font-size="10" text-anchor="middle" '
                         f'fill="#222">{escape(p.period.strftime("%d %b"))}</text>')
    if line:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#000" stroke-width="2"/>')
    parts += [f'<text x="{LEFT - 6}" y="{TOP + 10}" font-size="10" text-anchor="end" fill="#222">{top_count}</text>',
              f'<text x="{LEFT - 6}" y="{TOP + plot_h}" font-size="10" text-anchor="end" fill="#222">0</text>',
              f'<text x="{W - RIGHT + 6}" y="{TOP + 10}" font-size="10" fill="#222">{top_share * 100:.1f}%</text>',
              f'<text x="{LEFT}" y="{H - 6}" font-size="11" fill="#222">{LEGEND}</text>', "</svg>"]
    return Markup("".join(parts))
