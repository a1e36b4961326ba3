"""``kbapp-askpass``: the program git and ssh run to ask for a credential (``GIT_ASKPASS``,
``SSH_ASKPASS``), the way git-cola ships ``share/git-cola/bin/ssh-askpass`` and GitHub
Desktop its askpass trampoline.

git (a user name, a password or token) and ssh (a key's passphrase, a host key question) call
it with the prompt as the only argument and read the answer from its stdout. It does not ask
anyone itself: it forwards the prompt to the kbapp window that started git, over the local
socket (a Unix socket, or a named pipe on Windows) named in ``KBAPP_ASKPASS_ADDRESS``, with the
one-time ``KBAPP_ASKPASS_TOKEN`` that proves it was started by that window's git. The window
shows a small dialog and answers; git's configured credential helper (``credential.helper``:
store, libsecret, osxkeychain, manager) stores what worked. kbapp stores nothing.

Exit status 0 with the answer on stdout; 1 when the user cancelled or the window is gone (then
it prints :data:`CANCELLED` on stderr, which git passes on, so kbapp says "cancelled" rather
than "wrong password"). Standard library only: it starts in a few milliseconds.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence

ADDRESS_ENV = "KBAPP_ASKPASS_ADDRESS"
TOKEN_ENV = "KBAPP_ASKPASS_TOKEN"
#: Printed on stderr when nobody answered; :func:`kbapp.sync.git.remote_error` looks for it.
CANCELLED = "kbapp-askpass: cancelled by the user"
_LIMIT = 64 * 1024


def ask(prompt: str, address: str, token: str) -> str | None:
    """Send ``prompt`` to the window listening at ``address``; its answer, or None when the
    user cancelled."""
    request = (json.dumps({"token": token, "prompt": prompt}) + "\n").encode("utf-8")
    if address.startswith("\\\\.\\pipe\\"):  # Windows: QLocalServer is a named pipe
        with open(address, "r+b", buffering=0) as pipe:
            pipe.write(request)
            reply = _read_line(pipe.read)
    else:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(address)
            sock.sendall(request)
            reply = _read_line(sock.recv)
    answer = json.loads(reply.decode("utf-8")) if reply else {}
    value = answer.get("answer") if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None


def _read_line(read: object) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < _LIMIT:
        chunk = read(4096)  # type: ignore[operator]
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def program() -> str:
    """The executable to name in ``GIT_ASKPASS``/``SSH_ASKPASS`` (both run it directly, with
    no shell, so it must be a program: the ``kbapp-askpass`` console script pip installs next
    to this Python, an ``.exe`` on Windows). From a checkout run without installing, a small
    ``sh`` wrapper that runs this module with this Python is written to the data folder
    (not possible on Windows: there the result is "" and git cannot ask)."""
    import shutil
    import sysconfig
    from pathlib import Path

    name = "kbapp-askpass.exe" if os.name == "nt" else "kbapp-askpass"
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    if os.name == "nt":
        return ""
    from kbapp.settings import data_dir

    wrapper = data_dir() / "bin" / "kbapp-askpass"
    # the folder holding the kbapp package, so that the module is found even uninstalled
    top = Path(__spec__.origin).resolve().parent.parent if __spec__ and __spec__.origin else ""
    text = (
        f"#!/bin/sh\nPYTHONPATH='{top}'${{PYTHONPATH:+:$PYTHONPATH}}\nexport PYTHONPATH\n"
        f"exec '{sys.executable}' -m kbapp.sync.askpass \"$@\"\n"
    )
    try:
        if not wrapper.is_file() or wrapper.read_text() != text:
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            wrapper.write_text(text)
            wrapper.chmod(0o755)
    except OSError:
        return ""
    return str(wrapper)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    prompt = " ".join(args) if args else "Password: "
    address, token = os.environ.get(ADDRESS_ENV, ""), os.environ.get(TOKEN_ENV, "")
    if not address or not token:
        print("kbapp-askpass: not started by kbapp (no window to ask)", file=sys.stderr)
        print(CANCELLED, file=sys.stderr)
        return 1
    try:
        answer = ask(prompt, address, token)
    except (OSError, ValueError) as exc:
        print(f"kbapp-askpass: the kbapp window did not answer ({exc})", file=sys.stderr)
        answer = None
    if answer is None:
        print(CANCELLED, file=sys.stderr)
        return 1
    sys.stdout.write(answer + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
