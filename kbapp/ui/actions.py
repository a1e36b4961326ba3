"""Every user action of the window, declared once as data (napari ``Action``, Mu's action
dicts).

:data:`ACTIONS` says what each action is called, its shortcut, which menu it sits in, whether
the toolbar shows it, and the name of its handler: a :class:`~kbapp.ui.window.MainWindow`
method, or ``<part>.<method>`` of one of the window's parts (``reading`` in
:mod:`kbapp.ui.reading`, ``editing`` in :mod:`kbapp.ui.editing`, ``other_kbs``, ``lifecycle``,
``cosourcing``). :func:`install` turns the list into ``QAction`` objects, the menu bar, the
toolbar and the window's shortcuts; the command palette (``Ctrl+Shift+P``,
:mod:`kbapp.ui.palette`) lists the same actions. To find the code behind a button: look its
title up here, then its handler.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QStyle,
    QToolBar,
    QWidget,
)

from kbapp.ui.view_area import ViewArea


@dataclass(frozen=True)
class Action:
    id: str
    title: str
    shortcut: str
    #: A MainWindow method, or ``<part>.<method>`` of one of its parts (``editing``,
    #: ``other_kbs``, ...); in the two lists below, a method of their views.
    handler: str
    menu: str
    toolbar: bool = False
    tip: str = ""
    icon: str = ""  # a freedesktop icon name; Qt's own icon when the desktop has no theme
    #: The view of the main area (kbapp/ui/view_area.py) it shows: the action is checked while
    #: that view is open, and triggering it while the view is in front closes it.
    view: str = ""
    #: Other words the command palette finds it by ("new incident" for "Start incident…").
    keywords: str = ""
    #: A second shortcut (F1 and Ctrl+/ both show the shortcut sheet).
    also: str = ""


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
    Action(
        "doc.new",
        "New document…",
        "Ctrl+N",
        "editing.new_document",
        "&File",
        toolbar=True,
        tip="Write a new document from a template",
        icon="document-new",
        keywords="create write template add",
    ),
    Action(
        "doc.edit",
        "Edit document",
        "Ctrl+E",
        "editing.edit_document",
        "&File",
        tip="Open the document being read in the editor",
        keywords="change modify",
    ),
    Action(
        "doc.save",
        "Save and commit",
        "Ctrl+S",
        "editing.save_document",
        "&File",
        toolbar=True,
        tip="Save the document being edited and commit it",
        icon="document-save",
    ),
    Action("kb.open", "Open knowledge base…", "Ctrl+O", "dialogs.open_knowledge_base", "&File"),
    Action(
        "kb.search_also",
        "Search another knowledge base too…",
        "",
        "other_kbs.search_another_kb",
        "&File",
        tip="Search results also from another knowledge base (an internal one)",
    ),
    Action(
        "kb.search_less",
        "Stop searching another knowledge base…",
        "",
        "other_kbs.stop_searching_kb",
        "&File",
    ),
    Action(
        "kb.import",
        "Import a folder of Markdown…",
        "",
        "importing.import_folder",
        "&File",
        tip="Import another wiki's export or a runbook repository, with progress",
    ),
    Action("app.quit", "Quit", "Ctrl+Q", "close", "&File"),
    # Edit
    Action("edit.undo", "Undo", "Ctrl+Z", "editing.undo", "&Edit"),
    Action("edit.redo", "Redo", "Ctrl+Shift+Z", "editing.redo", "&Edit"),
    Action("doc.find", "Find in page", "Ctrl+F", "reading.find_in_page", "&Edit"),
    Action(
        "settings",
        "Settings…",
        "Ctrl+,",
        "show_settings",
        "&Edit",
        tip="Who you are (name, e-mail, organisation), the editor, search and sync",
    ),
    # View: the views of the main area; each toggles (see Action.view)
    Action(
        "view.close",
        "Close view",
        "Ctrl+W",
        "close_view",
        "&View",
        tip="Close the view in front (Esc too, except in the editor)",
    ),
    Action("view.next", "Next view", "Ctrl+PgDown", "next_view", "&View"),
    Action("view.previous", "Previous view", "Ctrl+PgUp", "previous_view", "&View"),
    Action(
        "view.reader",
        "Reader",
        "",
        "reading.show_reader",
        "&View",
        view="reader",
        tip="The document last opened",
    ),
    Action(
        "view.editor",
        "Editor",
        "",
        "editing.show_editor",
        "&View",
        view="editor",
        tip="The document being edited",
    ),
    Action(
        "doc.history",
        "History of this document",
        "Ctrl+Shift+Y",
        "reading.show_history",
        "&View",
        tip="Versions, differences and restore",
        view="history",
        keywords="versions diff changes log restore",
    ),
    Action(
        "sync.conflicts",
        "Resolve conflicts",
        "Ctrl+Shift+C",
        "show_conflicts",
        "&View",
        view="conflicts",
        tip="Documents both organisations changed in the same place",
        keywords="merge",
    ),
    # Go
    Action(
        "go.search",
        "Search",
        "Ctrl+K",
        "focus_search",
        "&Go",
        toolbar=True,
        tip="Back to the search field from anywhere",
        icon="edit-find",
    ),
    Action("go.browse", "Browse folders, types and systems", "Ctrl+B", "focus_browse", "&Go"),
    Action(
        "go.next_pane",
        "Next pane",
        "F6",
        "next_pane",
        "&Go",
        tip="Move the keys to the next part of the window: search, document, side panels",
        keywords="focus switch panel reader",
    ),
    Action(
        "go.previous_pane",
        "Previous pane",
        "Shift+F6",
        "previous_pane",
        "&Go",
        keywords="focus switch panel",
    ),
    Action("go.back", "Back", "Alt+Left", "reading.go_back", "&Go"),
    Action("go.forward", "Forward", "Alt+Right", "reading.go_forward", "&Go"),
    Action(
        "go.palette",
        "Command palette…",
        "Ctrl+Shift+P",
        "dialogs.show_palette",
        "&Go",
        toolbar=True,
        tip="Every action with its shortcut",
        icon="view-list-details",
    ),
    # Document
    Action("doc.pin", "Pin or unpin document", "Ctrl+D", "reading.toggle_pin", "&Document"),
    Action(
        "doc.move_kb",
        "Move to another knowledge base…",
        "",
        "other_kbs.move_to_other_kb",
        "&Document",
        tip="Commit it into another knowledge base, then remove it from this one",
    ),
    Action("view.zoom_in", "Zoom in", "Ctrl+=", "reading.zoom_in", "&Document"),
    Action("view.zoom_out", "Zoom out", "Ctrl+-", "reading.zoom_out", "&Document"),
    Action("view.zoom_reset", "Actual size", "Ctrl+0", "reading.zoom_reset", "&Document"),
    # Sync
    Action(
        "sync.now",
        "Sync now",
        "Ctrl+Shift+S",
        "sync_now",
        "&Sync",
        toolbar=True,
        tip="Publish your commits and bring in the other organisation's",
        icon="view-refresh",
        keywords="publish pull push fetch",
    ),
    Action(
        "sync.drop_refused",
        "Take refused content out…",
        "",
        "sync.drop_refused",
        "&Sync",
        tip="Rebuild your unpublished commits without what the shared repository refuses",
        keywords="refused rejected hook policy",
    ),
    # Help
    Action(
        "help.shortcuts",
        "Keyboard shortcuts",
        "F1",
        "dialogs.show_shortcuts",
        "&Help",
        also="Ctrl+/",
        tip="Every action and its shortcut on one sheet",
        keywords="keys help cheat sheet",
    ),
)


#: The lifecycle views' actions; handlers are methods of
#: :class:`~kbapp.ui.lifecycle.LifecycleViews`. Declared here, not in that module, so that the
#: menus exist before those views (and the activity database behind them) are loaded.
LIFECYCLE_ACTIONS: tuple[Action, ...] = (
    Action(
        "incident.start",
        "Start incident…",
        "Ctrl+I",
        "start_incident",
        "&Knowledge",
        tip="Focused mode with a timer; steps, notes and searches are recorded",
        keywords="new incident begin outage",
    ),
    Action("incident.note", "Incident note", "Ctrl+Shift+N", "focus_note", "&Knowledge"),
    Action(
        "incident.steps",
        "Runbook steps of the incident",
        "Ctrl+Shift+K",
        "focus_steps",
        "&Knowledge",
        tip="The checklist: ↑↓ choose a step, Space ticks it, Ctrl+C copies its commands",
        keywords="checklist tick copy commands",
    ),
    Action(
        "incident.end",
        "End incident and capture…",
        "Ctrl+Shift+I",
        "end_incident",
        "&Knowledge",
        keywords="stop finish resolve",
    ),
    # Its title names the incident waiting to be captured; hidden while none is.
    Action(
        "incident.capture",
        "Capture incident…",
        "",
        "capture_incident",
        "&Knowledge",
        tip="Write down what the last incident taught, while it is fresh",
        keywords="post-incident postmortem write",
    ),
    Action(
        "review.queue",
        "Review queue",
        "Ctrl+Shift+R",
        "show_review_queue",
        "&View",
        view="review-queue",
        tip="Documents due, overdue or never reviewed",
        keywords="due overdue stale",
    ),
    Action(
        "report.dashboard",
        "Knowledge base health",
        "Ctrl+Shift+H",
        "show_dashboard",
        "&View",
        view="health",
        keywords="dashboard report statistics",
    ),
    Action("report.export", "Export health report…", "", "export_report", "&Knowledge"),
)

#: The co-sourcing views' actions; handlers are methods of
#: :class:`~kbapp.ui.cosourcing.CosourcingViews`.
COSOURCING_ACTIONS: tuple[Action, ...] = (
    Action(
        "matrix.show",
        "Responsibility matrix",
        "Ctrl+Shift+M",
        "show_matrix",
        "&View",
        tip="Systems × document types: who is responsible, and the gaps",
        view="matrix",
    ),
    Action("matrix.export", "Export responsibility matrix…", "", "export_matrix", "&Organisations"),
    Action(
        "handover.show",
        "Handovers",
        "Ctrl+Shift+O",
        "show_handovers",
        "&View",
        tip="Procedures being handed over between the organisations, step by step",
        view="handovers",
    ),
    Action(
        "onboarding.show",
        "Onboarding path",
        "",
        "show_onboarding",
        "&View",
        tip="Reading list for a new engineer, ticked as you read",
        view="onboarding",
    ),
)


def all_actions() -> tuple[Action, ...]:
    """The window's own actions, then the lifecycle views' (incident, reviews, health) and the
    co-sourcing views' (responsibility matrix, handovers, onboarding), their handlers named
    ``lifecycle.<method>`` and ``cosourcing.<method>``."""
    joined = tuple(
        dataclasses.replace(a, handler=f"{owner}.{a.handler}")
        for owner, declared in (
            ("lifecycle", LIFECYCLE_ACTIONS),
            ("cosourcing", COSOURCING_ACTIONS),
        )
        for a in declared
    )
    return ACTIONS + joined


def install(
    window: QMainWindow,
    resolve: Callable[[str], Callable[[], object]],
    actions: tuple[Action, ...] | None = None,
) -> dict[str, QAction]:
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
            qaction.setShortcuts([QKeySequence(k) for k in (action.shortcut, action.also) if k])
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


def window_handlers(
    owner: object, views: ViewArea, toggled: Callable[[], None]
) -> Callable[[str], Callable[[], object]]:
    """How :func:`install` finds the handler an action names on the window (``owner``): a
    method of it, or ``<part>.<method>`` of one of its parts, looked up when triggered (the
    lifecycle views are built after the first paint). An action that shows a view closes it
    instead when that view is in front; ``toggled`` runs after either."""
    view_of_handler = {a.handler: a.view for a in all_actions() if a.view}

    def resolve(name: str) -> Callable[[], object]:
        part, _, method = name.rpartition(".")

        def run() -> object:
            return getattr(getattr(owner, part) if part else owner, method)()

        view = view_of_handler.get(name)
        if view is None:
            return run

        def toggle() -> None:
            if views.current() == view:
                views.close_view(view)
            else:
                run()
            toggled()

        return toggle

    return resolve


def view_actions(actions_by_id: dict[str, QAction]) -> dict[str, QAction]:
    """The actions that show a view (View menu), by the view's name, made checkable: the
    window checks them while their view is open."""
    found = {a.view: actions_by_id[a.id] for a in all_actions() if a.view}
    for qaction in found.values():
        qaction.setCheckable(True)
    return found


def icon(name: str, widget: QWidget) -> QIcon:
    """The desktop theme's icon called ``name``, else Qt's own (:data:`FALLBACK_ICONS`)."""
    themed = QIcon.fromTheme(name)
    if not themed.isNull():
        return themed
    return widget.style().standardIcon(FALLBACK_ICONS[name])
