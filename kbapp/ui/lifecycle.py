"""How the lifecycle views join a main window, and the user actions they add.

:data:`ACTIONS` (declared in ``kbapp/ui/actions.py`` with the window's others) names the
:class:`LifecycleViews` method that handles each action of the menu bar, shortcuts and command
palette. :class:`LifecycleViews` creates the views on a ``QMainWindow`` (incident banner above
the central widget, the incident checklist in a dock beside the document, review queue and
dashboard as views of the window's main area, :class:`~kbapp.ui.view_area.ViewArea`) and holds
the handlers, so the window's own files change by a few lines. The window tells it what the user searches and
opens (:meth:`record_search`, :meth:`document_opened`); it asks the window to open a path
through ``open_requested``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from kbapp.documents.model import Document
from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.lifecycle.activity import Incident
from kbapp.lifecycle.capture import create_for_gap
from kbapp.lifecycle.incident import incidents_for
from kbapp.ui.actions import LIFECYCLE_ACTIONS
from kbapp.ui.capture import CaptureDialog
from kbapp.ui.dashboard import DashboardView
from kbapp.ui.docks import add_dock
from kbapp.ui.incident import IncidentMode, StartIncidentDialog
from kbapp.ui.review_queue import ReviewQueueView
from kbapp.ui.tasks import Tasks, relay
from kbapp.ui.view_area import ViewArea
from kbapp.workspace import Workspace

#: This module's actions, declared with the window's others (see :mod:`kbapp.ui.actions`).
ACTIONS = LIFECYCLE_ACTIONS


class LifecycleViews(QObject):
    """Incident mode, capture, review queue and dashboard on one main window."""

    open_requested = Signal(str)  # a path the window should show in the reader
    fix_requested = Signal(str, str)  # path to open in the editor, notes to show beside it

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
        self.incidents = incidents_for(workspace)
        self._create_incident_mode()
        self._create_views()

    def _create_incident_mode(self) -> None:
        self.mode = IncidentMode(self.incidents, self)
        self.mode.ended.connect(self._on_incident_ended)
        self.mode.active_changed.connect(self._on_incident_active_changed)
        self.mode.panel.draft_requested.connect(self.write_gap)
        self.mode.capture_banner.capture_requested.connect(self.open_capture)
        relay(self, self.incidents.changed, lambda _incident: self._update_incident_actions())
        self._update_incident_actions()
        # The banner goes on top of the central widget's own column when it has one (kbapp's
        # window): re-parenting the central widget instead hid it for a moment, and the
        # keyboard focus left the search field for whatever Qt found next.
        central = self.window.centralWidget()
        column = central.layout() if central is not None else None
        if isinstance(column, QVBoxLayout):
            column.insertWidget(0, self.mode.banner)
            column.insertWidget(1, self.mode.capture_banner)
            return
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.mode.banner)
        layout.addWidget(self.mode.capture_banner)
        if central is not None:
            layout.addWidget(central, 1)
        self.window.setCentralWidget(holder)

    def _create_views(self) -> None:
        # The checklist is read beside the runbook: a side panel, not a view of its own.
        self.checklist_dock = add_dock(
            self.window,
            "incident",
            "Incident",
            self.mode.panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self.checklist_dock.setVisible(self.mode.active)
        self.review_queue = ReviewQueueView(self.workspace, lazy=True, tasks=self.tasks)
        self.review_queue.open_requested.connect(self.open_requested)
        self.area.register(
            "review-queue", "Review queue", self.review_queue, focus=self.review_queue.table
        )
        self.dashboard = DashboardView(self.workspace, tasks=self.tasks)
        self.dashboard.open_requested.connect(self.open_requested)
        self.area.register("health", "Health", self.dashboard, focus=self.dashboard.scroll_area)

    # ------------------------------------------------------------------ what the window reports

    def record_search(self, query: str, hits: int) -> None:
        """A search the user settled on (the window debounces; call once per query)."""
        self.mode.record_search(query, hits)

    def document_opened(self, doc: Document) -> None:
        self.mode.record_open(doc)

    # ------------------------------------------------------------------ action handlers

    def start_incident(self) -> StartIncidentDialog:
        systems = self.workspace.catalog.distinct_values("systems")
        dialog = StartIncidentDialog(self.incidents, systems, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def focus_note(self) -> None:
        if not self.mode.active:
            self.workspace.interaction.notify("No incident is running (Ctrl+I starts one).")
            return
        self.checklist_dock.show()
        self.mode.panel.note_edit.setFocus()

    def focus_steps(self) -> None:
        if not self.mode.active:
            self.workspace.interaction.notify("No incident is running (Ctrl+I starts one).")
            return
        self.checklist_dock.show()
        self.mode.panel.steps.setFocus()

    def end_incident(self) -> QMessageBox | None:
        """Ctrl+Shift+I: asks first; the capture opens once the user said yes."""
        if not self.mode.active:
            self.workspace.interaction.notify("No incident is running.")
            return None
        return self.mode.request_end()

    def capture_incident(self) -> CaptureDialog | None:
        """The incident that ended and waits to be captured (after "Later")."""
        waiting = self.incidents.waiting_capture()
        if waiting is None:
            self.workspace.interaction.notify("No ended incident waits to be captured.")
            return None
        return self.open_capture(waiting.ticket)

    #: Actions that act on the incident running: greyed out when none runs (the palette
    #: offered "Incident note" first for "incident", and choosing it did nothing).
    RUNNING_ACTIONS = ("incident.note", "incident.steps", "incident.end")

    def _update_incident_actions(self) -> None:
        for name in self.RUNNING_ACTIONS:
            running = self.window.findChild(QAction, name)
            if running is not None:
                running.setEnabled(self.mode.active)
        action = self.window.findChild(QAction, "incident.capture")
        if action is None:
            return
        waiting = None if self.mode.active else self.incidents.waiting_capture()
        action.setVisible(waiting is not None)
        action.setText(f"Capture incident {waiting.ticket}…" if waiting else "Capture incident…")

    def open_capture(self, ticket: str) -> CaptureDialog:
        dialog = CaptureDialog(self.workspace, ticket, self.window)
        dialog.captured.connect(self._on_captured)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_review_queue(self, focus: bool = True) -> None:
        self.area.show_view("review-queue", focus=focus)
        self.review_queue.refresh()  # in the background; the table fills when it is read

    def show_dashboard(self, focus: bool = True) -> None:
        self.area.show_view("health", focus=focus)
        if not self.dashboard.busy:
            self.dashboard.refresh()

    def export_report(self) -> None:
        report = self.dashboard.report
        if report is None or not report.lint_checked:  # not made yet, or still checking
            self.show_dashboard()
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export health report", "kb-health.html", "HTML (*.html)"
        )
        if path:
            self.dashboard.export_html(Path(path))

    def write_gap(self, query: str) -> None:
        try:
            result = create_for_gap(self.workspace, query)
        except KbError as exc:
            self.workspace.interaction.notify(str(exc), Level.ERROR)
            return
        self.open_requested.emit(result.path)

    # ------------------------------------------------------------------ events

    def _on_incident_ended(self, incident: Incident) -> None:
        self.open_capture(incident.ticket)

    def _on_incident_active_changed(self, active: bool) -> None:
        self.checklist_dock.setVisible(active)

    def _on_captured(self, path: str) -> None:
        self.open_requested.emit(path)
        dialog = self.sender()
        for fix in getattr(dialog, "fixes", []):
            self.fix_requested.emit(fix.path, fix.notes)
