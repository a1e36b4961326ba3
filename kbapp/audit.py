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

_RECORD = "\x1e"
_TRAILER_RE = re.compile(r"^KB-Org:[ \t]*(\S+)[ \t]*$", re.M)
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
    args = ["-c", "core.quotepath=off", "log", "-M", "--name-status", "--no-color",
            f"--format={_RECORD}%H%x00%aN%x00%aE%x00%aI%x00%s%x00%B%x00"]
    if since:
        args.append(f"--since={since}")
    if workspace.git.head() is None:
        return []
    out = workspace.git.run(*args, strip=False).stdout
    entries: list[AuditEntry] = []
    config = workspace.config
    for record in out.split(_RECORD)[1:]:
        fields = record.split("\0")
        if len(fields) < 7:
            continue
        commit, author, email, date, subject, body, files = fields[:7]
        trailer = (_TRAILER_RE.findall(body) or [""])[-1]
        from_email = config.org_for_email(email)
        if trailer and from_email and trailer != from_email:
            who, source = trailer, "mismatch"
        elif trailer:
            who, source = trailer, "trailer"
        else:
            who, source = from_email, "email" if from_email else ""
        if org is not None and who != org:
            continue
        entry = AuditEntry(commit, dt.datetime.fromisoformat(date), author, email, who, source,
                           _kind(subject, body), subject)
        for line in files.strip("\n").split("\n"):
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            change = _STATUS_WORDS.get(parts[0][0], "changed")
            if parts[0][0] in "RC" and len(parts) == 3:
                entry.documents.append(DocumentChange(parts[2], change, parts[1]))
            else:
                entry.documents.append(DocumentChange(parts[1], change))
        entries.append(entry)
        if limit is not None and len(entries) >= limit:
            break
    return entries


def _kind(subject: str, body: str) -> str:
    if subject.startswith("Merge "):
        return "merge"
    match = _VERB_RE.match(subject)
    return match.group(1).lower() if match else "edit"
