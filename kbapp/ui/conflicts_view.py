"""Resolving a conflict: mine, base and theirs side by side with their differences highlighted,
a merged text to pick or edit, and Resolve.

Two uses, one view. After a sync, the documents both organisations changed in the same place
(:func:`kbapp.sync.conflicts.list_conflicts`): Resolve saves and commits the merged text through
:func:`kbapp.sync.conflicts.resolve`. In the editor, when a sync changed the file under unsaved
typing: the merged text goes back into the editor (:meth:`ConflictsView.merge_for_editor`).
The merged text starts as the merge by meaning; the core prepares each document
(:func:`kbapp.sync.conflicts.propose`: the texts, the proposal, the changed lines) and this view
shows it. Text still carrying conflict markers is never accepted
(:func:`kbapp.sync.conflicts.unresolved`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.sync import conflicts
from kbapp.sync.conflicts import Proposal
from kbapp.ui import dialog_parts, style
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

MINE_COLOUR = ("#DFF3E4", "#1F3D2A")  # light, dark
THEIRS_COLOUR = ("#DCEBFA", "#1E3348")
BASE_COLOUR = ("#F3E9D2", "#3D3420")


def _pane(name: str) -> QPlainTextEdit:
    pane = QPlainTextEdit()
    pane.setObjectName(name)
    pane.setReadOnly(True)
    pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    pane.setFont(style.monospace_font())
    return pane


def highlight(pane: QPlainTextEdit, lines: list[int], colour: str) -> None:
    selections = []
    document = pane.document()
    for number in lines:
        block = document.findBlockByNumber(number)
        if not block.isValid():
            continue
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(colour))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.format = fmt
        cursor = QTextCursor(block)
        selection.cursor = cursor
        selections.append(selection)
    pane.setExtraSelections(selections)
    if lines:  # the differences are what matters: show the first one, not the front matter
        reveal(pane, lines[0])


def reveal(pane: QPlainTextEdit, line: int) -> None:
    block = pane.document().findBlockByNumber(line)
    if block.isValid():
        pane.setTextCursor(QTextCursor(block))
        pane.centerCursor()


class ConflictsView(QWidget):
    #: A conflict was resolved and committed (its path).
    resolved = Signal(str)
    message = Signal(str, str)

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.case: Proposal | None = None
        self.cases: list[Proposal] = []
        self._editor_callback: Callable[[str], None] | None = None
        self._create_widgets()
        self._create_layout()
        self._enable(False)

    def _create_widgets(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("conflictTitle")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("conflictList")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._on_row_changed)
        self.mine = _pane("mine")
        self.base = _pane("base")
        self.theirs = _pane("theirs")
        self.merged = QPlainTextEdit()
        self.merged.setObjectName("merged")
        self.merged.setFont(self.mine.font())
        self.take_mine = QPushButton("Take mine")
        self.take_mine.clicked.connect(lambda: self._take("mine"))
        self.take_theirs = QPushButton("Take theirs")
        self.take_theirs.clicked.connect(lambda: self._take("theirs"))
        self.resolve_button = QPushButton("Resolve")
        self.resolve_button.setObjectName("resolveButton")
        self.resolve_button.setDefault(True)
        self.resolve_button.clicked.connect(self.resolve)
        self.error = dialog_parts.error_label("")

    def _create_layout(self) -> None:
        sides = QSplitter(Qt.Orientation.Horizontal)
        for label, pane in (
            ("Mine (this clone)", self.mine),
            ("Base (before both)", self.base),
            ("Theirs (the other side)", self.theirs),
        ):
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(QLabel(f"<b>{label}</b>"))
            column.addWidget(pane)
            sides.addWidget(box)
        merged_box = QWidget()
        merged_layout = QVBoxLayout(merged_box)
        merged_layout.setContentsMargins(0, 0, 0, 0)
        merged_layout.addWidget(
            QLabel("<b>Merged</b> — pick a side or edit; this is what is saved")
        )
        merged_layout.addWidget(self.merged)
        buttons = QHBoxLayout()
        buttons.addWidget(self.take_mine)
        buttons.addWidget(self.take_theirs)
        buttons.addStretch(1)
        buttons.addWidget(self.error, 2)
        buttons.addWidget(self.resolve_button)
        merged_layout.addLayout(buttons)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(sides)
        vertical.addWidget(merged_box)
        vertical.setSizes([400, 260])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.list)
        main.addWidget(vertical)
        main.setSizes([170, 930])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(main, 1)

    # ------------------------------------------------------------------ loading

    def load_conflicts(self) -> None:
        """The repository's conflicts after a sync (read and merged in the background)."""
        self._editor_callback = None

        workspace = self.workspace
        self.tasks.run(
            lambda: conflicts.proposals(workspace),
            self.show_cases,
            self._on_failed,
            owner=self,
            key="conflicts",
        )

    def merge_for_editor(
        self, path: str, mine: str, theirs: str, base: str, done: Callable[[str], None]
    ) -> None:
        """Merge unsaved editor text with what a sync wrote; ``done(merged)`` on Resolve."""
        self._editor_callback = done
        title = path.rsplit("/", 1)[-1]
        self.tasks.run(
            lambda: [conflicts.propose(path, title, mine, theirs, base)],
            self.show_cases,
            self._on_failed,
            owner=self,
            key="conflicts",
        )

    def show_cases(self, cases: list[Proposal]) -> None:
        self.cases = cases
        self.list.clear()
        for case in cases:
            item = QListWidgetItem(case.title)
            item.setToolTip(case.path)
            self.list.addItem(item)
        self.list.setVisible(self._editor_callback is None)
        if cases:
            self.list.setCurrentRow(0)
        else:
            self.case = None
            self.title.setText("No conflicts: everything is merged.")
            for pane in (self.mine, self.base, self.theirs, self.merged):
                pane.clear()
        self._enable(bool(cases))

    def _enable(self, on: bool) -> None:
        """Nothing to take or resolve without a conflict: greyed out, not buttons that do
        nothing beside empty panes."""
        for button in (self.take_mine, self.take_theirs, self.resolve_button):
            button.setEnabled(on)
        self.merged.setReadOnly(not on)

    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.cases):
            self.show_case(self.cases[row])

    def show_case(self, case: Proposal) -> None:
        self.case = case
        self._enable(True)
        where = ", ".join(case.conflicting) or "nothing (merged cleanly)"
        intro = (
            "Your unsaved text and the version a sync brought in"
            if self._editor_callback
            else "Both organisations changed this document"
        )
        self.title.setText(
            f"<b>{case.title}</b> — {case.path}<br>{intro}; still conflicting: {where}."
        )
        self.mine.setPlainText(case.mine)
        self.base.setPlainText(case.base)
        self.theirs.setPlainText(case.theirs)
        self.merged.setPlainText(case.merged)
        self.error.clear()
        dark = 1 if style.is_dark(self.palette()) else 0
        highlight(self.mine, case.mine_changed, MINE_COLOUR[dark])
        highlight(self.theirs, case.theirs_changed, THEIRS_COLOUR[dark])
        highlight(self.base, case.base_changed, BASE_COLOUR[dark])
        reveal(self.merged, case.first_line)

    def _take(self, side: str) -> None:
        if self.case is not None:
            self.merged.setPlainText(self.case.mine if side == "mine" else self.case.theirs)

    # ------------------------------------------------------------------ resolving

    def resolve(self) -> bool:
        case = self.case
        if case is None:
            return False
        text = self.merged.toPlainText()
        problem = conflicts.unresolved(text)
        if problem is not None:
            self.error.setText(problem)
            return False
        if self._editor_callback is not None:
            callback, self._editor_callback = self._editor_callback, None
            callback(text)
            return True
        try:
            conflicts.resolve(self.workspace, case.path, text=text)
        except KbError as exc:
            self.error.setText(str(exc))
            return False
        self.message.emit(f"Resolved {case.path}.", Level.INFO.value)
        self.cases = [c for c in self.cases if c.path != case.path]
        self.resolved.emit(case.path)
        self.show_cases(self.cases)
        return True

    def _on_failed(self, error: Exception) -> None:
        self.message.emit(f"Could not read the conflicts: {error}", Level.ERROR.value)
