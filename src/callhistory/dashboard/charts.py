"""Charts as SVG, drawn by the server: no script, no CDN, printable, readable without JS.

Each bar carries its numbers in data-* attributes and a <title> (a tooltip and what a
screen reader says), so the browser tests can compare bars with the API's answers.
Colours come from classes in dashboard.css, never inline styles (the CSP forbids them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 28


@dataclass(frozen=True)
class Series:
    key: str  # data-series and the colour class s-<key>
    label: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _legend(series: Sequence[Series]) -> str:
    items = "".join(
        f'<li><span class="swatch s-{escape(s.key)}" aria-hidden="true"></span>'
        f"{escape(s.label)}</li>"
        for s in series
    )
    return f'<ul class="legend">{items}</ul>'


def bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    keys: Sequence[str] | None = None,
) -> Markup:
    """Stacked bars, one per label; `keys` (e.g. ISO days) go into data-key."""
    count = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
    ]
    # 1, 5 and 10 split into fifths, 2 into quarters: every tick is a round number.
    steps = 4 if f"{top:g}"[0] == "2" else 5
    for tick in range(steps + 1):
        value = top * tick / steps
        y = TOP + plot_h - plot_h * tick / steps
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    every = max(1, round(count / 12))  # at most about 12 labels under the bars
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = TOP + plot_h
        key = escape(keys[i] if keys else label)
        for s in series:
            value = s.values[i]
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect class="bar s-{escape(s.key)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" data-key="{key}" '
                f'data-series="{escape(s.key)}" data-value="{value:g}">'
                f"<title>{escape(label)} · {escape(s.label)}: {escape(fmt(value))}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    caption = f"<figcaption>{escape(title)}</figcaption>"
    # Every piece of text above went through escape(); the rest is our own markup.
    body = f"{caption}{''.join(parts)}{_legend(series)}"
    return Markup(f'<figure class="chart-box">{body}</figure>')  # noqa: S704


def heat_map(
    chart_id: str, title: str, grid: Sequence[Sequence[int]], weekdays: Sequence[str]
) -> Markup:
    """Day of week x hour; the darker, the busier (opacity in steps of the busiest cell)."""
    cell_w, cell_h, left, top = 26, 22, 40, 18
    width, height = left + 24 * cell_w + 4, top + 7 * cell_h + 4
    busiest = max((max(row) for row in grid), default=0) or 1
    parts = [
        f'<svg class="chart heat" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    for hour in range(0, 24, 2):
        parts.append(
            f'<text class="axis" x="{left + hour * cell_w + cell_w / 2}" y="12" '
            f'text-anchor="middle">{hour}</text>'
        )
    for day, row in enumerate(grid):
        y = top + day * cell_h
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + cell_h * 0.7:.1f}" text-anchor="end">'
            f"{escape(weekdays[day])}</text>"
        )
        for hour, value in enumerate(row):
            opacity = 0.06 + 0.94 * value / busiest if value else 0.03
            parts.append(
                f'<rect class="cell" x="{left + hour * cell_w}" y="{y}" width="{cell_w - 2}" '
                f'height="{cell_h - 2}" fill-opacity="{opacity:.2f}" data-day="{day}" '
                f'data-hour="{hour}" data-value="{value}">'
                f"<title>{escape(weekdays[day])} {hour}:00: {value}</title></rect>"
            )
    parts.append("</svg>")
    caption = f"<figcaption>{escape(title)}</figcaption>"
    # Every piece of text above went through escape(); the rest is our own markup.
    return Markup(f'<figure class="chart-box">{caption}{"".join(parts)}</figure>')  # noqa: S704
