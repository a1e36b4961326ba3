"""Markdown read line by line: which lines are fenced code.

Headings, links, the search index's code field, search snippets, the renderer's safety check
and the editor's highlighting all need to know whether a line sits inside a fenced code block
(```` ``` ```` or ``~~~``, closed by a fence of the same character at least as long and with
nothing after it, as CommonMark says); this is the one place that knows.

A fence may be indented up to three spaces, or up to three more than the text of the list item
it belongs to (a runbook step ``10.`` with its commands indented four spaces), as the renderer
(``pymdownx.superfences``) reads it.

:func:`lines` reads a whole text; :func:`step` is the same rule one line at a time, for an
editor that highlights line by line and keeps a number per line (:meth:`State.pack`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

#: A line that starts with a fence (its indentation checked by :func:`step`).
FENCE_RE = re.compile(r"^([ \t]*)(`{3,}|~{3,})")
#: A list item's marker and the spaces after it: where the item's text starts.
_ITEM_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
#: How much further than its text a fence may be indented (CommonMark: 0 to 3 spaces).
FENCE_INDENT = 3
_FENCE_START = frozenset(" \t`~")
_ITEM_START = frozenset(" \t-*+0123456789")
_LONGEST_PACKED = 511  # fence lengths kept exactly by State.pack

Kind = Literal["text", "code", "fence"]


@dataclass(frozen=True)
class State:
    """Where a line-by-line reading is: the fence open (None outside code) and the column
    where the text of the list item being read starts (0 outside a list)."""

    fence: str | None = None
    item: int = 0

    def pack(self) -> int:
        """The state as one non-negative number (what a ``QSyntaxHighlighter`` keeps)."""
        length = min(len(self.fence), _LONGEST_PACKED) if self.fence else 0
        tilde = 1 if self.fence and self.fence[0] == "~" else 0
        return (self.item << 10) | (length << 1) | tilde

    @classmethod
    def unpack(cls, number: int) -> State:
        """The state :meth:`pack` gave ``number`` for (a negative number: the start)."""
        if number < 0:
            return cls()
        length = (number >> 1) & _LONGEST_PACKED
        fence = ("~" if number & 1 else "`") * length if length else None
        return cls(fence, number >> 10)


def step(state: State, line: str) -> tuple[Kind, State]:
    """The kind of ``line`` read in ``state``, and the state after it."""
    kind, fence, item = _read(line, state.fence, state.item)
    return kind, State(fence, item)


def lines(body: str) -> Iterator[tuple[int, str, Kind]]:
    """(1-based number, line, kind) for each line of ``body``: ``"fence"`` for a line that
    opens or closes a fenced block, ``"code"`` inside one, ``"text"`` elsewhere."""
    fence: str | None = None
    item = 0
    for number, line in enumerate(body.split("\n"), start=1):
        kind, fence, item = _read(line, fence, item)
        yield number, line, kind


def _read(line: str, fence: str | None, item: int) -> tuple[Kind, str | None, int]:
    """The rule (:func:`step` without the state object: this runs for every line of every
    document shown, searched or indexed)."""
    marker = FENCE_RE.match(line) if line[:1] in _FENCE_START else None
    if marker and len(marker.group(1)) <= item + FENCE_INDENT:
        token = marker.group(2)
        if fence is None:
            return "fence", token, item
        closes = token[0] == fence[0] and len(token) >= len(fence)
        if closes and not line[marker.end() :].strip():  # a closer has no info string
            return "fence", None, item
    if fence is not None:
        return "code", fence, item
    # the list item whose text this line leaves open: a new item's, the same one's (blank or
    # indented lines), or none (a line at the margin ends the list)
    first = line[:1]
    if first in _ITEM_START:
        match = _ITEM_RE.match(line)
        if match:
            return "text", None, len(match.group(0))
    if first in (" ", "\t", "") or not line.strip():
        return "text", None, item
    return "text", None, 0


def without_fences(body: str) -> str:
    """``body`` with each fence line emptied: the code stays, its fences go."""
    if "```" not in body and "~~~" not in body:
        return body
    return "\n".join("" if kind == "fence" else line for _, line, kind in lines(body))


def fence(code: str, info: str = "", indent: str = "") -> str:
    """``code`` as a fenced block that none of its own lines can close (the fence is one
    backtick longer than any fence-like run inside it, however indented), each line prefixed
    with ``indent`` (to sit inside a list item). The code is kept verbatim: no line is joined
    or re-wrapped."""
    longest = max(
        (
            len(m.group(2))
            for line in code.split("\n")
            if (m := FENCE_RE.match(line)) and m.group(2)[0] == "`"
        ),
        default=0,
    )
    marker = "`" * max(3, longest + 1)
    body = code.rstrip("\n").split("\n")
    return "\n".join(
        indent + line if line else line for line in [marker + info.strip(), *body, marker]
    )
