"""Credentials asked once, in the window, remembered by git: clone and sync through real
servers on 127.0.0.1 that ask for them, git's smart HTTP with Basic auth and sshd with a
passphrase-protected key. pytest-qt answers the dialog as the user would; git's ``store``
credential helper and ssh-agent remember what worked (kbapp keeps nothing). Without a window
or a terminal nothing is asked and nothing hangs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit
from servers import HttpGitServer, SshAgent, SshGitServer

from kbapp.settings import Settings
from kbapp.sync import sync
from kbapp.sync.git import NO_PROMPTS, CloneCancelled, Git, Prompting
from kbapp.ui.app import open_window_on
from kbapp.ui.askpass import CredentialDialog, askpass_server
from kbapp.ui.start_screen import StartWindow
from kbapp.workspace import Workspace

pytestmark = pytest.mark.gui


class Answers:
    """Answers each credential dialog with the next reply (None: Cancel), typing it."""

    def __init__(self, replies: list[str | None]) -> None:
        self.replies = list(replies)
        self.asked: list[tuple[str, bool]] = []  # (prompt, typed hidden)
        self.hints: list[str] = []  # what the dialog says under the field
        askpass_server().asked.connect(self._on_asked)

    def _on_asked(self, dialog: CredentialDialog) -> None:
        hidden = dialog.field.echoMode() == QLineEdit.EchoMode.Password
        self.asked.append((dialog.prompt, hidden))
        self.hints.append(dialog.findChild(QLabel, "hint").text())
        reply = self.replies.pop(0) if self.replies else None
        QTimer.singleShot(50, lambda: self._type(dialog, reply))

    @staticmethod
    def _type(dialog: CredentialDialog, reply: str | None) -> None:
        from PySide6.QtTest import QTest

        if reply is None:
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
            return
        QTest.keyClicks(dialog.field, reply)
        QTest.keyClick(dialog.field, Qt.Key.Key_Return)

    def close(self) -> None:
        askpass_server().asked.disconnect(self._on_asked)


@pytest.fixture
def answers() -> Iterator[list[Answers]]:
    made: list[Answers] = []
    yield made
    for one in made:
        one.close()


def shared_kb(tmp_path: Path, settings: Settings, bare: Path) -> Workspace:
    """Ana's knowledge base, pushed (over the file system) to ``bare``, which a server serves."""
    git(tmp_path, "init", "-q", "--bare", str(bare))
    ana = Workspace.init(
        tmp_path / "ana",
        "Shared KB",
        ["internal", "partner"],
        settings=settings,
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    ana.create("runbook", "Restart the payments API")
    git(ana.root, "remote", "add", "origin", str(bare))
    sync.sync(ana)
    return ana


def clone_from_start_screen(qtbot, settings: Settings, url: str, folder: Path) -> StartWindow:  # type: ignore[no-untyped-def]
    settings.fetch_interval_minutes = 0
    start = StartWindow(settings, open_window_on)
    qtbot.addWidget(start)
    start.show()
    chooser = start.chooser
    qtbot.mouseClick(chooser.clone_button, Qt.MouseButton.LeftButton)
    assert chooser.url_edit.hasFocus() or chooser.url_edit.isVisible()
    qtbot.keyClicks(chooser.url_edit, url)
    chooser.folder_edit.setText(str(folder))
    qtbot.keyClick(chooser.url_edit, Qt.Key.Key_Return)
    return start


def sync_in_window(qtbot, window) -> object:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.sync.synced, timeout=60000) as blocker:
        assert window.sync_now()
    return blocker.args[0]


def close_all(start: StartWindow) -> None:
    window = start.successor
    if window is not None:
        window.tasks.wait()
        window.close()
        window.workspace.close()


# --------------------------------------------------------------------------- smart HTTP


