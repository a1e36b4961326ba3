"""A clone's progress and cancellation: git's progress meter read from its stderr, and a
partial clone removed when the user stops it. :meth:`Git.clone <kbapp.sync.git.Git.clone>`
runs git; :mod:`kbapp.sync.git` re-exports these names."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from kbapp.errors import SyncError

#: ``progress(stage, done, total)`` during a clone: git's stage ("Receiving objects") and counts.
CloneProgress = Callable[[str, int, int], None]


class CloneCancelled(SyncError):
    """The user stopped a clone; nothing of it was kept."""


def _read_progress(
    process: subprocess.Popen[bytes], lines: list[str], progress: CloneProgress | None
) -> None:
    """Read git's stderr, split at the carriage returns of its progress meter; progress lines go
    to ``progress``, the rest (errors, hints, "Cloning into") is kept in ``lines``."""
    from git.remote import RemoteProgress

    class _Relay(RemoteProgress):
        def update(
            self,
            op_code: int,
            cur_count: str | float,
            max_count: str | float | None = None,
            message: str = "",
        ) -> None:
            if progress is None:
                return
            stage = _stage_names().get(op_code & RemoteProgress.OP_MASK, "")
            total = int(float(max_count or 0))
            progress(stage, int(float(cur_count or 0)), total)

    relay = _Relay()
    handle = relay.new_message_handler()
    assert process.stderr is not None
    buffer = b""
    while True:
        chunk = (
            process.stderr.read1(4096)
            if hasattr(process.stderr, "read1")
            else process.stderr.read(4096)
        )
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = re.split(rb"[\r\n]", buffer)
        for raw in complete:
            line = raw.decode("utf-8", "replace")
            if line.strip():
                handle(line)
    if buffer.strip():
        handle(buffer.decode("utf-8", "replace"))
    lines.extend(relay.error_lines + relay.other_lines)


def _remove_partial_clone(target: Path, existed: bool) -> None:
    if not target.exists():
        return
    if existed:  # an empty folder the user chose: leave it, empty
        for child in target.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    else:
        shutil.rmtree(target, ignore_errors=True)


@functools.cache
def _stage_names() -> dict[int, str]:
    """git's progress stages by GitPython's codes (asked on the first clone: a search never
    loads GitPython)."""
    from git.remote import RemoteProgress as P

    return {
        P.COUNTING: "Counting objects",
        P.COMPRESSING: "Compressing objects",
        P.RECEIVING: "Receiving objects",
        P.RESOLVING: "Resolving deltas",
        P.FINDING_SOURCES: "Finding sources",
        P.CHECKING_OUT: "Updating files",
        P.WRITING: "Writing objects",
    }
