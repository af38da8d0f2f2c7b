"""Server-rendered SVG charts: readable without JavaScript, styled by the site's CSS
(classes, no inline styles, so the Content-Security-Policy holds), each with a data
table beside it on the page for screen readers."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # class name: line-a, line-b
    points: list[dict]  # month, value, ci_low, ci_high


def incidence_chart(series: list[Series], title: str, max_month: int | None = None) -> str:
    """Step curves of cumulative incidence (0–100 %) with their 95 % bands."""
    months = [p["month"] for s in series for p in s.points]
    if not months:
        return ""
    last = max_month or max(max(months), 12)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: float) -> float:
        return LEFT + plot_w * month / last

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{int(tick * 100)}%</text>'
        )
    step = 6 if last <= 36 else 12
    for month in range(0, last + 1, step):
        parts.append(
            f'<text class="tick" x="{x(month):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{month}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" '
        'text-anchor="middle">months since the search began</text>'
    )
    for s in series:
        upper, lower, line = [], [], []
        previous = None
        for point in s.points:
            if previous is not None:
                line.append(f"{x(point['month']):.1f},{y(previous['value']):.1f}")
                upper.append(f"{x(point['month']):.1f},{y(previous['ci_high']):.1f}")
                lower.append(f"{x(point['month']):.1f},{y(previous['ci_low']):.1f}")
            line.append(f"{x(point['month']):.1f},{y(point['value']):.1f}")
            upper.append(f"{x(point['month']):.1f},{y(point['ci_high']):.1f}")
            lower.append(f"{x(point['month']):.1f},{y(point['ci_low']):.1f}")
            previous = point
        band = " ".join(upper + list(reversed(lower)))
        parts.append(f'<polygon class="band {s.css}" points="{band}"/>')
        parts.append(f'<polyline class="line {s.css}" points="{" ".join(line)}"/>')
    parts.append("</svg>")
    return "".join(parts)
