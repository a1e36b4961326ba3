"""Markdown syntax highlighting for the editor: headings, emphasis, code (inline and fenced),
links and [[wiki links]], list and task markers, quotes, and the template's guidance comments
(``<!-- ... -->``) greyed out so that what is still to be written stands out.

Which lines are fenced code is :mod:`kbapp.documents.mdlines`' rule, read one line at a time
(:func:`~kbapp.documents.mdlines.step`); each line's state is that reading's state packed into
the block's number, with one more bit for a guidance comment left open."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from kbapp.documents import mdlines

IN_COMMENT = 1  # the low bit of a block's state; the rest is the mdlines state, packed
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s{0,3}#{1,6}\s.*$"), "heading"),
    (re.compile(r"^\s*([-*+]|\d+[.)])\s(\[[ xX]\]\s)?"), "list"),
    (re.compile(r"^\s*>.*$"), "quote"),
    (re.compile(r"(\*\*|__)(?=\S).+?(?<=\S)\1"), "strong"),
    (re.compile(r"(?<![*_\w])([*_])(?=\S)(.+?)(?<=\S)\1(?![*_\w])"), "emphasis"),
    (re.compile(r"\[\[[^\]]+\]\]"), "link"),
    (re.compile(r"!?\[[^\]]*\]\([^)]*\)"), "link"),
    (re.compile(r"<https?://[^>]+>"), "link"),
    (re.compile(r"`[^`]+`"), "code"),
]


def _format(
    colour: str, bold: bool = False, italic: bool = False, mono: bool = False, background: str = ""
) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    if mono:
        fmt.setFontFamilies(["DejaVu Sans Mono", "Consolas", "Menlo", "monospace"])
    if background:
        fmt.setBackground(QColor(background))
    return fmt


class MarkdownHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self.formats = {
            "heading": _format("#7CB7FF" if dark else "#1A4E8A", bold=True),
            "list": _format("#E0A050" if dark else "#A04000", bold=True),
            "quote": _format("#9AA4AE" if dark else "#5F6B76", italic=True),
            "strong": _format("#E8E8E8" if dark else "#111111", bold=True),
            "emphasis": _format("#E8E8E8" if dark else "#111111", italic=True),
            "link": _format("#6FC3DF" if dark else "#0B6E99"),
            "code": _format("#E6B673" if dark else "#8A3B12", mono=True),
            "fence": _format(
                "#E6B673" if dark else "#8A3B12",
                mono=True,
                background="#2A2E33" if dark else "#F4F6F8",
            ),
            "comment": _format("#7F8C8D", italic=True),
        }

    def highlightBlock(self, text: str) -> None:
        previous = self.previousBlockState()
        in_comment = previous >= 0 and bool(previous & IN_COMMENT)
        # -1 (the first line) stays -1: mdlines' starting state
        kind, after = mdlines.step(mdlines.State.unpack(previous >> 1), text)
        packed = after.pack() << 1
        if kind != "text":
            self.setFormat(0, len(text), self.formats["fence"])
            self.setCurrentBlockState(packed)
            return
        for pattern, name in _RULES:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), self.formats[name])
        self._comments(text, in_comment, packed)

    def _comments(self, text: str, continuing: bool, state: int) -> None:
        self.setCurrentBlockState(state)
        start = 0 if continuing else text.find("<!--")
        while start >= 0:
            end = text.find("-->", start + (0 if continuing else 4))
            if end < 0:
                self.setFormat(start, len(text) - start, self.formats["comment"])
                self.setCurrentBlockState(state | IN_COMMENT)
                return
            self.setFormat(start, end + 3 - start, self.formats["comment"])
            continuing = False
            start = text.find("<!--", end + 3)
