"""The main window end to end, driven with the keyboard as an engineer does, on real clones of a
real shared repository: search → open → edit → save → commit → sync → the other clone has it;
a conflict between two clones resolved in the resolution view; history restore; the
unsaved-changes prompt on closing; a draft recovered after a crash; the command palette."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import SharedRepo, git, write_doc
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from kbapp.documents.drafts import DraftStore
from kbapp.sync import conflicts, sync
from kbapp.ui import actions
from kbapp.ui.window import MainWindow
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def open_window(qtbot, workspace: Workspace) -> MainWindow:  # type: ignore[no-untyped-def]
    workspace.settings.fetch_interval_minutes = 0
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.search.index is not None, timeout=15000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=15000)
    return window


def finish(window: MainWindow) -> None:
    window.tasks.wait()


def search_and_open(qtbot, window: MainWindow, words: str, path: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window, Qt.Key.Key_K, CTRL)
    assert window.search.field.hasFocus()
    qtbot.keyClicks(window.search.field, words)
    qtbot.waitUntil(
        lambda: (
            window.search.selected_hit() is not None and window.search.selected_hit().path == path
        ),
        timeout=10000,
    )
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        qtbot.keyClick(window.search.field, Qt.Key.Key_Return)
    assert window.current_page() == "reader" and window.reader.path == path


def test_search_open_edit_save_sync_reaches_the_other_clone(qtbot, shared: SharedRepo) -> None:  # type: ignore[no-untyped-def]
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Payments API returns 503").path
    window = open_window(qtbot, ana)
    assert window.search.field.hasFocus()  # the cursor is in the search field at start

    search_and_open(qtbot, window, "payments 503", path)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL)
    assert window.current_page() == "editor" and window.editor.path == path
    editor = window.editor
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor.text, "Restart the pods after a failover.")
    assert editor.dirty and window.windowTitle().startswith("• ")
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert not editor.dirty
    assert git(ana.root, "log", "-1", "--format=%s") == "Update: Payments API returns 503"
    assert "Restart the pods" in git(ana.root, "show", "HEAD:" + path)

    with qtbot.waitSignal(window.sync.synced, timeout=30000) as synced:
        qtbot.keyClick(window, Qt.Key.Key_S, CTRL_SHIFT)
    assert synced.args[0].pushed
    qtbot.waitUntil(lambda: window.sync.indicator.text().startswith("✓ In sync"), timeout=10000)

    report = sync.sync(jo)
    assert path in report.changed_paths
    assert "Restart the pods after a failover." in (jo.root / path).read_text()
    finish(window)


def test_conflict_between_two_clones_is_resolved_in_the_view(qtbot, shared: SharedRepo) -> None:  # type: ignore[no-untyped-def]
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Disk full on db01").path
    sync.sync(ana)
    sync.sync(jo)
    for workspace, line in ((ana, "Delete old WAL files."), (jo, "Grow the volume by 50 GB.")):
        doc = workspace.load(path)
        doc.body = doc.body.replace("## Impact", f"## Impact\n\n{line}")
        workspace.save(doc)
    sync.sync(jo)

    window = open_window(qtbot, ana)
    with qtbot.waitSignal(window.sync.synced, timeout=30000) as synced:
        window.action("sync.now").trigger()
    assert synced.args[0].conflicts == [path]
    assert "choose what stays" in window.notice.label.text()
    qtbot.waitUntil(lambda: window.sync.indicator.text().startswith("⚠ 1 conflict"), timeout=10000)

    qtbot.keyClick(window, Qt.Key.Key_C, CTRL_SHIFT)
    view = window.conflicts
    qtbot.waitUntil(lambda: view.case is not None, timeout=10000)
    assert window.current_page() == "conflicts"
    assert "Delete old WAL files." in view.mine.toPlainText()
    assert "Grow the volume by 50 GB." in view.theirs.toPlainText()
    assert view.mine.extraSelections() and view.theirs.extraSelections()  # differences marked
    assert "<<<<<<<" in view.merged.toPlainText()  # the conflicting lines are shown in place
    view.resolve_button.click()
    assert "conflict marker" in view.error.text()  # markers are never accepted
    merged = view.case.theirs.replace(
        "Grow the volume by 50 GB.", "Grow the volume by 50 GB, then delete old WAL files."
    )
    view.merged.setPlainText(merged)
    with qtbot.waitSignal(view.resolved):
        view.resolve_button.click()
    assert conflicts.list_conflicts(ana) == []
    assert git(ana.root, "log", "-1", "--format=%s").startswith("Resolve: ")
    sync.sync(ana)
    sync.sync(jo)
    assert "then delete old WAL files" in (jo.root / path).read_text()
    # nothing left: nothing to take or resolve (the buttons did nothing beside empty panes)
    assert view.title.text() == "No conflicts: everything is merged."
    assert not any(b.isEnabled() for b in (view.take_mine, view.take_theirs, view.resolve_button))
    finish(window)


def test_history_restore(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    path = kb.create("sop", "Rotate the VPN keys").path
    for text in ("First version of the steps.", "Second version of the steps."):
        doc = kb.load(path)
        doc.body = doc.body.rstrip("\n") + f"\n\n{text}\n"
        kb.save(doc)
    window = open_window(qtbot, kb)
    window.open_document(path)
    qtbot.waitUntil(lambda: window.reader.path == path)
    qtbot.keyClick(window, Qt.Key.Key_Y, CTRL_SHIFT)
    history = window.history
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=10000)
    assert window.current_page() == "history"
    assert history.table.item(0, 1).text() == "Ana Ribeiro"
    assert history.table.item(0, 2).text() == "internal"
    assert history.table.item(2, 3).text() == "Create: Rotate the VPN keys"

    history.select(0)  # the newest version: what it changed
    qtbot.waitUntil(lambda: "+Second version" in history.raw.toPlainText(), timeout=10000)
    history.select(0, 2)  # any two versions
    qtbot.waitUntil(
        lambda: (
            "First version" in history.raw.toPlainText()
            and "+Second version" in history.raw.toPlainText()
        ),
        timeout=10000,
    )
    assert "Second version" in history.rendered.toPlainText()
    assert history.tabs.currentWidget() is history.changes  # rendered, as the reader shows it
    changes = history.changes.toHtml()
    assert "Second version of the steps." in history.changes.toPlainText()
    assert "#d4f4dd" in changes.lower() and "##" not in history.changes.toPlainText()  # green

    history.select(1)
    with qtbot.waitSignal(history.restored):
        history.restore_button.click()
    text = (kb.root / path).read_text()
    assert "First version" in text and "Second version" not in text
    assert git(kb.root, "status", "--porcelain") == ""
    qtbot.waitUntil(lambda: history.table.rowCount() == 4, timeout=10000)
    finish(window)


def test_closing_with_unsaved_changes_asks(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    path = kb.create("sop", "Grant database access").path
    window = open_window(qtbot, kb)
    window.edit_document(path)
    qtbot.keyClicks(window.editor.text, "Unsaved words. ")
    assert not window.close()  # not closed: the question is asked instead
    box = window.editor.leave_prompt
    assert box is not None and box.isVisible()
    assert box.text() == "Save your changes to “Grant database access”?"
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible() and window.editor.dirty

    window.close()
    window.editor.leave_prompt.button(QMessageBox.StandardButton.Save).click()
    assert not window.isVisible()
    assert "Unsaved words." in (kb.root / path).read_text()
    assert git(kb.root, "status", "--porcelain") == ""


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from PySide6.QtWidgets import QApplication
    from kbapp.settings import Settings
    from kbapp.ui.window import MainWindow
    from kbapp.workspace import Workspace
    app = QApplication([])
    ws = Workspace.open(sys.argv[1], Settings(user_name="Ana", user_email="ana@internal.example",
                                              fetch_interval_minutes=0))
    window = MainWindow(ws)
    window.show()
    window.edit_document(sys.argv[2])
    window.editor.text.insertPlainText("Typed just before the power cut. ")
    window.editor.autosave_timer.timeout.connect(lambda: os._exit(9))  # after the autosave
    app.exec()
""")


