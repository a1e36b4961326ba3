"""How the co-sourcing views join a main window, and the user actions they add.

Like :mod:`kbapp.ui.lifecycle`: :data:`ACTIONS` (declared in ``kbapp/ui/actions.py``) names
the :class:`CosourcingViews` method that handles each action; :class:`CosourcingViews` creates
the responsibility matrix, the handovers and the onboarding checklist as views of the window's
main area (:class:`~kbapp.ui.view_area.ViewArea`) and holds the handlers.
The window tells it which document the user opened (:meth:`document_opened`: an onboarding
path shows as a checklist) and opens what it asks for through ``open_requested``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow

from kbapp.cosourcing import matrix as matrix_module
from kbapp.cosourcing.onboarding import TYPE as ONBOARDING_TYPE
from kbapp.documents.model import Document
from kbapp.fsutil import atomic_write
from kbapp.ui.actions import COSOURCING_ACTIONS
from kbapp.ui.handover_view import HandoverView
from kbapp.ui.matrix_view import MatrixView
from kbapp.ui.onboarding_view import OnboardingView
from kbapp.ui.tasks import Tasks
from kbapp.ui.view_area import ViewArea
from kbapp.workspace import Workspace

#: This module's actions, declared with the window's others (see :mod:`kbapp.ui.actions`).
ACTIONS = COSOURCING_ACTIONS


class CosourcingViews(QObject):
    """The responsibility matrix, handovers and onboarding checklist on one main window."""

    open_requested = Signal(str)  # a path the window should show in the reader

    def __init__(
        self,
        window: QMainWindow,
        workspace: Workspace,
        tasks: Tasks | None = None,
        *,
        area: ViewArea,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = workspace
        self.tasks = tasks or Tasks(self)
        self.area = area
        self._create_views()

    def _create_views(self) -> None:
        self.matrix = MatrixView(self.workspace, lazy=True, tasks=self.tasks)
        self.matrix.open_requested.connect(self.open_requested)
        self.area.register("matrix", "Responsibility matrix", self.matrix, focus=self.matrix.table)
        self.handovers = HandoverView(self.workspace, lazy=True, tasks=self.tasks)
        self.handovers.open_requested.connect(self.open_requested)
        self.area.register("handovers", "Handovers", self.handovers, focus=self.handovers.table)
        self.onboarding = OnboardingView(self.workspace)
        self.onboarding.open_requested.connect(self.open_requested)
        self.area.register("onboarding", "Onboarding", self.onboarding, focus=self.onboarding.list)

    # ------------------------------------------------------------------ what the window reports

    def document_opened(self, doc: Document) -> None:
        """An onboarding path the user opens also shows as a checklist (a view of its own,
        behind the reader)."""
        if doc.type == ONBOARDING_TYPE:
            self.show_onboarding(doc.id, focus=False, front=False)

    # ------------------------------------------------------------------ action handlers

    def show_matrix(self, focus: bool = True) -> None:
        self.area.show_view("matrix", focus=focus)
        self.matrix.refresh()  # in the background

    def export_matrix(self, path: Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self.window,
                "Export responsibility matrix",
                "responsibility-matrix.html",
                "HTML (*.html)",
            )
            if not chosen:
                return None
            path = Path(chosen)
        page = matrix_module.render_html(
            matrix_module.matrix_for(self.workspace), self.workspace.config.name
        )
        atomic_write(path, page.encode("utf-8"))
        return path

    def show_handovers(self, focus: bool = True) -> None:
        self.area.show_view("handovers", focus=focus)
        self.handovers.refresh()  # in the background

    def show_onboarding(
        self, ref: str | None = None, focus: bool = True, front: bool = True
    ) -> None:
        if ref is None:
            paths = [
                e
                for e in self.workspace.catalog.query(type=ONBOARDING_TYPE)
                if e.status != "retired"
            ]
            if not paths:
                self.workspace.interaction.notify(
                    "There is no onboarding path yet: create one from the Onboarding path template."
                )
                return
            ref = paths[0].doc_id
        self.onboarding.set_document(ref)
        title = self.onboarding.state.title if self.onboarding.state else "Onboarding"
        current = self.area.current()
        # Its own name beside the reader's tab of the same document (the title of most paths
        # starts with "Onboarding": the tab said "Onboarding: Onboarding: night…").
        self.area.show_view("onboarding", f"Reading list: {title}", focus=focus)
        if not front and current != "start":
            self.area.show_view(current, focus=False)
