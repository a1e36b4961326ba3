"""Sync in the window: the status-bar indicator (in sync / N local changes / N incoming /
offline / conflicts, and when the last sync was), Sync now (Ctrl+Shift+S) with progress, a
periodic background fetch that says what the other organisation changed, and a clear message
when sync fails.

It adapts :mod:`kbapp.sync.sync` (core). Sync runs on the background runner; the window is told what
changed (:attr:`SyncController.synced`) so that an open editor is never overwritten (it offers a
merge instead, see :meth:`kbapp.ui.editor.EditorView.on_disk_changed`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressBar, QToolButton, QWidget

from kbapp.errors import KbError, NoSharedRepository
from kbapp.interaction import Level
from kbapp.sync import refused, sync
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

STATUS_MS = 30_000  # how often the indicator re-reads the local state


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "never"
    now = dt.datetime.now(moment.tzinfo)
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def indicator_text(status: Any) -> tuple[str, str]:
    """(short text, kind) for the indicator from a :class:`kbapp.sync.sync.SyncStatus`."""
    last = f" · synced {when(status.last_sync)}" if status.last_sync else " · not synced yet"
    if status.conflicts:
        n = status.conflicts if isinstance(status.conflicts, int) else len(status.conflicts)
        return f"⚠ {n} conflict{'s' if n != 1 else ''} to resolve", "conflict"
    if status.offline:
        return f"Offline{last}", "offline"
    parts = []
    if status.local_changes:
        parts.append(
            f"{status.local_changes} local change{'s' if status.local_changes != 1 else ''}"
        )
    if status.ahead:
        parts.append(f"↑{status.ahead} to share")
    if status.behind:
        parts.append(f"↓{status.behind} incoming")
    if parts:
        return " · ".join(parts) + last, "pending"
    if not status.remote and status.last_sync is None:  # a new knowledge base, not shared
        return "Local only: no shared repository yet", "pending"
    if status.last_sync is None:
        return "Not synced yet (Ctrl+Shift+S)", "pending"
    return f"✓ In sync{last}", "ok"


def changes_summary(report: Any) -> str:
    """What the other organisation changed, in one sentence."""
    changes = list(report.changed_by_others)
    if not changes:
        return ""
    names = sorted({f"{c.author} ({c.org})" if c.org else c.author for c in changes})
    titles = ", ".join(f"“{c.title}”" for c in changes[:3])
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return f"{' and '.join(names)} changed {titles}{more}."


class SyncController(QObject):
    #: A sync finished (the :class:`kbapp.sync.sync.SyncReport`).
    synced = Signal(object)
    #: The indicator was clicked while there are conflicts.
    conflicts_requested = Signal()
    message = Signal(str, str)
    #: What the other organisation changed (the :class:`kbapp.sync.sync.SyncReport`), after a sync.
    others_changed = Signal(object)
    #: How many of the other organisation's commits a background fetch found waiting.
    incoming = Signal(int)

    def __init__(self, workspace: Workspace, tasks: Tasks, parent: QWidget) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.parent_widget = parent
        self.status: Any = None
        self.running = False
        self.failure_box: QMessageBox | None = None
        self.drop_box: QMessageBox | None = None
        self.before_sync: Callable[[], None] | None = None
        self.indicator = QToolButton(parent)
        self.indicator.setObjectName("syncIndicator")
        self.indicator.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.indicator.setAutoRaise(True)
        self.indicator.setText("Sync: checking…")
        self.indicator.clicked.connect(self._on_indicator_clicked)
        self.progress = QProgressBar(parent)
        self.progress.setObjectName("syncProgress")
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.fetch_timer = QTimer(self)
        self.fetch_timer.timeout.connect(self.fetch)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self.refresh_status)

    def start(self) -> None:
        """Show the state now, then keep it fresh and fetch every few minutes."""
        self.refresh_status()
        self.status_timer.start()
        minutes = self.workspace.settings.fetch_interval_minutes
        if minutes > 0:
            self.fetch_timer.start(minutes * 60_000)

    def stop(self) -> None:
        self.fetch_timer.stop()
        self.status_timer.stop()

    # ------------------------------------------------------------------ status

    def refresh_status(self) -> None:
        self.tasks.run(
            lambda: sync.status(self.workspace),
            self.show_status,
            lambda error: self.indicator.setText("Sync: unknown"),
            owner=self,
            key="sync-status",
        )

    def show_status(self, status: Any) -> None:
        self.status = status
        text, kind = indicator_text(status)
        self.indicator.setText(text)
        self.indicator.setProperty("kind", kind)
        colour = {"conflict": "#C0392B", "offline": "#7F8C8D", "pending": "#B9770E"}.get(kind, "")
        self.indicator.setStyleSheet(f"color: {colour}; font-weight: bold" if colour else "")
        self.indicator.setToolTip(
            f"Local changes: {status.local_changes}\nTo publish: {status.ahead}\n"
            f"Incoming: {status.behind}\nLast sync: {when(status.last_sync)}\n"
            "Click to sync now (Ctrl+Shift+S)"
        )

    def _on_indicator_clicked(self) -> None:
        if self.status is not None and self.status.conflicts:
            self.conflicts_requested.emit()
        else:
            self.sync_now()

    # ------------------------------------------------------------------ fetch and sync

    def fetch(self) -> None:
        """Background check for the other organisation's changes (nothing is merged)."""
        if self.running:
            return
        self.tasks.run(
            lambda: sync.fetch(self.workspace),
            self._on_fetched,
            lambda error: None,
            owner=self,
            key="sync-fetch",
        )

    def _on_fetched(self, report: Any) -> None:
        if getattr(report, "incoming", 0):
            self.incoming.emit(report.incoming)
        self.refresh_status()

    def sync_now(self) -> bool:
        """Ctrl+Shift+S. False when a sync is already running."""
        if self.running:
            self.message.emit("A sync is already running.", Level.INFO.value)
            return False
        try:  # asked here, on the GUI thread: sync commits, and a worker cannot ask
            self.workspace.require_identity()
        except KbError as exc:
            self.message.emit(f"Not synced: {exc}", Level.WARNING.value)
            return False
        if self.before_sync is not None:
            self.before_sync()
        self.running = True
        self.indicator.setText("Syncing…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.tasks.run(
            lambda report: sync.sync(self.workspace, progress=report),
            self._on_synced,
            self._on_failed,
            owner=self,
            key="sync",
            progress=self._on_progress,
        )
        return True

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_synced(self, report: Any) -> None:
        self.running = False
        self.progress.hide()
        if report.changed_by_others:
            self.others_changed.emit(report)
        if report.conflicts:
            n = len(report.conflicts)
            self.message.emit(
                f"Sync finished with {n} conflict{'s' if n != 1 else ''} to "
                "resolve; everything else is synced.",
                Level.WARNING.value,
            )
        else:
            self.message.emit(report.message or "Sync finished.", Level.INFO.value)
        self.synced.emit(report)
        self.refresh_status()

    def _on_failed(self, error: Exception) -> None:
        self.running = False
        self.progress.hide()
        text = str(error) if isinstance(error, KbError) else f"Sync failed: {error}"
        details = getattr(error, "details", "") or ""
        # One box, in plain text (git's words contain quotes and < >, never markup).
        local_only = isinstance(error, NoSharedRepository)
        box = QMessageBox(
            QMessageBox.Icon.Information if local_only else QMessageBox.Icon.Warning,
            "No shared repository yet" if local_only else "Sync failed",
            text,
            parent=self.parent_widget,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(
            # a next sync cannot finish anything until there is somewhere to sync with
            "Your saved work is committed here; it is shared once the knowledge base has a "
            "shared repository."
            if local_only
            else "Nothing was lost: your saved work is committed locally and the "
            "next sync finishes the job."
        )
        if details:
            box.setDetailedText(details)
        if isinstance(error, refused.RefusedError):
            box.setInformativeText(
                "Nothing was lost. The shared repository refuses part of "
                "your unpublished changes; take it out to sync the rest."
            )
            take_out = box.addButton("Take refused content out…", QMessageBox.ButtonRole.AcceptRole)
            take_out.clicked.connect(self.drop_refused)
            box.addButton(QMessageBox.StandardButton.Close)
        self.failure_box = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        # The box above is the error; the status bar repeats it (an ERROR level would open a
        # second box on top of this one).
        self.message.emit(text, Level.WARNING.value)
        self.refresh_status()

    # ------------------------------------------------------------------ refused content

    def drop_refused(self) -> None:
        """Sync > Take refused content out…: what the shared repository refuses in the
        unpublished commits, and (after the user agrees) the commits rebuilt without it."""
        found = refused.check_unpublished(self.workspace)
        if not found:
            self.message.emit(
                "Nothing refused: the shared repository accepts your unpublished changes.",
                Level.INFO.value,
            )
            return
        listed = "\n".join(f"• {r}" for r in found[:8])
        more = f"\n… and {len(found) - 8} more" if len(found) > 8 else ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Take refused content out",
            f"The shared repository refuses this in your unpublished changes:\n{listed}{more}",
            parent=self.parent_widget,
        )
        box.setInformativeText(
            "Rebuild your unpublished commits with these files as the shared repository has "
            "them? Every other change is kept; your version of these files stays on disk for "
            "you to fix, and the commits as they were stay under refs/kbapp/kept/."
        )
        go = box.addButton("Take out", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        go.clicked.connect(self._start_drop)
        self.drop_box = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _start_drop(self) -> None:
        self.tasks.run(
            lambda: refused.drop_refused(self.workspace),
            self._on_dropped,
            self._on_failed,
            owner=self,
            key="sync-drop-refused",
        )

    def _on_dropped(self, report: Any) -> None:
        self.message.emit(report.message, Level.INFO.value)
        self.refresh_status()
