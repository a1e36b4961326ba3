"""Twelve months of the knowledge base's life, read from git history in one pass.

Per month and per organisation: documents created, reviewed and retired. The organisation is
the one that did it (the ``KB-Org`` trailer kbapp writes, else the author's e-mail domain
from ``.kb/config.toml``), so the joint review meeting sees who keeps the knowledge alive.

One ``git log -p -U0`` over all Markdown files replaces a query per document: a creation is a
file added, a review a changed ``last_reviewed:`` line, a retirement a ``status: retired``
line added. That reads kbapp's own commits and a partner's hand edits alike. Renames are
followed (a moved document is not created again); merge commits are skipped (their changes
were counted on the side that made them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from kbapp.workspace import Workspace

_SEP = "\x1f"
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
            1 for e in self.events
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
                out.append({"month": month, "organisation": org,
                            **{kind: tables[kind][org][month] for kind in KINDS}})
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


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time. The log below holds every file of an import commit
    (tens of MB): one ``split()`` (or ``StringIO``) of it held the GIL for 0.2-0.4 s in one C
    call, freezing the window that builds this report in the background."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def trends(workspace: Workspace, *, today: dt.date | None = None, months: int = 12) -> Trends:
    """Documents created, reviewed and retired per month and organisation (see module doc)."""
    today = today or dt.date.today()
    keys = month_keys(today, months)
    first = dt.date.fromisoformat(keys[0] + "-01")
    config = workspace.config
    result = workspace.git.run(
        "-c", "core.quotepath=off", "log", "--no-merges", "-M", "--no-color",
        "--no-ext-diff", f"--since={first.isoformat()}T00:00:00",
        f"--format={_SEP}%H{_SEP}%aI{_SEP}%ae{_SEP}%(trailers:key=KB-Org,valueonly,separator=%x2C)",
        "-p", "-U0", "--diff-filter=AMDR", "--", "*.md",
        check=False, strip=False,
    )
    events: list[HistoryEvent] = []
    rev, date, org = "", today, UNKNOWN_ORG
    path, added_file = "", False
    removed_reviews: set[str] = set()
    added_reviews: list[str] = []
    retired_added = retired_removed = False

    def document(p: str) -> bool:
        return p.endswith(".md") and not p.startswith(".") and "/." not in p \
            and not config.is_excluded(p)

    def flush() -> None:
        nonlocal added_reviews, removed_reviews, retired_added, retired_removed
        if path and not added_file and document(path):
            if any(value not in removed_reviews for value in added_reviews):
                events.append(HistoryEvent(date, REVIEWED, org, path, rev))
            if retired_added and not retired_removed:
                events.append(HistoryEvent(date, RETIRED, org, path, rev))
        added_reviews, removed_reviews = [], set()
        retired_added = retired_removed = False

    for line in _lines(result.stdout):
        if line.startswith(_SEP):
            flush()
            path = ""
            parts = line[1:].split(_SEP)
            rev = parts[0]
            date = dt.datetime.fromisoformat(parts[1]).date()
            org = config.commit_org(parts[3] if len(parts) > 3 else "", parts[2]) or UNKNOWN_ORG
        elif line.startswith("diff --git "):
            flush()
            path, added_file = "", False
        elif line.startswith("new file mode"):
            added_file = True
        elif line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else ""
            if added_file and path and document(path):
                events.append(HistoryEvent(date, CREATED, org, path, rev))
        elif line.startswith("--- "):
            continue
        elif added_file or not path:
            continue  # a new file's content, a deletion's, or a header line
        elif line.startswith("+"):
            match = _REVIEWED_RE.match(line[1:])
            if match:
                added_reviews.append(match.group(1))
            elif _RETIRED_RE.match(line[1:]):
                retired_added = True
        elif line.startswith("-"):
            match = _REVIEWED_RE.match(line[1:])
            if match:
                removed_reviews.add(match.group(1))
            elif _RETIRED_RE.match(line[1:]):
                retired_removed = True
    flush()
    events = [e for e in events if e.date >= first and e.date <= today]
    events.sort(key=lambda e: (e.date, e.kind, e.path))
    orgs = list(config.org_names)
    for extra in sorted({e.org for e in events} - set(orgs)):
        orgs.append(extra)
    return Trends(keys, orgs, events)
