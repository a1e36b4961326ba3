"""File → Import a folder of Markdown…: the core's :func:`kbapp.documents.importer.import_folder` on a
worker, a progress dialog phase by phase (reading, writing, committing, cataloguing, indexing),
then the report. Files held back because a line looks like a secret are listed with the line
of the file the user has; one button imports them as reviewed false positives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from kbapp.documents.importer import ImportReport, import_folder
from kbapp.errors import KbError
from kbapp.interaction import Level

if TYPE_CHECKING:
    from kbapp.ui.other_kbs import OtherKbActions
    from kbapp.ui.tasks import Tasks
    from kbapp.workspace import Workspace


class ImportHost(Protocol):
    """What importing needs of the window: its knowledge base, background runner and status
    bar, the folder question (:meth:`OtherKbActions.ask_folder`), and itself as the parent of
    the progress and report dialogs (``window()``, as every QWidget has)."""

    workspace: Workspace
    tasks: Tasks
    other_kbs: OtherKbActions

    def show_message(self, text: str, level: str = ...) -> None: ...

    def window(self) -> QWidget: ...


class ImportFlow(QObject):
    """Handlers of the ``importing.*`` actions (:mod:`kbapp.ui.actions`)."""

    #: (phase, done, total) from the worker; queued onto the GUI thread by Qt.
    _progressed = Signal(str, int, int)
    #: The import finished (its :class:`~kbapp.documents.importer.ImportReport`).
    finished = Signal(object)

    def __init__(self, host: ImportHost) -> None:
        super().__init__(host.window())
        self.host = host
        self.progress: QProgressDialog | None = None
        self.result_box: QMessageBox | None = None
        self._progressed.connect(self._on_progressed)

    def import_folder(self) -> None:
        self.host.other_kbs.ask_folder("Import a folder of Markdown", self.start)

    def start(self, folder: str, allow_secrets: bool = False) -> None:
        workspace = self.host.workspace
        try:  # asked here, on the GUI thread: the import ends in a commit, a worker cannot ask
            workspace.require_identity()
        except KbError as exc:
            self.host.show_message(f"Not imported: {exc}", Level.WARNING.value)
            return
        dialog = QProgressDialog("Reading the files…", "", 0, 0, self.host.window())
        dialog.setWindowTitle("Importing")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # One commit at the end, all or nothing: stopping half-way would only waste the work.
        dialog.setCancelButton(None)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        # Each phase runs to its maximum: the dialog must not close itself at the first one.
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumWidth(420)
        dialog.show()
        self.progress = dialog

        def work() -> ImportReport:
            return import_folder(
                workspace, folder, allow_secrets=allow_secrets, progress=self._progressed.emit
            )

        self.host.tasks.run(
            work, lambda report: self._on_finished(folder, report), self._on_failed, owner=self
        )

    # ------------------------------------------------------------------ results

    def _on_progressed(self, phase: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        self.progress.setLabelText(f"{phase}: {done:,} of {total:,}" if total > 1 else f"{phase}…")
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def _on_failed(self, error: Exception) -> None:
        self._close_progress()
        self._show(QMessageBox.Icon.Warning, "Import failed", str(error))

    def _on_finished(self, folder: str, report: ImportReport) -> None:
        self._close_progress()
        self.finished.emit(report)
        box = self._show(
            QMessageBox.Icon.Information if not report.held_back else QMessageBox.Icon.Warning,
            "Import finished",
            _headline(report),
            details=report.summary(),
            open_now=False,
        )
        if report.held_back:
            allow = box.addButton(
                "Import them as reviewed false positives", QMessageBox.ButtonRole.AcceptRole
            )
            box.addButton("Leave them out", QMessageBox.ButtonRole.RejectRole)
            allow.clicked.connect(lambda: self.start(folder, allow_secrets=True))
        else:
            box.addButton(QMessageBox.StandardButton.Ok)
        box.open()

    def _show(
        self,
        icon: QMessageBox.Icon,
        title: str,
        text: str,
        *,
        details: str = "",
        open_now: bool = True,
    ) -> QMessageBox:
        box = QMessageBox(
            icon, title, text, QMessageBox.StandardButton.NoButton, self.host.window()
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextFormat(Qt.TextFormat.PlainText)
        if details:
            box.setDetailedText(details)
        if open_now:
            box.addButton(QMessageBox.StandardButton.Ok)
            box.open()
        self.result_box = box
        return box


def _headline(report: ImportReport) -> str:
    lines = [
        f"Imported {len(report.imported):,} documents in {report.elapsed:.0f} s; "
        "they are in the search already."
    ]
    if report.reviews is not None:
        _count, first, last = report.reviews
        lines.append(f"Their first reviews are spread from {first:%d %b %Y} to {last:%d %b %Y}.")
    if report.allowed:
        lines.append(
            f"{len(report.allowed)} secret-looking lines were accepted as reviewed false positives."
        )
    if report.held_back:
        files = sorted({h.source for h in report.held_back})
        lines.append("")
        lines.append(
            f"{len(files)} files were held back: these lines look like secrets "
            "(line numbers in your files):"
        )
        lines.extend(f"  {h.where}  ({h.rule})" for h in report.held_back[:12])
        if len(report.held_back) > 12:
            lines.append(f"  … and {len(report.held_back) - 12} more (Show Details)")
        lines.append("")
        lines.append(
            "If they are samples, not real secrets, import them now: each value is "
            "recorded in .kb/config.toml as a reviewed false positive."
        )
    if report.skipped:
        lines.append(f"{len(report.skipped)} files were skipped (Show Details says why).")
    return "\n".join(lines)
