"""Retiring a document from the review queue: why, what replaces it, and the documents
that link to it."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.lifecycle.review_actions import (
    linking_documents,
    retire,
)
from kbapp.workspace import Workspace


class RetireDialog(QDialog):
    """Asks for the reason, shows the documents linking to it, and retires it."""

    def __init__(
        self,
        workspace: Workspace,
        ref: str,
        parent: QWidget | None = None,
        today: dt.date | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.ref = ref
        self.today = today
        entry = workspace.entry(ref)
        self.setWindowTitle(f"Retire {entry.title}")
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Why it is retired (shown at the top of it)")
        self.replaced_edit = QLineEdit()
        self.replaced_edit.setPlaceholderText("kb-… of the document to read instead (optional)")
        self.linked = linking_documents(workspace, ref)
        self.linked_list = QListWidget()
        self.linked_list.addItems([f"{e.title}  ({e.doc_id})" for e in self.linked])
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #B03A2E")
        form = QFormLayout()
        form.addRow("&Reason", self.reason_edit)
        form.addRow("Replaced &by", self.replaced_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self._add_linked(layout)
        layout.addWidget(self.error_label)
        layout.addWidget(self._create_buttons())

    def _add_linked(self, layout: QVBoxLayout) -> None:
        """The documents whose links will lead to a retired document, if any."""
        if not self.linked:
            layout.addWidget(QLabel("No other document links to it."))
            return
        warning = QLabel(
            f"⚠ {len(self.linked)} documents link to it; their links will "
            "lead to a retired document:"
        )
        warning.setWordWrap(True)
        layout.addWidget(warning)
        layout.addWidget(self.linked_list)

    def _create_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.retire_button = buttons.addButton("Retire", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        return buttons

    def accept(self) -> None:
        try:
            retire(
                self.workspace,
                self.ref,
                reason=self.reason_edit.text(),
                replaced_by=self.replaced_edit.text().strip() or None,
                today=self.today,
            )
        except KbError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()
