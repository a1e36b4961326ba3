"""The window on a new machine: fresh HOME, git without any identity, kbapp without settings.
The first-run dialog asks who the user is (pytest-qt types the answer), and then save, review
and sync all work; Settings (Ctrl+,) changes apply to the running window; a save whose commit
fails is said to be exactly that, and the next Ctrl+S commits it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import git
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from kbapp.interaction import Level
from kbapp.settings import Settings
from kbapp.sync import sync
from kbapp.ui.identity_dialog import FirstRunDialog
from kbapp.ui.window import MainWindow
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
OK = QDialogButtonBox.StandardButton.Ok
ANA = Settings(user_name="Ana Ribeiro", user_email="ana@internal.example")
DOMAINS = {"internal": ["internal.example"], "partner": ["partner.example"]}


@pytest.fixture
def team(no_identity: Path, tmp_path: Path) -> tuple[Path, str]:
    """The shared knowledge base Ana made on her machine (a bare remote), with one runbook;
    returns the remote and the runbook's path."""
    served = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(served))
    ana = Workspace.init(
        tmp_path / "ana", "Ops KB", ["internal", "partner"], settings=ANA, domains=DOMAINS
    )
    path = ana.create("runbook", "Reset a VPN token").path
    doc = ana.load(path)
    doc.set("status", "published")  # published documents are reviewed
    ana.save(doc)
    git(ana.root, "remote", "add", "origin", str(served))
    sync.sync(ana)
    ana.close()
    return served, path


def open_window(qtbot, workspace: Workspace) -> MainWindow:  # type: ignore[no-untyped-def]
    workspace.settings.fetch_interval_minutes = 0
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.search.index is not None, timeout=15000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=15000)
    return window


def new_user_window(qtbot, served: Path, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """The new user clones the shared knowledge base and opens it in the window."""
    workspace = sync.clone(str(served), tmp_path / "mine", Settings.load())
    assert not workspace.identity.known
    return open_window(qtbot, workspace)


def answer(qtbot, dialog: FirstRunDialog, name: str, email: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(dialog.fields.name_edit, name)
    qtbot.keyClicks(dialog.fields.email_edit, email)
    qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)


def answer_when_asked(qtbot, window: MainWindow, name: str, email: str) -> Callable[[], bool]:  # type: ignore[no-untyped-def]
    """Answer the first-run dialog the core opens (and waits for) during an action."""
    answered: list[bool] = []

    def poll() -> None:
        dialog = window.settings_ui.first_run
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(50, poll)
            return
        answer(qtbot, dialog, name, email)
        answered.append(True)

    QTimer.singleShot(50, poll)
    return lambda: bool(answered)


def edit_and_save(qtbot, window: MainWindow, path: str, text: str) -> None:  # type: ignore[no-untyped-def]
    window.edit_document(path)
    editor = window.editor
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor.text, text)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)


