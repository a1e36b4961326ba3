"""The knowledge base health report, for the joint review meeting of both organisations.

:func:`build_report` gathers the figures (documents by type, status and organisation; reviews
overdue and due soon per organisation and owner; documents without owners; lint errors and
broken links; most used runbooks; incidents captured this period; searches that found nothing;
feedback; handovers of routine work between the organisations; 12 months of trends from git
history). :func:`render_html` makes one self-contained
HTML file (inline CSS and SVG, no script, nothing remote) that prints well; :func:`write_csv`
writes the same tables as CSV files for a spreadsheet. The window's dashboard shows the same
:class:`HealthReport`.

What is shared and what is local: everything read from the files and git history is the same
on every clone; usage (documents opened), searches and feedback come from this machine's
activity store, which kbapp never commits, and the report says so.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kbapp.cosourcing import handover as handover_module
from kbapp.documents.lint import Problem, lint_workspace
from kbapp.documents.schema import LIVE_STATUSES, STATUSES
from kbapp.lifecycle.activity import activity_for
from kbapp.lifecycle.review import (
    ReviewItem,
    ReviewState,
    review_queue,
    review_state_of,
)
from kbapp.lifecycle.trends import Trends, trends
from kbapp.workspace import Workspace

NO_OWNER = "(no owner)"
NO_ORG = "(none)"
#: Types whose use counts as "runbooks used" (post-incident write-ups are outcomes, not tools).
USED_TYPES_EXCLUDED = ("post-incident",)
REVIEW_STATES = (ReviewState.OVERDUE, ReviewState.DUE, ReviewState.NEVER, ReviewState.OK)


@dataclass(frozen=True)
class DocRef:
    doc_id: str
    title: str
    path: str
    type: str = ""
    status: str = ""
    owner_org: str = ""


@dataclass(frozen=True)
class UsageRow:
    doc: DocRef
    #: Incidents the document lists (shared: "this runbook was right" adds to it).
    incidents: int
    #: Times it was opened on this machine during the period.
    opens: int
    helpful: int = 0
    not_helpful: int = 0


@dataclass(frozen=True)
class CapturedRow:
    doc: DocRef
    date: dt.date
    org: str
    incidents: tuple[str, ...]


@dataclass(frozen=True)
class SessionRow:
    ticket: str
    title: str
    started: dt.datetime
    ended: dt.datetime | None
    captured_doc: str


@dataclass(frozen=True)
class GapRow:
    query: str
    times: int
    last: dt.datetime


@dataclass(frozen=True)
class FeedbackRow:
    doc: DocRef
    helpful: int
    not_helpful: int
    comments: tuple[str, ...]


@dataclass(frozen=True)
class HandoverRow:
    doc: DocRef
    from_org: str
    to_org: str
    started: dt.date | None
    done: int
    total: int
    complete: bool
    next_step: str  # its label, "" when complete
    last_activity: dt.date | None
    #: Days since the last recorded step (or the start): a handover that stalls shows here.
    idle_days: int | None
    tickets: tuple[str, ...] = ()


@dataclass
class HealthReport:
    kb_name: str
    today: dt.date
    since: dt.date
    orgs: list[str]
    documents: int
    unreadable: int
    by_type: dict[str, dict[str, int]]
    by_org: dict[str, dict[str, int]]
    review_by_org: dict[str, dict[str, int]]
    review_by_owner: dict[str, dict[str, int]]
    review_items: list[ReviewItem]
    without_owners: list[DocRef]
    lint_errors: int
    lint_warnings: int
    broken_links: list[Problem]
    lint_by_code: dict[str, int]
    most_used: list[UsageRow]
    captured: list[CapturedRow]
    sessions: list[SessionRow]
    content_gaps: list[GapRow]
    feedback: list[FeedbackRow]
    trends: Trends
    statuses: list[str] = field(default_factory=lambda: list(STATUSES))
    #: Handovers of routine work between the organisations, unfinished first.
    handovers: list[HandoverRow] = field(default_factory=list)
    #: Ticket id -> URL for every ticket id the report shows (from ``[[tickets]]`` in config).
    ticket_urls: dict[str, str] = field(default_factory=dict)

    @property
    def handovers_open(self) -> list[HandoverRow]:
        return [h for h in self.handovers if not h.complete]

    @property
    def overdue(self) -> list[ReviewItem]:
        return [i for i in self.review_items if i.state is ReviewState.OVERDUE]

    @property
    def due_soon(self) -> list[ReviewItem]:
        return [i for i in self.review_items if i.state is ReviewState.DUE]

    @property
    def never_reviewed(self) -> list[ReviewItem]:
        return [i for i in self.review_items if i.state is ReviewState.NEVER]

    def status_total(self, status: str) -> int:
        return sum(row.get(status, 0) for row in self.by_type.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (dates as ISO text) for ``kbapp report --json``."""
        data = asdict(self)
        data["review_items"] = [item.to_dict() for item in self.review_items]
        data["broken_links"] = [p.to_dict() for p in self.broken_links]
        data["trends"] = {
            "months": self.trends.months,
            "orgs": self.trends.orgs,
            "rows": self.trends.rows(),
        }
        return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _ref(entry: Any) -> DocRef:
    return DocRef(entry.doc_id, entry.title, entry.path, entry.type, entry.status, entry.owner_org)


