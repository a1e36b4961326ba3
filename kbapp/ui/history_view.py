"""A document's history: its versions (who, which organisation, when, the commit message), the
difference between any two (side by side with changed words marked, or the raw unified diff),
and restoring a version (a new commit; the versions after it stay in the history).

It adapts :mod:`kbapp.sync.history` (core): :func:`~kbapp.sync.history.compare` reads the
two versions and makes the HTML (:mod:`kbapp.documents.renderdiff`) on a worker; this view
only shows it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QSyntaxHighlighter, QTextCharFormat, QTextDocument
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

from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.sync import history
from kbapp.ui import dialog_parts, style
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

COLUMNS = ("When", "Who", "Organisation", "Message")


class DiffHighlighter(QSyntaxHighlighter):
    """Colours a unified diff: added lines green, removed red, hunk headers blue."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.styles: dict[str, QTextCharFormat] = {}
        for prefix, colour in (("+", "#1E8449"), ("-", "#C0392B"), ("@", "#1A5FB4")):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self.styles[prefix] = fmt

    def highlightBlock(self, text: str) -> None:
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
        self.versions: list[history.Version] = []
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
        self.hint = dialog_parts.hint_label(
            "Select one version to see what it changed, or two (Ctrl+click) to compare them."
        )
        self.changes = QTextBrowser()  # both versions rendered, changed blocks marked
        self.changes.setObjectName("renderedChanges")
        self.changes.setOpenLinks(False)
        self.changes.document().setDefaultStyleSheet(style.reader_css(self.palette()))
        self.rendered = QTextBrowser()
        self.rendered.setObjectName("renderedDiff")
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("rawDiff")
        self.raw.setReadOnly(True)
        self.raw.setFont(style.monospace_font())
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
        self.tasks.run(
            lambda: history.history(self.workspace, path),
            self.show_versions,
            self._on_failed,
            owner=self,
            key="history",
        )

    def show_versions(self, versions: list[history.Version]) -> None:
        self.versions = list(versions)
        self.table.setRowCount(len(self.versions))
        for row, version in enumerate(self.versions):
            values = (
                version.when,
                version.author,
                version.org or "—",
                version.message.split("\n")[0],
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"{version.rev[:10]}  {version.email}\n{version.message}")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        if self.versions:
            # not selectRow: it follows the modifier keys held (Ctrl toggles), so a second
            # load while Ctrl was down left nothing selected and no changes shown
            self.select(0)

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def select(self, *rows: int) -> None:
        """Select versions by row (0 = newest), as Ctrl+click does."""
        self.table.clearSelection()
        model = self.table.selectionModel()
        from PySide6.QtCore import QItemSelectionModel

        for row in rows:
            model.select(
                self.table.model().index(row, 0),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _on_selection_changed(self) -> None:
        rows = self.selected_rows()
        self.restore_button.setEnabled(len(rows) == 1 and rows[0] > 0)
        if not rows:
            return
        newer = self.versions[rows[0]]
        older = (
            self.versions[rows[-1] + 1]
            if len(rows) == 1 and rows[0] + 1 < len(self.versions)
            else (self.versions[rows[-1]] if len(rows) > 1 else None)
        )
        self.show_diff(
            older.rev if older else None,
            newer.rev,
            older.label if older else "",
            newer.label,
        )

    def show_diff(
        self, from_rev: str | None, to_rev: str, from_label: str = "", to_label: str = ""
    ) -> None:
        path = self.path
        workspace = self.workspace

        def work() -> tuple[str, str, str]:
            comparison = history.compare(workspace, path, from_rev, to_rev, from_label, to_label)
            return (
                comparison.unified,
                comparison.side_by_side_html(),
                comparison.rendered_html(),
            )

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
        self.message.emit(
            f"Restored the version of {version.when} by {version.author}; the later "
            "versions stay in the history.",
            Level.INFO.value,
        )
        self.restored.emit(self.path)
        self.show_document(self.path)
        return True

    def _on_failed(self, error: Exception) -> None:
        self.message.emit(f"History: {error}", Level.ERROR.value)
