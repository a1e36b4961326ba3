"""The editor: Markdown with syntax highlighting, a live preview beside it, the metadata form,
lint problems with the line they point at, undo/redo, and Ctrl+S to save and commit through
the core (:meth:`Workspace.save`: atomic write, commit policy, commit).

Typing is never lost: while there are unsaved changes, a draft is written every few seconds
outside the repository (:class:`kbapp.documents.drafts.DraftStore`) and offered back after a crash.
Closing or leaving with unsaved changes asks first. When the file changes underneath (a sync,
another program) the editor never overwrites it: unsaved text is kept and a merge is offered.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from kbapp.documents import model as documents
from kbapp.documents.drafts import Draft, DraftStore
from kbapp.documents.lint import LintContext, Problem, context_for
from kbapp.errors import KbError, NotCommitted, SaveError
from kbapp.interaction import Level
from kbapp.ui import style
from kbapp.ui.editor_widgets import (
    MarkdownText,
    Preview,
    disk_text,
    rename_heading,
    unsaved_changes_box,
)
from kbapp.ui.metadata_form import LIST_FIELDS, MetadataForm
from kbapp.ui.notice import Notice
from kbapp.ui.problem_list import ProblemList, lint_text
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace
from kbapp.workspace_save import SaveResult

AUTOSAVE_MS = 1500
PREVIEW_MS = 350
LINT_MS = 700


class EditorView(QWidget):
    #: A save went through (the :class:`SaveResult`).
    saved = Signal(object)
    #: (message, level) for the status bar.
    message = Signal(str, str)
    dirty_changed = Signal(bool)
    #: The file changed underneath unsaved text: (path, mine, theirs, base) to merge.
    merge_requested = Signal(str, str, str, str)

    def __init__(
        self, workspace: Workspace, tasks: Tasks, drafts: DraftStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tasks = tasks
        self.drafts = drafts
        #: The document as last loaded or saved (its ``source`` is what is on disk).
        self.doc: documents.Document | None = None
        self.base_text = ""
        self.leave_prompt: QMessageBox | None = None
        self._lint_context: LintContext | None = None
        self._dirty = False
        self._loading = False
        self._create_widgets()
        self._create_timers()
        self._create_layout()

    def _create_widgets(self) -> None:
        self.form = MetadataForm(self.workspace)
        self.form.changed.connect(self._on_changed)
        self.form.title_renamed.connect(self._rename_heading)
        self.text = MarkdownText(self.workspace.settings.editor_font_size)
        self.text.textChanged.connect(self._on_changed)
        self.highlighter = self.text.highlighter
        self.preview = Preview()
        self.lint_panel = ProblemList()
        self.lint_panel.line_requested.connect(self.go_to_line)
        self.lint_panel.field_requested.connect(lambda name: self.form.focus_field(name))
        self.problem_list = self.lint_panel.list
        self.notes = QPlainTextEdit()
        self.notes.setReadOnly(True)
        self.notes.setObjectName("editorNotes")
        self.notes.hide()
        self.notice = Notice()

    def _create_timers(self) -> None:
        self.autosave_timer = self._timer(AUTOSAVE_MS, self.autosave)
        self.preview_timer = self._timer(PREVIEW_MS, self.update_preview)
        self.lint_timer = self._timer(LINT_MS, self.update_lint)

    def _timer(self, ms: int, slot: Callable[[], object]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def _create_layout(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.text)
        self.splitter.addWidget(self.preview)
        self.splitter.addWidget(self.notes)
        self.splitter.setSizes([500, 400, 250])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.notice)
        layout.addWidget(self.form)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.lint_panel)

    # ------------------------------------------------------------------ opening

    @property
    def path(self) -> str | None:
        return self.doc.path if self.doc else None

    def open_path(self, path: str, notes: str = "") -> None:
        """Edit the saved document ``path`` (or its draft, if typing was left unsaved)."""
        doc = self.workspace.load(path)
        self._start(doc, disk_text(self.workspace, doc.path) or "")
        self.set_notes(notes)
        draft = self.drafts.load(doc.path)
        if draft is not None:
            self._restore(draft)

    def open_new(self, doc: documents.Document) -> None:
        """Edit a document made from a template, not saved yet."""
        self._start(doc, "")
        self.set_notes("")
        self._set_dirty(True)
        self.autosave()

    def open_draft(self, draft: Draft) -> None:
        """Bring back typing that was left unsaved (after a crash)."""
        base = disk_text(self.workspace, draft.path)
        if base is not None:
            doc = documents.parse(base.encode("utf-8"), draft.path)
        else:
            doc = documents.Document(draft.path, dict(draft.meta), draft.body)
        self._start(doc, base or "")
        self.set_notes("")
        self._restore(draft)

    def _start(self, doc: documents.Document, base_text: str) -> None:
        self.doc = doc
        self.base_text = base_text
        self.notice.hide()
        self._loading = True
        try:
            self.form.load(doc)
            self.text.setPlainText(doc.body)
            self.text.document().clearUndoRedoStacks()
        finally:
            self._loading = False
        self._set_dirty(False)
        self.text.moveCursor(QTextCursor.MoveOperation.Start)
        self._load_support()
        self.update_preview()

    def _restore(self, draft: Draft) -> None:
        self._loading = True
        try:
            restored = documents.Document(draft.path, dict(draft.meta), draft.body)
            self.form.load(restored)
            self.text.setPlainText(draft.body)
        finally:
            self._loading = False
        self._set_dirty(self.is_modified())
        self.update_preview()
        self.lint_timer.start()
        if draft.base_text != self.base_text:
            self.base_text = draft.base_text
            self._offer_merge("This document changed on disk after your unsaved typing was kept.")
        else:
            self.notice.show_message(
                f"Recovered unsaved changes from {draft.saved_at.replace('T', ' ')}.",
                [("Discard them", self.discard)],
            )

    def set_notes(self, notes: str) -> None:
        """Notes shown beside the text (the incident notes when a runbook needs a fix)."""
        self.notes.setPlainText(notes)
        self.notes.setVisible(bool(notes))

    def _load_support(self) -> None:
        """Completion values and the lint context come from the whole catalog: off-thread."""

        def work() -> tuple[dict[str, list[str]], LintContext]:
            catalog = self.workspace.catalog
            values = {name: catalog.distinct_values(name) for name in LIST_FIELDS}
            return values, context_for(self.workspace)

        def done(result: tuple[dict[str, list[str]], LintContext]) -> None:
            self.form.set_completions(result[0])
            self._lint_context = result[1]
            self.update_lint()

        self.tasks.run(work, done, owner=self, key="editor-support")

    # ------------------------------------------------------------------ state

    def body_text(self) -> str:
        return self.text.raw_text()

    def current_document(self) -> documents.Document:
        """What the editor holds, as a document ready to save."""
        if self.doc is None:
            raise KbError("nothing is being edited")
        base = self.doc
        doc = documents.Document(
            base.path,
            copy.deepcopy(base.meta),
            self.body_text(),
            base.source,
            base.front_matter_error,
            dict(base.field_lines),
        )
        self.form.apply(doc)
        return doc

    def current_text(self) -> str:
        return documents.serialise(self.current_document()).decode("utf-8")

    def is_modified(self) -> bool:
        return self.doc is not None and self.current_document().is_modified

    @property
    def dirty(self) -> bool:
        return self._dirty

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    def _on_changed(self) -> None:
        if self._loading or self.doc is None:
            return
        self._set_dirty(self.is_modified())
        self.autosave_timer.start()
        self.preview_timer.start()
        self.lint_timer.start()

    def undo(self) -> None:
        self.text.undo()

    def redo(self) -> None:
        self.text.redo()

    # ------------------------------------------------------------------ drafts

    def autosave(self) -> None:
        """Keep the unsaved text outside the repository (a crash or a sync costs nothing)."""
        if self.doc is None or not self._dirty:
            return
        doc = self.current_document()
        self.drafts.save(
            Draft(
                doc.path,
                doc.meta,
                doc.body,
                base_hash=documents.content_hash(self.base_text.encode("utf-8"))
                if self.base_text
                else "",
                base_text=self.base_text,
            )
        )

    def discard(self) -> None:
        """Forget unsaved changes: back to what is on disk."""
        if self.doc is None:
            return
        self.drafts.discard(self.doc.path)
        self.autosave_timer.stop()
        text = disk_text(self.workspace, self.doc.path)
        if text is None:  # a new document never saved: nothing to go back to
            self.doc = None
            self._loading = True
            self.text.clear()
            self._loading = False
            self._set_dirty(False)
            return
        self._start(documents.parse(text.encode("utf-8"), self.doc.path), text)

    # ------------------------------------------------------------------ saving

    def changed_underneath(self) -> bool:
        """True when the file on disk is no longer what the editing started from."""
        if self.doc is None:
            return False
        return (disk_text(self.workspace, self.doc.path) or "") != self.base_text

    def save(self) -> bool:
        """Ctrl+S: save atomically and commit; False (and a message) when it did not happen."""
        if self.doc is None:
            return False
        if self.changed_underneath():
            self._offer_merge(
                "This document changed on disk since you started editing; "
                "merge before saving so that neither version is lost."
            )
            self.message.emit(
                "Not saved: the document changed underneath. Merge first.", Level.WARNING.value
            )
            return False
        doc = self.current_document()
        if not doc.is_modified:
            return self._commit_pending(doc)
        try:
            result: SaveResult = self.workspace.save(doc)
        except NotCommitted as exc:
            # The file holds what was typed: it is saved, and the new base to compare with
            # (never "changed on disk" by someone else); its commit waits for the next save.
            self._saved(doc, exc.result)
            self.message.emit(str(exc), Level.WARNING.value)
            return True
        except SaveError as exc:
            if exc.reason == "changed-on-disk":  # saved by someone else while this waited
                self._offer_merge(str(exc))
            self.message.emit(f"Not saved: {exc}", Level.ERROR.value)
            return False
        except KbError as exc:
            self.message.emit(f"Not saved: {exc}", Level.ERROR.value)
            return False
        self._saved(doc, result)
        short = (result.commit or "")[:8]
        self.message.emit(
            f"Saved {doc.path}" + (f" (commit {short})" if short else ""), Level.INFO.value
        )
        return True

    def _saved(self, doc: documents.Document, result: object) -> None:
        self.autosave_timer.stop()
        self.drafts.discard(doc.path)
        self.doc = doc  # write() gave it its new source
        self.base_text = disk_text(self.workspace, doc.path) or ""
        self._set_dirty(False)
        self.notice.hide()
        self.saved.emit(result)
        self.update_lint()

    def _commit_pending(self, doc: documents.Document) -> bool:
        """Ctrl+S with nothing typed since the last save: commit what is saved but not
        committed yet (an earlier commit failed); "Nothing to save" only when there is none."""
        try:
            result = self.workspace.commit_pending(doc.path)
        except KbError as exc:
            self.message.emit(f"Saved to disk; still not committed: {exc}", Level.WARNING.value)
            return False
        if result is None:
            self.message.emit("Nothing to save.", Level.INFO.value)
            return True
        self.message.emit(
            f"Committed {doc.path} (commit {(result.commit or '')[:8]})", Level.INFO.value
        )
        self.saved.emit(result)
        return True

    def maybe_leave(self, then: Callable[[], object]) -> None:
        """Run ``then`` once unsaved changes are saved or discarded, or at once when there
        are none; asks without blocking (the answer arrives through the message box)."""
        if self.doc is None or not self._dirty:
            then()
            return
        box = unsaved_changes_box(self, self.current_document().title)
        box.buttonClicked.connect(lambda button: self._on_leave_answered(box, button, then))
        self.leave_prompt = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_leave_answered(self, box: QMessageBox, button: Any, then: Callable[[], object]) -> None:
        self.leave_prompt = None
        answer = box.standardButton(button)
        if answer == QMessageBox.StandardButton.Save:
            if self.save():
                then()
        elif answer == QMessageBox.StandardButton.Discard:
            self.discard()
            then()

    # ------------------------------------------------------------------ changed underneath

    def on_disk_changed(self) -> None:
        """The file was changed by someone else (sync, another program)."""
        if self.doc is None or not self.changed_underneath():
            return
        theirs = disk_text(self.workspace, self.doc.path)
        if theirs is None:
            self._set_dirty(True)
            self.autosave()
            self.notice.show_message(
                "This document was deleted on disk; your text is kept "
                "here and saving brings it back.",
                [],
            )
            self.base_text = ""
            return
        if not self._dirty:
            self._start(documents.parse(theirs.encode("utf-8"), self.doc.path), theirs)
            self.message.emit(
                f"{self.doc.path} was updated by a sync; showing the new version.", Level.INFO.value
            )
            return
        self.autosave()
        self._offer_merge(
            "This document was changed by a sync while you were editing. Your "
            "text is kept; nothing was overwritten."
        )

    def _offer_merge(self, text: str) -> None:
        self.notice.show_message(text, [("Merge…", self.request_merge)])

    def request_merge(self) -> None:
        if self.doc is None:
            return
        theirs = disk_text(self.workspace, self.doc.path) or ""
        self.merge_requested.emit(self.doc.path, self.current_text(), theirs, self.base_text)

    def apply_merged(self, text: str) -> None:
        """Take a merged text (from the resolution view) as what is being edited; the version
        on disk becomes the base, so that saving commits the merge."""
        if self.doc is None:
            return
        theirs = disk_text(self.workspace, self.doc.path)
        base = (
            documents.parse(theirs.encode("utf-8"), self.doc.path)
            if theirs is not None
            else documents.Document(self.doc.path)
        )
        merged = documents.parse(text.encode("utf-8"), self.doc.path)
        self._start(base, theirs or "")
        self._loading = True
        try:
            self.form.load(merged)
            self.text.setPlainText(merged.body)
        finally:
            self._loading = False
        self._on_changed()
        self.autosave()

    # ------------------------------------------------------------------ preview and lint

    def _rename_heading(self, before: str, title: str) -> None:
        """The title typed in the form also goes into the body's first heading when that
        heading said the old title (:func:`rename_heading`)."""
        rename_heading(self.text, before, title)

    def update_preview(self) -> None:
        if self.doc is None:
            return
        doc = self.current_document()
        css = style.reader_css(self.palette())
        self.tasks.run(
            lambda: self.workspace.render(doc),
            lambda rendered: self.preview.show_html(rendered.html, css),
            owner=self,
            key="preview",
        )

    def update_lint(self) -> None:
        ctx = self._lint_context
        if self.doc is None or ctx is None:
            return
        doc = self.current_document()
        self.tasks.run(
            lambda: lint_text(doc, ctx), self.lint_panel.show_problems, owner=self, key="lint"
        )

    @property
    def problems(self) -> list[Problem]:
        """What lint found in the text as it would be saved (:mod:`kbapp.ui.problem_list`)."""
        return self.lint_panel.problems

    def go_to_line(self, line: int) -> None:
        self.text.go_to_line(line)
