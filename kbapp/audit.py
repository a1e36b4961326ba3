"""Audit: who changed what, from which organisation, read from git history.

Git already records every change; this gives it the knowledge base's words: each commit with
its author, the organisation (``KB-Org`` trailer, else the author's e-mail domain, flagged when
the two disagree), the kind of change (from kbapp's commit verbs: Create, Update, Move,
Import, Review, Retire...; ``edit`` for commits made with plain git) and the documents it
touched with what happened to each (added, changed, deleted, moved).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

_VERB_RE = re.compile(r"^([A-Z][A-Za-z-]{1,20}):\s")
_STATUS_WORDS = {"A": "added", "M": "changed", "D": "deleted", "R": "moved", "C": "copied",
                 "T": "changed"}


@dataclass
class DocumentChange:
    path: str
    change: str  # added | changed | deleted | moved | copied
    old_path: str = ""


@dataclass
class AuditEntry:
    commit: str
    date: dt.datetime
    author: str
    email: str
    org: str
    #: "trailer", "email" or "" (unknown); "mismatch" when the trailer and the e-mail disagree.
    org_source: str
    kind: str  # create | update | move | import | review | retire | merge | edit | ...
    subject: str
    documents: list[DocumentChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data


def audit(
    workspace: Workspace,
    *,
    since: str | None = None,
    org: str | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Changes to the knowledge base, newest first. ``since`` is anything ``git log --since``
    understands (2026-01-31, "2 weeks ago"); ``org`` keeps one organisation's changes."""
    if workspace.git.head() is None:
        return []
    entries: list[AuditEntry] = []
    config = workspace.config
    for commit in workspace.git.log(since=since):
        trailer = commit.org_trailer.split(",")[0].strip()
        from_email = config.org_for_email(commit.email)
        who = config.commit_org(commit.org_trailer, commit.email)
        if trailer and from_email and trailer != from_email:
            source = "mismatch"
        elif trailer:
            source = "trailer"
        else:
            source = "email" if from_email else ""
        if org is not None and who != org:
            continue
        entry = AuditEntry(commit.rev, commit.date, commit.author, commit.email, who, source,
                           _kind(commit.subject, commit.body), commit.subject)
        for change in commit.files:
            word = _STATUS_WORDS.get(change.status, "changed")
            entry.documents.append(DocumentChange(change.path, word, change.old_path))
        entries.append(entry)
        if limit is not None and len(entries) >= limit:
            break
    return entries


def _kind(subject: str, body: str) -> str:
    if subject.startswith("Merge "):
        return "merge"
    match = _VERB_RE.match(subject)
    return match.group(1).lower() if match else "edit"
