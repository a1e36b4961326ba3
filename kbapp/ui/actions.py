"""Every user action of the window, declared once as data (napari ``Action``, Mu's action
dicts).

:data:`ACTIONS` says what each action is called, its shortcut, which menu it sits in, whether
the toolbar shows it, and the name of the :class:`~kbapp.ui.window.MainWindow` method that
handles it (``lifecycle.<name>`` for the handlers of :class:`~kbapp.ui.lifecycle.LifecycleViews`).
:func:`install` turns the list into ``QAction`` objects, the menu bar, the toolbar and the
window's shortcuts; :class:`CommandPalette` (``Ctrl+Shift+P``) lists the same actions. To find
the code behind a button: look its title up here, then the handler in ``window.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class Action:
    id: str
    title: str
    shortcut: str
    handler: str  # MainWindow method; in the two lists below, a method of their views
    menu: str
    toolbar: bool = False
    tip: str = ""
    icon: str = ""  # a freedesktop icon name; Qt's own icon when the desktop has no theme


#: Qt's built-in icon for each icon name used below, for desktops without an icon theme
#: (Windows, macOS, a bare Linux session).
FALLBACK_ICONS = {
    "document-new": QStyle.StandardPixmap.SP_FileIcon,
    "document-save": QStyle.StandardPixmap.SP_DialogSaveButton,
    "edit-find": QStyle.StandardPixmap.SP_FileDialogContentsView,
    "view-list-details": QStyle.StandardPixmap.SP_FileDialogListView,
    "view-refresh": QStyle.StandardPixmap.SP_BrowserReload,
}


ACTIONS: tuple[Action, ...] = (
    # File
    Action("doc.new", "New document…", "Ctrl+N", "new_document", "&File", toolbar=True,
           tip="Write a new document from a template", icon="document-new"),
    Action("doc.edit", "Edit document", "Ctrl+E", "edit_document", "&File",
           tip="Open the document being read in the editor"),
    Action("doc.save", "Save and commit", "Ctrl+S", "save_document", "&File", toolbar=True,
           tip="Save the document being edited and commit it", icon="document-save"),
    Action("doc.close", "Close document", "Ctrl+W", "close_document", "&File"),
    Action("kb.open", "Open knowledge base…", "Ctrl+O", "open_knowledge_base", "&File"),
    Action("kb.search_also", "Search another knowledge base too…", "", "other_kbs.search_another_kb",
           "&File", tip="Search results also from another knowledge base (an internal one)"),
    Action("kb.search_less", "Stop searching another knowledge base…", "", "other_kbs.stop_searching_kb",
           "&File"),
    Action("kb.import", "Import a folder of Markdown…", "", "importing.import_folder", "&File",
           tip="Import another wiki's export or a runbook repository, with progress"),
    Action("app.quit", "Quit", "Ctrl+Q", "close", "&File"),
    # Edit
    Action("edit.undo", "Undo", "Ctrl+Z", "undo", "&Edit"),
    Action("edit.redo", "Redo", "Ctrl+Shift+Z", "redo", "&Edit"),
    Action("doc.find", "Find in page", "Ctrl+F", "find_in_page", "&Edit"),
    # Go
    Action("go.search", "Search", "Ctrl+K", "focus_search", "&Go", toolbar=True,
           tip="Back to the search field from anywhere", icon="edit-find"),
    Action("go.browse", "Browse folders, types and systems", "Ctrl+B", "focus_browse", "&Go"),
    Action("go.back", "Back", "Alt+Left", "go_back", "&Go"),
    Action("go.forward", "Forward", "Alt+Right", "go_forward", "&Go"),
    Action("go.palette", "Command palette…", "Ctrl+Shift+P", "show_palette", "&Go", toolbar=True,
           tip="Every action with its shortcut", icon="view-list-details"),
    # Document
    Action("doc.pin", "Pin or unpin document", "Ctrl+D", "toggle_pin", "&Document"),
    Action("doc.history", "History of this document", "Ctrl+Shift+Y", "show_history",
           "&Document", tip="Versions, differences and restore"),
    Action("doc.move_kb", "Move to another knowledge base…", "", "other_kbs.move_to_other_kb",
           "&Document", tip="Commit it into another knowledge base, then remove it from this one"),
    Action("view.zoom_in", "Zoom in", "Ctrl+=", "zoom_in", "&Document"),
    Action("view.zoom_out", "Zoom out", "Ctrl+-", "zoom_out", "&Document"),
    Action("view.zoom_reset", "Actual size", "Ctrl+0", "zoom_reset", "&Document"),
    # Sync
    Action("sync.now", "Sync now", "Ctrl+Shift+S", "sync_now", "&Sync", toolbar=True,
           tip="Publish your commits and bring in the other organisation's", icon="view-refresh"),
    Action("sync.conflicts", "Resolve conflicts", "Ctrl+Shift+C", "show_conflicts", "&Sync"),
    Action("sync.drop_refused", "Take refused content out…", "", "sync.drop_refused", "&Sync",
           tip="Rebuild your unpublished commits without what the shared repository refuses"),
)


#: The lifecycle views' actions; handlers are methods of
#: :class:`~kbapp.ui.lifecycle.LifecycleViews`. Declared here, not in that module, so that the
#: menus exist before those views (and the activity database behind them) are loaded.
LIFECYCLE_ACTIONS: tuple[Action, ...] = (
    Action("incident.start", "Start incident…", "Ctrl+I", "start_incident", "&Knowledge",
           tip="Focused mode with a timer; steps, notes and searches are recorded"),
    Action("incident.note", "Incident note", "Ctrl+Shift+N", "focus_note", "&Knowledge"),
    Action("incident.end", "End incident and capture…", "Ctrl+Shift+I", "end_incident",
           "&Knowledge"),
    Action("review.queue", "Review queue", "Ctrl+Shift+R", "show_review_queue", "&Knowledge"),
    Action("report.dashboard", "Knowledge base health", "Ctrl+Shift+H", "show_dashboard",
           "&Knowledge"),
    Action("report.export", "Export health report…", "", "export_report", "&Knowledge"),
)

#: The co-sourcing views' actions; handlers are methods of
#: :class:`~kbapp.ui.cosourcing.CosourcingViews`.
COSOURCING_ACTIONS: tuple[Action, ...] = (
    Action("matrix.show", "Responsibility matrix", "Ctrl+Shift+M", "show_matrix",
           "&Organisations", tip="Systems × document types: who is responsible, and the gaps"),
    Action("matrix.export", "Export responsibility matrix…", "", "export_matrix",
           "&Organisations"),
    Action("handover.show", "Handovers", "Ctrl+Shift+O", "show_handovers", "&Organisations",
           tip="Procedures being handed over between the organisations, step by step"),
    Action("onboarding.show", "Onboarding path", "", "show_onboarding", "&Organisations",
           tip="Reading list for a new engineer, ticked as you read"),
)


def all_actions() -> tuple[Action, ...]:
    """The window's own actions, then the lifecycle views' (incident, reviews, health) and the
    co-sourcing views' (responsibility matrix, handovers, onboarding), their handlers named
    ``lifecycle.<method>`` and ``cosourcing.<method>``."""
    joined = tuple(
        dataclasses.replace(a, handler=f"{owner}.{a.handler}")
        for owner, declared in (("lifecycle", LIFECYCLE_ACTIONS),
                                ("cosourcing", COSOURCING_ACTIONS))
        for a in declared
    )
    return ACTIONS + joined


def install(window: QMainWindow, resolve: Callable[[str], Callable[[], object]],
            actions: tuple[Action, ...] | None = None) -> dict[str, QAction]:
    """Create the QActions, menus, toolbar and shortcuts; returns them by id."""
    made: dict[str, QAction] = {}
    menus: dict[str, object] = {}
    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action in actions or all_actions():
        qaction = QAction(action.title, window)
        qaction.setObjectName(action.id)
        if action.icon:
            qaction.setIcon(icon(action.icon, window))
        if action.shortcut:
            qaction.setShortcut(QKeySequence(action.shortcut))
            qaction.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        tip = action.tip or action.title
        qaction.setToolTip(f"{tip} ({action.shortcut})" if action.shortcut else tip)
        qaction.setStatusTip(tip)
        handler = resolve(action.handler)
        qaction.triggered.connect(lambda _checked=False, h=handler: h())
        menu = menus.get(action.menu)
        if menu is None:
            menu = window.menuBar().addMenu(action.menu)
            menus[action.menu] = menu
        menu.addAction(qaction)  # type: ignore[attr-defined]
        if action.toolbar:
            toolbar.addAction(qaction)
        window.addAction(qaction)  # shortcuts work even when the menu bar is hidden
        made[action.id] = qaction
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    return made


def icon(name: str, widget: QWidget) -> QIcon:
    """The desktop theme's icon called ``name``, else Qt's own (:data:`FALLBACK_ICONS`)."""
    themed = QIcon.fromTheme(name)
    if not themed.isNull():
        return themed
    return widget.style().standardIcon(FALLBACK_ICONS[name])


class _ShortcutColumn(QStyledItemDelegate):
    """Paints a palette row's shortcut right-aligned, so the shortcuts form a column."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        shortcut = index.data(Qt.ItemDataRole.UserRole + 2)
        if not shortcut:
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        roles = QPalette.ColorRole
        painter.setPen(option.palette.color(
            roles.HighlightedText if selected else roles.PlaceholderText))
        painter.drawText(option.rect.adjusted(0, 0, -8, 0),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shortcut)
        painter.restore()