def test_draft_recovered_after_a_crash(qtbot, kb: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = kb.create("sop", "Renew the payments certificate").path
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(kb.root), path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 9, done.stderr  # died without saving or closing
    assert "power cut" not in (kb.root / path).read_text()

    assert [d.path for d in DraftStore(kb.root).all()] == [path], done.stderr  # kept by the crash

    window = open_window(qtbot, kb)
    assert window.notice.isVisible(), (window.isVisible(), window.notice.label.text())
    assert "Renew the payments certificate" in window.notice.label.text()
    window.editing.open_drafts()
    assert window.current_page() == "editor" and window.editor.path == path
    assert "Typed just before the power cut." in window.editor.body_text()
    assert window.editor.dirty
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert "Typed just before the power cut." in (kb.root / path).read_text()
    assert DraftStore(kb.root).all() == []
    finish(window)


def test_palette_lists_every_action_with_its_shortcut(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, kb)
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    palette = window.dialogs.palette
    assert palette is not None and palette.isVisible()
    declared = actions.all_actions()
    shown = [a for a in declared if a.id != "incident.capture"]  # no incident waits for it
    rows = palette.rows()
    assert len(rows) == len(shown)
    for action, (title, shortcut) in zip(shown, rows):
        assert title == action.title.replace("&", "")
        if action.shortcut:
            assert shortcut, action.id
    shortcuts = [a.shortcut for a in declared if a.shortcut]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"
    # Every menu entry comes from the same list.
    in_menus = {
        a.objectName()
        for menu in window.menuBar().actions()
        if menu.menu()
        for a in menu.menu().actions()
    }
    assert in_menus == {a.id for a in declared}
    # The toolbar's actions carry an icon beside their text (the theme's, else Qt's own).
    from PySide6.QtWidgets import QToolBar

    toolbar = window.findChild(QToolBar, "main-toolbar")
    assert [a.objectName() for a in toolbar.actions()] == [a.id for a in declared if a.toolbar]
    assert all(not a.icon().isNull() for a in toolbar.actions())

    qtbot.keyClicks(palette.filter_edit, "history")
    assert next(title for title, _ in palette.rows()) == "History of this document"
    palette.filter_edit.clear()
    qtbot.keyClicks(palette.filter_edit, "new doc")
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    dialog = window.editing.new_document_dialog
    assert dialog.isVisible() and not palette.isVisible()
    dialog.reject()
    finish(window)


def test_palette_is_fuzzy_and_finds_documents_and_settings(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    write_doc(
        kb,
        "runbooks/lag.md",
        "---\nid: kb-0b000001\ntitle: Payments replica lag\ntype: runbook\n---\n\n1. Check\n",
    )
    kb.refresh()
    window = open_window(qtbot, kb)
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    palette = window.dialogs.palette
    assert palette is not None

    def first(query: str) -> tuple[str, str]:
        palette.filter_edit.clear()
        qtbot.keyClicks(palette.filter_edit, query)
        return palette.rows()[0]

    assert first("incdent")[0] in ("Start incident…", "Incident note")  # a typo
    assert first("ni") == ("Start incident…", "Ctrl+I")  # initials of "new incident"
    assert first("replca lag") == ("Payments replica lag", "runbook")  # a document, by title
    assert first("theme")[0] == "Settings: Theme"
    assert palette.kinds()[0] == "setting"
    first("replca lag")
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    assert window.reader.path == "runbooks/lag.md" and not palette.isVisible()
    # A setting opens the Settings dialog where there is one, else says where it is kept.
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    first("editor font")
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    if "settings" not in window.actions_by_id:
        assert "Editor font size is “11”" in window.statusBar().currentMessage()
    else:  # the Settings dialog, once the window has one
        from PySide6.QtWidgets import QApplication

        shown = [
            w
            for w in QApplication.topLevelWidgets()
            if w.isVisible() and "Settings" in w.windowTitle()
        ]
        assert shown
        for dialog in shown:
            dialog.close()
    finish(window)


def test_application_shortcuts_win_over_the_search_field(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    write_doc(
        kb,
        "sops/vpn.md",
        "---\nid: kb-0b000002\ntitle: Reset a VPN token\ntype: sop\n---\n\nSteps.\n",
    )
    kb.refresh()
    window = open_window(qtbot, kb)
    search_and_open(qtbot, window, "vpn token", "sops/vpn.md")
    assert window.search.field.hasFocus()  # Enter opened it; the field still has the keys
    qtbot.keyClick(window.search.field, Qt.Key.Key_E, CTRL)  # not "end of line": edit it
    assert window.current_page() == "editor" and window.editor.path == "sops/vpn.md"
    # F6 and Shift+F6 move the keys between the parts of the window, wrapping around.
    window.close_document()
    assert window.current_page() == "reader"
    window.focus_search()
    qtbot.keyClick(window.search.field, Qt.Key.Key_F6)
    assert window.reader.browser.hasFocus()
    panes = window.panes()
    for _ in panes:
        window.next_pane()
    assert window.reader.browser.hasFocus()  # round the panes and back
    qtbot.keyClick(window.reader.browser, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert window.search.field.hasFocus()
    # Where the desktop binds Ctrl+E to "end of line" (X11, macOS) the field claims the key
    # first (ShortcutOverride; offscreen has no such binding): the window's policy refuses
    # the claim for the window's own shortcuts, and only for those.
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    def claimed(key: Qt.Key, modifiers: Qt.KeyboardModifier = CTRL) -> bool:
        event = QKeyEvent(QEvent.Type.ShortcutOverride, key, modifiers)
        event.accept()  # as a field that wants the key leaves it
        window.keyboard.eventFilter(window.search.field, event)
        return event.isAccepted()

    assert not claimed(Qt.Key.Key_E) and not claimed(Qt.Key.Key_K)
    assert claimed(Qt.Key.Key_Z) and claimed(Qt.Key.Key_C) and claimed(Qt.Key.Key_J)
    # The field keeps what a text field must: Ctrl+Z undoes typing there, not in the editor.
    window.focus_search()
    window.search.field.clear()
    qtbot.keyClicks(window.search.field, "abc")
    qtbot.keyClick(window.search.field, Qt.Key.Key_Z, CTRL)
    assert window.search.field.text() != "abc"
    # F1 and Ctrl+/ show every shortcut, from the one list of actions.
    qtbot.keyClick(window.search.field, Qt.Key.Key_Slash, CTRL)
    sheet = window.dialogs.shortcut_sheet
    assert sheet is not None and sheet.isVisible()
    listed = {(title, keys) for _, title, keys in sheet.rows()}
    assert ("Edit document", "Ctrl+E") in listed and (
        "Keyboard shortcuts",
        "F1 or Ctrl+/",
    ) in listed
    assert len(sheet.rows()) == len(actions.all_actions())
    sheet.reject()
    finish(window)


def test_sync_under_an_open_editor_offers_a_merge(qtbot, shared: SharedRepo) -> None:  # type: ignore[no-untyped-def]
    ana, jo = shared.ana, shared.jo
    path = ana.create("runbook", "Certificate expiring soon").path
    sync.sync(ana)
    sync.sync(jo)
    doc = jo.load(path)
    doc.body = doc.body.replace("## Impact", "## Impact\n\nThe partner's new paragraph.")
    jo.save(doc)
    sync.sync(jo)

    window = open_window(qtbot, ana)
    window.edit_document(path)
    editor = window.editor
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor.text, "My unsaved closing line.")
    with qtbot.waitSignal(window.sync.synced, timeout=30000):
        window.sync_now()
    assert "The partner's new paragraph." in (ana.root / path).read_text()
    assert "My unsaved closing line." in editor.body_text()  # never overwritten
    assert editor.notice.isVisible() and "Merge…" in [
        editor.notice.buttons.itemAt(i).widget().text()
        for i in range(editor.notice.buttons.count())
    ]

    editor.request_merge()
    view = window.conflicts
    qtbot.waitUntil(lambda: view.case is not None and view.case.path == path, timeout=10000)
    assert window.current_page() == "conflicts"
    merged = view.merged.toPlainText()
    assert "The partner's new paragraph." in merged and "My unsaved closing line." in merged
    view.resolve_button.click()  # different places: merged cleanly, nothing to choose
    assert window.current_page() == "editor"
    assert editor.dirty and not editor.changed_underneath()
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    saved = (ana.root / path).read_text()
    assert "The partner's new paragraph." in saved and "My unsaved closing line." in saved
    finish(window)


START_SCRIPT = textwrap.dedent("""
    import sys
    from kbapp.settings import Settings
    from kbapp.settings import choose_kb
    from kbapp.ui.app import application
    from kbapp.ui.window import MainWindow
    from kbapp.workspace import Workspace
    app = application()
    settings = Settings(user_name="Ana", user_email="ana@internal.example",
                        fetch_interval_minutes=0)
    window = MainWindow(Workspace.open(choose_kb(sys.argv[1], settings), settings))
    window.show()
    window.search.focus_field()
    app.processEvents()  # the first paint
    assert window.search.field.hasFocus()
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "jinja2", "whoosh"})
    print("imported before the window was shown:", heavy)
    window.start()
    window.tasks.wait()
    assert window.search.index is not None and window._lifecycle is not None
    window.close()
""")


def test_window_shows_before_the_heavy_modules_load(kb: Workspace, tmp_path: Path) -> None:
    """Start-up: the window is shown with the cursor in the search field before SQLAlchemy
    (catalog, activity store), Jinja2 (report) and Whoosh (index) are imported on the GUI
    thread; workers load them afterwards."""
    kb.close()
    script = tmp_path / "start.py"
    script.write_text(START_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(kb.root)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "imported before the window was shown: []" in done.stdout, done.stdout


def test_lifecycle_views_come_after_the_first_paint_and_keep_the_focus(
    qtbot, kb: Workspace
) -> None:  # type: ignore[no-untyped-def]
    kb.settings.fetch_interval_minutes = 0
    window = MainWindow(kb)
    qtbot.addWidget(window)
    window.show()
    assert window._lifecycle is None and "review-queue" not in window.views.views
    window.start()
    qtbot.waitUntil(window.search.field.hasFocus, timeout=5000)
    # typing while they are built (or just after: with the modules already imported in this
    # process the worker finishes at once)
    qtbot.keyClicks(window.search.field, "cert")
    qtbot.waitUntil(lambda: window._lifecycle is not None, timeout=15000)
    assert "review-queue" in window.views.views and not window.views.is_open("review-queue")
    assert window.search.field.hasFocus() and window.search.field.text() == "cert"
    window.tasks.wait()


def test_lifecycle_action_before_the_views_are_built(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    """A shortcut pressed in the first instant builds the views it needs at once."""
    kb.settings.fetch_interval_minutes = 0
    window = MainWindow(kb)
    qtbot.addWidget(window)
    window.show()
    window.search.focus_field()
    qtbot.waitUntil(window.search.field.hasFocus, timeout=5000)
    assert window._lifecycle is None
    qtbot.keyClick(window.search.field, Qt.Key.Key_R, CTRL_SHIFT)  # Review queue
    assert window.views.current() == "review-queue"
    assert window.lifecycle.review_queue.isVisible()
    window.tasks.wait()


def test_ticket_ids_link_to_their_ticket_system_after_showing_the_address(  # type: ignore[no-untyped-def]
    qtbot, tmp_path: Path, settings
) -> None:
    """Issue 8: an incident in the reader's metadata header and a ticket id in a search result
    are links to the ticket system of .kb/config.toml; clicking one shows the address and opens
    nothing until the user says so (and the result row is not opened instead)."""
    from PySide6.QtCore import QPoint, QPointF

    from kbapp.demo import ensure_demo

    url = "https://servicedesk.tidewater.example/incident/INC-20417"
    ws = Workspace.open(ensure_demo(tmp_path / "demo"), settings)
    window = open_window(qtbot, ws)

    # A search result's snippet.
    qtbot.keyClicks(window.search.field, "INC-20417")
    qtbot.waitUntil(
        lambda: window.search.response is not None and bool(window.search.response.hits),
        timeout=10000,
    )
    rows = window.search.model.hits
    row = next(i for i, hit in enumerate(rows) if any("INC-20417" in s for s in hit.snippets))
    view = window.search.list
    rect = view.visualRect(window.search.model.index(row, 0))
    spot = next(
        QPoint(x, y)
        for y in range(rect.top(), rect.bottom(), 3)
        for x in range(rect.left(), rect.right(), 3)
        if window.search.delegate.link_at(rows[row], rect, QPointF(x, y)) == url
    )
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    prompt = window.reader.external_prompt
    assert prompt is not None and prompt.isVisible()
    assert prompt.informativeText() == url
    prompt.button(QMessageBox.StandardButton.Cancel).click()
    assert window.reader.external_prompt is None
    assert window.current_page() == "start"  # the click went to the link, not the row

    # The reader's metadata header (incidents) of the failover SOP.
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.open_document("sops/payments-database-failover.md")
    browser = window.reader.browser
    assert f'href="{url}"' in browser.toHtml()
    assert browser.find("INC-20417")  # the first occurrence: the header, under the title
    end_of_id = browser.cursorRect().center()
    cursor = browser.textCursor()
    cursor.clearSelection()
    browser.setTextCursor(cursor)
    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=end_of_id - QPoint(12, 0))
    prompt = window.reader.external_prompt
    assert prompt is not None and prompt.isVisible() and prompt.informativeText() == url
    prompt.button(QMessageBox.StandardButton.Cancel).click()
    finish(window)
    ws.close()


def test_only_the_app_imports_the_window_module() -> None:
    """The window's parts and views know it through the narrow protocols they declare
    (``ImportHost``, ``SettingsHost``, ``LaidOutWindow``, ``DialogHost``), never its module:
    only ``kbapp.ui.app`` (which makes windows) imports it."""
    import ast

    import kbapp.ui

    importers = []
    for path in sorted(Path(kbapp.ui.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "kbapp.ui.window":
                importers.append(path.stem)
            elif isinstance(node, ast.ImportFrom) and node.module == "kbapp.ui":
                if any(alias.name == "window" for alias in node.names):
                    importers.append(path.stem)
    assert sorted(set(importers)) == ["app"]


def test_palette_cuts_a_long_title_short_of_its_type(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    """An imported article's long title ran under its type and gave the list a sideways
    scrollbar: the title is cut with "…" before the type, whole in the row's tip."""
    title = (
        "You receive an access is denied error message on a domain controller when you try "
        "to replicate the directory partition from another domain controller in the forest"
    )
    write_doc(
        kb,
        "support/denied.md",
        f"---\nid: kb-0b000002\ntitle: {title}\ntype: troubleshooting\n---\n",
    )
    kb.refresh()
    window = open_window(qtbot, kb)
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    palette = window.dialogs.palette
    qtbot.keyClicks(palette.filter_edit, "access is denied error message")
    assert palette.rows()[0] == (title, "troubleshooting")
    QApplication.processEvents()
    assert palette.list.horizontalScrollBar().maximum() == 0
    item = palette.list.item(0)
    assert title in item.toolTip()
    delegate = palette.list.itemDelegate()
    shown = delegate.shown_text(palette.list, palette.list.indexFromItem(item))
    assert shown.endswith("…") and shown[:-1] in title
    finish(window)


def test_incident_actions_are_greyed_out_until_an_incident_runs(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    """For "incident" the palette chose "Incident note", which did nothing with no incident
    running: note, steps and end are enabled while one runs, and the palette starts on
    "Start incident…"."""
    window = open_window(qtbot, kb)
    views = window.lifecycle
    running = ("incident.note", "incident.steps", "incident.end")
    assert not any(window.action(name).isEnabled() for name in running)
    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    palette = window.dialogs.palette
    qtbot.keyClicks(palette.filter_edit, "incident")
    assert palette.list.currentItem().text() == "Start incident…"
    palette.reject()
    views.incidents.start("INC-11", "Payments slow", [])
    assert all(window.action(name).isEnabled() for name in running)
    views.incidents.end()
    assert not window.action("incident.note").isEnabled()
    finish(window)
