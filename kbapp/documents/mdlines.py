"""Markdown read line by line: which lines are fenced code.

Headings, links and the search index's code field all need to know whether a line sits
inside a fenced code block (```` ``` ```` or ``~~~``, closed by a fence of the same character
at least as long and with nothing after it, as CommonMark says); this is the one place that knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")

Kind = Literal["text", "code", "fence"]


def lines(body: str) -> Iterator[tuple[int, str, Kind]]:
    """(1-based number, line, kind) for each line of ``body``: ``"fence"`` for a line that
    opens or closes a fenced block, ``"code"`` inside one, ``"text"`` elsewhere."""
    fence: str | None = None
    for number, line in enumerate(body.split("\n"), start=1):
        marker = FENCE_RE.match(line)
        if marker:
            token = marker.group(1)
            if fence is None:
                fence = token
                yield number, line, "fence"
                continue
            closes = token[0] == fence[0] and len(token) >= len(fence)
            if closes and not line[marker.end() :].strip():  # a closer has no info string
                fence = None
                yield number, line, "fence"
                continue
        yield number, line, "code" if fence is not None else "text"


def fence(code: str, info: str = "", indent: str = "") -> str:
    """``code`` as a fenced block that none of its own lines can close (the fence is one
    backtick longer than any fence-like run inside it), each line prefixed with ``indent``
    (to sit inside a list item). The code is kept verbatim: no line is joined or re-wrapped."""
    longest = max(
        (
            len(m.group(1))
            for line in code.split("\n")
            if (m := FENCE_RE.match(line)) and m.group(1)[0] == "`"
        ),
        default=0,
    )
    marker = "`" * max(3, longest + 1)
    body = code.rstrip("\n").split("\n")
    return "\n".join(
        indent + line if line else line for line in [marker + info.strip(), *body, marker]
    )
