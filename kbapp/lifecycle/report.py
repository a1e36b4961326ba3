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

Its parts: :mod:`kbapp.lifecycle.report_model` (what the report holds),
:mod:`kbapp.lifecycle.report_html` (the page), :mod:`kbapp.lifecycle.report_csv` (the tables).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kbapp.cosourcing import handover as handover_module
from kbapp.documents.lint import lint_workspace
from kbapp.documents.schema import LIVE_STATUSES
from kbapp.lifecycle.activity import ActivityStore, activity_for
from kbapp.lifecycle.report_csv import csv_tables as csv_tables
from kbapp.lifecycle.report_csv import write_csv as write_csv
from kbapp.lifecycle.report_model import (
    NO_ORG,
    NO_OWNER,
    REVIEW_STATES,
    USED_TYPES_EXCLUDED,
    CapturedRow,
    DocRef,
    FeedbackRow,
    GapRow,
    HandoverRow,
    HealthReport,
    SessionRow,
    UsageRow,
)
from kbapp.lifecycle.review import review_queue, review_state_of
from kbapp.lifecycle.trends import Trends, trends
from kbapp.workspace import Workspace

__all__ = [
    "CapturedRow",
    "DocRef",
    "FeedbackRow",
    "GapRow",
    "HandoverRow",
    "HealthReport",
    "SessionRow",
    "UsageRow",
    "build_report",
    "csv_tables",
    "render_html",
    "with_lint",
    "write_csv",
    "write_html",
]


def _ref(entry: Any) -> DocRef:
    return DocRef(entry.doc_id, entry.title, entry.path, entry.type, entry.status, entry.owner_org)


def build_report(
    workspace: Workspace,
    *,
    today: dt.date | None = None,
    period_days: int = 90,
    months: int = 12,
    top: int = 15,
    lint: bool = True,
    progress: Callable[[int, int], object] | None = None,
) -> HealthReport:
    """Every figure of the health report, as of ``today``; "this period" is the last
    ``period_days`` days. ``lint=False``: without the lint figures (``lint_checked`` False),
    which take most of the time on thousands of documents (reading every file again); the
    window shows that report first and adds them with :func:`with_lint`. ``progress(done,
    total)`` follows the lint check, document by document."""
    today = today or dt.date.today()
    since = today - dt.timedelta(days=period_days)
    since_time = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    config = workspace.config
    workspace.refresh()
    entries = workspace.catalog.all()
    usable = [e for e in entries if e.usable]
    orgs = list(config.org_names)
    by_type, by_org = _by_type_and_org(usable, orgs)
    review_by_org, review_by_owner = _reviews_by_org_and_owner(usable, orgs, config, today)
    history = trends(workspace, today=today, months=months)
    captured = _captured(usable, history, since)
    store = activity_for(workspace)
    used, feedback = _usage_and_feedback(store, usable, since_time)
    sessions = [
        SessionRow(i.ticket, i.title, i.started_at, i.ended_at, i.captured_doc)
        for i in store.incidents(since_time)
    ]
    gaps = [GapRow(q, n, last) for q, n, last in store.content_gaps(since_time)]
    handovers = _handovers(workspace, today)
    linker = workspace.ticket_linker()
    shown = {t for row in captured for t in row.incidents} | {s.ticket for s in sessions}
    shown |= {t for row in handovers for t in row.tickets}
    ticket_urls = {t: url for t in sorted(shown) if (url := linker.url(t))}

    report = HealthReport(
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
        review_items=review_queue(usable, config, today=today),
        without_owners=sorted(
            (_ref(e) for e in usable if e.status != "retired" and not e.owners),
            key=lambda d: d.title.casefold(),
        ),
        lint_errors=0,
        lint_warnings=0,
        broken_links=[],
        lint_by_code={},
        most_used=used[:top],
        captured=captured,
        sessions=sessions,
        content_gaps=gaps,
        feedback=feedback,
        trends=history,
        handovers=handovers,
        ticket_urls=ticket_urls,
        lint_checked=False,
    )
    return with_lint(report, workspace, progress=progress) if lint else report


def with_lint(
    report: HealthReport,
    workspace: Workspace,
    *,
    progress: Callable[[int, int], object] | None = None,
) -> HealthReport:
    """``report`` with its lint figures: errors, warnings, broken links (of the catalog as
    :func:`build_report` refreshed it: on thousands of documents a second refresh is a second
    walk of the tree), as of the report's day."""
    lint = lint_workspace(workspace, refresh=False, progress=progress, today=report.today)
    return dataclasses.replace(
        report,
        lint_errors=len(lint.errors),
        lint_warnings=len(lint.warnings),
        broken_links=[p for p in lint.problems if p.code == "broken-link"],
        lint_by_code=dict(Counter(p.code for p in lint.errors).most_common()),
        lint_checked=True,
    )


Counts = dict[str, dict[str, int]]


def _by_type_and_org(usable: list[Any], orgs: list[str]) -> tuple[Counts, Counts]:
    """Documents by type and by owning organisation, each by status."""
    by_type: Counts = {}
    by_org: Counts = {org: {} for org in orgs}
    for entry in usable:
        status = entry.status or "draft"
        row = by_type.setdefault(entry.type or "(unknown)", {})
        row[status] = row.get(status, 0) + 1
        org_row = by_org.setdefault(entry.owner_org or NO_ORG, {})
        org_row[status] = org_row.get(status, 0) + 1
    return by_type, by_org


def _reviews_by_org_and_owner(
    usable: list[Any], orgs: list[str], config: Any, today: dt.date
) -> tuple[Counts, Counts]:
    """Live documents by review state, per organisation and per owner."""
    review_by_org: Counts = {org: {s.value: 0 for s in REVIEW_STATES} for org in orgs}
    review_by_owner: Counts = {}
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
    return review_by_org, review_by_owner


def _captured(usable: list[Any], history: Trends, since: dt.date) -> list[CapturedRow]:
    """Post-incident documents created this period (from git history), oldest first."""
    created_on = {e.path: e for e in history.events if e.kind == "created"}
    captured = []
    for entry in usable:
        made = created_on.get(entry.path)
        if entry.type == "post-incident" and made is not None and made.date >= since:
            captured.append(CapturedRow(_ref(entry), made.date, made.org, tuple(entry.incidents)))
    captured.sort(key=lambda row: (row.date, row.doc.title))
    return captured


def _usage_and_feedback(
    store: ActivityStore, usable: list[Any], since_time: dt.datetime
) -> tuple[list[UsageRow], list[FeedbackRow]]:
    """The documents used (incidents they list, opens here) and the feedback given, this
    period; most used and least helpful first."""
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
    return used, feedback


def _handovers(workspace: Workspace, today: dt.date) -> list[HandoverRow]:
    """Each handover of routine work between the organisations, with its progress."""
    handovers = []
    for ongoing in handover_module.handovers(workspace, refresh=False):  # build_report did
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
    return handovers


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
