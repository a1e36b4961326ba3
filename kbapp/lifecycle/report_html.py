"""The health report as one HTML file: Jinja2 with autoescaping (titles, queries and comments
come from both organisations and are untrusted), inline CSS for screen and print, inline SVG
charts from :mod:`kbapp.lifecycle.charts`. No script, no remote resource."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup

from kbapp import __version__
from kbapp.bundled import read_text
from kbapp.lifecycle.charts import PALETTE, grouped_bars, stacked_bar
from kbapp.lifecycle.trends import KINDS

if TYPE_CHECKING:
    from kbapp.lifecycle.report_model import HealthReport

#: Longest list the page prints in full; the CSV files hold every row.
MAX_ROWS = 200
STATE_COLOURS = {"overdue": "#C0392B", "due": "#E69F00", "never": "#7F8C8D", "ok": "#009E73"}
STATE_LABELS = {
    "overdue": "Overdue",
    "due": "Due within 14 days",
    "never": "Never reviewed",
    "ok": "Reviewed",
}


def _month_label(key: str) -> str:
    return dt.date.fromisoformat(key + "-01").strftime("%b %y")


def charts(report: HealthReport) -> dict[str, Markup]:
    labels = [_month_label(m) for m in report.trends.months]
    out: dict[str, Markup] = {}
    for kind in KINDS:
        table = report.trends.table(kind)
        out[kind] = Markup(
            grouped_bars(
                f"Documents {kind} per month and organisation",
                report.trends.months,
                {org: [table[org][m] for m in report.trends.months] for org in report.trends.orgs},
                category_labels=labels,
            )
        )
    for org, row in report.review_by_org.items():
        out[f"review:{org}"] = Markup(
            stacked_bar(
                f"Review state of {org}'s documents",
                [
                    (STATE_LABELS[s], row[s], STATE_COLOURS[s])
                    for s in ("overdue", "due", "never", "ok")
                ],
            )
        )
    return out


def render(report: HealthReport) -> str:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["month"] = _month_label
    template = env.from_string(read_text("report", "health.html.j2"))
    return template.render(
        r=report,
        charts=charts(report),
        palette=PALETTE,
        state_colours=STATE_COLOURS,
        state_labels=STATE_LABELS,
        version=__version__,
        kinds=KINDS,
        max_rows=MAX_ROWS,
    )