def test_http_clone_and_sync_ask_once_and_git_remembers(
    qtbot,
    tmp_path: Path,
    settings: Settings,
    http_git: HttpGitServer,  # type: ignore[no-untyped-def]
    credential_store: Path,
    answers: list[Answers],
) -> None:
    ana = shared_kb(tmp_path, settings, http_git.base / "kb.git")
    answers.append(Answers(["ana", "tok-3f9c"]))
    start = clone_from_start_screen(qtbot, settings, http_git.url("kb.git"), tmp_path / "jo")
    qtbot.waitUntil(lambda: start.successor is not None, timeout=60000)
    window = start.successor
    prompts = answers[0].asked
    assert [hidden for _prompt, hidden in prompts] == [False, True]  # user name seen, token hidden
    assert prompts[0][0].startswith("Username for 'http://127.0.0.1")
    assert "ana:tok-3f9c@127.0.0.1" in credential_store.read_text()  # git's helper stored it
    assert "credential helper (store) remembers" in answers[0].hints[1]
    assert window.workspace.root == tmp_path / "jo"
    assert str(tmp_path / "jo") == settings.knowledge_bases[0] == settings.default_kb

    # save and sync: pushed over HTTP with what git remembered, nothing asked again
    window.workspace.create("runbook", "Written by Jo over HTTP")
    report = sync_in_window(qtbot, window)
    assert not getattr(report, "offline", False)
    assert len(prompts) == 2
    log = git(http_git.base / "kb.git", "log", "--format=%s", "main")
    assert "Create: Written by Jo over HTTP" in log
    assert any(
        method == "POST" and path.endswith("git-receive-pack") and status == 200
        for method, path, status in http_git.requests
    )
    close_all(start)
    ana.close()


def test_http_wrong_password_says_so_and_keeps_nothing(
    qtbot,
    tmp_path: Path,
    settings: Settings,
    http_git: HttpGitServer,  # type: ignore[no-untyped-def]
    credential_store: Path,
    answers: list[Answers],
) -> None:
    shared_kb(tmp_path, settings, http_git.base / "kb.git").close()
    answers.append(Answers(["ana", "wrong"]))
    start = clone_from_start_screen(qtbot, settings, http_git.url("kb.git"), tmp_path / "jo")
    chooser = start.chooser
    qtbot.waitUntil(lambda: not chooser.busy and chooser.status.text() != "", timeout=60000)
    assert "refused your credentials" in chooser.status.text()
    assert "password or token" in chooser.status.text()
    assert start.successor is None and not (tmp_path / "jo").exists()
    assert not credential_store.exists() or "wrong" not in credential_store.read_text()
    start.close()


def test_cancelling_the_dialog_cancels_the_clone_cleanly(
    qtbot,
    tmp_path: Path,
    settings: Settings,
    http_git: HttpGitServer,  # type: ignore[no-untyped-def]
    answers: list[Answers],
) -> None:
    shared_kb(tmp_path, settings, http_git.base / "kb.git").close()
    answers.append(Answers([None]))
    start = clone_from_start_screen(qtbot, settings, http_git.url("kb.git"), tmp_path / "jo")
    chooser = start.chooser
    qtbot.waitUntil(lambda: not chooser.busy and chooser.status.text() != "", timeout=60000)
    assert chooser.status.text().startswith("Cancelled")
    assert len(answers[0].asked) == 1
    assert "no credential helper" in answers[0].hints[0]  # no helper: asked at each sync
    assert not (tmp_path / "jo").exists()
    start.close()


def test_cli_without_a_terminal_never_asks_and_never_hangs(
    tmp_path: Path, settings: Settings, http_git: HttpGitServer
) -> None:
    shared_kb(tmp_path, settings, http_git.base / "kb.git").close()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kbapp", "clone", http_git.url("kb.git"), str(tmp_path / "jo")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no terminal or window to ask you" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 30 and not (tmp_path / "jo").exists()


def test_console_prompting_follows_the_terminal() -> None:
    """``kbapp`` in a terminal lets git and ssh ask there (as plain git does); otherwise
    nothing may ask and ssh runs in batch mode."""
    from kbapp.sync.git import network_env

    terminal = network_env(Prompting(terminal=True))
    assert terminal["GIT_TERMINAL_PROMPT"] == "1" and "BatchMode" not in terminal.get(
        "GIT_SSH_COMMAND", ""
    )
    quiet = network_env(NO_PROMPTS)
    assert (
        quiet.get("GIT_TERMINAL_PROMPT", "0") == "0" and "BatchMode=yes" in quiet["GIT_SSH_COMMAND"]
    )
    window = network_env(Prompting(askpass="/x/kbapp-askpass", env={"KBAPP_ASKPASS_TOKEN": "t"}))
    assert window["GIT_ASKPASS"] == window["SSH_ASKPASS"] == "/x/kbapp-askpass"
    assert window["SSH_ASKPASS_REQUIRE"] == "force" and window["KBAPP_ASKPASS_TOKEN"] == "t"
    assert network_env(NO_PROMPTS, own_ssh=True).get("GIT_SSH_COMMAND") is None


