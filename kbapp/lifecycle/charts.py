"""Small inline SVG charts for the health report: no library, no script, prints as vectors.

Charts carry their numbers in ``<title>`` tooltips and the report repeats them in tables, so
they stay readable in black and white and to screen readers (``role="img"`` + ``aria-label``).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

#: Colour-blind-safe palette (Okabe-Ito), one colour per organisation.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


#: What a bar chart with no bar at all says across its plot.
NOTHING_YET = "None in these months"


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent  # pragma: no cover


def grouped_bars(
    title: str,
    categories: list[str],
    series: dict[str, list[int]],
    *,
    category_labels: list[str] | None = None,
    width: int = 720,
    height: int = 170,
) -> str:
    """Vertical bars: one group per category (month), one bar per series (organisation)."""
    labels = category_labels or categories
    names = list(series)
    highest = max((v for values in series.values() for v in values), default=0)
    top = _nice_max(highest)
    left, right, upper, lower = 36, 8, 10, 34
    plot_w, plot_h = width - left - right, height - upper - lower
    group_w = plot_w / max(len(categories), 1)
    bar_w = max(2.0, (group_w * 0.8) / max(len(names), 1))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    steps = next(n for n in (5, 4, 2, 1) if top % n == 0)  # whole-number gridlines
    for tick in range(0, steps + 1):
        value = top * tick / steps
        y = upper + plot_h - plot_h * tick / steps
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" '
            f'font-size="10" fill="#555">{value:.0f}</text>'
        )
    for index, _category in enumerate(categories):
        x0 = left + index * group_w + group_w * 0.1
        for number, name in enumerate(names):
            value = series[name][index] if index < len(series[name]) else 0
            h = plot_h * value / top
            x = x0 + number * bar_w
            y = upper + plot_h - h
            colour = PALETTE[number % len(PALETTE)]
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(f"{name}, {labels[index]}: {value}")}</title></rect>'
            )
        out.append(
            f'<text x="{left + index * group_w + group_w / 2:.1f}" y="{height - lower + 14}" '
            f'text-anchor="middle" font-size="10" fill="#333">{escape(labels[index])}</text>'
        )
    if highest == 0:  # an empty axis from 0 to 1 looks like a chart that failed to load
        out.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{upper + plot_h / 2 + 4:.1f}" '
            f'text-anchor="middle" font-size="12" fill="#777">{escape(NOTHING_YET)}</text>'
        )
    legend_x = left
    for number, name in enumerate(names):
        colour = PALETTE[number % len(PALETTE)]
        out.append(
            f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
        )
        out.append(
            f'<text x="{legend_x + 14}" y="{height - 3}" font-size="10" fill="#333">'
            f"{escape(name)}</text>"
        )
        legend_x += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def stacked_bar(
    title: str,
    parts: list[tuple[str, int, str]],
    *,
    width: int = 720,
    height: int = 26,
) -> str:
    """One horizontal bar split into (label, value, colour) parts, e.g. review states."""
    total = sum(value for _, value, _ in parts) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    x = 0.0
    for label, value, colour in parts:
        if value <= 0:
            continue
        w = width * value / total
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}">'
            f"<title>{escape(f'{label}: {value}')}</title></rect>"
        )
        if w > 40:
            out.append(
                f'<text x="{x + w / 2:.1f}" y="{height / 2 + 4:.1f}" text-anchor="middle" '
                f'font-size="11" fill="#fff">{escape(f"{label} {value}")}</text>'
            )
        x += w
    out.append("</svg>")
    return "".join(out)
