"""The window's side of ``kbapp-askpass`` (:mod:`kbapp.sync.askpass`): git and ssh ask for a
credential, the window shows a small dialog and answers.

One :class:`AskpassServer` per application listens on a :class:`QLocalServer` with a random
name (a Unix socket only this user may open, a named pipe on Windows) and checks a random
token on every request. :meth:`AskpassServer.prompting` is the :class:`~kbapp.sync.git.Prompting`
that the window gives its workspaces and clones, so that git's environment names the askpass
program, the server and the token. Answers are never kept here: git's credential helper stores
what worked (``credential.helper``), ssh-agent keeps a key unlocked (``AddKeysToAgent``).
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kbapp.sync import askpass
from kbapp.sync.git import NO_PROMPTS, Prompting
from kbapp.ui import dialog_parts

_LIMIT = 64 * 1024


def is_question(prompt: str) -> bool:
    """ssh's "Are you sure you want to continue connecting (yes/no/[fingerprint])?"."""
    return "(yes/no" in prompt


def is_secret(prompt: str) -> bool:
    """Everything but a user name and a yes/no question is typed hidden: passwords, tokens,
    passphrases, PINs, one-time codes."""
    lowered = prompt.lower()
    return not (lowered.startswith("username") or "user name" in lowered or is_question(prompt))


def credential_hint(prompt: str, helper: str = "") -> str:
    """What the note under the field says: what is kept of the answer, and where."""
    if is_question(prompt):
        return "Answer Yes only if this is the shared repository's server."
    if "passphrase" in prompt.lower():
        return (
            "kbapp keeps nothing; with 'AddKeysToAgent yes' in your ssh configuration, "
            "ssh-agent keeps the key unlocked until you log out."
        )
    if helper:
        return f"git's credential helper ({helper}) remembers what works; kbapp keeps nothing."
    return (
        "kbapp keeps nothing, and git has no credential helper, so you will be asked "
        "at each sync; to be asked once: git config --global credential.helper "
        "libsecret (or store, osxkeychain, manager)."
    )


class CredentialDialog(QDialog):
    """One question from git or ssh: its prompt, a field (hidden for secrets), OK/Cancel; for
    a host key question, Yes/No."""

    def __init__(self, prompt: str, parent: QWidget | None = None, helper: str = "") -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.setObjectName("credentialDialog")
        self.setWindowTitle(
            "Sign in to the shared repository"
            if not is_question(prompt)
            else "Connect to the shared repository?"
        )
        self.setModal(True)
        layout = QVBoxLayout(self)
        self.label = QLabel(prompt.strip().rstrip(":").strip())
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label)
        self.field = QLineEdit()
        self.field.setObjectName("credentialField")
        self.field.setMinimumWidth(360)
        buttons = self._create_buttons()
        layout.addWidget(self.field)
        layout.addWidget(dialog_parts.hint_label(credential_hint(prompt, helper)))
        layout.addWidget(buttons)
        #: The answer given, None when cancelled (set when the dialog closes).
        self.answer: str | None = None

    def _create_buttons(self) -> QDialogButtonBox:
        """Yes/No for a host key question, else OK/Cancel (the field hidden for a secret)."""
        buttons = QDialogButtonBox()
        if is_question(self.prompt):
            self.field.hide()
            self.yes = buttons.addButton(QDialogButtonBox.StandardButton.Yes)
            buttons.addButton(QDialogButtonBox.StandardButton.No)
            self.yes.clicked.connect(lambda: self._answer("yes"))
        else:
            if is_secret(self.prompt):
                self.field.setEchoMode(QLineEdit.EchoMode.Password)
            buttons.addButton(QDialogButtonBox.StandardButton.Ok)
            buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
            buttons.accepted.connect(lambda: self._answer(self.field.text()))
        buttons.rejected.connect(self.reject)
        return buttons

    def _answer(self, text: str) -> None:
        self.answer = text
        self.accept()


class AskpassServer(QObject):
    """Answers ``kbapp-askpass`` requests with a :class:`CredentialDialog` each."""

    #: A dialog was shown (tests answer it; the window needs nothing).
    asked = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = secrets.token_hex(24)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_new_connection)
        self.listening = self.server.listen(f"kbapp-askpass-{uuid.uuid4().hex}")
        self.program = askpass.program() if self.listening else ""
        self.dialogs: list[CredentialDialog] = []

    def prompting(self) -> Prompting:
        """How git run by this window asks for credentials: through this server."""
        if not self.listening or not self.program:
            return NO_PROMPTS
        return Prompting(
            askpass=self.program,
            env={askpass.ADDRESS_ENV: self.server.fullServerName(), askpass.TOKEN_ENV: self.token},
        )

    def close(self) -> None:
        self.server.close()

    def credential_helper(self) -> str:
        """git's configured ``credential.helper`` ("" when none), to say in the dialog."""
        import subprocess
        import tempfile

        try:
            done = subprocess.run(
                ["git", "config", "--get-all", "credential.helper"],
                cwd=tempfile.gettempdir(),
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        helpers = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
        return helpers[-1] if helpers else ""

    def _on_new_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            buffer = bytearray()
            socket.readyRead.connect(lambda s=socket, b=buffer: self._on_ready_read(s, b))
            socket.disconnected.connect(socket.deleteLater)

    def _on_ready_read(self, socket: QLocalSocket, buffer: bytearray) -> None:
        buffer.extend(bytes(socket.readAll().data()))
        if b"\n" not in buffer:
            if len(buffer) > _LIMIT:
                socket.abort()
            return
        line = bytes(buffer).split(b"\n", 1)[0]
        buffer.clear()
        try:
            request = json.loads(line.decode("utf-8"))
            token, prompt = str(request["token"]), str(request["prompt"])
        except (ValueError, KeyError, TypeError):
            socket.abort()
            return
        if not hmac.compare_digest(token, self.token):
            socket.abort()
            return
        self._ask(socket, prompt)

    def _ask(self, socket: QLocalSocket, prompt: str) -> None:
        dialog = CredentialDialog(prompt, QApplication.activeWindow(), self.credential_helper())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialogs.append(dialog)

        def finished(_result: int) -> None:
            if dialog in self.dialogs:
                self.dialogs.remove(dialog)
            if (
                shiboken6.isValid(socket)
                and socket.state() == QLocalSocket.LocalSocketState.ConnectedState
            ):
                reply = {"answer": dialog.answer} if dialog.answer is not None else {}
                socket.write((json.dumps(reply) + "\n").encode("utf-8"))
                socket.flush()
                socket.disconnectFromServer()

        def gone() -> None:  # git gave up (timeout, cancelled clone): so does the question
            if shiboken6.isValid(dialog) and dialog.isVisible():
                dialog.reject()

        dialog.finished.connect(finished)
        socket.disconnected.connect(gone)
        dialog.open()
        dialog.field.setFocus()
        self.asked.emit(dialog)


_server: AskpassServer | None = None


def askpass_server() -> AskpassServer:
    """The application's one server (made on first use, lives as long as the application)."""
    global _server
    if _server is None or not shiboken6.isValid(_server):
        _server = AskpassServer(QApplication.instance())
    return _server
