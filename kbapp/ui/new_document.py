"""Ctrl+N: a new document from a template. Asks for the template, the title and the systems,
then hands an unsaved document (id, owner and path filled in by
:meth:`Workspace.draft_from_template`) to the editor; nothing is written or committed until
the user saves."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kbapp.errors import KbError
from kbapp.ui import dialog_parts
from kbapp.ui.metadata_form import ListCompleter, split_list
from kbapp.workspace import Workspace

#: What a new document most often is, when the user has not made one yet.
DEFAULT_TEMPLATES = ("sop", "troubleshooting")


class NewDocumentDialog(dialog_parts.FittedDialog):
    #: The unsaved :class:`~kbapp.documents.model.Document` to open in the editor.
    created = Signal(object)

    def __init__(
        self,
        workspace: Workspace,
        title: str = "",
        template: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("New document")
        self.setObjectName("newDocumentDialog")
        self._create_template_choice(template)
        self.title_edit = QLineEdit(title)
        self.title_edit.setPlaceholderText("e.g. Fail over the payments database")
        self._create_systems_field()
        self.error_label = dialog_parts.error_label("")
        buttons = dialog_parts.ok_cancel(self, "Create and edit")
        form = QFormLayout()
        form.addRow("Template", self.template_combo)
        form.addRow("", self.description)
        form.addRow("Title", self.title_edit)
        form.addRow("Systems", self.systems_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(520, 0)
        self._on_template_changed()
        self.title_edit.setFocus()

    def _create_template_choice(self, asked: str) -> None:
        """The templates (their descriptions as tooltips and under the list)."""
        self.template_combo = QComboBox()
        for item in self.workspace.templates:
            self.template_combo.addItem(item.label, item.name)
            self.template_combo.setItemData(
                self.template_combo.count() - 1, item.description, Qt.ItemDataRole.ToolTipRole
            )
        self.template_combo.setCurrentIndex(self._default_index(asked))
        self.description = dialog_parts.hint_label()
        # Room for two lines whatever the template: the dialog is sized before the text is set
        # and a word-wrapped label does not make it grow, so a longer text was cut off.
        self.description.setMinimumHeight(self.description.fontMetrics().lineSpacing() * 2 + 4)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.template_combo.currentIndexChanged.connect(self._on_template_changed)

    def _create_systems_field(self) -> None:
        """Systems, comma-separated, completed from those the catalog knows."""
        self.systems_edit = QLineEdit()
        self.systems_edit.setPlaceholderText("comma-separated, e.g. payments-db, api")
        completer = ListCompleter(self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setModel(
            QStringListModel(self.workspace.catalog.distinct_values("systems"), completer)
        )
        self.systems_edit.setCompleter(completer)

    def _default_index(self, asked: str) -> int:
        """The template asked for, else the last one used, else the everyday kinds (an SOP,
        then a troubleshooting guide): not the first in the list ("Known error")."""
        for name in (asked, self.workspace.settings.last_template, *DEFAULT_TEMPLATES):
            index = self.template_combo.findData(name) if name else -1
            if index >= 0:
                return index
        return 0

    def _on_template_changed(self, *_args: object) -> None:
        self.description.setText(self.template_combo.currentData(Qt.ItemDataRole.ToolTipRole) or "")

    def accept(self) -> None:
        title = self.title_edit.text().strip()
        if not title:
            self.error_label.setText("Give the document a title.")
            self.title_edit.setFocus()
            return
        try:
            doc = self.workspace.draft_from_template(
                str(self.template_combo.currentData()),
                title,
                systems=split_list(self.systems_edit.text()) or None,
            )
        except KbError as exc:
            self.error_label.setText(str(exc))
            return
        settings = self.workspace.settings
        chosen = str(self.template_combo.currentData())
        if settings.last_template != chosen:
            settings.last_template = chosen
            try:
                settings.save()
            except OSError:
                pass  # a read-only config folder: only the default is lost
        super().accept()
        self.created.emit(doc)
