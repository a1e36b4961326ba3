"""What the health report holds (:class:`HealthReport` and its rows), as plain data: built by
:func:`kbapp.lifecycle.report.build_report`, shown by the window's dashboard, written as HTML
(:mod:`kbapp.lifecycle.report_html`), CSV (:mod:`kbapp.lifecycle.report_csv`) and JSON
(:meth:`HealthReport.to_dict`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from kbapp.documents.lint import Problem
from kbapp.documents.schema import STATUSES
from kbapp.lifecycle.review import ReviewItem, ReviewState
from kbapp.lifecycle.trends import Trends

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
    #: False in a first, quick report made without linting every document (the lint figures
    #: are then zero, not counted yet): see :func:`kbapp.lifecycle.report.with_lint`.
    lint_checked: bool = True

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