def build_report(
    workspace: Workspace,
    *,
    today: dt.date | None = None,
    period_days: int = 90,
    months: int = 12,
    top: int = 15,
) -> HealthReport:
    """Every figure of the health report, as of ``today``; "this period" is the last
    ``period_days`` days."""
    today = today or dt.date.today()
    since = today - dt.timedelta(days=period_days)
    since_time = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    config = workspace.config
    lint = lint_workspace(workspace)  # refreshes the catalog first
    entries = workspace.catalog.all()
    usable = [e for e in entries if e.usable]
    orgs = list(config.org_names)

    by_type: dict[str, dict[str, int]] = {}
    by_org: dict[str, dict[str, int]] = {org: {} for org in orgs}
    for entry in usable:
        status = entry.status or "draft"
        row = by_type.setdefault(entry.type or "(unknown)", {})
        row[status] = row.get(status, 0) + 1
        org_row = by_org.setdefault(entry.owner_org or NO_ORG, {})
        org_row[status] = org_row.get(status, 0) + 1

    review_by_org: dict[str, dict[str, int]] = {
        org: {s.value: 0 for s in REVIEW_STATES} for org in orgs
    }
    review_by_owner: dict[str, dict[str, int]] = {}
    for entry in usable:
        if entry.status not in LIVE_STATUSES:
            continue
        state = review_state_of(entry, config, today).state.value
        org_row = review_by_org.setdefault(
            entry.owner_org or NO_ORG, {s.value: 0 for s in REVIEW_STATES}
        )
        org_row[state] += 1
        for owner in entry.owners or [NO_OWNER]:
            owner_row = review_by_owner.setdefault(owner, {s.value: 0 for s in REVIEW_STATES})
            owner_row[state] += 1
    review_items = review_queue(usable, config, today=today)

    without_owners = [_ref(e) for e in usable if e.status != "retired" and not e.owners]

    history = trends(workspace, today=today, months=months)
    created_on = {e.path: e for e in history.events if e.kind == "created"}
    captured = []
    for entry in usable:
        made = created_on.get(entry.path)
        if entry.type == "post-incident" and made is not None and made.date >= since:
            captured.append(CapturedRow(_ref(entry), made.date, made.org, tuple(entry.incidents)))
    captured.sort(key=lambda row: (row.date, row.doc.title))

    store = activity_for(workspace)
    opens = store.open_counts(since_time)
    feedback_counts = store.feedback_counts(since_time)
    by_id = {e.doc_id: e for e in usable}
    used = []
    for entry in usable:
        if entry.type in USED_TYPES_EXCLUDED:
            continue
        reuse, opened = len(entry.incidents or []), opens.get(entry.doc_id, 0)
        if reuse or opened:
            yes, no = feedback_counts.get(entry.doc_id, (0, 0))
            used.append(UsageRow(_ref(entry), reuse, opened, yes, no))
    used.sort(key=lambda row: (-row.incidents, -row.opens, row.doc.title.casefold()))

    comments: dict[str, list[str]] = {}
    for item in store.feedback(since=since_time):
        if item.comment:
            comments.setdefault(item.doc_id, []).append(
                ("+ " if item.helpful else "− ") + item.comment
            )
    feedback = []
    for doc_id, (yes, no) in feedback_counts.items():
        known = by_id.get(doc_id)
        ref = _ref(known) if known else DocRef(doc_id, doc_id, "")
        feedback.append(FeedbackRow(ref, yes, no, tuple(comments.get(doc_id, []))))
    feedback.sort(key=lambda row: (-row.not_helpful, -row.helpful, row.doc.title.casefold()))

    sessions = [
        SessionRow(i.ticket, i.title, i.started_at, i.ended_at, i.captured_doc)
        for i in store.incidents(since_time)
    ]
    gaps = [GapRow(q, n, last) for q, n, last in store.content_gaps(since_time)]

    handovers = []
    for ongoing in handover_module.handovers(workspace):
        last = ongoing.last_activity()
        listed = workspace.catalog.get(ongoing.path)
        handovers.append(
            HandoverRow(
                doc=_ref(listed)
                if listed is not None
                else DocRef(ongoing.doc_id, ongoing.title, ongoing.path),
                from_org=ongoing.from_org,
                to_org=ongoing.to_org,
                started=ongoing.started,
                done=ongoing.progress[0],
                total=ongoing.progress[1],
                complete=ongoing.complete,
                next_step=ongoing.next_step.label
                if ongoing.next_step and not ongoing.complete
                else "",
                last_activity=last,
                idle_days=(today - last).days if last else None,
                tickets=tuple(r.ticket for r in ongoing.records if r.ticket),
            )
        )
    linker = workspace.ticket_linker()
    shown = {t for row in captured for t in row.incidents} | {s.ticket for s in sessions}
    shown |= {t for row in handovers for t in row.tickets}
    ticket_urls = {t: url for t in sorted(shown) if (url := linker.url(t))}

    return HealthReport(
        kb_name=config.name,
        today=today,
        since=since,
        orgs=orgs,
        documents=len(usable),
        unreadable=len(entries) - len(usable),
        by_type=dict(sorted(by_type.items())),
        by_org=by_org,
        review_by_org=review_by_org,
        review_by_owner=dict(
            sorted(
                review_by_owner.items(),
                key=lambda kv: (-kv[1]["overdue"], -kv[1]["never"], -kv[1]["due"], kv[0]),
            )
        ),
        review_items=review_items,
        without_owners=sorted(without_owners, key=lambda d: d.title.casefold()),
        lint_errors=len(lint.errors),
        lint_warnings=len(lint.warnings),
        broken_links=[p for p in lint.problems if p.code == "broken-link"],
        lint_by_code=dict(Counter(p.code for p in lint.errors).most_common()),
        most_used=used[:top],
        captured=captured,
        sessions=sessions,
        content_gaps=gaps,
        feedback=feedback,
        trends=history,
        handovers=handovers,
        ticket_urls=ticket_urls,
    )


# --------------------------------------------------------------------------- output


def render_html(report: HealthReport) -> str:
    """The report as one self-contained, printable HTML page."""
    from kbapp.lifecycle.report_html import render  # Jinja2 loads only when a page is made

    return render(report)


def write_html(report: HealthReport, path: Path) -> Path:
    """Write the page atomically; readable by others (it is made to be shared)."""
    import os

    from kbapp.fsutil import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_html(report).encode("utf-8"))
    os.chmod(path, 0o644)
    return path


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
