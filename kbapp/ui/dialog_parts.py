"""The small widgets the window's dialogs all build the same way: a muted hint, the red line
that says what is wrong, OK/Cancel wired to the dialog, and a height that fits its text."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QWidget


def hint_label(text: str = "") -> QLabel:
    """A word-wrapped note in the stylesheet's muted hint style (``#hint``)."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


class ErrorLabel(QLabel):
    """A word-wrapped label that makes its window tall enough for what it says: a message
    that wraps to a second line squeezed a dialog's fields instead (Start an incident)."""

    def setText(self, text: str) -> None:
        super().setText(text)
        window = self.window()
        layout = window.layout()
        if window.isVisible() and layout is not None:
            layout.activate()
            fit_height(window)


def error_label(name: str = "error") -> QLabel:
    """The word-wrapped red line where a form says what is wrong (empty until then)."""
    label = ErrorLabel()
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


def fit_height(window: QWidget) -> None:
    """Make a window of word-wrapped text as tall as its width needs. Qt gives a new window its
    layout's minimum height, worked out as if wrapped labels could be as wide as they like; at
    the real width they take more lines and the last rows were cut off (the first-run dialog's
    hint under Xvfb at 1366x768). Call it once the window is shown (fonts and style applied)."""
    needed = window.heightForWidth(window.width())
    if needed > window.height():
        window.resize(window.width(), needed)


class FittedDialog(QDialog):
    """A dialog sized by width only (``resize(w, 0)``) whose height follows its wrapped text."""

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_height(self)
