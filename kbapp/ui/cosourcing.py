"""How the co-sourcing views join a main window, and the user actions they add.

Like :mod:`kbapp.ui.lifecycle`: :data:`ACTIONS` (declared in ``kbapp/ui/actions.py``) names
the :class:`CosourcingViews` method that handles each action; :class:`CosourcingViews` creates
the responsibility matrix, the handovers and the onboarding checklist as docks on a
``QMainWindow`` and holds the handlers.
The window tells it which document the user opened (:meth:`document_opened`: an onboarding
path shows as a checklist) and opens what it asks for through ``open_requested``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow

from kbapp import matrix as matrix_module
from kbapp.documents import Document
from kbapp.fsutil import atomic_write
from kbapp.onboarding import TYPE as ONBOARDING_TYPE
from kbapp.ui.actions import COSOURCING_ACTIONS
from kbapp.ui.docks import add_dock
from kbapp.ui.handover_view import HandoverView
from kbapp.ui.matrix_view import MatrixView
from kbapp.ui.onboarding_view import OnboardingView
from kbapp.workspace import Workspace

#: This module's actions, declared with the window's others (see :mod:`kbapp.ui.actions`).
ACTIONS = COSOURCING_ACTIONS


class CosourcingViews(QObject):
    """The responsibility matrix, handovers and onboarding checklist on one main window."""

    open_requested = Signal(str)  # a path the window should show in the reader

    def __init__(self, window: QMainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = workspace
        self._create_docks()

    def _create_docks(self) -> None:
        self.matrix = MatrixView(self.workspace, lazy=True)
        self.matrix.open_requested.connect(self.open_requested)
        self.matrix_dock = add_dock(self.window, "matrix", "Responsibility matrix", self.matrix,
                                    Qt.DockWidgetArea.BottomDockWidgetArea)
        self.handovers = HandoverView(self.workspace, lazy=True)
        self.handovers.open_requested.connect(self.open_requested)
        self.handover_dock = add_dock(self.window, "handovers", "Handovers", self.handovers,
                                      Qt.DockWidgetArea.BottomDockWidgetArea)
        self.onboarding = OnboardingView(self.workspace)
        self.onboarding.open_requested.connect(self.open_requested)
        self.onboarding_dock = add_dock(self.window, "onboarding", "Onboarding path",
                                        self.onboarding, Qt.DockWidgetArea.RightDockWidgetArea)
        for dock in (self.matrix_dock, self.handover_dock, self.onboarding_dock):
            dock.hide()

    # ------------------------------------------------------------------ what the window reports

    def document_opened(self, doc: Document) -> None:
        """An onboarding path the user opens also shows as a checklist beside it."""
        if doc.type == ONBOARDING_TYPE:
            self.show_onboarding(doc.id)

    # ------------------------------------------------------------------ action handlers

    def show_matrix(self) -> None:
        self.matrix_dock.show()
        self.matrix_dock.raise_()
        self.matrix.refresh()

    def export_matrix(self, path: Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self.window, "Export responsibility matrix",
                                                    "responsibility-matrix.html", "HTML (*.html)")
            if not chosen:
                return None
            path = Path(chosen)
        page = matrix_module.render_html(matrix_module.matrix_for(self.workspace),
                                          self.workspace.config.name)
        atomic_write(path, page.encode("utf-8"))
        return path

    def show_handovers(self) -> None:
        self.handover_dock.show()
        self.handover_dock.raise_()
        self.handovers.refresh()

    def show_onboarding(self, ref: str | None = None) -> None:
        if ref is None:
            paths = [e for e in self.workspace.catalog.all()
                     if e.type == ONBOARDING_TYPE and e.status != "retired"]
            if not paths:
                self.workspace.interaction.notify(
                    "There is no onboarding path yet: create one from the Onboarding path "
                    "template.")
                return
            ref = paths[0].doc_id
        self.onboarding.set_document(ref)
        self.onboarding_dock.show()
        self.onboarding_dock.raise_()
