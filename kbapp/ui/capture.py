"""The capture flow: after an incident ends, a pre-filled post-incident draft to check and
save, and for each runbook used a choice: "this runbook was right" or "needs a fix".

The dialog adapts :mod:`kbapp.lifecycle.capture`; saving, the verdict commits and the notes for a fix
all come from there. Runbooks that need a fix are handed back (``fixes``) for the window to
open in the editor with the incident's notes beside them.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.lifecycle.capture import (
    CaptureDraft,
    draft_capture,
    runbook_needs_fix,
    runbook_was_right,
    save_capture,
)
from kbapp.ui import style
from kbapp.ui.editor_widgets import rename_heading
from kbapp.workspace import Workspace

VERDICTS = (("right", "Was right"), ("needs-fix", "Needs a fix"), ("", "Not sure"))


@dataclasses.dataclass
class Fix:
    """A runbook to open in the editor, with the incident's notes to show beside it."""

    path: str
    title: str
    notes: str


class CaptureDialog(QDialog):
    """Check and save what an incident taught, while it is fresh."""

    captured = Signal(str)  # path of the saved post-incident document

    def __init__(self, workspace: Workspace, ticket: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.ticket = ticket
        self.saved_path: str | None = None
        self.fixes: list[Fix] = []
        self.setWindowTitle(f"Capture {ticket}")
        self.resize(820, 680)
        self.draft: CaptureDraft = draft_capture(workspace, ticket, from_session=True)
        self._create_title()
        self._create_verdicts()
        self._create_preview()
        self._create_buttons()
        self._create_layout()
        self._update_preview()

    def _create_title(self) -> None:
        self.title_edit = QLineEdit(self.draft.document.title)
        self.title_edit.setToolTip("Name the symptom: the next engineer will search for it")
        self.title_edit.textChanged.connect(self._update_preview)
        self.title_edit.textEdited.connect(self._on_title_edited)
        #: The last non-empty title: what the text's "# heading" says while it follows it.
        self._title_seen = self.draft.document.title

    def _create_verdicts(self) -> None:
        self.verdict_box = QGroupBox("Runbooks used during the incident")
        layout = QVBoxLayout(self.verdict_box)
        self.verdict_groups: dict[str, QButtonGroup] = {}
        used = [u for u in self.draft.runbooks if u.doc_type != "post-incident"]
        if not used:
            layout.addWidget(QLabel("No runbook was opened during this incident."))
        for use in used:
            row = QHBoxLayout()
            n = len(use.ticked)
            ticked = f" ({n} step{'s' if n != 1 else ''} ticked)" if n else ""
            row.addWidget(QLabel(f"{use.title}{ticked}"), 1)
            group = QButtonGroup(self)
            for index, (value, label) in enumerate(VERDICTS):
                button = QRadioButton(label)
                button.setObjectName(f"verdict-{use.doc_id}-{value or 'unsure'}")
                group.addButton(button, index)
                row.addWidget(button)
                if value == (use.verdict or ""):
                    button.setChecked(True)
            group.idToggled.connect(self._on_verdict_toggled)
            self.verdict_groups[use.doc_id] = group
            layout.addLayout(row)

    def _create_preview(self) -> None:
        self.preview = QPlainTextEdit()
        self.preview.setAccessibleName("Post-incident document")
        self.preview.setFont(style.monospace_font())
        self._edited = False
        self.preview.textChanged.connect(self._on_preview_edited)

    def _create_buttons(self) -> None:
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(
            "Save draft", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.later_button = self.buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.later_button.setToolTip("It stays offered: a banner and Knowledge → Capture incident")
        # Return is a new line in the text: saving from the keyboard, as in the editor.
        self.save_button.setToolTip("Save the capture as a draft (Ctrl+S or Ctrl+Enter)")
        for keys in ("Ctrl+S", "Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.accept)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #B03A2E")
        self.error_label.setWordWrap(True)

    def _create_layout(self) -> None:
        form = QFormLayout()
        form.addRow("&Title", self.title_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict_box)
        layout.addWidget(
            QLabel(
                "Pre-filled from the incident: edit what needs it, then save "
                "(it is saved as a draft)."
            )
        )
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------------ state

    def verdicts(self) -> dict[str, str]:
        out = {}
        for doc_id, group in self.verdict_groups.items():
            out[doc_id] = VERDICTS[group.checkedId()][0] if group.checkedId() >= 0 else ""
        return out

    def set_verdict(self, doc_id: str, verdict: str) -> None:
        index = [v for v, _ in VERDICTS].index(verdict)
        self.verdict_groups[doc_id].button(index).setChecked(True)

    def _update_preview(self) -> None:
        if self._edited:
            return  # never throw away what the user typed
        title = self.title_edit.text().strip() or None
        self.draft = draft_capture(
            self.workspace, self.ticket, from_session=True, title=title, verdicts=self.verdicts()
        )
        self.preview.blockSignals(True)
        self.preview.setPlainText(self.draft.document.body)
        self.preview.blockSignals(False)

    def _on_title_edited(self, text: str) -> None:
        """Once the text was edited it is not made again: its heading follows the title."""
        title = text.strip()
        if not title or title == self._title_seen:
            return
        before, self._title_seen = self._title_seen, title
        if self._edited:
            self.preview.blockSignals(True)  # the heading's rename is not the user's edit
            rename_heading(self.preview, before, title)
            self.preview.blockSignals(False)

    def _on_verdict_toggled(self, _id: int, checked: bool) -> None:
        if checked:
            self._update_preview()

    def _on_preview_edited(self) -> None:
        self._edited = True

    def accept(self) -> None:
        doc = self.draft.document
        title = self.title_edit.text().strip()
        if title and title != doc.title:
            doc.meta["title"] = title
        doc.body = self.preview.toPlainText()
        try:
            result = save_capture(self.workspace, self.draft)
            for doc_id, verdict in self.verdicts().items():
                if verdict == "right":
                    runbook_was_right(self.workspace, doc_id, self.ticket)
                elif verdict == "needs-fix":
                    runbook, notes = runbook_needs_fix(self.workspace, doc_id, self.ticket)
                    self.fixes.append(Fix(runbook.path, runbook.title, notes))
        except KbError as exc:
            self.error_label.setText(str(exc))
            return
        self.saved_path = result.path
        self.captured.emit(result.path)
        super().accept()
