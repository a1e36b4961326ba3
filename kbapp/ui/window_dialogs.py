"""The window's own dialogs, made on first use and kept: the command palette (Ctrl+Shift+P),
the shortcut sheet (F1) and the knowledge base chooser (Ctrl+O). They need little of the window
(:class:`DialogHost`), so this module does not import it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from kbapp.ui import actions as action_list
from kbapp.ui.keyboard import ShortcutSheet
from kbapp.ui.palette import CommandPalette, setting_rows

if TYPE_CHECKING:
    from kbapp.ui.settings_dialog import SettingsActions
    from kbapp.ui.start_screen import KbChooserDialog
    from kbapp.ui.tasks import Tasks
    from kbapp.workspace import Workspace


class DialogHost(Protocol):
    """What the dialogs need of the window: its knowledge base and background runner, its
    actions, opening a document or a setting, switching the knowledge base, and itself as the
    dialogs' parent (``window()``, as every QWidget has)."""

    workspace: Workspace
    tasks: Tasks
    actions_by_id: dict[str, QAction]
    settings_ui: SettingsActions

    def open_document(self, path: str) -> None: ...

    def switch_knowledge_base(self, root: str) -> None: ...

    def window(self) -> QWidget: ...


class WindowDialogs:
    """Handlers of ``dialogs.*`` actions (:mod:`kbapp.ui.actions`)."""

    def __init__(self, host: DialogHost) -> None:
        self.host = host
        self.palette: CommandPalette | None = None
        self.shortcut_sheet: ShortcutSheet | None = None
        self.kb_chooser: KbChooserDialog | None = None

    def show_palette(self) -> CommandPalette:
        host = self.host
        if self.palette is None:
            self.palette = CommandPalette(
                host.actions_by_id,
                host.window(),
                documents=host.workspace.catalog.titles,
                settings=lambda: setting_rows(host.workspace.settings),
                open_document=host.open_document,
                open_setting=host.settings_ui.open_setting,
            )
        self.palette.show()
        self.palette.raise_()
        self.palette.activateWindow()
        return self.palette

    def show_shortcuts(self) -> ShortcutSheet:
        if self.shortcut_sheet is None:
            self.shortcut_sheet = ShortcutSheet(action_list.all_actions(), self.host.window())
        self.shortcut_sheet.show()
        self.shortcut_sheet.raise_()
        self.shortcut_sheet.activateWindow()
        self.shortcut_sheet.table.setFocus()
        return self.shortcut_sheet

    def open_knowledge_base(self) -> None:
        """``Ctrl+O``: the recent knowledge bases and the offers to clone, open, create or the
        demo, as the start screen; the window switches to the one chosen."""
        from kbapp.ui.start_screen import KbChooserDialog

        host = self.host
        self.kb_chooser = KbChooserDialog(
            host.window(), host.workspace.settings, host.tasks, host.switch_knowledge_base
        )
        self.kb_chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.kb_chooser.open()