def test_new_user_answers_first_run_then_saves_reviews_and_syncs(
    qtbot, team: tuple[Path, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    served, path = team
    window = new_user_window(qtbot, served, tmp_path)
    dialog = window.settings_ui.first_run
    assert dialog is not None and dialog.isVisible() and dialog.isModal()
    assert dialog.fields.name_edit.text() == "" and dialog.fields.email_edit.text() == ""
    organisations = [
        dialog.fields.org_combo.itemData(i) for i in range(dialog.fields.org_combo.count())
    ]
    assert organisations == ["", "internal", "partner"]  # offered from .kb/config.toml
    qtbot.keyClicks(dialog.fields.name_edit, "Jo Okafor")
    qtbot.keyClicks(dialog.fields.email_edit, "jo@partner.example")
    assert dialog.fields.org_hint.text() == "From your e-mail: partner."
    qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and window.settings_ui.first_run is None
    workspace = window.workspace
    assert (workspace.identity.name, workspace.identity.email, workspace.identity.org) == (
        "Jo Okafor",
        "jo@partner.example",
        "partner",
    )
    assert Settings.load().user_email == "jo@partner.example"  # remembered for next time

    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # the keyboard is back

    edit_and_save(qtbot, window, path, "Check the token's expiry first.")
    assert not window.editor.dirty, window.statusBar().currentMessage()
    assert (
        git(
            workspace.root, "log", "-1", "--format=%s|%an <%ae>|%(trailers:key=KB-Org,valueonly)"
        ).strip()
        == "Update: Reset a VPN token|Jo Okafor <jo@partner.example>|partner"
    )

    views = window.lifecycle
    views.show_review_queue()
    queue = views.review_queue
    assert queue.owner_combo.findData("jo@partner.example") > 0  # "Me" is who answered
    with qtbot.waitSignal(queue.filled, timeout=20000):  # filled from the thread pool
        queue.horizon_combo.setCurrentIndex(queue.horizon_combo.findText("Everything"))
    assert queue.select(workspace.load(path).id)
    with qtbot.waitSignal(queue.reviewed, timeout=10000):
        qtbot.mouseClick(queue.reviewed_button, Qt.MouseButton.LeftButton)
    assert (
        git(workspace.root, "log", "-1", "--format=%s %an") == "Review: Reset a VPN token Jo Okafor"
    )
    assert workspace.load(path).meta["review"]["reviewed_by"] == "jo@partner.example"

    with qtbot.waitSignal(window.sync.synced, timeout=30000) as synced:
        qtbot.keyClick(window, Qt.Key.Key_S, CTRL_SHIFT)
    assert synced.args[0].pushed
    assert git(served, "log", "-2", "--format=%s by %an", "main").splitlines() == [
        "Review: Reset a VPN token by Jo Okafor",
        "Update: Reset a VPN token by Jo Okafor",
    ]
    window.tasks.wait()


def test_not_now_then_save_asks_and_goes_through(
    qtbot, team: tuple[Path, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The user put the first-run question off; Ctrl+S asks it again and, once answered, the
    save goes through: written, committed, nothing half-done."""
    served, path = team
    window = new_user_window(qtbot, served, tmp_path)
    dialog = window.settings_ui.first_run
    assert dialog is not None
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton
    )
    assert window.settings_ui.first_run is None and not window.workspace.identity.known
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)

    answered = answer_when_asked(qtbot, window, "Sam Lee", "sam@internal.example")
    edit_and_save(qtbot, window, path, "A step typed before saying who I am.")
    assert answered() and not window.editor.dirty
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    root = window.workspace.root
    assert git(root, "log", "-1", "--format=%s %an") == "Update: Reset a VPN token Sam Lee"
    assert git(root, "status", "--porcelain") == ""

    # Not answering leaves everything as it was: the text stays in the editor, unsaved.
    def decline() -> None:
        asked = window.settings_ui.first_run
        if asked is None or not asked.isVisible():
            QTimer.singleShot(50, decline)
            return
        asked.reject()

    window.workspace.settings.update({"user_name": "", "user_email": ""})
    assert not window.workspace.identity.known
    QTimer.singleShot(50, decline)
    qtbot.keyClicks(window.editor.text, " More.")
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert window.editor.dirty and git(root, "status", "--porcelain") == ""
    assert "More." not in (root / path).read_text()
    assert window.statusBar().currentMessage() == (
        "Not saved: no name or e-mail to sign your changes with yet (git has no identity either)."
    )
    assert window.interaction.last_box is None  # no box repeating the question just declined
    window.tasks.wait()


def test_settings_dialog_applies_live(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, kb)
    assert window.settings_ui.first_run is None  # Ana is known: no first-run question
    palette = window.show_palette()
    qtbot.keyClicks(palette.filter_edit, "settings")
    assert palette.rows()[0] == ("Settings…", "Ctrl+,")
    palette.reject()
    window.activateWindow()  # what the desktop does when the palette closes
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)

    qtbot.keyClick(window, Qt.Key.Key_Comma, CTRL)
    dialog = window.settings_ui.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.identity_fields.email_edit.text() == "ana@internal.example"
    assert dialog.font_size.value() == 11
    dialog.font_size.setValue(15)
    dialog.identity_fields.email_edit.clear()
    qtbot.keyClicks(dialog.identity_fields.email_edit, "ana@partner.example")
    qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert window.editor.text.font().pointSize() == 15  # no restart
    assert (kb.identity.email, kb.identity.org) == ("ana@partner.example", "partner")
    assert window.statusBar().currentMessage() == (
        "You commit as Ana Ribeiro <ana@partner.example> (partner)."
    )
    kb.create("runbook", "Rotate the keys")
    assert git(kb.root, "log", "-1", "--format=%ae") == "ana@partner.example"

    shown = window.show_settings("search_limit")  # the palette may name a setting
    assert shown is dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.search_limit)
    dialog.identity_fields.name_edit.setText("...")
    dialog.accept()
    assert dialog.isVisible() and "disallowed characters" in dialog.error_label.text()
    assert kb.identity.name == "Ana Ribeiro"  # refused: nothing changed
    dialog.reject()

    # A message written for the command line opens Settings at the setting instead.
    dialog.hide()
    window.interaction.notify(
        "jo@else.example matches no organisation of Test KB; set yours "
        "with 'kbapp settings organisation NAME'",
        Level.ERROR,
    )
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.identity_fields.org_combo)
    assert dialog.reason_label.text() == "jo@else.example matches no organisation of Test KB."
    assert window.interaction.last_box is None
    dialog.reject()
    window.tasks.wait()


def test_failed_commit_is_said_and_the_next_save_commits(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    path = kb.create("runbook", "Reset a VPN token").path
    hook = kb.root / ".git/hooks/pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'the team hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    window = open_window(qtbot, kb)
    head = git(kb.root, "rev-parse", "HEAD")

    edit_and_save(qtbot, window, path, "Typed while commits are refused.")
    message = window.statusBar().currentMessage()
    assert message.startswith("Saved to disk; not committed yet: ") and "hook says no" in message
    assert not window.editor.dirty  # saved: the file holds it
    assert "Typed while commits" in (kb.root / path).read_text()
    assert git(kb.root, "rev-parse", "HEAD") == head

    hook.unlink()
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)  # nothing new typed: commits what waits
    assert window.statusBar().currentMessage().startswith(f"Committed {path} (commit ")
    assert not window.editor.notice.isVisible()  # never "changed on disk" for its own write
    assert git(kb.root, "status", "--porcelain") == ""
    assert "Typed while commits" in git(kb.root, "show", f"HEAD:{path}")

    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    assert window.statusBar().currentMessage() == "Nothing to save."
    window.tasks.wait()


def test_start_screen_new_kb_asks_who_makes_the_first_commit(
    qtbot, no_identity: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A new user creates a knowledge base from the start screen: the first-run dialog asks
    (with the organisations typed offered), then the knowledge base is made by them."""
    from kbapp.ui.app import open_window_on
    from kbapp.ui.start_screen import StartWindow

    settings = Settings.load()
    start = StartWindow(settings, open_window_on)
    qtbot.addWidget(start)
    start.show()
    chooser = start.chooser
    chooser.new_folder_edit.setText(str(tmp_path / "ops"))
    chooser.new_orgs_edit.setText("internal=internal.example, partner=partner.example")
    asked: list[FirstRunDialog] = []

    def reply() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, FirstRunDialog):
            QTimer.singleShot(50, reply)
            return
        asked.append(dialog)
        assert dialog.fields.org_combo.findData("partner") > 0
        answer(qtbot, dialog, "Jo Okafor", "jo@partner.example")

    QTimer.singleShot(50, reply)
    with qtbot.waitSignal(chooser.chosen, timeout=30000):
        chooser.create_kb()
    assert asked and settings.user_email == "jo@partner.example"
    assert git(tmp_path / "ops", "log", "-1", "--format=%s by %an") == (
        "Create knowledge base: Operations knowledge base by Jo Okafor"
    )
    for window in QApplication.topLevelWidgets():
        if isinstance(window, MainWindow):
            window.tasks.wait()


def test_first_run_dialog_is_tall_enough_for_its_wrapped_text(qtbot, kb: Workspace) -> None:  # type: ignore[no-untyped-def]
    """Qt sizes a new window by its layout's minimum, which assumes wrapped labels may be as
    wide as they like: at 520 px the intro takes more lines and the organisation hint was cut
    off under a real window manager. The dialog is as tall as its width needs, at any font."""
    app = QApplication.instance()
    font = app.font()
    try:
        for points in (9, 13):
            bigger = app.font()
            bigger.setPointSize(points)
            app.setFont(bigger)
            dialog = FirstRunDialog(Settings(), kb.config, kb.root)
            qtbot.addWidget(dialog)
            dialog.show()
            qtbot.waitExposed(dialog)
            assert dialog.fields.org_hint.text()
            assert dialog.height() >= dialog.heightForWidth(dialog.width())
            hint = dialog.fields.org_hint
            assert hint.height() >= hint.heightForWidth(hint.width())
            dialog.close()
    finally:
        app.setFont(font)
