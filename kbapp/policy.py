"""Checks every commit kbapp makes must pass, before anything is written to git.

One place, called by :meth:`kbapp.workspace.Workspace.save` (and the sync's commit of pending
work). The same rules run in the git hooks kbapp installs for people on plain git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kbapp.errors import PolicyError

if TYPE_CHECKING:
    from kbapp.config import KbConfig
    from kbapp.documents import Document

_CONFLICT_START_RE = re.compile(r"^<{7}(?: |\r?$)", re.M)
_CONFLICT_END_RE = re.compile(r"^>{7}(?: |\r?$)", re.M)


def conflict_marker_line(text: str) -> int | None:
    """1-based line of a git conflict block (``<<<<<<<`` ... ``>>>>>>>``) outside code fences.

    A lone ``=======`` is a Markdown heading underline, not a marker, so only a start marker
    followed later by an end marker counts."""
    for start in _CONFLICT_START_RE.finditer(text):
        if _inside_fence(text, start.start()):
            continue
        if _CONFLICT_END_RE.search(text, start.end()):
            return text.count("\n", 0, start.start()) + 1
    return None


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.rule}]"


def check_document(doc: Document, data: bytes, config: KbConfig) -> list[Violation]:
    """Everything that must stop ``doc`` (about to be written as ``data``) from being committed."""
    found: list[Violation] = []
    if config.sensitivity == "shared" and doc.sensitivity == "internal":
        line = doc.field_lines.get("sensitivity", 1)
        found.append(
            Violation(
                doc.path,
                line,
                "sensitivity",
                "this document is marked 'internal' and this knowledge base is shared with "
                "another organisation; move it to an internal knowledge base or change its "
                "sensitivity",
            )
        )
    marker = conflict_marker_line(data.decode("utf-8", errors="replace"))
    if marker is not None:
        found.append(
            Violation(doc.path, marker, "conflict-marker", "contains a merge conflict marker")
        )
    return found


def _inside_fence(text: str, offset: int) -> bool:
    before = text[:offset]
    return (before.count("\n```") + before.count("\n~~~")) % 2 == 1


def enforce(violations: list[Violation]) -> None:
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise PolicyError(
            f"Not committed: {first}{more}", details="\n".join(str(v) for v in violations)
        )
