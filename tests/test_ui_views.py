"""The window's views driven as a user does, each on a real knowledge base: the background
runner, search as you type, the reader's links, the editor (save, lint, drafts, the
unsaved-changes prompt), the browse panel and the new-document dialog."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from helpers import git, write_doc
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from kbapp.demo import ensure_demo
from kbapp.documents.drafts import DraftStore
from kbapp.documents.importer import import_folder
from kbapp.settings import Settings
from kbapp.ui.browse import BrowseView, Shelf
from kbapp.ui.editor import EditorView
from kbapp.ui.new_document import NewDocumentDialog
from kbapp.ui.reader import ReaderView
from kbapp.ui.search_view import SearchView
from kbapp.ui.tasks import Tasks
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui

FAILOVER = """---
id: kb-0b000001
title: Fail over the payments database
type: sop
status: published
owner_org: partner
systems:
  - payments-db
tags:
  - failover
---
# Fail over the payments database

## Purpose

Move the primary role to db02 when db01 is lost.

## Steps

1. Check replication lag with `SELECT now() - pg_last_xact_replay_timestamp();`
2. Promote db02:

```bash
pg_ctl promote -D /var/lib/postgresql/data
```

See [[kb-0b000002]] and [the VPN guide](vpn.md#reset) and
[the vendor page](https://vendor.example/docs) and [a file](file:///etc/passwd).
"""

VPN = """---
id: kb-0b000002
title: Reset a VPN token
type: sop
status: draft
owner_org: internal
systems:
  - vpn
---
# Reset a VPN token

## Reset

Open the admin console.
"""


@pytest.fixture
def tasks(qtbot) -> Tasks:  # type: ignore[no-untyped-def]
    runner = Tasks()
    yield runner
    runner.wait()


@pytest.fixture
def docs_kb(kb: Workspace) -> Workspace:
    write_doc(kb, "sops/failover.md", FAILOVER)
    write_doc(kb, "sops/vpn.md", VPN)
    kb.git.commit(["sops/failover.md", "sops/vpn.md"], "Add documents")
    kb.refresh()
    return kb


def test_stale_answers_are_dropped(qtbot, tasks: Tasks) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    shown: list[str] = []
    tasks.run(lambda: (release.wait(5), "old")[1], shown.append, key="search")
    tasks.run(lambda: "new", shown.append, key="search")
    qtbot.waitUntil(lambda: shown == ["new"])
    release.set()
    assert tasks.wait()
    assert shown == ["new"]  # the older answer arrived last and was dropped
    errors: list[Exception] = []
    tasks.run(lambda: 1 / 0, shown.append, errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ZeroDivisionError)


def test_search_as_you_type_opens_the_document(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    view = SearchView(docs_kb, tasks)
    qtbot.addWidget(view)
    view.show()
    view.start()
    qtbot.waitUntil(lambda: view.index is not None, timeout=10000)
    opened: list[str] = []
    view.open_requested.connect(opened.append)
    view.focus_field()
    qtbot.keyClicks(view.field, "failover")
    # The first answer may come before the first index build is done; it is asked again.
    qtbot.waitUntil(lambda: view.model.rowCount() >= 1, timeout=10000)
    assert view.selected_hit().path == "sops/failover.md"
    assert "1 result" in view.status.text()
    qtbot.keyClick(view.field, Qt.Key.Key_Return)
    assert opened == ["sops/failover.md"]

    # Facet filters narrow the answer; a filter nothing matches gives the empty state.
    with qtbot.waitSignal(view.results_shown, timeout=10000):
        view.set_filter("owner_org", "internal")
    assert view.query_text() == "failover owner_org:internal"
    assert view.model.rowCount() == 0 and view.empty.isVisible()
    assert "Create a document titled “failover”" in view.empty.create_button.text()
    titles: list[str] = []
    view.create_requested.connect(titles.append)
    view.empty.create_button.click()
    assert titles == ["failover"]

    # Esc clears the field and the results.
    qtbot.keyClick(view.field, Qt.Key.Key_Escape)
    assert view.field.text() == ""
    qtbot.waitUntil(lambda: view.model.rowCount() == 0)


def test_search_says_when_no_document_has_every_word(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    view = SearchView(docs_kb, tasks)
    qtbot.addWidget(view)
    view.show()
    view.start()
    qtbot.waitUntil(lambda: view.index is not None and not tasks.busy, timeout=10000)
    view.focus_field()
    qtbot.keyClicks(view.field, "failover xyzzy ")
    qtbot.waitUntil(lambda: view.notice.isVisible(), timeout=10000)
    assert view.notice.text() == (
        "No document has all of: failover xyzzy; showing those with one of them (xyzzy is in none)."
    )
    assert view.selected_hit().path == "sops/failover.md"
    # a query whose words are together in a document: no notice
    view.field.setText("failover payments ")
    qtbot.waitUntil(lambda: not view.notice.isVisible(), timeout=10000)
    assert view.model.rowCount() >= 1
    # nothing found at all: the empty state says it, not the notice
    view.field.setText("xyzzy plugh ")
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=10000)
    assert not view.notice.isVisible()


def test_one_search_at_a_time_and_the_last_text_wins(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    """Keys typed while a search runs do not start searches beside it (they would only fight
    over the GIL); the text as it is when the search ends is searched next, and an answer to
    a text that has changed since is never shown."""
    view = SearchView(docs_kb, tasks)
    qtbot.addWidget(view)
    view.show()
    view.start()
    qtbot.waitUntil(lambda: view.index is not None and not tasks.busy, timeout=10000)
    real = view.index
    gate = threading.Event()
    running: list[str] = []
    asked: list[str] = []
    overlaps: list[int] = []

    class Watched:  # the real index, watched: how many searches run at once
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def search(self, query: str, *args: object, **kwargs: object) -> object:
            running.append(query)
            asked.append(query)
            overlaps.append(len(running))
            gate.wait(5)
            try:
                return real.search(query, *args, **kwargs)
            finally:
                running.remove(query)

    view.index = Watched()  # type: ignore[assignment]
    shown: list[str] = []
    view.results_shown.connect(lambda _r: shown.append(view.field.text()))
    qtbot.keyClicks(view.field, "vp")
    qtbot.waitUntil(lambda: asked == ["vp"], timeout=5000)
    qtbot.keyClicks(view.field, "n re")  # typed while "vp" is held
    qtbot.wait(300)  # several debounce intervals: nothing more may start
    assert asked == ["vp"]
    gate.set()
    qtbot.waitUntil(lambda: shown == ["vpn re"], timeout=10000)
    assert asked == ["vp", "vpn re"] and max(overlaps) == 1  # "vp"'s answer was dropped
    assert view.selected_hit().path == "sops/vpn.md"


def test_reader_links_copy_history_and_refusals(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    write_doc(docs_kb, "sops/vpn.md", VPN)
    reader = ReaderView(docs_kb, tasks)
    qtbot.addWidget(reader)
    reader.show()
    messages: list[tuple[str, str]] = []
    reader.message.connect(lambda text, level: messages.append((text, level)))
    with qtbot.waitSignal(reader.document_shown):
        reader.open("sops/failover.md")
    text = reader.browser.toPlainText()
    assert "Fail over the payments database" in text and "payments-db" in text
    assert "never" in text  # never reviewed, said in the metadata block
    assert [reader.toc.item(i).text().strip() for i in range(reader.toc.count())] == [
        "Purpose",
        "Steps",
    ]

    reader.follow_link("copy:0")
    assert QGuiApplication.clipboard().text() == "pg_ctl promote -D /var/lib/postgresql/data"

    reader.follow_link("file:///etc/passwd")
    assert "are not opened" in messages[-1][0] and reader.path == "sops/failover.md"

    reader.follow_link("https://vendor.example/docs")
    box = reader.external_prompt
    assert box is not None and box.isVisible()
    assert box.informativeText() == "https://vendor.example/docs"
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert reader.external_prompt is None

    with qtbot.waitSignal(reader.document_shown):
        reader.follow_link("kb:kb-0b000002")
    assert reader.path == "sops/vpn.md"
    with qtbot.waitSignal(reader.document_shown):
        assert reader.go_back()
    assert reader.path == "sops/failover.md"
    with qtbot.waitSignal(reader.document_shown):
        assert reader.go_forward()
    assert reader.path == "sops/vpn.md"
    with qtbot.waitSignal(reader.document_shown):
        reader.go_back()
    with qtbot.waitSignal(reader.document_shown):
        reader.follow_link("vpn.md#reset")
    assert reader.path == "sops/vpn.md"

    reader.open_find()
    qtbot.keyClicks(reader.find_bar.edit, "admin console")
    assert reader.browser.textCursor().selectedText() == "admin console"
    qtbot.keyClicks(reader.find_bar.edit, " nowhere")
    assert reader.find_bar.status.text() == "Not found"
    size = reader.browser.font().pointSizeF()
    reader.zoom(2)
    assert reader.browser.font().pointSizeF() > size
    reader.zoom(0)
    assert reader.browser.font().pointSizeF() == size


def _editor(workspace: Workspace, tasks: Tasks, qtbot) -> EditorView:  # type: ignore[no-untyped-def]
    editor = EditorView(workspace, tasks, DraftStore(workspace.root))
    qtbot.addWidget(editor)
    editor.show()
    return editor


def test_editor_saves_and_commits_with_lint_and_undo(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    editor = _editor(docs_kb, tasks, qtbot)
    editor.open_path("sops/vpn.md")
    assert not editor.dirty
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClick(editor.text, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.text, "Then press Reset.")
    assert editor.dirty
    editor.undo()
    editor.redo()
    qtbot.keyClicks(editor.form.list_edits["tags"], "vpn, tokens")
    qtbot.waitUntil(lambda: "press Reset" in editor.preview.toPlainText(), timeout=5000)
    qtbot.keyClick(editor.text, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # no-op here
    assert editor.save()
    assert not editor.dirty
    saved = (docs_kb.root / "sops/vpn.md").read_text()
    assert "Then press Reset." in saved and "  - tokens" in saved
    assert "id: kb-0b000002" in saved  # untouched fields stay as they were
    assert git(docs_kb.root, "log", "-1", "--format=%s") == "Update: Reset a VPN token"
    assert git(docs_kb.root, "status", "--porcelain") == ""
    assert DraftStore(docs_kb.root).load("sops/vpn.md") is None

    # Lint problems point at their line; a click takes the cursor there.
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClick(editor.text, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.text, "See [[No such runbook]].")
    qtbot.waitUntil(lambda: any(p.code == "broken-link" for p in editor.problems), timeout=5000)
    row = next(
        i
        for i in range(editor.problem_list.count())
        if "No such runbook" in editor.problem_list.item(i).text()
    )
    item = editor.problem_list.item(row)
    assert item.text().startswith("line ")
    editor.problem_list.itemClicked.emit(item)
    assert "No such runbook" in editor.text.textCursor().block().text()

    # A policy refusal keeps the text and says why.
    messages: list[str] = []
    editor.message.connect(lambda text, _level: messages.append(text))
    editor.form.sensitivity_combo.setCurrentText("internal")
    assert not editor.save()
    assert messages[-1].startswith("Not saved:") and editor.dirty


def test_unsaved_changes_prompt(qtbot, docs_kb: Workspace, tasks: Tasks) -> None:  # type: ignore[no-untyped-def]
    editor = _editor(docs_kb, tasks, qtbot)
    editor.open_path("sops/vpn.md")
    left: list[str] = []
    editor.maybe_leave(lambda: left.append("clean"))
    assert left == ["clean"] and editor.leave_prompt is None  # nothing to ask

    qtbot.keyClicks(editor.text, "Draft line. ")
    editor.maybe_leave(lambda: left.append("after cancel"))
    box = editor.leave_prompt
    assert box is not None and box.isVisible() and "Reset a VPN token" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert left == ["clean"] and editor.dirty  # still editing, nothing lost

    editor.maybe_leave(lambda: left.append("saved"))
    editor.leave_prompt.button(QMessageBox.StandardButton.Save).click()
    assert left[-1] == "saved" and not editor.dirty
    assert "Draft line." in (docs_kb.root / "sops/vpn.md").read_text()

    qtbot.keyClicks(editor.text, "Throw away. ")
    editor.maybe_leave(lambda: left.append("discarded"))
    editor.leave_prompt.button(QMessageBox.StandardButton.Discard).click()
    assert left[-1] == "discarded"
    assert "Throw away." not in (docs_kb.root / "sops/vpn.md").read_text()
    assert DraftStore(docs_kb.root).load("sops/vpn.md") is None


def test_drafts_come_back_and_disk_changes_are_never_overwritten(  # type: ignore[no-untyped-def]
    qtbot, docs_kb: Workspace, tasks: Tasks
) -> None:
    editor = _editor(docs_kb, tasks, qtbot)
    editor.open_path("sops/vpn.md")
    qtbot.keyClicks(editor.text, "Typed before the crash. ")
    qtbot.waitUntil(
        lambda: DraftStore(docs_kb.root).load("sops/vpn.md") is not None, timeout=5000
    )  # autosaved after a pause in typing
    draft = DraftStore(docs_kb.root).load("sops/vpn.md")
    assert "Typed before the crash." in draft.body
    assert not str(DraftStore(docs_kb.root).folder).startswith(str(docs_kb.root))

    # A new editor (after a restart) finds the typing again.
    second = _editor(docs_kb, tasks, qtbot)
    second.open_path("sops/vpn.md")
    assert "Typed before the crash." in second.body_text() and second.dirty
    assert "Recovered unsaved changes" in second.notice.label.text()

    # Someone else changes the file: saving refuses, the merge is offered.
    other = (
        (docs_kb.root / "sops/vpn.md")
        .read_text()
        .replace("Open the admin console.", "Open the new admin portal.")
    )
    write_doc(docs_kb, "sops/vpn.md", other)
    merges: list[tuple[str, str, str, str]] = []
    second.merge_requested.connect(lambda *args: merges.append(args))
    second.on_disk_changed()
    assert second.notice.isVisible() and "never" not in second.notice.label.text()
    assert "Typed before the crash." in second.body_text()
    assert not second.save()
    assert (docs_kb.root / "sops/vpn.md").read_text() == other  # untouched
    second.request_merge()
    _path, mine, theirs, base = merges[-1]
    assert "Typed before the crash." in mine and theirs == other and "admin console" in base


def test_new_document_dialog_opens_an_unsaved_draft(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    dialog = NewDocumentDialog(docs_kb, title="")
    qtbot.addWidget(dialog)
    assert dialog.template_combo.currentData() == "sop"  # an everyday kind, not "Known error"
    created: list[object] = []
    dialog.created.connect(created.append)
    dialog.accept()
    assert "title" in dialog.error_label.text() and not created
    dialog.template_combo.setCurrentIndex(dialog.template_combo.findData("runbook"))
    qtbot.keyClicks(dialog.title_edit, "Disk full on db01")
    qtbot.keyClicks(dialog.systems_edit, "db01")
    dialog.accept()
    doc = created[0]
    assert doc.title == "Disk full on db01" and doc.systems == ["db01"] and doc.type == "runbook"
    assert not (docs_kb.root / doc.path).exists()
    again = NewDocumentDialog(docs_kb, title="")  # the next one starts from the last used
    qtbot.addWidget(again)
    assert again.template_combo.currentData() == "runbook"
    assert Settings.load(docs_kb.settings.path).last_template == "runbook"  # kept on disk

    editor = _editor(docs_kb, tasks, qtbot)
    editor.open_new(doc)
    assert editor.dirty and DraftStore(docs_kb.root).load(doc.path) is not None
    assert editor.save()
    assert git(docs_kb.root, "log", "-1", "--format=%s") == "Create: Disk full on db01"


def test_browse_tree_groups_and_pins(qtbot, docs_kb: Workspace, tasks: Tasks) -> None:  # type: ignore[no-untyped-def]
    shelf = Shelf(docs_kb.data_dir)
    view = BrowseView(docs_kb, tasks, shelf)
    qtbot.addWidget(view)
    view.show()
    view.reload()
    qtbot.waitUntil(lambda: bool(view.outline.titles), timeout=5000)
    view.groups["Folders"].setExpanded(True)
    sops = view.groups["Folders"].child(0)
    assert sops.text(0) == "sops/ (2)"
    sops.setExpanded(True)
    assert [sops.child(i).text(0) for i in range(sops.childCount())] == [
        "Fail over the payments database",
        "Reset a VPN token",
    ]
    view.groups["By system"].setExpanded(True)
    systems = [
        view.groups["By system"].child(i).text(0)
        for i in range(view.groups["By system"].childCount())
    ]
    assert systems == ["payments-db (1)", "vpn (1)"]
    opened: list[str] = []
    view.open_requested.connect(opened.append)
    view.tree.itemActivated.emit(sops.child(1), 0)
    assert opened == ["sops/vpn.md"]

    assert shelf.toggle_pin("sops/vpn.md")
    view.refresh_shelf()
    assert view.find_item("sops/vpn.md", "Pinned") is not None
    assert Shelf(docs_kb.data_dir).pinned == ["sops/vpn.md"]  # kept for the next start


def test_search_while_the_index_is_built_says_still_indexing(  # type: ignore[no-untyped-def]
    qtbot, docs_kb: Workspace, tasks: Tasks
) -> None:
    from kbapp.search import SearchIndex

    index = SearchIndex.for_workspace(docs_kb)
    index.catch_up()
    reached, release = threading.Event(), threading.Event()

    def progress(done: int, total: int) -> None:
        if done == total:  # the last report, before the new index replaces the old one
            reached.set()
            release.wait(30)

    builder = threading.Thread(target=index.rebuild, args=(progress,))
    builder.start()
    try:
        assert reached.wait(30)
        view = SearchView(docs_kb, tasks)
        qtbot.addWidget(view)
        view.show()
        view.start()
        qtbot.waitUntil(lambda: view.index is not None, timeout=10000)
        qtbot.keyClicks(view.field, "failover")
        qtbot.waitUntil(lambda: "still indexing (" in view.status.text(), timeout=10000)
        assert "results so far" in view.status.text()
        assert view.model.rowCount() >= 1  # the old index answers meanwhile
        view.field.clear()
        qtbot.keyClicks(view.field, "zzqqxxvv")
        qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=10000)
        assert "yet: the search index is still indexing (" in view.empty.label.text()
    finally:
        release.set()
        builder.join(30)


def test_reader_browser_loads_only_images_inside_the_knowledge_base(  # type: ignore[no-untyped-def]
    qtbot, kb: Workspace, tmp_path: Path
) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    from kbapp.ui.reader_page import PageBrowser

    (kb.root / "runbooks/img").mkdir(parents=True)
    (kb.root / "runbooks/img/net.png").write_bytes(b"\x89PNG inside")
    (kb.root / "top.png").write_bytes(b"\x89PNG top")
    (tmp_path / "outside.png").write_bytes(b"\x89PNG outside")
    browser = PageBrowser(kb.root)
    qtbot.addWidget(browser)
    browser.current_folder = kb.root / "runbooks"
    image = int(QTextDocument.ResourceType.ImageResource.value)
    assert browser.loadResource(image, QUrl("img/net.png")) == b"\x89PNG inside"
    assert browser.loadResource(image, QUrl("../top.png")) == b"\x89PNG top"
    for source in (
        "../../outside.png",
        "%5C%5Cevil.example%5Cshare%5Ct.png",
        "%2F%2Fevil.example/share/t.png",
        str(tmp_path / "outside.png"),
        "img/net.png:stream",
    ):
        assert browser.loadResource(image, QUrl(source)) is None, source


def test_editor_highlights_fenced_code_by_mdlines_rule(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QTextCharFormat, QTextDocument

    from kbapp.ui.markdown_highlighter import MarkdownHighlighter

    document = QTextDocument()
    highlighter = MarkdownHighlighter(document)
    document.setPlainText(
        "# Title\n10. Restart:\n\n    ````bash\n    # not a heading\n    ```\n    ````\n"
        "## After\n~~~\n## in code\n"
    )
    highlighter.rehighlight()  # Qt highlights a new document's text later, from the event loop

    def look(fmt: QTextCharFormat) -> tuple[str, str, bool, bool]:
        return (
            fmt.foreground().color().name(),
            fmt.background().color().name() if fmt.background().style() else "",
            fmt.fontWeight() > 400,
            fmt.fontItalic(),
        )

    def formats(number: int) -> set[str]:
        block = document.findBlockByNumber(number)
        return {
            name
            for r in block.layout().formats()
            for name, fmt in highlighter.formats.items()
            if look(r.format) == look(fmt)
        }

    assert formats(0) == {"heading"}
    assert formats(4) == {"fence"}  # a comment in the commands, not a heading
    assert formats(5) == {"fence"}  # a shorter fence does not close it
    assert formats(6) == {"fence"}
    assert formats(7) == {"heading"}
    assert formats(9) == {"fence"}  # an unclosed fence runs to the end


def test_a_checklist_in_the_reader_has_boxes_not_bullets(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QTextDocument, QTextListFormat
    from PySide6.QtWidgets import QTextBrowser

    from kbapp.documents.render import render_markdown
    from kbapp.ui import style

    browser = QTextBrowser()
    qtbot.addWidget(browser)
    document: QTextDocument = browser.document()
    document.setDefaultStyleSheet(style.reader_css(browser.palette()))
    document.setHtml(render_markdown("- [ ] one\n- [x] two\n\ntext\n\n- plain\n").html)
    styles = {}
    block = document.begin()
    while block.isValid():
        if block.textList() is not None:
            styles[block.text().strip()] = block.textList().format().style()
        block = block.next()
    assert styles["☐ one"] == QTextListFormat.Style.ListStyleUndefined  # no "• ☐"
    assert styles["plain"] == QTextListFormat.Style.ListDisc


def test_reader_wraps_long_code_lines_inside_their_block(
    qtbot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    """The demo's db01-disk-full runbook has a 159-character command: it wraps inside its code
    block; the reader itself never scrolls sideways (found on the demo at 1366x768)."""
    with Workspace.open(ensure_demo(tmp_path), Settings()) as demo:
        reader = ReaderView(demo, tasks)
        qtbot.addWidget(reader)
        reader.resize(700, 600)
        reader.show()
        with qtbot.waitSignal(reader.document_shown):
            reader.open("runbooks/db01-disk-full.md")
        qtbot.wait(50)  # the layout of the page
        assert reader.browser.horizontalScrollBar().maximum() == 0
        assert "pg_replication_slots" in reader.browser.toPlainText()


def test_reader_says_the_title_once(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
    corpora: Path,
) -> None:
    """The body's first heading is the page's title: said once when it repeats the front
    matter's title near enough (quotes, case), and when it says something else the title that
    lists and search show is one "Listed as" row, never a second heading (SupportArticles
    imported with kbapp import)."""
    src = corpora / "gautamanand-dot__SupportArticles-docs/support/sql"
    import_folder(docs_kb, src / "integration-services", "support", build_index=False)
    import_folder(docs_kb, src / "tools", "support", build_index=False)
    write_doc(
        docs_kb, "notes/plain.md", "---\ntitle: No heading here\ntype: sop\n---\nJust text.\n"
    )
    reader = ReaderView(docs_kb, tasks)
    qtbot.addWidget(reader)
    reader.show()

    def shown(path: str) -> tuple[str, list[str]]:
        with qtbot.waitSignal(reader.document_shown):
            reader.open(path)
        html = reader.browser.toHtml()
        return reader.browser.toPlainText(), re.findall(r"<h1\b", html)

    text, h1s = shown("sops/failover.md")  # "# Title" under "title: Title"
    assert text.count("Fail over the payments database") == 1 and len(h1s) == 1
    # '# "Invalid password" error ...' under 'title: Invalid password error ...'
    text, h1s = shown("support/invalid-password-type-password-slowssms-sql-authentication.md")
    assert text.count("slow response to typed password in SSMS") == 1 and len(h1s) == 1
    assert "Listed as" not in text
    text, h1s = shown("support/ssis-package-fails-use-dqs-cleansing-component.md")
    assert len(h1s) == 1
    assert (
        text.index("Error message when you deploy an SSIS package")
        < text.index("Listed as")
        < text.index("SSIS package fails to use DQS Cleansing Component")
    )
    text, h1s = shown("notes/plain.md")  # no heading: the title is the heading
    assert text.count("No heading here") == 1 and len(h1s) == 1
    on_disk = docs_kb.root / "support/invalid-password-type-password-slowssms-sql-authentication.md"
    assert '# "Invalid password"' in on_disk.read_text(encoding="utf-8")


@pytest.mark.parametrize("highlight", [False, True])
def test_new_document_one_return_creates_with_the_completion_list_open(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    highlight: bool,
) -> None:
    """Typing a system opens the completion list; one Return creates the document (with the
    completion the user highlighted), not a first Return that only closes the list."""
    dialog = NewDocumentDialog(docs_kb, title="")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    created: list[object] = []
    dialog.created.connect(created.append)
    qtbot.keyClicks(dialog.title_edit, "Disk full on db01")
    dialog.activateWindow()
    dialog.systems_edit.setFocus()
    qtbot.waitUntil(dialog.systems_edit.hasFocus, timeout=3000)  # the completer's hook-up
    qtbot.keyClicks(dialog.systems_edit, "db01, pay")
    popup = dialog.systems_edit.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    if highlight:
        qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(created), timeout=3000)
    expected = ["db01", "payments-db"] if highlight else ["db01", "pay"]
    assert created[0].systems == expected and not dialog.isVisible()


def test_editor_renaming_the_title_renames_the_heading_that_repeats_it(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    """A new document is written with its title as "# Title": typing another title in the
    form changed only the front matter, and the reader then showed one title while lists and
    search showed another. A heading that says something else is left alone."""
    editor = _editor(docs_kb, tasks, qtbot)
    editor.open_path("sops/vpn.md")
    editor.form.title_edit.selectAll()
    qtbot.keyClicks(editor.form.title_edit, "Reset a VPN hardware token")
    assert editor.text.toPlainText().startswith("# Reset a VPN hardware token\n")
    assert editor.save()
    saved = (docs_kb.root / "sops/vpn.md").read_text(encoding="utf-8")
    assert "title: Reset a VPN hardware token" in saved and "# Reset a VPN hardware token" in saved
    assert "# Reset a VPN token" not in saved

    write_doc(docs_kb, "sops/other.md", "---\ntitle: Short\ntype: sop\n---\n# A longer heading\n")
    editor.open_path("sops/other.md")
    editor.form.title_edit.selectAll()
    qtbot.keyClicks(editor.form.title_edit, "Shorter")
    assert editor.text.toPlainText().startswith("# A longer heading\n")


def test_reader_code_block_ends_with_its_last_line(
    qtbot,
    docs_kb: Workspace,  # type: ignore[no-untyped-def]
    tasks: Tasks,
) -> None:
    """Every code block showed an empty shaded line under its last one (the newline before
    </code></pre> became a line of its own in Qt's rich text)."""
    reader = ReaderView(docs_kb, tasks)
    qtbot.addWidget(reader)
    reader.show()
    with qtbot.waitSignal(reader.document_shown):
        reader.open("sops/failover.md")
    text = reader.browser.toPlainText()
    assert "pg_ctl promote -D /var/lib/postgresql/data\nSee " in text
