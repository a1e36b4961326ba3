"""kbapp's own exceptions: each carries one sentence a user can act on.

Faces (CLI, window) show ``str(error)``; ``details`` holds the underlying tool output
(git's stderr, a YAML parser message) for those who want it.
"""

from __future__ import annotations


class KbError(Exception):
    """A problem the user can understand and fix; never shown with a traceback."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class DocumentError(KbError):
    """A document cannot be read or written (bad YAML, binary, too large, ...)."""

    def __init__(
        self, message: str, *, path: str = "", line: int | None = None, details: str = ""
    ) -> None:
        where = path + (f":{line}" if line else "")
        super().__init__(f"{where}: {message}" if where else message, details)
        self.path = path
        self.line = line
        self.reason = message


class ConfigError(KbError):
    """The knowledge base's .kb/config.toml or the user's settings are unusable."""


class NotAKnowledgeBase(KbError):
    """The folder is missing, or is not a git repository kbapp can work in."""


class SyncError(KbError):
    """A git operation failed; ``details`` carries git's own message."""


class NoSharedRepository(SyncError):
    """Sync was asked for, but the knowledge base has no shared repository (remote) yet."""


class PolicyError(KbError):
    """A commit was refused by a local policy (secrets, sensitivity, conflict markers)."""


class SaveError(KbError):
    """A document could not be written: the disk is full, the folder is read-only, ...

    The file on disk is unchanged (saves are atomic). ``reason`` is one of ``disk-full``,
    ``read-only``, ``permission``, ``too-large``, ``changed-on-disk`` (the file changed after
    it was read: nothing written), ``other``; the window keeps the user's edit as
    a draft when it sees this, the CLI prints the message."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        reason: str = "other",
        details: str = "",
        written: bool = False,
        unfinished: bool = False,
    ) -> None:
        super().__init__(message, details)
        self.path = path
        self.reason = reason
        #: True when the new content is on disk but could not be committed (its journal stays
        #: and the next start or sync commits it).
        self.written = written
        #: True when git's index still holds part of the failed save (the file on disk is
        #: unchanged): the journal stays so that the next start puts the index right.
        self.unfinished = unfinished


class SettingNeeded(KbError):
    """kbapp needs one of the user's own settings before it can go on (``key``, as in
    ``kbapp settings KEY``); nothing was changed. The window opens its Settings dialog there."""

    def __init__(self, message: str, *, key: str, details: str = "") -> None:
        super().__init__(message, details)
        self.key = key


class IdentityMissing(SettingNeeded):
    """Neither kbapp's settings nor git say who the user is, so nothing can be committed;
    raised before anything is changed."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message, key="user_name", details=details)


class NotCommitted(KbError):
    """The file was written (atomically) but its commit failed: the change is kept on disk,
    pending, and the next save or sync commits it. ``result`` is what the save produced."""

    def __init__(self, message: str, *, result: object = None, details: str = "") -> None:
        super().__init__(message, details)
        self.result = result
