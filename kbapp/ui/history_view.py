"""A document's history: its versions (who, which organisation, when, the commit message), the
difference between any two (side by side with changed words marked, or the raw unified diff),
and restoring a version (a new commit; the versions after it stay in the history).

It adapts :mod:`kbapp.history` (core); reading git runs in the background.
"""

from __future__ import annotations

import difflib
import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kbapp import documents, history
from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.renderdiff import Block, rendered_changes
from kbapp.ui import style
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

COLUMNS = ("When", "Who", "Organisation", "Message")
#: Background of added and removed blocks and lines.
ADDED, REMOVED = "#D4F4DD", "#FADBD8"


def side_by_side_html(old: str, new: str, old_label: str = "", new_label: str = "") -> str:
    """The two texts side by side, changed lines coloured and changed words marked."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    rows: list[str] = []
    if old_label or new_label:
        rows.append(f"<tr><th width='50%'>{html.escape(old_label)}</th>"
                    f"<th width='50%'>{html.escape(new_label)}</th></tr>")
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in _flat(matcher):
        if tag == "gap":
            rows.append(_row("⋯", "⋯", "", ""))
            continue
        if tag == "equal":
            for a, b in zip(old_lines[i1:i2], new_lines[j1:j2]):
                rows.append(_row(html.escape(a), html.escape(b), "", ""))
            continue
        left, right = old_lines[i1:i2], new_lines[j1:j2]
        for index in range(max(len(left), len(right))):
            was = left[index] if index < len(left) else None
            now = right[index] if index < len(right) else None
            if was is not None and now is not None:
                marked_was, marked_now = _word_diff(was, now)
                rows.append(_row(marked_was, marked_now, REMOVED, ADDED))
            else:
                rows.append(_row(html.escape(was) if was is not None else "",
                                 html.escape(now) if now is not None else "",
                                 REMOVED if was is not None else "",
                                 ADDED if now is not None else ""))
    return ("<table width='100%' cellspacing='0' cellpadding='2' "
            "style='font-family: monospace'>" + "".join(rows) + "</table>")


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
            parts.append(f"<table class='{block.change}' width='100%' cellspacing='0' "
                         f"cellpadding='4'><tr><td width='14' valign='top'><b>{sign}</b></td>"
                         f"<td>{block.html}</td></tr></table>")
    return "".join(parts)


def _flat(matcher: difflib.SequenceMatcher[str]) -> list[tuple[str, int, int, int, int]]:
    """Opcodes with long unchanged runs shortened to three lines of context each side."""
    out: list[tuple[str, int, int, int, int]] = []
    for group in matcher.get_grouped_opcodes(3):
        if out:
            out.append(("gap", 0, 0, 0, 0))
        out.extend(group)
    return out


def _row(left: str, right: str, left_bg: str, right_bg: str) -> str:
    def cell(text: str, bg: str) -> str:
        colour = f" bgcolor='{bg}'" if bg else ""
        return f"<td width='50%'{colour}>{text or '&nbsp;'}</td>"

    return f"<tr>{cell(left, left_bg)}{cell(right, right_bg)}</tr>"


def _word_diff(old: str, new: str) -> tuple[str, str]:
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


def _label(version: Any) -> str:
    when = version.date.strftime("%Y-%m-%d %H:%M") if hasattr(version.date, "strftime") \
        else str(version.date)
    return f"{when} · {version.author}" + (f" ({version.org})" if version.org else "")


class DiffHighlighter(QSyntaxHighlighter):
    """Colours a unified diff: added lines green, removed red, hunk headers blue."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.styles: dict[str, QTextCharFormat] = {}
        for prefix, colour in (("+", "#1E8449"), ("-", "#C0392B"), ("@", "#1A5FB4")):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self.styles[prefix] = fmt

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        if text.startswith(("+++", "---")):
            return
        fmt = self.styles.get(text[:1])
        if fmt is not None:
            self.setFormat(0, len(text), fmt)


