"""What the views filled from the catalog share (the responsibility matrix, the handovers, the
review queue): they read the knowledge base again when its documents change while they are
shown, on the window's pool when they have one (:func:`~kbapp.ui.tasks.run_or_inline`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from kbapp.ui.tasks import Tasks, relay
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges  # SQLAlchemy loads on first use, not at start-up


class CatalogView(QWidget):
    """A view that fills itself with :meth:`refresh`; without ``tasks`` it reads inline."""

    def __init__(
        self, workspace: Workspace, parent: QWidget | None = None, tasks: Tasks | None = None
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks

    def watch_documents(self, lazy: bool) -> None:
        """Refresh whenever documents change while shown; now, unless ``lazy`` (a hidden view
        of the main window fills itself when it is shown)."""
        relay(self, self.workspace.documents_changed, self._on_documents_changed)
        if not lazy:
            self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError

    def _on_documents_changed(self, changes: CatalogChanges) -> None:
        if self.isVisible():
            self.refresh()
