"""The window with several knowledge bases: results from all of them with a badge naming each
one's knowledge base, a result from another shown read-only with a way to switch there, the
File menu's "search another knowledge base too" / "stop searching", and Document → "Move to
another knowledge base…" (real repositories, real indexes, real widgets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import INTERNAL_DOC, TwoKbs, git
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from test_ui_window import open_window

from kbapp.settings import Settings
from kbapp.ui.search_results import row_html
from kbapp.ui.window import MainWindow

pytestmark = pytest.mark.gui
CTRL = Qt.KeyboardModifier.ControlModifier


def window_with_both(qtbot, two: TwoKbs) -> MainWindow:  # type: ignore[no-untyped-def]
    two.shared.settings.also_search = [str(two.internal.root)]
    window = open_window(qtbot, two.shared)
    qtbot.waitUntil(lambda: window.search.others is not None, timeout=15000)
    return window


def search(qtbot, window: MainWindow, words: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    window.search.field.clear()
    with qtbot.waitSignal(window.search.results_shown, timeout=10000):
        window.search.field.setText(words)
    return [(hit.kb, hit.path) for hit in window.search.model.hits]


def test_results_from_both_with_a_badge_and_another_kbs_document_is_read_only(
    qtbot,
    two: TwoKbs,  # type: ignore[no-untyped-def]
) -> None:
    window = window_with_both(qtbot, two)
    found = search(qtbot, window, "failover payments")
    assert set(found) == {
        ("Shared KB", "sops/payments-failover.md"),
        ("Internal KB", "runbooks/failover-secret-site.md"),
    }
    assert window.search.delegate.show_kb
    hit = next(h for h in window.search.model.hits if h.kb == "Internal KB")
    assert ">&nbsp;Internal KB&nbsp;<" in row_html(hit, "#000", None, True)
    assert "Internal KB" not in row_html(hit, "#000", None, False)
    window.resize(1320, 700)
    window.grab().save("/tmp/kbapp-two-kbs-results.png")

    row = window.search.model.hits.index(hit)
    window.search.list.setCurrentIndex(window.search.model.index(row, 0))
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        qtbot.keyClick(window.search.list, Qt.Key.Key_Return)
    reader = window.reader
    assert window.current_page() == "reader"
    assert reader.elsewhere is not None and reader.elsewhere.root == two.internal.root
    assert reader.path is None  # nothing of this knowledge base is being read
    assert reader.elsewhere_box.isVisible()
    assert reader.elsewhere_label.text() == "In Internal KB — open that knowledge base to edit"
    assert reader.switch_button.text() == "Switch to Internal KB"
    assert "Our own failover steps" in reader.browser.toPlainText()
    assert "(in Internal KB)" in window.windowTitle()
    assert not window.action("doc.edit").isEnabled()
    assert not window.action("doc.move_kb").isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL)
    assert window.current_page() == "reader" and window.editor.doc is None
    window.grab().save("/tmp/kbapp-two-kbs-elsewhere.png")

    # Back to a document of this knowledge base: editable again, no "elsewhere" line.
    search(qtbot, window, "promote replica")
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.search.open_selected()
    assert reader.path == "sops/payments-failover.md" and not reader.elsewhere_box.isVisible()
    assert window.action("doc.edit").isEnabled()
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.reading.go_back()
    assert reader.elsewhere is not None and reader.page is not None
    assert reader.page.path == "runbooks/failover-secret-site.md"  # from the right KB again

    reader.switch_button.click()
    successor = window.successor
    assert isinstance(successor, MainWindow)
    qtbot.addWidget(successor)
    assert successor.workspace.root == two.internal.root
    assert successor.windowTitle() == "Internal KB — kbapp"
    assert not window.isVisible() and successor.isVisible()
    saved = Settings.load()
    assert saved.default_kb == str(two.internal.root)
    assert saved.also_search == [str(two.shared.root)]  # the shared one stays in reach
    qtbot.waitUntil(lambda: successor.search.others is not None, timeout=15000)
    assert [ws.config.name for ws in successor.search.searched_kbs()] == [
        "Internal KB",
        "Shared KB",
    ]
    successor.close()
    successor.tasks.wait()
    successor.workspace.close()


def test_file_menu_adds_and_removes_a_knowledge_base_and_a_missing_one_is_skipped(
    qtbot,
    two: TwoKbs,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    window = window_with_both(qtbot, two)
    assert window.action("kb.search_less").isEnabled()
    window.action("kb.search_less").trigger()
    dialog = window.other_kbs.kb_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.comboBoxItems() == [f"Internal KB — {two.internal.root}"]
    dialog.setTextValue(dialog.comboBoxItems()[0])
    dialog.accept()
    window.tasks.wait()
    assert Settings.load().also_search == []
    assert not window.action("kb.search_less").isEnabled()  # none left to stop searching
    assert window.search.searched_kbs() == [two.shared]
    assert {kb for kb, _ in search(qtbot, window, "failover payments")} == {"Shared KB"}
    assert not window.search.delegate.show_kb

    window.action("kb.search_also").trigger()
    chooser = window.other_kbs.folder_dialog
    assert isinstance(chooser, QFileDialog) and chooser.isVisible()
    chooser.fileSelected.emit(str(two.internal.root))  # what choosing the folder sends
    chooser.close()
    window.tasks.wait()
    assert Settings.load().also_search == [str(two.internal.root)]
    assert "Searching" in window.statusBar().currentMessage()
    assert window.action("kb.search_less").isEnabled()
    assert {kb for kb, _ in search(qtbot, window, "failover payments")} == {
        "Shared KB",
        "Internal KB",
    }

    # A knowledge base moved away since: one line in the status bar, the rest still searched.
    two.shared.settings.also_search.append(str(tmp_path / "moved-away"))
    window.search.reload_others()
    window.tasks.wait()
    assert window.statusBar().currentMessage() == (
        f"Not searching {tmp_path / 'moved-away'}: {tmp_path / 'moved-away'} does not exist"
    )
    assert len(window.search.searched_kbs()) == 2
    window.close()


def test_move_to_another_knowledge_base_from_the_window(qtbot, two: TwoKbs) -> None:  # type: ignore[no-untyped-def]
    window = window_with_both(qtbot, two)
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.open_document("sops/payments-failover.md")
    window.action("doc.move_kb").trigger()
    dialog = window.other_kbs.kb_dialog
    assert dialog is not None
    assert dialog.comboBoxItems() == [f"Internal KB — {two.internal.root}", "Another folder…"]
    dialog.setTextValue(dialog.comboBoxItems()[0])
    with qtbot.waitSignal(window.other_kbs.document_moved, timeout=15000) as moved:
        dialog.accept()
    assert moved.args[0].target_path == "sops/payments-failover.md"
    assert git(two.internal.root, "log", "-1", "--format=%s") == (
        "Move in: Fail over the payments database (from Shared KB)"
    )
    assert git(two.shared.root, "log", "-1", "--format=%s") == (
        "Move out: Fail over the payments database (to Internal KB)"
    )
    assert not (two.shared.root / "sops/payments-failover.md").exists()
    assert "Moved “Fail over the payments database” from Shared KB to Internal KB" in (
        window.statusBar().currentMessage()
    )
    # The reader now shows it where it is, read-only.
    qtbot.waitUntil(lambda: window.reader.elsewhere is not None, timeout=10000)
    assert window.reader.elsewhere_label.text().startswith("In Internal KB")
    found = search(qtbot, window, "promote replica")
    assert found == [("Internal KB", "sops/payments-failover.md")]
    window.close()


def test_an_internal_document_is_not_moved_into_the_shared_kb_from_the_window(
    qtbot,
    two: TwoKbs,  # type: ignore[no-untyped-def]
) -> None:
    two.internal.settings.also_search = [str(two.shared.root)]
    window = open_window(qtbot, two.internal)
    with qtbot.waitSignal(window.reader.document_shown, timeout=10000):
        window.open_document("runbooks/failover-secret-site.md")
    before = git(two.shared.root, "rev-parse", "HEAD")
    window.other_kbs.move_to_other_kb(str(two.shared.root))
    window.tasks.wait()
    box = window.interaction.last_box
    assert box is not None and box.isVisible()
    assert "this document is marked 'internal' and this knowledge base is shared" in box.text()
    assert git(two.shared.root, "rev-parse", "HEAD") == before
    assert (two.internal.root / "runbooks/failover-secret-site.md").read_text() == INTERNAL_DOC
    box.close()
    window.close()
