"""The health report as CSV files, one per table, for a spreadsheet: the same figures as the
page (:mod:`kbapp.lifecycle.report_html`), every row. Text from either organisation never
becomes a spreadsheet formula."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kbapp.lifecycle.report_model import REVIEW_STATES, HealthReport


def _cell(value: Any) -> Any:
    """Text from another organisation must not become a spreadsheet formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_tables(report: HealthReport) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """file name -> (header, rows) of every table of the report."""
    states = [s.value for s in REVIEW_STATES]
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {
        "by_type.csv": (
            ["type", *report.statuses, "total"],
            [
                [t, *[row.get(s, 0) for s in report.statuses], sum(row.values())]
                for t, row in report.by_type.items()
            ],
        ),
        "by_organisation.csv": (
            ["organisation", *report.statuses, "total"],
            [
                [o, *[row.get(s, 0) for s in report.statuses], sum(row.values())]
                for o, row in report.by_org.items()
            ],
        ),
        "reviews_by_organisation.csv": (
            ["organisation", *states],
            [[o, *[row[s] for s in states]] for o, row in report.review_by_org.items()],
        ),
        "reviews_by_owner.csv": (
            ["owner", *states],
            [[o, *[row[s] for s in states]] for o, row in report.review_by_owner.items()],
        ),
        "review_queue.csv": (
            [
                "id",
                "title",
                "type",
                "status",
                "organisation",
                "owners",
                "state",
                "due",
                "days_left",
                "last_reviewed",
                "path",
            ],
            [
                [
                    i.doc_id,
                    i.title,
                    i.type,
                    i.status,
                    i.owner_org,
                    " ".join(i.owners),
                    i.state.value,
                    i.info.due or "",
                    "" if i.info.days_left is None else i.info.days_left,
                    i.info.last_reviewed or "",
                    i.path,
                ]
                for i in report.review_items
            ],
        ),
        "without_owners.csv": (
            ["id", "title", "type", "status", "organisation", "path"],
            [
                [d.doc_id, d.title, d.type, d.status, d.owner_org, d.path]
                for d in report.without_owners
            ],
        ),
        "broken_links.csv": (
            ["path", "line", "message"],
            [[p.path, p.line, p.message] for p in report.broken_links],
        ),
        "most_used.csv": (
            ["id", "title", "type", "incidents", "opens", "helpful", "not_helpful", "path"],
            [
                [
                    u.doc.doc_id,
                    u.doc.title,
                    u.doc.type,
                    u.incidents,
                    u.opens,
                    u.helpful,
                    u.not_helpful,
                    u.doc.path,
                ]
                for u in report.most_used
            ],
        ),
        "incidents_captured.csv": (
            ["date", "id", "title", "organisation", "incidents", "path"],
            [
                [c.date, c.doc.doc_id, c.doc.title, c.org, " ".join(c.incidents), c.doc.path]
                for c in report.captured
            ],
        ),
        "content_gaps.csv": (
            ["query", "times", "last"],
            [[g.query, g.times, g.last.isoformat(timespec="minutes")] for g in report.content_gaps],
        ),
        "feedback.csv": (
            ["id", "title", "helpful", "not_helpful", "comments"],
            [
                [f.doc.doc_id, f.doc.title, f.helpful, f.not_helpful, " | ".join(f.comments)]
                for f in report.feedback
            ],
        ),
        "handovers.csv": (
            [
                "id",
                "title",
                "from",
                "to",
                "started",
                "done",
                "total",
                "next_step",
                "last_activity",
                "idle_days",
                "tickets",
                "path",
            ],
            [
                [
                    h.doc.doc_id,
                    h.doc.title,
                    h.from_org,
                    h.to_org,
                    h.started or "",
                    h.done,
                    h.total,
                    h.next_step,
                    h.last_activity or "",
                    "" if h.idle_days is None else h.idle_days,
                    " ".join(h.tickets),
                    h.doc.path,
                ]
                for h in report.handovers
            ],
        ),
        "trends.csv": (
            ["month", "organisation", "created", "reviewed", "retired"],
            [
                [r["month"], r["organisation"], r["created"], r["reviewed"], r["retired"]]
                for r in report.trends.rows()
            ],
        ),
    }
    return tables


def write_csv(report: HealthReport, folder: Path) -> list[Path]:
    """One CSV file per table in ``folder`` (created if needed); returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (header, rows) in csv_tables(report).items():
        path = folder / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_cell(value) for value in row])
        written.append(path)
    return written
