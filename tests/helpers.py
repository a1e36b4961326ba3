"""Plain helpers for tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kbapp.settings import Settings
from kbapp.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPORA = REPO_ROOT.parent / "shared" / "corpora"


def write_doc(workspace: Workspace, relative: str, text: str) -> Path:
    path = workspace.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> str:
    """Plain git, as a partner without kbapp would run it."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def push(clone: Path, pusher: str = "sam@partner.example") -> subprocess.CompletedProcess[str]:
    """``git push`` of a plain clone's HEAD to ``main`` as the server would see it: the hook
    knows who pushed."""
    env = dict(os.environ, KBAPP_PUSHER_EMAIL=pusher)
    return subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def commit_files(clone: Path, files: dict[str, str], message: str) -> None:
    """Write ``files`` (path -> text) in a plain clone and commit them all, ignored or not."""
    for relative, text in files.items():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(clone, "add", "-A", "-f")
    git(clone, "commit", "-q", "-m", message)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_kbapp(
    *argv: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m kbapp ARGS`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "kbapp", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


PARTNER = Settings(user_name="Jo Okafor", user_email="jo@partner.example")


@dataclass
class SharedRepo:
    """A bare shared repository and the kbapp clones of the two organisations."""

    remote: Path
    url: str
    tmp: Path
    ana: Workspace
    jo: Workspace
    opened: list[Workspace] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.opened += [self.ana, self.jo]

    def plain_clone(self, name: str = "sam") -> Path:
        """A third engineer of the partner with only the git command line."""
        target = self.tmp / name
        git(self.tmp, "clone", "-q", self.url, str(target))
        git(target, "config", "user.name", "Sam Plain")
        git(target, "config", "user.email", "sam@partner.example")
        return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitDaemon:
    """``git daemon --enable=receive-pack`` on 127.0.0.1 and a random free port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    "git",
                    "daemon",
                    "--reuseaddr",
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                    "--listen=127.0.0.1",
                    f"--port={self.port}",
                    f"--base-path={self.base}",
                    str(self.base),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("git daemon did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# --------------------------------------------------------------------------- two knowledge bases
# A shared one (with the partner) and an internal-only one: the `two` fixture in conftest.py.

SHARED_DOC = """---
id: kb-5a4ed001
title: Fail over the payments database
type: sop
status: published
owner_org: partner
---
# Fail over the payments database

Promote the replica, then repoint the payments service.
"""

INTERNAL_DOC = """---
id: kb-1a7e0001
title: Fail over to the secret site
type: runbook
status: published
sensitivity: internal
---
# Fail over to the secret site

Our own failover steps for payments, with the site's address.
"""

PLAIN_DOC = """---
id: kb-0de00001
title: Rotate the checkout certificates
type: runbook
status: published
---
# Rotate the checkout certificates

Renew before expiry; checkout breaks without it.
"""


@dataclass
class TwoKbs:
    shared: Workspace
    internal: Workspace


def commit_all(ws: Workspace, message: str = "add") -> None:
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", message)


# --------------------------------------------------------------------------- a small disk


class SmallDisk:
    """A real tmpfs of a few MB mounted for one test (root only): disk-full moments for real,
    no mocked ``write``. :meth:`fill` leaves exactly ``free`` bytes, :meth:`release` frees all."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / ".filler"

    def fill(self, free: int = 0) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (1 << 20, 1 << 16, 1 << 12):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)
        if free:
            size = self.filler.stat().st_size
            os.truncate(self.filler, max(0, size - free))

    def release(self) -> None:
        self.filler.unlink(missing_ok=True)


def killed_sync(root: object, crash_at: str | None = None, after: float | None = None) -> int:
    """``kbapp sync`` in its own process group, killed at a checkpoint or after a delay."""
    env = dict(os.environ)
    if crash_at:
        env["KBAPP_SYNC_CRASH_AT"] = crash_at
    process = subprocess.Popen(
        [sys.executable, "-m", "kbapp", "--kb", str(root), "sync", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if after is not None:
        time.sleep(after)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return process.wait(timeout=120)
