"""The editor's metadata form: the front matter fields a writer sets (title, type, status,
organisation, owners, systems, tags, incidents, sensitivity, review interval), with
completion from the values already used in the knowledge base (the catalog's
``distinct_values``).

Only fields the user actually changed are written back, so opening and saving a document that
a partner wrote by hand does not add keys to it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from kbapp.documents import schema
from kbapp.documents.model import Document
from kbapp.documents.schema import SENSITIVITIES, STATUSES
from kbapp.workspace import Workspace

#: The lists the form edits (comma-separated, completed from the values already in use).
LIST_FIELDS = tuple(f.name for f in schema.FORM_FIELDS if f.is_text_list)


class ListCompleter(QCompleter):
    """Completes the last item of a comma-separated list, keeping the items before it.

    Return (or Enter) with the list open takes the item highlighted, if any, and then goes on
    to the field as usual (a dialog's default button): QCompleter keeps that key for itself,
    and a user had to press Return twice to create a document."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        popup = self.popup()
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and popup is not None
            and watched is popup
            and popup.isVisible()
        ):
            super().eventFilter(watched, event)  # completes the highlighted item, closes
            widget = self.widget()
            if widget is not None:
                again = QKeyEvent(QEvent.Type.KeyPress, event.key(), event.modifiers())
                QCoreApplication.sendEvent(widget, again)
            return True
        return bool(super().eventFilter(watched, event))

    def splitPath(self, path: str) -> list[str]:
        return [path.rsplit(",", 1)[-1].strip()]

    def pathFromIndex(self, index: Any) -> str:
        chosen = str(super().pathFromIndex(index))
        widget = self.widget()
        text = widget.text() if isinstance(widget, QLineEdit) else ""
        head = text.rsplit(",", 1)[0] + ", " if "," in text else ""
        return head + chosen


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class MetadataForm(QWidget):
    changed = Signal()
    #: The user changed the title: (the title before, the title now), both non-empty.
    title_renamed = Signal(str, str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._loading = False
        #: The last non-empty title (what a heading repeating it says).
        self._title_seen = ""
        self._create_fields()
        self._create_layout()

    def _create_fields(self) -> None:
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("What the document helps with, in the user's words")
        self.type_combo = QComboBox()
        self.type_combo.setEditable(False)
        self.status_combo = QComboBox()
        self.status_combo.addItems(list(STATUSES))
        self.org_combo = QComboBox()
        self.sensitivity_combo = QComboBox()
        self.sensitivity_combo.addItems(list(SENSITIVITIES))
        self.interval_spin = QSpinBox()
        self.interval_spin.setRange(0, 3650)
        self.interval_spin.setSpecialValueText("type default")
        self.interval_spin.setSuffix(" days")
        self.list_edits: dict[str, QLineEdit] = {}
        for name in LIST_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"meta-{name}")
            edit.setPlaceholderText("comma-separated")
            completer = ListCompleter(self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setModel(QStringListModel([], completer))
            edit.setCompleter(completer)
            edit.textEdited.connect(self._on_edited)
            self.list_edits[name] = edit
        self.title_edit.textEdited.connect(self._on_edited)
        self.title_edit.textEdited.connect(self._on_title_edited)
        for combo in (self.type_combo, self.status_combo, self.org_combo, self.sensitivity_combo):
            combo.currentIndexChanged.connect(self._on_edited)
            # As narrow as the editor needs on a laptop screen, wider when there is room.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(4)
        self.interval_spin.valueChanged.connect(self._on_edited)

    def _create_layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.addWidget(_label("title"), 0, 0)
        grid.addWidget(self.title_edit, 0, 1, 1, 7)
        row = [
            ("type", self.type_combo),
            ("status", self.status_combo),
            ("owner_org", self.org_combo),
            ("sensitivity", self.sensitivity_combo),
        ]
        for column, (name, widget) in enumerate(row):
            grid.addWidget(_label(name), 1, column * 2)
            grid.addWidget(widget, 1, column * 2 + 1)
        # Owners are e-mail addresses: a wide field, so that a whole address shows.
        grid.addWidget(_label("owners"), 2, 0)
        grid.addWidget(self.list_edits["owners"], 2, 1, 1, 3)
        grid.addWidget(_label("incidents"), 2, 4)
        grid.addWidget(self.list_edits["incidents"], 2, 5, 1, 3)
        grid.addWidget(_label("systems"), 3, 0)
        grid.addWidget(self.list_edits["systems"], 3, 1)
        grid.addWidget(_label("tags"), 3, 2)
        grid.addWidget(self.list_edits["tags"], 3, 3)
        grid.addWidget(_label("review.interval_days"), 3, 4)
        grid.addWidget(self.interval_spin, 3, 5, Qt.AlignmentFlag.AlignLeft)
        for column in (1, 3, 5):
            grid.setColumnStretch(column, 1)

    def set_completions(self, values: dict[str, list[str]]) -> None:
        """Values already used in the knowledge base, most used first (from a worker)."""
        for name, edit in self.list_edits.items():
            completer = edit.completer()
            model = completer.model() if completer else None
            if isinstance(model, QStringListModel):
                model.setStringList(values.get(name, []))

    # ------------------------------------------------------------------ document <-> form

    def load(self, doc: Document) -> None:
        self._loading = True
        try:
            self.title_edit.setText(doc.title)
            self._title_seen = doc.title
            types = self.workspace.known_types()
            _fill_combo(self.type_combo, types, doc.type)
            _fill_combo(self.status_combo, list(STATUSES), doc.status)
            _fill_combo(self.org_combo, [""] + list(self.workspace.config.org_names), doc.owner_org)
            _fill_combo(self.sensitivity_combo, list(SENSITIVITIES), doc.sensitivity)
            self.interval_spin.setValue(doc.review_interval_days or 0)
            for name, edit in self.list_edits.items():
                edit.setText(", ".join(_list_value(doc, name)))
        finally:
            self._loading = False

    def apply(self, doc: Document) -> None:
        """Write into ``doc`` the fields whose form value differs from what it says now."""
        title = self.title_edit.text().strip()
        if title and title != doc.title:
            doc.set("title", title)
        for key, combo, current in (
            ("type", self.type_combo, doc.type),
            ("status", self.status_combo, doc.status),
            ("owner_org", self.org_combo, doc.owner_org),
            ("sensitivity", self.sensitivity_combo, doc.sensitivity),
        ):
            value = combo.currentText()
            if value != current:
                doc.set(key, value or None)
        for name, edit in self.list_edits.items():
            values = split_list(edit.text())
            if values != _list_value(doc, name):
                doc.set(name, values)
        interval = self.interval_spin.value() or None
        if interval != doc.review_interval_days:
            doc.set_review(interval_days=interval)

    def focus_field(self, name: str) -> bool:
        """Put the cursor in the field a lint problem names; False when there is none."""
        top = name.split(".")[0].split("[")[0]
        widgets: dict[str, QWidget] = {
            "title": self.title_edit,
            "type": self.type_combo,
            "status": self.status_combo,
            "owner_org": self.org_combo,
            "sensitivity": self.sensitivity_combo,
            "review": self.interval_spin,
            **self.list_edits,
        }
        widget = widgets.get(top)
        if widget is None:
            return False
        widget.setFocus()
        return True

    def _on_title_edited(self, text: str) -> None:
        title = text.strip()
        if title and title != self._title_seen and not self._loading:
            before, self._title_seen = self._title_seen, title
            if before:
                self.title_renamed.emit(before, title)

    def _on_edited(self, *_args: object) -> None:
        if not self._loading:
            self.changed.emit()


def _label(name: str) -> QLabel:
    return QLabel(schema.field(name).label)


def _fill_combo(combo: QComboBox, values: list[str], current: str) -> None:
    combo.blockSignals(True)
    combo.clear()
    items = list(values)
    if current not in items:
        items.append(current)
    combo.addItems(items)
    combo.setCurrentText(current)
    combo.blockSignals(False)


def _list_value(doc: Document, name: str) -> list[str]:
    return doc.tags if name == "tags" else doc.list_field(name)
