"""Twelve months of the knowledge base's life, read from git history.

Per month and per organisation: documents created, reviewed and retired. The organisation is
the one that did it (:meth:`kbapp.config.KbConfig.commit_org`: the ``KB-Org`` trailer kbapp
writes, else the author's e-mail domain from ``.kb/config.toml``), so the joint review meeting
sees who keeps the knowledge alive.

Two passes of the git gateway's :meth:`~kbapp.sync.git.Git.log` over all Markdown files
replace a query per document: a creation is a file added; a review a changed
``last_reviewed:`` line, a retirement a ``status: retired`` line added, in the lines changed
files gained and lost. That reads kbapp's own commits and a partner's hand edits alike.
Renames are followed (a moved document is not created again); merge commits are skipped
(their changes were counted on the side that made them). Added files' text is never read,
so an import of thousands of documents costs a list of their names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kbapp.sync.git import LogEntry
    from kbapp.workspace import Workspace

_REVIEWED_RE = re.compile(r"^\s+last_reviewed:\s*['\"]?([^'\"\s#]+)")
_RETIRED_RE = re.compile(r"^status:\s*['\"]?retired['\"]?\s*(?:#.*)?$")

CREATED, REVIEWED, RETIRED = "created", "reviewed", "retired"
KINDS = (CREATED, REVIEWED, RETIRED)
UNKNOWN_ORG = "other"


@dataclass(frozen=True)
class HistoryEvent:
    date: dt.date
    kind: str  # created | reviewed | retired
    org: str
    path: str
    rev: str


@dataclass
class Trends:
    """Counts per (month "YYYY-MM", organisation, kind) over the months asked for."""

    months: list[str]
    orgs: list[str]
    events: list[HistoryEvent] = field(default_factory=list)

    def count(self, kind: str, month: str | None = None, org: str | None = None) -> int:
        return sum(
            1
            for e in self.events
            if e.kind == kind
            and (month is None or e.date.strftime("%Y-%m") == month)
            and (org is None or e.org == org)
        )

    def table(self, kind: str) -> dict[str, dict[str, int]]:
        """org -> month -> count (every month present, zeros included)."""
        counts = Counter((e.org, e.date.strftime("%Y-%m")) for e in self.events if e.kind == kind)
        return {org: {m: counts[(org, m)] for m in self.months} for org in self.orgs}

    def rows(self) -> list[dict[str, object]]:
        """Flat rows for CSV: month, organisation, created, reviewed, retired."""
        out: list[dict[str, object]] = []
        tables = {kind: self.table(kind) for kind in KINDS}
        for month in self.months:
            for org in self.orgs:
                out.append(
                    {
                        "month": month,
                        "organisation": org,
                        **{kind: tables[kind][org][month] for kind in KINDS},
                    }
                )
        return out


def month_keys(today: dt.date, months: int = 12) -> list[str]:
    """The ``months`` calendar months ending with today's, oldest first."""
    year, month = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return keys[::-1]


def trends(workspace: Workspace, *, today: dt.date | None = None, months: int = 12) -> Trends:
    """Documents created, reviewed and retired per month and organisation (see module doc)."""
    today = today or dt.date.today()
    keys = month_keys(today, months)
    first = dt.date.fromisoformat(keys[0] + "-01")
    config = workspace.config
    since = f"{first.isoformat()}T00:00:00"

    def document(p: str) -> bool:
        return (
            p.endswith(".md")
            and not p.startswith(".")
            and "/." not in p
            and not config.is_excluded(p)
        )

    def org_of(commit: LogEntry) -> str:
        return config.commit_org(commit.org_trailer, commit.email) or UNKNOWN_ORG

    events: list[HistoryEvent] = []
    for commit in workspace.git.log(since=since, no_merges=True, paths=["*.md"], diff_filter="A"):
        for change in commit.files:
            if change.status == "A" and document(change.path):
                events.append(
                    HistoryEvent(
                        commit.date.date(), CREATED, org_of(commit), change.path, commit.rev
                    )
                )
    changed = workspace.git.log(
        since=since, no_merges=True, paths=["*.md"], diff_filter="MR", patch=True
    )
    for commit in changed:
        for change in commit.files:
            if not document(change.path):
                continue
            removed_reviews = {m.group(1) for m in map(_REVIEWED_RE.match, change.removed) if m}
            added_reviews = [m.group(1) for m in map(_REVIEWED_RE.match, change.added) if m]
            date, org = commit.date.date(), org_of(commit)
            if any(value not in removed_reviews for value in added_reviews):
                events.append(HistoryEvent(date, REVIEWED, org, change.path, commit.rev))
            if any(map(_RETIRED_RE.match, change.added)) and not any(
                map(_RETIRED_RE.match, change.removed)
            ):
                events.append(HistoryEvent(date, RETIRED, org, change.path, commit.rev))
    events = [e for e in events if e.date >= first and e.date <= today]
    events.sort(key=lambda e: (e.date, e.kind, e.path))
    orgs = list(config.org_names)
    for extra in sorted({e.org for e in events} - set(orgs)):
        orgs.append(extra)
    return Trends(keys, orgs, events)