class CommandPalette(QDialog):
    """Type to filter every action; Enter runs the selected one."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("commandPalette")
        self.setWindowTitle("Command palette")
        self.actions_by_id = actions
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Type a command…")
        self.filter_edit.textChanged.connect(self._fill)
        self.filter_edit.returnPressed.connect(self._run_selected)
        self.filter_edit.installEventFilter(self)
        self.list = QListWidget()
        self.list.setItemDelegate(_ShortcutColumn(self.list))
        self.list.itemActivated.connect(lambda _item: self._run_selected())
        self.hint = QLabel("↑↓ to choose, Enter to run, Esc to close")
        self.hint.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        layout.addWidget(self.hint)
        self.resize(560, 420)
        self._fill("")

    def rows(self) -> list[tuple[str, str]]:
        """(title, shortcut) of every row shown."""
        return [
            (self.list.item(i).data(Qt.ItemDataRole.UserRole + 1),
             self.list.item(i).data(Qt.ItemDataRole.UserRole + 2))
            for i in range(self.list.count())
        ]

    def _fill(self, text: str) -> None:
        words = text.casefold().split()
        self.list.clear()
        for action_id, qaction in self.actions_by_id.items():
            title = qaction.text().replace("&", "")
            shortcut = qaction.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            haystack = f"{title} {action_id} {shortcut}".casefold()
            if not all(word in haystack for word in words):
                continue
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, action_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, title)
            item.setData(Qt.ItemDataRole.UserRole + 2, shortcut)
            item.setToolTip(qaction.statusTip())
            item.setFlags(item.flags() if qaction.isEnabled() else Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _run_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        qaction = self.actions_by_id[item.data(Qt.ItemDataRole.UserRole)]
        self.accept()
        qaction.trigger()

    def eventFilter(self, watched: object, event: object) -> bool:  # noqa: N802
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if event.key() == Qt.Key.Key_Down else -1
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def showEvent(self, event: object) -> None:  # noqa: N802
        super().showEvent(event)  # type: ignore[arg-type]
        self.filter_edit.clear()
        self.filter_edit.setFocus()
