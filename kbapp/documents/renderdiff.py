"""What changed between two versions of a document, as the reader shows them.

Both versions are rendered (sanitised, as in the reader) and cut into their top-level blocks:
paragraphs, headings, lists, code blocks, tables, quotes. The block sequences are compared,
so a reviewer sees the changed step of a runbook rendered, not its Markdown source.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from kbapp.documents.render import render_markdown

Change = Literal["same", "added", "removed"]

_COPY_LINK_RE = re.compile(r'<p class="codecopy">.*?</p>', re.S)  # the reader's, not here

#: Unchanged blocks kept around each change; longer unchanged runs become one "gap".
CONTEXT_BLOCKS = 2


@dataclass(frozen=True)
class Block:
    change: Change | Literal["gap"]
    html: str


class _TopLevel(HTMLParser):
    """Offsets where each top-level element (or run of loose text) starts."""

    VOID = frozenset({"br", "hr", "img", "input", "wbr", "col", "source", "meta", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.starts: list[int] = []
        self._line_starts: list[int] = []

    def feed_html(self, text: str) -> list[str]:
        self._line_starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                self._line_starts.append(index + 1)
        self.feed(text)
        self.close()
        cuts = sorted(set(self.starts)) + [len(text)]
        blocks = [text[a:b].strip() for a, b in itertools.pairwise(cuts)]
        head = text[: cuts[0]].strip()
        return ([head] if head else []) + [b for b in blocks if b]

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.starts.append(self._offset())
        if tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.starts.append(self._offset())

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth = max(0, self.depth - 1)


def html_blocks(rendered_html: str) -> list[str]:
    """The top-level blocks of rendered HTML, in order (without the reader's copy links)."""
    return _TopLevel().feed_html(_COPY_LINK_RE.sub("", rendered_html))


def rendered_changes(old_body: str, new_body: str) -> list[Block]:
    """The new version's blocks with the old version's removed blocks in place, each marked;
    unchanged runs longer than the context shortened to a gap."""
    old = html_blocks(render_markdown(old_body).html) if old_body else []
    new = html_blocks(render_markdown(new_body).html)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[Block] = []
    opcodes = matcher.get_opcodes()
    for number, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = new[j1:j2]
            keep_head = CONTEXT_BLOCKS if number > 0 else 0
            keep_tail = CONTEXT_BLOCKS if number < len(opcodes) - 1 else 0
            if len(same) > keep_head + keep_tail + 1:
                out += [Block("same", b) for b in same[:keep_head]]
                out.append(Block("gap", ""))
                out += (
                    [Block("same", b) for b in same[len(same) - keep_tail :]] if keep_tail else []
                )
            else:
                out += [Block("same", b) for b in same]
            continue
        out += [Block("removed", b) for b in old[i1:i2]]
        out += [Block("added", b) for b in new[j1:j2]]
    return out
