"""Settings (Ctrl+,, also in the command palette): who you are, the editor's font size, how
many search results are shown, how often kbapp looks for the other organisation's changes.

Changes apply to the running window at once (no restart): :meth:`Settings.update` announces
them through ``settings.changed``; the workspace takes a new identity from it, and
:class:`SettingsActions` passes the rest on to the views. The same class answers the core when
it needs a setting (``Interaction.ask_settings``: the first-run dialog, or this dialog opened
at the setting concerned), and turns a message that points at ``kbapp settings KEY`` into this
dialog opened at KEY.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QThread, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from kbapp import identity
from kbapp.settings import LABELS
from kbapp.ui import dialog_parts
from kbapp.ui.identity_dialog import FirstRunDialog, IdentityFields, apply
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.ui.editor import EditorView
    from kbapp.ui.sync_view import SyncController


class SettingsHost(Protocol):
    """What settings need of the window: its knowledge base and messages, the parts a changed
    setting applies to at once (the editor's font, the sync's fetch timer), and itself as the
    dialogs' parent and as what gets the keyboard back after them."""

    workspace: Workspace
    editor: EditorView
    sync: SyncController

    def show_message(self, text: str, level: str = ...) -> None: ...

    def statusBar(self) -> QStatusBar: ...

    def activateWindow(self) -> None: ...

    def window(self) -> QWidget: ...


#: ``kbapp settings KEY`` in a message meant for the command line.
_SETTING_RE = re.compile(r"kbapp settings ([a-z_]+)")


def for_window(message: str) -> str:
    """``message`` without the part that tells a command-line user which ``kbapp settings``
    command to run (the window opens Settings instead)."""
    if _SETTING_RE.search(message) is None:
        return message
    reason = re.split(r"[;:,(]?[^;:,(]*kbapp settings", message, maxsplit=1)[0].strip()
    return reason.rstrip(".;,: ") + "." if reason else ""


