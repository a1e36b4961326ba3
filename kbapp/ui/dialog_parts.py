"""The small widgets the window's dialogs all build the same way: a muted hint, the red line
that says what is wrong, and OK/Cancel wired to the dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel


def hint_label(text: str = "") -> QLabel:
    """A word-wrapped note in the stylesheet's muted hint style (``#hint``)."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


def error_label(name: str = "error") -> QLabel:
    """The word-wrapped red line where a form says what is wrong (empty until then)."""
    label = QLabel()
    label.setObjectName(name)
    label.setStyleSheet("color: #C0392B")
    label.setWordWrap(True)
    return label


def ok_cancel(dialog: QDialog, ok: str = "", cancel: str = "") -> QDialogButtonBox:
    """OK and Cancel wired to ``dialog``'s accept and reject, relabelled when ``ok`` or
    ``cancel`` is given."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    if ok:
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok)
    if cancel:
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
