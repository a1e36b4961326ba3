"""How the core talks to the user in the window: the :mod:`kbapp.interaction` protocol
(notify, confirm, ask_settings) implemented with the status bar and message boxes."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox

from kbapp.interaction import Level
from kbapp.ui.settings_dialog import SettingsActions, for_window


class WindowInteraction:
    """How the core talks to the user in the window (kbapp.interaction protocol): messages in
    the status bar, errors in a message box that does not block the window."""

    def __init__(self, window: QMainWindow, settings_ui: SettingsActions) -> None:
        self.window = window
        self.settings_ui = settings_ui
        self.last_box: QMessageBox | None = None

    def notify(self, message: str, level: Level = Level.INFO, details: str = "") -> None:
        self.window.statusBar().showMessage(for_window(message), 8000)
        if level is not Level.INFO and self.settings_ui.open_for_message(message):
            return  # "kbapp settings KEY" is for the command line: Settings opens there
        if level is Level.ERROR:
            box = QMessageBox(QMessageBox.Icon.Warning, "kbapp", message, parent=self.window)
            if details:
                box.setDetailedText(details)
            self.last_box = box
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def confirm(self, question: str, default: bool = False) -> bool:
        answer = QMessageBox.question(self.window, "kbapp", question)
        return answer == QMessageBox.StandardButton.Yes

    def ask_settings(self, reason: str, keys: Sequence[str]) -> bool:
        return self.settings_ui.ask_settings(reason, keys)