class SettingsDialog(dialog_parts.FittedDialog):
    """The user's settings as a form; OK or Apply writes them and they apply at once."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.reason_label = dialog_parts.hint_label()
        self.reason_label.hide()
        self.error_label = dialog_parts.error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason_label)
        layout.addWidget(self._who_section())
        layout.addWidget(self._working_section())
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(540, 0)

    def _who_section(self) -> QGroupBox:
        self.identity_fields = IdentityFields(self.workspace.config)
        who = QGroupBox("Who you are")
        who_layout = QVBoxLayout(who)
        who_layout.addWidget(self.identity_fields)
        who_layout.addWidget(
            dialog_parts.hint_label("Every change you commit carries this name and e-mail.")
        )
        return who

    def _working_section(self) -> QGroupBox:
        self.font_size = self._spin("editor_font_size", 6, 40, " pt")
        self.search_limit = self._spin("search_limit", 10, 500, " results")
        self.fetch_interval = self._spin("fetch_interval_minutes", 0, 1440, " min")
        self.fetch_interval.setSpecialValueText("never")
        work = QGroupBox("Working")
        form = QFormLayout(work)
        form.addRow(LABELS["editor_font_size"], self.font_size)
        form.addRow(LABELS["search_limit"], self.search_limit)
        form.addRow(LABELS["fetch_interval_minutes"], self.fetch_interval)
        return work

    def _spin(self, key: str, low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(key)
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        return spin

    def field(self, key: str) -> QWidget | None:
        """The widget that edits the setting ``key`` (its object name), if shown here."""
        return self.findChild(QWidget, key)

    def load(self) -> None:
        """Show the settings as they are now."""
        settings = self.workspace.settings
        shown = self.workspace.identity
        self.identity_fields.load(
            settings.user_name or shown.name,
            settings.user_email or shown.email,
            settings.organisation,
        )
        self.font_size.setValue(settings.editor_font_size)
        self.search_limit.setValue(settings.search_limit)
        self.fetch_interval.setValue(settings.fetch_interval_minutes)
        self.error_label.clear()

    def open_at(self, focus_key: str | None = None, reason: str = "") -> None:
        """Show the dialog (not blocking), the cursor in the setting ``focus_key``, ``reason``
        above the form (why kbapp needs it)."""
        self.prepare(focus_key, reason)
        self.open()

    def prepare(self, focus_key: str | None = None, reason: str = "") -> None:
        self.load()
        self.reason_label.setText(html.escape(reason))
        self.reason_label.setVisible(bool(reason))
        widget = self.field(focus_key) if focus_key else None
        (widget or self.identity_fields.name_edit).setFocus()

    def values(self) -> dict[str, object]:
        values: dict[str, object] = dict(self.identity_fields.values())
        values["editor_font_size"] = self.font_size.value()
        values["search_limit"] = self.search_limit.value()
        values["fetch_interval_minutes"] = self.fetch_interval.value()
        return values

    def apply(self) -> bool:
        """Write what the form holds; False (and why, in the dialog) when it cannot be."""
        values = self.values()
        settings = self.workspace.settings
        name, email = str(values["user_name"]), str(values["user_email"])
        if (name, email) != (settings.user_name, settings.user_email) and (
            name or email or settings.user_name
        ):
            problem = identity.check(name, email, self.workspace.root)
            if problem:
                self.error_label.setText(problem)
                self.identity_fields.name_edit.setFocus()
                return False
        self.error_label.clear()
        return apply(settings, values, self.error_label)

    def accept(self) -> None:
        if self.apply():
            super().accept()


class SettingsActions:
    """The window's side of settings: the Settings action, the first-run dialog, the core's
    questions (``ask_settings``) and live changes passed on to the views."""

    def __init__(self, window: SettingsHost) -> None:
        self.window = window
        self.workspace = window.workspace
        self.dialog: SettingsDialog | None = None
        self.first_run: FirstRunDialog | None = None
        self._just_declined = False
        self.workspace.settings.changed.connect(self._on_settings_changed)

    def close(self) -> None:
        self.workspace.settings.changed.disconnect(self._on_settings_changed)

    # ------------------------------------------------------------------ the dialogs

    def show_settings(self, focus_key: str | None = None, reason: str = "") -> SettingsDialog:
        """Open Settings at the setting ``focus_key`` (the command palette names one)."""
        if self.dialog is None:
            self.dialog = SettingsDialog(self.workspace, self.window.window())
        self.dialog.open_at(focus_key, reason)
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def open_setting(self, name: str) -> None:
        """The command palette chose a setting: Settings at it; for one the dialog does not
        hold, its value and where it is kept."""
        if name in LABELS:
            self.show_settings(name)
            return
        value = getattr(self.workspace.settings, name, "")
        where = self.workspace.settings.path
        title = name.replace("_", " ").capitalize()
        self.window.show_message(
            f"{title} is “{value}”" + (f"; it is kept in {where}." if where else ".")
        )

    def offer_first_run(self) -> FirstRunDialog | None:
        """At start: when nobody is known to commit as, ask (not blocking the window)."""
        if self.workspace.identity.known or self.first_run is not None:
            return None
        ws = self.workspace
        dialog = FirstRunDialog(ws.settings, ws.config, ws.root, parent=self.window.window())
        dialog.finished.connect(lambda _result: self._first_run_closed())
        self.first_run = dialog
        dialog.open()
        return dialog

    def _first_run_closed(self) -> None:
        self.first_run = None
        # The keyboard goes back to the window (Ctrl+S ...), once the dialog is gone.
        QTimer.singleShot(0, self.window.activateWindow)

    def ask_settings(self, reason: str, keys: Sequence[str]) -> bool:
        """``Interaction.ask_settings``: a dialog that waits for the answer (on the GUI thread
        only; a worker's question gets False and its error is shown instead)."""
        app = QApplication.instance()
        if app is None or QThread.currentThread() is not app.thread():
            return False
        if self.first_run is not None:  # already on screen: that is the question
            return False
        dialog: QDialog
        if set(keys) & {"user_name", "user_email"}:
            ws = self.workspace
            first = FirstRunDialog(
                ws.settings,
                ws.config,
                ws.root,
                "Before kbapp commits this, tell it who you are.",
                self.window.window(),
            )
            self.first_run = first
            dialog = first
        else:
            settings_dialog = SettingsDialog(self.workspace, self.window.window())
            settings_dialog.prepare(keys[0] if keys else None, reason)
            dialog = settings_dialog
        try:
            answered = dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            self.first_run = None
            dialog.deleteLater()
            QTimer.singleShot(0, self.window.activateWindow)
        if not answered:  # the error that follows is not a reason to ask again
            self._just_declined = True
            QTimer.singleShot(0, self._forget_declined)
        return answered

    def _forget_declined(self) -> None:
        self._just_declined = False

    def open_for_message(self, message: str) -> bool:
        """A message meant for the command line ("... kbapp settings user_email ..."): open
        Settings at that setting instead, with the message's first part (:func:`for_window`)
        as the reason; not again right after the user declined to answer. True when the
        message needs no other showing than the status bar."""
        found = _SETTING_RE.search(message)
        if found is None:
            return False
        if not self._just_declined:
            self.show_settings(found[1], for_window(message))
        return True

    # ------------------------------------------------------------------ live changes

    def _on_settings_changed(self, keys: set[str]) -> None:
        settings = self.workspace.settings
        window = self.window
        if "editor_font_size" in keys:
            font = window.editor.text.font()
            font.setPointSize(settings.editor_font_size)
            window.editor.text.setFont(font)
        if "fetch_interval_minutes" in keys:
            window.sync.fetch_timer.stop()
            if settings.fetch_interval_minutes > 0:
                window.sync.fetch_timer.start(settings.fetch_interval_minutes * 60_000)
        if keys & set(identity.KEYS):
            who = self.workspace.identity
            if who.known:
                org = f" ({who.org})" if who.org else ""
                window.statusBar().showMessage(
                    f"You commit as {who.name} <{who.email}>{org}.", 8000
                )
