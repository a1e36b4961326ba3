"""What changed between two versions of a document, as the reader shows them.

Both versions are rendered (sanitised, as in the reader) and cut into their top-level blocks:
paragraphs, headings, lists, code blocks, tables, quotes. The block sequences are compared,
so a reviewer sees the changed step of a runbook rendered, not its Markdown source.

The HTML the window's history and review queue show (and ``kbapp diff --html`` prints) is
made here too: :func:`rendered_changes_html` (the blocks, changed ones on a coloured band) and
:func:`side_by_side_html` (the two texts line by line, changed words marked).
"""

from __future__ import annotations

import difflib
import html
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
#: Unchanged lines kept around each change in the side-by-side view.
CONTEXT_LINES = 3
#: Background of added and removed lines in the side-by-side view.
ADDED, REMOVED = "#D4F4DD", "#FADBD8"


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


def rendered_changes_html(blocks: list[Block], old_label: str = "", new_label: str = "") -> str:
    """The new version rendered, changed blocks on a coloured band with + or − beside them,
    removed blocks shown where they were."""
    parts = []
    if old_label or new_label:
        parts.append(f"<p><b>{html.escape(old_label)}</b> → <b>{html.escape(new_label)}</b></p>")
    for block in blocks:
        if block.change == "gap":
            parts.append("<p align='center' style='color: gray'>⋯ unchanged ⋯</p>")
        elif block.change == "same":
            parts.append(block.html)
        else:
            sign = "+" if block.change == "added" else "−"  # colours: resources/ui/reader.css
            parts.append(
                f"<table class='{block.change}' width='100%' cellspacing='0' "
                f"cellpadding='4'><tr><td width='14' valign='top'><b>{sign}</b></td>"
                f"<td>{block.html}</td></tr></table>"
            )
    return "".join(parts)


def side_by_side_html(old: str, new: str, old_label: str = "", new_label: str = "") -> str:
    """The two texts side by side, changed lines coloured and changed words marked."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    rows: list[str] = []
    if old_label or new_label:
        rows.append(
            f"<tr><th width='50%'>{html.escape(old_label)}</th>"
            f"<th width='50%'>{html.escape(new_label)}</th></tr>"
        )
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in _grouped(matcher):
        if tag == "gap":
            rows.append(_row("⋯", "⋯", "", ""))
        elif tag == "equal":
            for a, b in zip(old_lines[i1:i2], new_lines[j1:j2]):
                rows.append(_row(html.escape(a), html.escape(b), "", ""))
        else:
            rows += _changed_rows(old_lines[i1:i2], new_lines[j1:j2])
    return (
        "<table width='100%' cellspacing='0' cellpadding='2' "
        "style='font-family: monospace'>" + "".join(rows) + "</table>"
    )


def _grouped(matcher: difflib.SequenceMatcher[str]) -> list[tuple[str, int, int, int, int]]:
    """Opcodes with long unchanged runs shortened to the context each side, a "gap" between."""
    out: list[tuple[str, int, int, int, int]] = []
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        if out:
            out.append(("gap", 0, 0, 0, 0))
        out.extend(group)
    return out


def _changed_rows(left: list[str], right: list[str]) -> list[str]:
    """Rows of a changed run: lines paired up with their changed words marked, the rest of the
    longer side alone on its coloured band."""
    rows = []
    for index in range(max(len(left), len(right))):
        was = left[index] if index < len(left) else None
        now = right[index] if index < len(right) else None
        if was is not None and now is not None:
            marked_was, marked_now = _word_diff(was, now)
            rows.append(_row(marked_was, marked_now, REMOVED, ADDED))
        else:
            rows.append(
                _row(
                    html.escape(was) if was is not None else "",
                    html.escape(now) if now is not None else "",
                    REMOVED if was is not None else "",
                    ADDED if now is not None else "",
                )
            )
    return rows


def _row(left: str, right: str, left_bg: str, right_bg: str) -> str:
    def cell(text: str, bg: str) -> str:
        colour = f" bgcolor='{bg}'" if bg else ""
        return f"<td width='50%'{colour}>{text or '&nbsp;'}</td>"

    return f"<tr>{cell(left, left_bg)}{cell(right, right_bg)}</tr>"


def _word_diff(old: str, new: str) -> tuple[str, str]:
    """The two lines escaped, the words only one has wrapped in ``<del>`` / ``<ins>``."""
    a, b = old.split(" "), new.split(" ")
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        old_part = html.escape(" ".join(a[i1:i2]))
        new_part = html.escape(" ".join(b[j1:j2]))
        if tag == "equal":
            left.append(old_part)
            right.append(new_part)
        else:
            if old_part:
                left.append(f"<del>{old_part}</del>")
            if new_part:
                right.append(f"<ins>{new_part}</ins>")
    return " ".join(left), " ".join(right)
