"""The main window: search and browse on the left, the views a user works in on the right as
tabs of one main area (:class:`~kbapp.ui.view_area.ViewArea`: reader, editor, history,
conflicts, and the lifecycle and co-sourcing views: review queue, health, responsibility
matrix, handovers, onboarding), the incident checklist beside them while an incident runs, sync
in the status bar.

The window is sized to the screen it opens on and never grows itself; its place, the splitter
and the open views come back on the next start (:mod:`kbapp.ui.layout`).

The window adapts the core and owns no business logic: each view module does one job, and
this class builds them and wires them together, in named steps (``_create_*``). The handlers
of the actions ``kbapp/ui/actions.py`` declares live in the window's parts: reading
(:mod:`kbapp.ui.reading`), editing (:mod:`kbapp.ui.editing`), other knowledge bases
(:mod:`kbapp.ui.other_kbs`), what happens around a sync (:mod:`kbapp.ui.sync_flow`), the
lifecycle and co-sourcing views; the window keeps those about itself (views, panes, palette,
switching the knowledge base, closing). The core talks to the user through
:mod:`kbapp.ui.interaction`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from kbapp.documents.drafts import DraftStore
from kbapp.errors import KbError
from kbapp.interaction import Level
from kbapp.ui import actions as action_list
from kbapp.ui.askpass import askpass_server
from kbapp.ui.browse import BrowseView, Shelf
from kbapp.ui.conflicts_view import ConflictsView
from kbapp.ui.deferred import import_deferred
from kbapp.ui.editing import Editing
from kbapp.ui.editor import EditorView
from kbapp.ui.history_view import HistoryView
from kbapp.ui.import_flow import ImportFlow
from kbapp.ui.interaction import WindowInteraction
from kbapp.ui.keyboard import KeyboardPolicy, PaneCycle
from kbapp.ui.layout import WindowLayout, fit_to_screen
from kbapp.ui.notice import Notice
from kbapp.ui.other_kbs import OtherKbActions
from kbapp.ui.palette import CommandPalette
from kbapp.ui.reader import ReaderView
from kbapp.ui.reading import Reading
from kbapp.ui.search_view import SearchView
from kbapp.ui.settings_dialog import SettingsActions, SettingsDialog
from kbapp.ui.sync_flow import SyncFlow
from kbapp.ui.sync_view import SyncController
from kbapp.ui.tasks import Tasks, relay
from kbapp.ui.view_area import StartPage, ViewArea
from kbapp.ui.window_dialogs import WindowDialogs
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.ui.cosourcing import CosourcingViews
    from kbapp.ui.lifecycle import LifecycleViews


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.tasks = Tasks(self)
        self.shelf = Shelf(workspace.data_dir)
        self.drafts = DraftStore(workspace.root)
        self._close_confirmed = False
        #: The window that replaced this one (File → Open knowledge base, "Switch to …").
        self.successor: MainWindow | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{workspace.config.name} — kbapp")
        self._lifecycle: LifecycleViews | None = None
        self._cosourcing: CosourcingViews | None = None
        self._create_identity()
        self._create_views()
        self._create_layout()
        self._create_handlers()
        self._create_actions()
        self._create_sync()
        self._connect_views()
        self.layout_store = WindowLayout(workspace.root)
        if not self.layout_store.restore_window(self):
            fit_to_screen(self)

    # ------------------------------------------------------------------ construction

    def _create_identity(self) -> None:
        """Who the user is (first-run dialog, Settings), settings applied live, and how the
        core asks and tells the user things (messages, confirmations, credentials)."""
        self.settings_ui = SettingsActions(self)
        self.interaction = WindowInteraction(self, self.settings_ui)
        self.workspace.interaction = self.interaction
        self.workspace.git.prompting = askpass_server().prompting()  # asked in a dialog

    def _create_views(self) -> None:
        ws, tasks = self.workspace, self.tasks
        self.search = SearchView(ws, tasks)
        self.browse = BrowseView(ws, tasks, self.shelf)
        self.reader = ReaderView(ws, tasks)
        self.editor = EditorView(ws, tasks, self.drafts)
        self.history = HistoryView(ws, tasks)
        self.conflicts = ConflictsView(ws, tasks)
        self.start_page = StartPage(ws)
        self.notice = Notice()

    def _create_layout(self) -> None:
        self.side = QTabWidget()
        self.side.setObjectName("sidePanel")
        self.side.addTab(self.search, "Search")
        self.side.addTab(self.browse, "Browse")
        self.views = ViewArea(self.start_page)
        self.views.register("reader", "Reader", self.reader, focus=self.reader.browser)
        self.views.register(
            "editor",
            "Editor",
            self.editor,
            guard=lambda then: self.editing.leave(then),
            escape_closes=False,  # Esc in the text one types never closes it
            focus=self.editor.text,
        )
        self.views.register("history", "History", self.history, focus=self.history.table)
        self.views.register("conflicts", "Conflicts", self.conflicts, focus=self.conflicts.list)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(self.views)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 900])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.notice)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.pane_cycle = PaneCycle(
            self,
            self.side,
            self.views,
            {self.search: self.search.field, self.browse: self.browse.tree},
        )

    def _create_handlers(self) -> None:
        """The handlers of the reading and editing actions, of the other knowledge bases' and
        of import (each its own module: the window only joins them)."""
        ws, tasks = self.workspace, self.tasks
        self.reading = Reading(
            self,
            self.views,
            reader=self.reader,
            editor=self.editor,
            history=self.history,
            search=self.search,
            browse=self.browse,
            shelf=self.shelf,
            update_title=self.update_title,
        )
        self.editing = Editing(
            self,
            ws,
            self.views,
            editor=self.editor,
            reader=self.reader,
            notice=self.notice,
            drafts=self.drafts,
            update_title=self.update_title,
        )
        self.other_kbs = OtherKbActions(
            self, ws, tasks, self.search, self.editor, self.reading.current_document
        )
        self.importing = ImportFlow(self)

    def edit_document(self, path: str = "", notes: str = "") -> None:
        """Edit ``path`` (else what is read), with ``notes`` beside it (:class:`Editing`)."""
        self.editing.edit_document(path, notes)

    @property
    def lifecycle(self) -> LifecycleViews:
        """Incident mode, review queue, health dashboard: built after the first paint
        (:meth:`start`), or here on first use if that is sooner."""
        if self._lifecycle is None:
            self._create_deferred_views()
        assert self._lifecycle is not None
        return self._lifecycle

    @property
    def cosourcing(self) -> CosourcingViews:
        """Responsibility matrix, handovers, onboarding: built like :attr:`lifecycle`."""
        if self._cosourcing is None:
            self._create_deferred_views()
        assert self._cosourcing is not None
        return self._cosourcing

    @property
    def onboarding_ref(self) -> str:
        """The onboarding checklist shown ("" before the co-sourcing views are built)."""
        return self._cosourcing.onboarding.ref if self._cosourcing else ""

    def _create_deferred_views(self) -> None:
        from kbapp.ui.cosourcing import CosourcingViews
        from kbapp.ui.lifecycle import LifecycleViews

        if self._lifecycle is not None:
            return
        self._lifecycle = LifecycleViews(self, self.workspace, self.tasks, area=self.views)
        self._lifecycle.open_requested.connect(self.open_document)
        self._lifecycle.fix_requested.connect(self.editing.edit_document)
        self._cosourcing = CosourcingViews(self, self.workspace, self.tasks, area=self.views)
        self._cosourcing.open_requested.connect(self.open_document)

    def _create_actions(self) -> None:
        """Menus, toolbar and shortcuts from the one list of actions (:mod:`kbapp.ui.actions`);
        the keyboard rules over every view."""
        resolve = action_list.window_handlers(self, self.views, self._on_views_changed)
        self.actions_by_id = action_list.install(self, resolve)
        self._view_actions = action_list.view_actions(self.actions_by_id)
        for action_id in ("doc.edit", "doc.history", "doc.pin"):
            self.reader.add_header_action(self.actions_by_id[action_id])
        self.dialogs = WindowDialogs(self)
        self.actions_by_id["incident.capture"].setVisible(False)  # until one waits for it
        self.other_kbs.update_actions()
        # The window's shortcuts win over a text field's own bindings (Ctrl+E in the search
        # field), and closed combo boxes keep their value under the arrows: every view.
        self.keyboard = KeyboardPolicy(self, self.actions_by_id.values())
        self.views.views_changed.connect(lambda: self.keyboard.watch(self.views))

    def _create_sync(self) -> None:
        """Sync in the status bar (progress, state), and what the views do around a sync."""
        self.sync = SyncController(self.workspace, self.tasks, self)
        self.sync.before_sync = self.editor.autosave
        bar = self.statusBar()
        bar.addPermanentWidget(self.sync.progress)
        bar.addPermanentWidget(self.sync.indicator)
        self.sync_flow = SyncFlow(
            self.workspace,
            self.sync,
            self.notice,
            self.views,
            reader=self.reader,
            editor=self.editor,
            history=self.history,
            conflicts=self.conflicts,
            open_document=self.open_document,
            show_editor=self.editing.show,
        )

    def _connect_views(self) -> None:
        for view in (
            self.reader,
            self.editor,
            self.history,
            self.conflicts,
            self.sync,
            self.sync_flow,
            self.reading,
            self.editing,
            self.other_kbs,
        ):
            view.message.connect(self.show_message)
        self.other_kbs.document_moved.connect(self.reading.on_document_moved)
        self.search.open_requested.connect(self.open_document)
        self.search.open_elsewhere_requested.connect(self.reading.open_elsewhere)
        self.search.warning.connect(lambda text: self.show_message(text, Level.WARNING.value))
        self.reader.switch_requested.connect(self.switch_knowledge_base)
        self.search.link_activated.connect(self.reader.follow_link)  # asks first
        self.search.create_requested.connect(lambda title: self.editing.new_document(title))
        self.search.searched.connect(lambda query, hits: self.lifecycle.record_search(query, hits))
        self.browse.open_requested.connect(self.open_document)
        self.reader.document_shown.connect(self._on_document_shown)
        self.editor.saved.connect(self._on_saved)
        self.editor.dirty_changed.connect(self.update_title)
        self.history.restored.connect(self.editing.on_restored)
        self.views.current_changed.connect(lambda _name: self.update_title())
        self.views.views_changed.connect(self._on_views_changed)
        self.views.closed.connect(self._on_view_closed)
        relay(self, self.workspace.documents_changed, self.editing.on_documents_changed)

    def start(self) -> None:
        """After the window is shown: open the index, fill the panels, check sync, offer
        drafts left behind by a crash, and build the lifecycle and co-sourcing views once a
        worker has imported what they need. Everything slow runs in the background."""
        self.activateWindow()  # the keyboard goes to the new window, whatever was active before
        self.search.focus_field()
        self.search.start()
        self.browse.reload()
        self.sync.start()
        self.editing.offer_drafts()
        self.settings_ui.offer_first_run()
        self.tasks.run(import_deferred, lambda _none: self._on_deferred_imported(), owner=self)

    def _on_deferred_imported(self) -> None:
        self._create_deferred_views()
        self.restore_views()

    # ------------------------------------------------------------------ views

    def show_page(self, name: str) -> None:
        """Bring the view ``name`` to the front ("start": close the view in front)."""
        if name == "start":
            self.views.close_current()
        else:
            self.views.show_view(name)

    def current_page(self) -> str:
        """The view in front ("start" when none is open)."""
        return self.views.current()

    def close_view(self) -> None:
        """Ctrl+W: close the view in front (the editor asks about unsaved changes first)."""
        if self.views.current() == "start":
            self.show_message("No view is open; Ctrl+K searches.")
            return
        self.views.close_current()

    def close_document(self) -> None:
        self.close_view()

    def next_view(self) -> None:
        self.views.cycle(1)

    def previous_view(self) -> None:
        self.views.cycle(-1)

    def _on_views_changed(self) -> None:
        for name, qaction in self._view_actions.items():
            qaction.setChecked(self.views.is_open(name))

    def _on_view_closed(self, _name: str) -> None:
        if self.views.current() == "start":
            self.search.focus_field()
        self.update_title()

    def open_document(self, path: str) -> None:
        """Show ``path`` in the reader (:class:`~kbapp.ui.reading.Reading`)."""
        self.reading.open_document(path)

    def _on_document_shown(self, doc: object) -> None:
        from kbapp.documents.model import Document

        own = self.reader.elsewhere is None
        if isinstance(getattr(doc, "title", None), str):
            self.views.set_title("reader", doc.title)  # type: ignore[attr-defined]
        for action_id in ("doc.edit", "doc.history", "doc.pin", "doc.move_kb"):
            self.actions_by_id[action_id].setEnabled(own)
        if not own:
            self.update_title()
            return
        if isinstance(doc, Document):
            self.shelf.opened(doc.path)
            self.browse.refresh_shelf()
            self.lifecycle.document_opened(doc)
            self.cosourcing.document_opened(doc)
            self.update_title()

    def update_title(self, *_args: object) -> None:
        page = self.current_page()
        name = self.workspace.config.name
        if self.editor.doc is not None:
            mark = "• " if self.editor.dirty else ""
            self.views.set_title("editor", f"{mark}Edit: {self.editor.doc.title}")
        if page == "editor" and self.editor.doc is not None:
            mark = "• " if self.editor.dirty else ""
            self.setWindowTitle(f"{mark}{self.editor.doc.title} (editing) — {name} — kbapp")
        elif page == "reader" and self.reader.page is not None:
            where = self.reader.elsewhere
            kb = f" (in {where.config.name})" if where is not None else ""
            self.setWindowTitle(f"{self.reader.page.doc.title}{kb} — {name} — kbapp")
        else:
            self.setWindowTitle(f"{name} — kbapp")

    def show_message(self, text: str, level: str = "info") -> None:
        if level == "hover":
            self.statusBar().showMessage(text, 3000)
            return
        self.interaction.notify(
            text, Level(level) if level in Level._value2member_map_ else Level.INFO
        )

    def _on_saved(self, result: object) -> None:
        self.update_title()
        path = getattr(result, "path", "")
        if self.reader.path == path:
            self.reader.reload()
        self.sync.refresh_status()

    # ------------------------------------------------------------------ File actions

    def switch_knowledge_base(self, root: str) -> None:
        """Replace this window by one on the knowledge base at ``root`` (same place and size),
        after unsaved edits were saved or dropped. The new window is :attr:`successor`."""

        def go() -> None:
            from kbapp.knowledge_bases import make_current

            settings = self.workspace.settings
            try:
                workspace = Workspace.open(root, settings)
            except (KbError, OSError) as exc:
                self.show_message(
                    f"Could not open the knowledge base {root}: {exc}", Level.ERROR.value
                )
                return
            make_current(settings, self.workspace.root, workspace.root)
            try:
                settings.save()
            except OSError:
                pass
            self.save_layout()
            successor = MainWindow(workspace)
            successor.setGeometry(self.geometry())
            successor.show()
            successor.start()
            self.successor = successor
            self._close_confirmed = True
            self.close()
            self.workspace.close()

        self.editor.maybe_leave(go)

    # ------------------------------------------------------------------ Go actions

    def focus_search(self) -> None:
        self.side.setCurrentWidget(self.search)
        self.search.focus_field()

    def focus_browse(self) -> None:
        self.side.setCurrentWidget(self.browse)
        self.browse.tree.setFocus()

    def show_settings(self, focus_key: str | None = None) -> SettingsDialog:
        """Ctrl+,: the Settings dialog, at the setting ``focus_key`` when one is named."""
        return self.settings_ui.show_settings(focus_key)

    def next_pane(self) -> QWidget | None:
        """F6: the keys go to the next part of the window (the search column, the document,
        each side panel shown), wrapping around; Shift+F6 goes back."""
        return self.pane_cycle.step(1)

    def previous_pane(self) -> QWidget | None:
        return self.pane_cycle.step(-1)

    def panes(self) -> list[QWidget]:
        """The parts of the window F6 moves between, in reading order."""
        return self.pane_cycle.panes()

    def show_palette(self) -> CommandPalette:
        """Ctrl+Shift+P (:class:`~kbapp.ui.window_dialogs.WindowDialogs`)."""
        return self.dialogs.show_palette()

    # ------------------------------------------------------------------ Sync actions

    def sync_now(self) -> bool:
        return self.sync.sync_now()

    def show_conflicts(self) -> None:
        self.sync_flow.show_conflicts()

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._close_confirmed and self.editor.dirty:
            event.ignore()
            self.editor.maybe_leave(self._close_now)
            return
        self.save_layout()
        self.sync.stop()
        self.settings_ui.close()
        self.tasks.wait(10000)
        self.search.close_others()
        super().closeEvent(event)

    # ------------------------------------------------------------------ layout kept between starts

    def save_layout(self) -> None:
        """Where the window is, the splitter, the open views and what they show."""
        self.layout_store.save(self)

    def restore_views(self) -> None:
        """The views open at the last close, once the lifecycle and co-sourcing ones are
        built (just after the first paint)."""
        self.layout_store.restore_views(self)

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.close()

    def action(self, action_id: str) -> QAction:
        return self.actions_by_id[action_id]
