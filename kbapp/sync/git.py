"""The one gateway to git (git-cola's ``git.py``).

Every git operation in kbapp goes through :class:`Git`: it runs git in the repository with a
controlled environment (no pager, no prompts, C locale for parseable messages, the user's
identity), serialises writes with a lock that also holds across processes (the window and the
CLI on the same repository), logs timing when ``KBAPP_GIT_TRACE`` is set, and turns
``git.GitCommandError`` into :class:`~kbapp.errors.SyncError` carrying git's own stderr.

The gateway is one class assembled from its parts, each a module of its own: running git and
the write lock (:mod:`kbapp.sync.gitrun`), the queries (:mod:`kbapp.sync.gitquery`: history,
files, blobs, refs), the writes and repairs (:mod:`kbapp.sync.gitwrite`: commit, snapshot,
stale locks); cloning (here, with :mod:`kbapp.sync.gitclone`) and git's environment, errors
and log format (:mod:`kbapp.sync.gitenv`, :mod:`kbapp.sync.giterrors`, :mod:`kbapp.sync.gitlog`).
Everything else imports from here.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kbapp.errors import SyncError
from kbapp.sync.gitclone import CloneCancelled as CloneCancelled
from kbapp.sync.gitclone import CloneProgress as CloneProgress
from kbapp.sync.gitclone import _read_progress, _remove_partial_clone
from kbapp.sync.gitenv import _BASE_ENV
from kbapp.sync.gitenv import NO_PROMPTS as NO_PROMPTS
from kbapp.sync.gitenv import GitIdentity as GitIdentity
from kbapp.sync.gitenv import Identity as Identity
from kbapp.sync.gitenv import Prompting as Prompting
from kbapp.sync.gitenv import git_identity as git_identity
from kbapp.sync.gitenv import network_env as network_env
from kbapp.sync.giterrors import RemoteError as RemoteError
from kbapp.sync.giterrors import remote_error as remote_error
from kbapp.sync.gitlog import FileChange as FileChange
from kbapp.sync.gitlog import LogEntry as LogEntry
from kbapp.sync.gitlog import parse_log as parse_log
from kbapp.sync.gitquery import IgnoreRule as IgnoreRule
from kbapp.sync.gitrun import LITERAL as LITERAL
from kbapp.sync.gitrun import GitResult as GitResult
from kbapp.sync.gitrun import find_root as find_root
from kbapp.sync.gitwrite import GitWrites


class Git(GitWrites):
    """git for one repository: the one gateway. Thread-safe; writes are serialised (see
    :meth:`~kbapp.sync.gitrun.GitRunner.write_lock`). Its methods come from its parts
    (:class:`~kbapp.sync.gitrun.GitRunner`, :class:`~kbapp.sync.gitquery.GitQueries`,
    :class:`~kbapp.sync.gitwrite.GitWrites`); cloning, which needs no repository yet, is here."""

    @staticmethod
    def clone(
        url: str,
        path: Path,
        timeout: float = 600,
        *,
        prompting: Prompting = NO_PROMPTS,
        progress: CloneProgress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """``git clone --progress URL PATH``; raises :class:`RemoteError` with git's message.

        ``progress(stage, done, total)`` hears git's progress lines ("Receiving objects", 45,
        100), parsed by GitPython's :class:`~git.RemoteProgress`. When ``cancelled()`` becomes
        true git is stopped and what it had written is removed (:class:`CloneCancelled`)."""
        target = Path(path)
        existed = target.exists()
        env = dict(os.environ)
        env.update(_BASE_ENV)
        global_ssh = subprocess.run(
            ["git", "config", "--get", "core.sshCommand"],
            env=env,
            cwd=tempfile.gettempdir(),  # the user's config, no repository's
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        env.update(network_env(prompting, own_ssh=bool(global_ssh)))
        try:
            process = subprocess.Popen(
                ["git", "clone", "--progress", "--", url, str(target)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed or not on PATH") from None
        lines: list[str] = []
        reader = threading.Thread(
            target=_read_progress, args=(process, lines, progress), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + timeout
        stopped = ""
        while process.poll() is None:
            if cancelled is not None and cancelled():
                stopped = "cancelled"
            elif time.monotonic() > deadline:
                stopped = "timeout"
            if stopped:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                break
            time.sleep(0.05)
        reader.join(5)
        if process.stderr is not None:
            process.stderr.close()
        stderr = "\n".join(lines)
        if stopped or process.returncode != 0:
            _remove_partial_clone(target, existed)
        if stopped == "cancelled":
            raise CloneCancelled("Cloning was cancelled; nothing was kept", stderr)
        if stopped == "timeout":
            raise RemoteError(
                f"git clone did not finish within {timeout:.0f} s; nothing was kept",
                stderr,
                "offline",
            )
        if process.returncode != 0:
            raise remote_error("clone", stderr)


def merge_file(
    base: bytes,
    mine: bytes,
    theirs: bytes,
    *,
    labels: Sequence[str] = ("mine", "base", "theirs"),
    favor: str | None = None,
) -> tuple[bytes, int]:
    """git's three-way line merge of three texts (``git merge-file -p``), outside any repository.

    Returns the merged bytes and the number of conflicts left (marked with ``labels``);
    ``favor="ours"|"theirs"`` resolves every conflict to that side instead (no markers)."""
    with tempfile.TemporaryDirectory(prefix="kbapp-merge-") as folder:
        names = []
        for name, data in (("mine", mine), ("base", base), ("theirs", theirs)):
            (Path(folder) / name).write_bytes(data)
            names.append(name)
        args = ["git", "merge-file", "-p"]
        if favor:
            args.append(f"--{favor}")
        for label in labels:
            args += ["-L", label]
        env = dict(os.environ)
        env.update(_BASE_ENV)
        done = subprocess.run(
            [*args, *names], cwd=folder, env=env, capture_output=True, timeout=120, check=False
        )
    if done.returncode < 0 or done.returncode > 127:
        raise SyncError("git merge-file failed", details=done.stderr.decode("utf-8", "replace"))
    return done.stdout, done.returncode
