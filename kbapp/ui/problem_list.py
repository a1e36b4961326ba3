"""The problems under the editor: what lint finds in the text being edited, as it would be
saved (worked out on a worker, :func:`lint_text`), errors first; choosing one goes to its line
or to the field of the form it is about."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kbapp.documents import model as documents
from kbapp.documents.lint import LintContext, Problem, lint_document
from kbapp.errors import DocumentError

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1


def lint_text(doc: documents.Document, ctx: LintContext) -> tuple[list[Problem], int]:
    """Lint what the editor holds as it would be saved; returns the problems and the file line
    where the body starts (to map problems to editor lines). Runs on a worker thread."""
    try:
        fresh = documents.parse(documents.serialise(doc), doc.path)
    except DocumentError as exc:
        return [Problem(doc.path, exc.line or 0, "error", "unreadable", exc.reason)], 1
    return lint_document(fresh, ctx), fresh.body_start_line()


class ProblemList(QWidget):
    """ "Problems: 1 error, 2 warnings" over the list of them (hidden when there is none)."""

    #: A problem on this line of the body was chosen (1-based, as the editor counts).
    line_requested = Signal(int)
    #: A problem about this front matter field was chosen.
    field_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems: list[Problem] = []
        self.body_start = 1
        self.label = QLabel("Problems")
        self.label.setObjectName("hint")
        self.list = QListWidget()
        self.list.setObjectName("lintProblems")
        self.list.setMaximumHeight(110)
        self.list.hide()
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.list)

    def show_problems(self, result: tuple[list[Problem], int]) -> None:
        """:func:`lint_text`'s answer."""
        self.problems, self.body_start = result
        self.list.clear()
        for problem in sorted(self.problems, key=lambda p: (p.severity != "error", p.line)):
            where = f"line {problem.line}" if problem.line else "document"
            subject = f"{problem.field}: " if problem.field else ""
            item = QListWidgetItem(f"{where} · {problem.severity} · {subject}{problem.message}")
            item.setData(PROBLEM_ROLE, problem)
            self.list.addItem(item)
        errors = sum(1 for p in self.problems if p.severity == "error")
        warnings = len(self.problems) - errors
        self.label.setText(
            f"Problems: {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''} (click one to go to its line)"
            if self.problems
            else "No problems found"
        )
        self.list.setVisible(bool(self.problems))

    def _on_activated(self, item: QListWidgetItem) -> None:
        problem: Problem = item.data(PROBLEM_ROLE)
        if problem.line and problem.line >= self.body_start:
            self.line_requested.emit(problem.line - self.body_start + 1)
        elif problem.field:
            self.field_requested.emit(problem.field)