class HistoryView(QWidget):
    #: A version was restored (the path).
    restored = Signal(str)
    message = Signal(str, str)

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.path = ""
        self.versions: list[Any] = []
        self._create_widgets()
        self._create_layout()

    def _create_widgets(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("historyTitle")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("versions")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.hint = QLabel("Select one version to see what it changed, or two (Ctrl+click) to "
                           "compare them.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.changes = QTextBrowser()  # both versions rendered, changed blocks marked
        self.changes.setObjectName("renderedChanges")
        self.changes.setOpenLinks(False)
        self.changes.document().setDefaultStyleSheet(style.reader_css(self.palette()))
        self.rendered = QTextBrowser()
        self.rendered.setObjectName("renderedDiff")
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("rawDiff")
        self.raw.setReadOnly(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.raw.setFont(font)
        self.raw_highlighter = DiffHighlighter(self.raw.document())
        self.tabs = QTabWidget()
        self.tabs.addTab(self.changes, "Rendered changes")
        self.tabs.addTab(self.rendered, "Side by side")
        self.tabs.addTab(self.raw, "Unified diff")
        self.restore_button = QPushButton("Restore this version")
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self.restore_selected)

    def _create_layout(self) -> None:
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        row.addWidget(self.restore_button)
        top_layout.addLayout(row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        splitter.setSizes([220, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------------ loading

    def show_document(self, path: str, title: str = "") -> None:
        self.path = path
        self.title.setText(f"<b>History of {html.escape(title or path)}</b> — {html.escape(path)}")
        self.tasks.run(lambda: history.history(self.workspace, path), self.show_versions,
                       self._on_failed, owner=self, key="history")

    def show_versions(self, versions: list[Any]) -> None:
        self.versions = list(versions)
        self.table.setRowCount(len(self.versions))
        for row, version in enumerate(self.versions):
            when = version.date.strftime("%Y-%m-%d %H:%M") if hasattr(version.date, "strftime") \
                else str(version.date)
            values = (when, version.author, version.org or "—", version.message.split("\n")[0])
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"{version.rev[:10]}  {version.email}\n{version.message}")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        if self.versions:
            self.table.selectRow(0)

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def select(self, *rows: int) -> None:
        """Select versions by row (0 = newest), as Ctrl+click does."""
        self.table.clearSelection()
        model = self.table.selectionModel()
        from PySide6.QtCore import QItemSelectionModel

        for row in rows:
            model.select(self.table.model().index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)

    def _on_selection_changed(self) -> None:
        rows = self.selected_rows()
        self.restore_button.setEnabled(len(rows) == 1 and rows[0] > 0)
        if not rows:
            return
        newer = self.versions[rows[0]]
        older = self.versions[rows[-1] + 1] if len(rows) == 1 and rows[0] + 1 < len(self.versions) \
            else (self.versions[rows[-1]] if len(rows) > 1 else None)
        self.show_diff(older.rev if older else None, newer.rev,
                       _label(older) if older else "(nothing before)", _label(newer))

    def show_diff(self, from_rev: str | None, to_rev: str, from_label: str = "",
                  to_label: str = "") -> None:
        path = self.path
        workspace = self.workspace

        def work() -> tuple[str, str, str]:
            new = history.version_text(workspace, path, to_rev)
            old = history.version_text(workspace, path, from_rev) if from_rev else ""
            raw = history.diff(workspace, path, from_rev, to_rev) if from_rev else \
                "\n".join("+" + line for line in new.split("\n"))
            blocks = rendered_changes(documents.parse(old.encode(), path).body if old else "",
                                      documents.parse(new.encode(), path).body)
            return (raw, side_by_side_html(old, new, from_label, to_label),
                    rendered_changes_html(blocks, from_label, to_label))

        self.tasks.run(work, self._show_diff_texts, self._on_failed, owner=self, key="history-diff")

    def _show_diff_texts(self, texts: tuple[str, str, str]) -> None:
        raw, side_by_side, changes = texts
        self.raw.setPlainText(raw)
        self.rendered.setHtml(side_by_side)
        self.changes.setHtml(changes)

    # ------------------------------------------------------------------ restoring

    def restore_selected(self) -> bool:
        rows = self.selected_rows()
        if len(rows) != 1:
            return False
        version = self.versions[rows[0]]
        try:
            history.restore(self.workspace, self.path, version.rev)
        except KbError as exc:
            self.message.emit(f"Not restored: {exc}", Level.ERROR.value)
            return False
        when = version.date.strftime("%Y-%m-%d %H:%M") if hasattr(version.date, "strftime") \
            else str(version.date)
        self.message.emit(f"Restored the version of {when} by {version.author}; the later "
                          "versions stay in the history.", Level.INFO.value)
        self.restored.emit(self.path)
        self.show_document(self.path)
        return True

    def _on_failed(self, error: Exception) -> None:
        self.message.emit(f"History: {error}", Level.ERROR.value)
