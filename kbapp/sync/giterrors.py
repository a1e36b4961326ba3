"""What a failed git command means, in one sentence: git's first error line, and a failed
fetch, push or clone classified as offline, refused credentials, cancelled or other
(:class:`RemoteError`). Part of the git gateway (:mod:`kbapp.sync.git`, which re-exports it)."""

from __future__ import annotations

from collections.abc import Sequence

from kbapp.errors import SyncError


def _first_error_line(stderr: str, args: Sequence[str]) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.lower().startswith(("fatal:", "error:")):
            return "git " + args[0] + ": " + line.split(":", 1)[1].strip()
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"git {args[0]} failed" + (f": {lines[-1].strip()}" if lines else "")


#: What git prints when the remote cannot be reached at all (as opposed to refusing us).
_OFFLINE_HINTS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "timed out",
    "network is unreachable",
    "no route to host",
    "unable to connect",
    "failed to connect",
    "could not connect",
    "connection reset",
    "name or service not known",
    "temporary failure in name resolution",
    "the remote end hung up unexpectedly",
)
_AUTH_HINTS = (
    "authentication failed",
    "permission denied",
    "could not read username",
    "terminal prompts disabled",
    "returned error: 403",
    "returned error: 401",
    "access denied",
    "not authorized",
    "invalid credentials",
    "host key verification failed",
)


class RemoteError(SyncError):
    """Talking to the remote failed; ``kind`` is ``offline``, ``auth`` or ``other``."""

    def __init__(self, message: str, details: str = "", kind: str = "other") -> None:
        super().__init__(message, details)
        self.kind = kind


def remote_error(action: str, stderr: str) -> RemoteError:
    """One clear sentence for a failed fetch/push/clone, git's own words in ``details``."""
    from kbapp.sync.askpass import CANCELLED

    text = stderr.lower()
    if CANCELLED in stderr:
        return RemoteError(
            f"Cancelled: no credentials were given, so nothing was done ({action})",
            stderr.strip(),
            "cancelled",
        )
    if (
        "terminal prompts disabled" in text
        or "could not read username" in text
        or "could not read password" in text
    ):
        return RemoteError(
            f"The shared repository refused your credentials ({action}): it asks for a user "
            "name and password or token, and there is no terminal or window to ask you; run "
            "kbapp in a terminal or its window, or let git's credential helper remember them",
            stderr.strip(),
            "auth",
        )
    if (
        "does not appear to be a git repository" in text
        or "not exported" in text
        or "repository not found" in text
        or "no such file or directory" in text
    ):
        return RemoteError(
            f"The shared repository was not found ({action}); check its address", stderr.strip()
        )
    if any(hint in text for hint in _AUTH_HINTS):
        return RemoteError(
            f"The shared repository refused your credentials ({action}): the user name, "
            "password or token, or the SSH key or its passphrase, was not accepted; check them "
            "and try again",
            stderr.strip(),
            "auth",
        )
    if any(hint in text for hint in _OFFLINE_HINTS):
        if action == "clone":  # nothing of yours is here yet to keep
            return RemoteError(
                "The shared repository cannot be reached (clone); check its address and your "
                "network, then try again",
                stderr.strip(),
                "offline",
            )
        return RemoteError(
            f"The shared repository cannot be reached ({action}); your work is kept here and "
            "goes out at the next sync",
            stderr.strip(),
            "offline",
        )
    return RemoteError(_first_error_line(stderr, [action]), stderr.strip())
