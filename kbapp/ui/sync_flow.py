"""What the window does around a sync: after one, the banner saying what the other
organisation changed (Open, Show changes) or that conflicts wait (Resolve…); the banner for
incoming changes (Sync now); the conflicts view after a sync and for unsaved text that a sync
changed underneath; and the documents shown reloaded when a sync changed them.

:class:`SyncFlow` joins the sync controller (:mod:`kbapp.ui.sync_view`) to the views; it
holds no state of its own and knows the window only through what it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from kbapp.interaction import Level
from kbapp.ui.conflicts_view import ConflictsView
from kbapp.ui.editor import EditorView
from kbapp.ui.history_view import HistoryView
from kbapp.ui.notice import Notice
from kbapp.ui.reader import ReaderView
from kbapp.ui.sync_view import SyncController, changes_summary
from kbapp.ui.view_area import ViewArea
from kbapp.workspace import Workspace


class SyncFlow(QObject):
    """The handlers of the sync controller's and the conflicts view's signals."""

    #: Something to tell the user (text, :class:`~kbapp.interaction.Level` value).
    message = Signal(str, str)

    def __init__(
        self,
        workspace: Workspace,
        sync: SyncController,
        notice: Notice,
        views: ViewArea,
        *,
        reader: ReaderView,
        editor: EditorView,
        history: HistoryView,
        conflicts: ConflictsView,
        open_document: Callable[[str], None],
        show_editor: Callable[[], None],
    ) -> None:
        super().__init__(sync)
        self.workspace = workspace
        self.sync = sync
        self.notice = notice
        self.views = views
        self.reader = reader
        self.editor = editor
        self.history = history
        self.conflicts = conflicts
        self.open_document = open_document
        self.show_editor = show_editor
        sync.synced.connect(self.on_synced)
        sync.others_changed.connect(self.on_others_changed)
        sync.incoming.connect(self.on_incoming)
        sync.conflicts_requested.connect(self.show_conflicts)
        conflicts.resolved.connect(self.on_conflict_resolved)
        editor.merge_requested.connect(self.on_merge_requested)

    def show_conflicts(self) -> None:
        """The conflicts waiting after a sync, in the conflicts view."""
        self.conflicts.load_conflicts()
        self.views.show_view("conflicts")

    def on_synced(self, report: object) -> None:
        changed = set(getattr(report, "changed_paths", []) or [])
        if self.editor.path and self.editor.path in changed:
            self.editor.on_disk_changed()
        if self.reader.path and self.reader.path in changed:
            self.reader.reload()
        if getattr(report, "conflicts", None):
            n = len(report.conflicts)  # type: ignore[attr-defined]
            noun = "document was" if n == 1 else "documents were"
            self.notice.show_message(
                f"{n} {noun} changed on both sides in the same place: choose what stays. "
                "Everything else is synced.",
                [("Resolve…", self.show_conflicts)],
            )

    def on_others_changed(self, report: object) -> None:
        """The banner after a sync that brought the other organisation's changes: what they
        changed, with Open and Show changes (a menu when several documents changed)."""
        changes = [
            c
            for c in getattr(report, "changed_by_others", [])
            if c.kind != "removed" and (self.workspace.root / c.path).is_file()
        ]
        text = changes_summary(report)
        if not changes:
            self.notice.show_message(text, [])
            return

        def opener(path: str) -> Callable[[], None]:
            return lambda: self.open_document(path)

        def shower(path: str) -> Callable[[], None]:
            return lambda: self.show_changes(path)

        if len(changes) == 1:
            path = changes[0].path
            self.notice.show_message(text, [("Open", opener(path)), ("Show changes", shower(path))])
            return
        self.notice.show_message(
            text,
            [
                ("Open", [(c.title, opener(c.path)) for c in changes]),
                ("Show changes", [(c.title, shower(c.path)) for c in changes]),
            ],
        )

    def on_incoming(self, count: int) -> None:
        def sync() -> None:
            self.notice.hide()
            self.sync.sync_now()

        self.notice.show_message(
            f"{count} incoming change{'s' if count != 1 else ''} from the other organisation.",
            [("Sync now", sync)],
        )

    def show_changes(self, path: str) -> None:
        """History of ``path`` with its newest version selected: what the last change did."""
        self.notice.hide()
        title = path
        entry = self.workspace.catalog.get(path)
        if entry is not None:
            title = entry.title
        self.history.show_document(path, title)
        self.views.show_view("history", f"History: {title}")

    def on_conflict_resolved(self, _path: str) -> None:
        self.sync.refresh_status()
        if not self.conflicts.cases:
            self.notice.hide()

    def on_merge_requested(self, path: str, mine: str, theirs: str, base: str) -> None:
        def merged(text: str) -> None:
            self.editor.apply_merged(text)
            self.show_editor()
            self.message.emit("Merged. Review the text, then save (Ctrl+S).", Level.INFO.value)

        self.conflicts.merge_for_editor(path, mine, theirs, base, merged)
        self.views.show_view("conflicts")
