"""The main window: search and browse on the left, the views a user works in on the right as
tabs of one main area (:class:`~kbapp.ui.view_area.ViewArea`: reader, editor, history,
conflicts, and the lifecycle and co-sourcing views: review queue, health, responsibility
matrix, handovers, onboarding), the incident checklist beside them while an incident runs, sync
in the status bar.

The window is sized to the screen it opens on and never grows itself; its place, the splitter
and the open views come back on the next start (:mod:`kbapp.ui.layout`).

The window adapts the core and owns no business logic: each view module does one job, and
this class wires them together and holds the action handlers that ``kbapp/ui/actions.py``
names (one method per action, in the order of the menus).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
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
from kbapp.ui.editor import EditorView, Notice
from kbapp.ui.history_view import HistoryView
from kbapp.ui.import_flow import ImportFlow
from kbapp.ui.interaction import WindowInteraction
from kbapp.ui.keyboard import KeyboardPolicy, PaneCycle, ShortcutSheet
from kbapp.ui.layout import WindowLayout, fit_to_screen
from kbapp.ui.new_document import NewDocumentDialog
from kbapp.ui.other_kbs import OtherKbActions
from kbapp.ui.palette import CommandPalette, setting_rows
from kbapp.ui.reader import ReaderView
from kbapp.ui.search_view import SearchView
from kbapp.ui.settings_dialog import SettingsActions, SettingsDialog
from kbapp.ui.sync_flow import SyncFlow
from kbapp.ui.sync_view import SyncController
from kbapp.ui.tasks import Tasks, relay
from kbapp.ui.view_area import StartPage, ViewArea
from kbapp.workspace import Workspace

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges
    from kbapp.knowledge_bases import KbMove
    from kbapp.ui.cosourcing import CosourcingViews
    from kbapp.ui.lifecycle import LifecycleViews

#: Core modules behind the lifecycle and co-sourcing views (SQLAlchemy for the activity store
#: and the catalog, Jinja2 for the report, ...): a worker imports them after the window is
#: shown, and the views are built when they are in (see :meth:`MainWindow.start`).
DEFERRED_MODULES = (
    "kbapp.catalog",
    "kbapp.lifecycle.incident",
    "kbapp.lifecycle.capture",
    "kbapp.lifecycle.report_html",
    "kbapp.lifecycle.review_actions",
    "kbapp.cosourcing.matrix",
    "kbapp.cosourcing.handover",
    "kbapp.cosourcing.onboarding",
)


def _import_deferred() -> None:
    for name in DEFERRED_MODULES:
        importlib.import_module(name)


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
        self.other_kbs = OtherKbActions(
            self, ws, tasks, self.search, self.editor, self.current_document
        )
        self.importing = ImportFlow(self)
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
            guard=self._leave_editor,
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

    def _create_deferred_views(self) -> None:
        from kbapp.ui.cosourcing import CosourcingViews
        from kbapp.ui.lifecycle import LifecycleViews

        if self._lifecycle is not None:
            return
        self._lifecycle = LifecycleViews(self, self.workspace, self.tasks, area=self.views)
        self._lifecycle.open_requested.connect(self.open_document)
        self._lifecycle.fix_requested.connect(self.edit_document)
        self._cosourcing = CosourcingViews(self, self.workspace, self.tasks, area=self.views)
        self._cosourcing.open_requested.connect(self.open_document)

    def _create_actions(self) -> None:
        #: handler name → the view it shows, for the actions that toggle a view (View menu).
        self._view_of_handler = {a.handler: a.view for a in action_list.all_actions() if a.view}
        self.actions_by_id = action_list.install(self, self._handler)
        self._view_actions = {
            a.view: self.actions_by_id[a.id] for a in action_list.all_actions() if a.view
        }
        for qaction in self._view_actions.values():
            qaction.setCheckable(True)
        for action_id in ("doc.edit", "doc.history", "doc.pin"):
            self.reader.add_header_action(self.actions_by_id[action_id])
        self.palette_dialog: CommandPalette | None = None
        self.shortcut_sheet: ShortcutSheet | None = None
        self.actions_by_id["incident.capture"].setVisible(False)  # until one waits for it
        # The window's shortcuts win over a text field's own bindings (Ctrl+E in the search
        # field), and closed combo boxes keep their value under the arrows: every view.
        self.keyboard = KeyboardPolicy(self, self.actions_by_id.values())
        self.views.views_changed.connect(lambda: self.keyboard.watch(self.views))

    def _handler(self, name: str) -> Callable[[], object]:
        owner, _, method = name.rpartition(".")
        if not owner:
            run: Callable[[], object] = getattr(self, method)
        else:
            # The views behind these are built after the first paint: look them up when
            # triggered.
            def run() -> object:
                return getattr(getattr(self, owner), method)()

        view = self._view_of_handler.get(name)
        if view is None:
            return run

        def toggle() -> None:
            if self.views.current() == view:
                self.views.close_view(view)
            else:
                run()
            self._on_views_changed()

        return toggle

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
            show_editor=self._show_editor,
        )

    def _connect_views(self) -> None:
        for view in (
            self.reader,
            self.editor,
            self.history,
            self.conflicts,
            self.sync,
            self.sync_flow,
            self.other_kbs,
        ):
            view.message.connect(self.show_message)
        self.other_kbs.document_moved.connect(self._on_document_moved)
        self.search.open_requested.connect(self.open_document)
        self.search.open_elsewhere_requested.connect(self.open_elsewhere)
        self.search.warning.connect(lambda text: self.show_message(text, Level.WARNING.value))
        self.reader.switch_requested.connect(self.switch_knowledge_base)
        self.search.link_activated.connect(self.reader.follow_link)  # asks first
        self.search.create_requested.connect(lambda title: self.new_document(title))
        self.search.searched.connect(lambda query, hits: self.lifecycle.record_search(query, hits))
        self.browse.open_requested.connect(self.open_document)
        self.reader.document_shown.connect(self._on_document_shown)
        self.editor.saved.connect(self._on_saved)
        self.editor.dirty_changed.connect(self._update_title)
        self.history.restored.connect(self._on_restored)
        self.views.current_changed.connect(lambda _name: self._update_title())
        self.views.views_changed.connect(self._on_views_changed)
        self.views.closed.connect(self._on_view_closed)
        relay(self, self.workspace.documents_changed, self._on_documents_changed)

    def start(self) -> None:
        """After the window is shown: open the index, fill the panels, check sync, offer
        drafts left behind by a crash, and build the lifecycle and co-sourcing views once a
        worker has imported what they need. Everything slow runs in the background."""
        self.activateWindow()  # the keyboard goes to the new window, whatever was active before
        self.search.focus_field()
        self.search.start()
        self.browse.reload()
        self.sync.start()
        self.offer_drafts()
        self.settings_ui.offer_first_run()
        self.tasks.run(_import_deferred, lambda _none: self._on_deferred_imported(), owner=self)

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

    def show_reader(self) -> None:
        if self.reader.page is None:
            self.show_message("Nothing has been read yet: Ctrl+K searches, Enter opens.")
            return
        self.views.show_view("reader")

    def show_editor(self) -> None:
        if self.editor.doc is None:
            self.edit_document()
        else:
            self._show_editor()

    def _leave_editor(self, then: Callable[[], None]) -> None:
        """Before the editor closes: unsaved text is saved or dropped (asks; a save reloads
        the reader, see :meth:`_on_saved`)."""

        def left() -> None:
            self.editor.doc = None
            then()

        self.editor.maybe_leave(left)

    def _on_views_changed(self) -> None:
        for name, qaction in self._view_actions.items():
            qaction.setChecked(self.views.is_open(name))

    def _on_view_closed(self, _name: str) -> None:
        if self.views.current() == "start":
            self.search.focus_field()
        self._update_title()

    def open_document(self, path: str) -> None:
        """Show ``path`` in the reader (the editor keeps its text; Ctrl+E returns to it)."""
        self.reader.open(path)
        # The keyboard stays where it was (the search: ↓ and Enter open the next result).
        self.views.show_view("reader", self._short(path), focus=False)

    def open_elsewhere(self, kb_path: str, path: str) -> None:
        """Show ``path`` of another knowledge base searched together, read-only."""
        kb = self.search.others.by_root(kb_path) if self.search.others else None
        if kb is None:
            self.show_message(
                f"{kb_path} is no longer searched together with this one.", Level.WARNING.value
            )
            return
        self.reader.open(path, kb=kb)
        self.views.show_view("reader", self._short(path), focus=False)

    @staticmethod
    def _short(path: str) -> str:
        """A tab's title until the document's own title is known."""
        return path.rsplit("/", 1)[-1].removesuffix(".md")

    def _on_document_shown(self, doc: object) -> None:
        from kbapp.documents.model import Document

        own = self.reader.elsewhere is None
        if isinstance(getattr(doc, "title", None), str):
            self.views.set_title("reader", doc.title)  # type: ignore[attr-defined]
        for action_id in ("doc.edit", "doc.history", "doc.pin", "doc.move_kb"):
            self.actions_by_id[action_id].setEnabled(own)
        if not own:
            self._update_title()
            return
        if isinstance(doc, Document):
            self.shelf.opened(doc.path)
            self.browse.refresh_shelf()
            self.lifecycle.document_opened(doc)
            self.cosourcing.document_opened(doc)
            self._update_title()

    def _update_title(self, *_args: object) -> None:
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

    # ------------------------------------------------------------------ File actions

    def new_document(self, title: str = "") -> NewDocumentDialog:
        dialog = NewDocumentDialog(self.workspace, title=title, parent=self)
        dialog.created.connect(self._on_document_created)
        self.new_document_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_document_created(self, doc: object) -> None:
        def go() -> None:
            self.editor.open_new(doc)  # type: ignore[arg-type]
            self.views.show_view("editor")
            self._update_title()
            self.editor.form.title_edit.setFocus()

        self.editor.maybe_leave(go)

    def edit_document(self, path: str = "", notes: str = "") -> None:
        """Ctrl+E: edit the document being read (or ``path``), with ``notes`` beside it."""
        target = path or (self.reader.path or "") or (self.editor.path or "")
        if not target:
            self.show_message("Open a document first (Ctrl+K to search).")
            return
        if self.editor.path == target and self.editor.doc is not None:
            if notes:
                self.editor.set_notes(notes)
            self._show_editor()
            return

        def go() -> None:
            self.editor.open_path(target, notes)
            self._show_editor()

        self.editor.maybe_leave(go)

    def _show_editor(self) -> None:
        self.views.show_view("editor")
        self._update_title()
        self.editor.text.setFocus()

    def save_document(self) -> bool:
        if self.current_page() != "editor" or self.editor.doc is None:
            self.show_message("Nothing is being edited.")
            return False
        return self.editor.save()

    def _on_saved(self, result: object) -> None:
        self._update_title()
        path = getattr(result, "path", "")
        if self.reader.path == path:
            self.reader.reload()
        self.sync.refresh_status()

    def open_knowledge_base(self, folder: str = "") -> None:
        """Open another knowledge base in this window (in place of this one): ``Ctrl+O`` lists
        the recent ones and offers to clone, open, create or the demo, as the start screen."""
        if folder:
            self.switch_knowledge_base(folder)
            return
        from kbapp.ui.start_screen import KbChooserDialog

        self.kb_chooser = KbChooserDialog(self)
        self.kb_chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.kb_chooser.open()

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

    # ------------------------------------------------------------------ Edit actions

    def undo(self) -> None:
        if self.current_page() == "editor":
            self.editor.undo()

    def redo(self) -> None:
        if self.current_page() == "editor":
            self.editor.redo()

    def find_in_page(self) -> None:
        if self.current_page() == "reader":
            self.reader.open_find()

    # ------------------------------------------------------------------ Go actions

    def focus_search(self) -> None:
        self.side.setCurrentWidget(self.search)
        self.search.focus_field()

    def focus_browse(self) -> None:
        self.side.setCurrentWidget(self.browse)
        self.browse.tree.setFocus()

    def go_back(self) -> None:
        if self.current_page() != "reader":
            if self.reader.page is not None:
                self.views.show_view("reader")
            return
        self.reader.go_back()

    def go_forward(self) -> None:
        if self.current_page() == "reader":
            self.reader.go_forward()

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
        if self.palette_dialog is None:
            self.palette_dialog = CommandPalette(
                self.actions_by_id,
                self,
                documents=self.workspace.catalog.titles,
                settings=lambda: setting_rows(self.workspace.settings),
                open_document=self.open_document,
                open_setting=self.settings_ui.open_setting,
            )
        self.palette_dialog.show()
        self.palette_dialog.raise_()
        self.palette_dialog.activateWindow()
        return self.palette_dialog

    def show_shortcuts(self) -> ShortcutSheet:
        if self.shortcut_sheet is None:
            self.shortcut_sheet = ShortcutSheet(action_list.all_actions(), self)
        self.shortcut_sheet.show()
        self.shortcut_sheet.raise_()
        self.shortcut_sheet.activateWindow()
        self.shortcut_sheet.table.setFocus()
        return self.shortcut_sheet

    # ------------------------------------------------------------------ Document actions

    def current_document(self) -> tuple[str, str] | None:
        """(path, title) of the document in front: edited, its history shown, or read."""
        if self.current_page() == "editor" and self.editor.path:
            path = self.editor.path
        elif self.current_page() == "history" and self.history.path:
            path = self.history.path
        elif self.reader.path:
            path = self.reader.path
        else:
            return None
        page = self.reader.page
        return path, page.doc.title if page and self.reader.path == path else path

    def toggle_pin(self) -> None:
        current = self.current_document()
        if current is None:
            return
        path = current[0]
        pinned = self.shelf.toggle_pin(path)
        self.browse.refresh_shelf()
        self.show_message(("Pinned " if pinned else "Unpinned ") + path)

    def show_history(self) -> None:
        current = self.current_document()
        if current is None:
            self.show_message("Open a document first to see its history.")
            return
        path, title = current
        self.history.show_document(path, title)
        self.views.show_view("history", f"History: {title}")

    def zoom_in(self) -> None:
        self.reader.zoom(1)

    def zoom_out(self) -> None:
        self.reader.zoom(-1)

    def zoom_reset(self) -> None:
        self.reader.zoom(0)

    # ------------------------------------------------------------------ Sync actions

    def sync_now(self) -> bool:
        return self.sync.sync_now()

    def show_conflicts(self) -> None:
        self.sync_flow.show_conflicts()

    def _on_document_moved(self, moved: KbMove) -> None:
        """A document went to another knowledge base: close it here, show it there."""
        if self.editor.path == moved.source_path:
            self.editor.doc = None
        if self.reader.path == moved.source_path:
            if self.search.others and self.search.others.by_root(moved.target_root):
                self.open_elsewhere(moved.target_root, moved.target_path)
            else:
                self.views.close_view("reader")
        self._update_title()
        self.show_message(" ".join(moved.sentences()))
        self.search.run_query()

    def _on_restored(self, path: str) -> None:
        if self.editor.path == path:
            self.editor.on_disk_changed()
        if self.reader.path == path:
            self.reader.reload()

    def _on_documents_changed(self, changes: CatalogChanges) -> None:
        if (
            self.editor.path
            and self.editor.path in changes.modified + changes.removed
            and self.editor.changed_underneath()
        ):
            self.editor.on_disk_changed()

    def _on_background_failed(self, error: Exception) -> None:
        self.show_message(str(error), Level.WARNING.value)

    # ------------------------------------------------------------------ drafts and closing

    def offer_drafts(self) -> None:
        """Typing left unsaved by a crash: say so and offer to open it."""
        drafts = self.drafts.all()
        if not drafts:
            return
        first = drafts[0]
        more = f" (and {len(drafts) - 1} more)" if len(drafts) > 1 else ""
        self.notice.show_message(
            f"Unsaved changes to “{first.title}” from {first.saved_at.replace('T', ' ')} were "
            f"kept{more}.",
            [("Open them", self.open_drafts)],
        )

    def open_drafts(self) -> None:
        drafts = self.drafts.all()
        if not drafts:
            return
        draft = drafts[0]

        def go() -> None:
            self.editor.open_draft(draft)
            self._show_editor()
            self.notice.hide()
            if len(drafts) > 1:
                self.offer_drafts()

        self.editor.maybe_leave(go)

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