# --------------------------------------------------------------------------- progress


def test_clone_reports_git_progress_and_cancel_keeps_nothing(tmp_path: Path) -> None:
    source = tmp_path / "source"
    git(tmp_path, "init", "-q", str(source))
    for number in range(400):
        (source / f"doc-{number}.md").write_text(
            f"# Doc {number}\n\n" + "text " * 200 * (number % 7 + 1)
        )
    git(source, "add", ".")
    git(source, "commit", "-qm", "many")
    url = (source / ".git").as_uri()  # file:// uses the pack protocol, with progress
    seen: list[tuple[str, int, int]] = []
    Git.clone(url, tmp_path / "copy", progress=lambda *args: seen.append(args))
    stages = {stage for stage, _done, _total in seen}
    assert "Receiving objects" in stages
    assert any(stage == "Receiving objects" and done == total > 0 for stage, done, total in seen)
    assert (tmp_path / "copy" / "doc-399.md").is_file()

    with pytest.raises(CloneCancelled, match="cancelled"):
        Git.clone(
            url,
            tmp_path / "cancelled",
            progress=lambda *args: seen.append(args),
            cancelled=lambda: len(seen) > 0,
        )
    assert not (tmp_path / "cancelled").exists()


# --------------------------------------------------------------------------- ssh


@pytest.fixture
def ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SshAgent]:
    agent = SshAgent(tmp_path)
    agent.start()
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.socket))
    yield agent
    agent.stop()


def use_ssh_config(home: Path, server: SshGitServer) -> None:
    """The user's own ssh settings for the server (as in ~/.ssh/config), through git."""
    with (home / "gitconfig").open("a") as config:
        config.write(f"[core]\n\tsshCommand = ssh -F {server.ssh_config}\n")


def test_ssh_clone_and_sync_ask_the_passphrase_once(
    qtbot,
    tmp_path: Path,
    settings: Settings,
    ssh_git: SshGitServer,  # type: ignore[no-untyped-def]
    ssh_agent: SshAgent,
    _fresh_settings: Path,
    answers: list[Answers],
) -> None:
    """The key's passphrase is asked once in the window; ssh then keeps the key unlocked in
    the user's ssh-agent (``AddKeysToAgent yes`` in their ssh config) and the sync that follows
    asks nothing. (Without an agent ssh asks once per connection, each sync.)"""
    bare = tmp_path / "ssh-served" / "kb.git"
    bare.parent.mkdir()
    ana = shared_kb(tmp_path, settings, bare)
    use_ssh_config(_fresh_settings, ssh_git)
    answers.append(Answers(["open sesame"]))
    start = clone_from_start_screen(qtbot, settings, ssh_git.url(bare), tmp_path / "jo")
    qtbot.waitUntil(
        lambda: (
            start.successor is not None
            or (not start.chooser.busy and start.chooser.status.text() != "")
        ),
        timeout=60000,
    )
    assert start.successor is not None, start.chooser.status.text()
    prompts = answers[0].asked
    assert len(prompts) == 1 and "passphrase" in prompts[0][0] and prompts[0][1]
    assert "kbapp-test" in ssh_agent.listed_keys() or "ED25519" in ssh_agent.listed_keys()
    window = start.successor
    window.workspace.create("runbook", "Written by Jo over SSH")
    sync_in_window(qtbot, window)
    assert len(prompts) == 1
    assert "Create: Written by Jo over SSH" in git(bare, "log", "--format=%s", "main")
    close_all(start)
    ana.close()


def test_ssh_wrong_passphrase_says_so(
    qtbot,
    tmp_path: Path,
    settings: Settings,
    ssh_git: SshGitServer,  # type: ignore[no-untyped-def]
    _fresh_settings: Path,
    answers: list[Answers],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    bare = tmp_path / "ssh-served" / "kb.git"
    bare.parent.mkdir()
    shared_kb(tmp_path, settings, bare).close()
    use_ssh_config(_fresh_settings, ssh_git)
    answers.append(Answers(["not it", "not it either"]))
    start = clone_from_start_screen(qtbot, settings, ssh_git.url(bare), tmp_path / "jo")
    chooser = start.chooser
    qtbot.waitUntil(lambda: not chooser.busy and chooser.status.text() != "", timeout=60000)
    assert "refused your credentials" in chooser.status.text(), chooser.status.text()
    assert "passphrase" in chooser.status.text()
    assert answers[0].asked and not (tmp_path / "jo").exists()
    start.close()
