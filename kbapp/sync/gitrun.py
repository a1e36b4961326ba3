"""Running git: the part of the gateway (:class:`kbapp.sync.git.Git`) that starts git.

:class:`GitRunner` runs ``git <args>`` in the repository with kbapp's environment (no pager, no
prompts, C locale, the user's identity, mailmap off), logs timing when ``KBAPP_GIT_TRACE`` is
set, turns git's failures into :class:`~kbapp.errors.SyncError` and holds the write lock. The
queries (:mod:`kbapp.sync.gitquery`) and the writes (:mod:`kbapp.sync.gitwrite`) build on its
:meth:`~GitRunner.run`; use :class:`kbapp.sync.git.Git`, which has them all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kbapp.errors import NotAKnowledgeBase, SyncError
from kbapp.fsutil import save_error, write_failed_for_space
from kbapp.sync.gitenv import (
    _BASE_ENV,
    _NO_MAILMAP,
    NO_PROMPTS,
    Identity,
    _encoding_options,
    _refuse_mailmap,
    network_env,
)
from kbapp.sync.giterrors import _first_error_line
from kbapp.sync.gitroot import find_root as find_root
from kbapp.sync.gitroot import gitpython_module, plain_git_dir

if TYPE_CHECKING:
    import git as gitpython_types
    from filelock import FileLock

log = logging.getLogger(__name__)
_TRACE = bool(os.environ.get("KBAPP_GIT_TRACE"))

#: Paths kbapp passes to git are file names, never pathspecs: a partner's file named
#: ``:(glob)x.md``, ``*.md`` or ``a[b].md`` means itself.
LITERAL = "--literal-pathspecs"

#: A list of paths passed on stdin (:func:`_nul_list`), never on the command line.
_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


def _nul_list(paths: Sequence[str]) -> str:
    return "".join(f"{p}\0" for p in paths)


@dataclass(frozen=True)
class GitResult:
    status: int
    stdout: str
    stderr: str


class GitRunner:
    """Runs git for one repository; a part of :class:`kbapp.sync.git.Git`, which is what the
    rest of kbapp makes. Thread-safe; writes are serialised (see :meth:`write_lock`)."""

    def __init__(
        self, root: Path, identity: Identity | Callable[[], Identity] | None = None
    ) -> None:
        """``identity`` may be a function, asked on first use (finding it can run git)."""
        self.root = Path(root)
        self._repo: gitpython_types.Repo | None = None
        plain = plain_git_dir(self.root)
        self.git_dir = plain if plain is not None else Path(self.repo.git_dir)
        self._identity: Identity | None = None
        self._identity_source: Callable[[], Identity] | None = None
        if callable(identity):
            self._identity_source = identity
        else:
            self._identity = identity or Identity("", "")
        #: How a fetch or push may ask for credentials (the window and the CLI set it).
        self.prompting = NO_PROMPTS
        self._thread_lock = threading.RLock()
        self._lock_depth = 0
        self._lock_file: FileLock | None = None

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            assert self._identity_source is not None
            self._identity = self._identity_source()
        return self._identity

    @identity.setter
    def identity(self, value: Identity) -> None:
        self._identity = value

    @property
    def repo(self) -> gitpython_types.Repo:
        """GitPython's repository object, made on first use."""
        if self._repo is None:
            gitpython = gitpython_module()
            try:
                self._repo = gitpython.Repo(self.root)
            except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
                raise NotAKnowledgeBase(f"{self.root} is not a git repository") from None
        return self._repo

    @staticmethod
    def init_repository(root: Path, bare: bool = False) -> None:
        """``git init`` with ``main`` as the first branch."""
        gitpython = gitpython_module()
        try:
            gitpython.Repo.init(root, bare=bare, initial_branch="main")
        except gitpython.GitCommandError as exc:
            raise SyncError(f"git init failed in {root}", details=str(exc.stderr)) from None

    # ------------------------------------------------------------------ running git

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        input: str | bytes | None = None,  # noqa: A002 - mirrors subprocess
        strip: bool = True,
        timeout: float | None = None,
    ) -> GitResult:
        """Run ``git <args>`` in the repository. Raises :class:`SyncError` when git fails and
        ``check`` is true; the message is git's first error line, ``details`` all of stderr."""
        gitpython = gitpython_module()
        full_env = dict(_BASE_ENV)
        full_env.update(self.identity.env())
        if env:
            full_env.update(env)
        _refuse_mailmap(args)
        command = [
            "git",
            *_NO_MAILMAP,
            *_encoding_options(args),
            *self.identity.config_args(),
            *args,
        ]
        started = time.perf_counter()
        stdin = None
        try:
            if input is not None:  # Popen needs a real file for stdin
                stdin = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
                stdin.write(input.encode("utf-8") if isinstance(input, str) else input)
                stdin.seek(0)
            status, stdout, stderr = self.repo.git.execute(
                command,
                with_extended_output=True,
                with_exceptions=False,
                env=full_env,
                istream=stdin,
                strip_newline_in_stdout=strip,
                kill_after_timeout=timeout,
                stdout_as_string=True,
            )
        except gitpython.GitCommandNotFound:
            raise SyncError("git is not installed or not on PATH") from None
        except gitpython.GitCommandError as exc:  # only raised for timeouts here
            raise SyncError(f"git {args[0]} did not finish", details=str(exc)) from None
        finally:
            if stdin is not None:
                stdin.close()
        if _TRACE:
            log.warning(
                "git %s -> %s (%.0f ms)",
                " ".join(args),
                status,
                1000 * (time.perf_counter() - started),
            )
        result = GitResult(int(status or 0), str(stdout), str(stderr))
        if check and result.status != 0:
            if write_failed_for_space(result.stderr, self.git_dir):
                raise SyncError(
                    "The disk is full: git could not write; free some space and try again",
                    details=result.stderr.strip(),
                )
            raise SyncError(_first_error_line(result.stderr, args), details=result.stderr.strip())
        return result

    def network_env(self) -> dict[str, str]:
        """Environment for a fetch or push from this repository (see :class:`Prompting`)."""
        own_ssh = bool(self.config_get("core.sshCommand"))
        return network_env(self.prompting, own_ssh=own_ssh)

    def out(self, *args: str, **kwargs: object) -> str:
        """stdout of a git command that must succeed."""
        return self.run(*args, **kwargs).stdout  # type: ignore[arg-type]

    def config_get(self, key: str) -> str:
        result = self.run("config", "--get", key, check=False)
        return result.stdout if result.status == 0 else ""

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the repository's write lock: one writer at a time, in this process (re-entrant)
        and across processes (a :class:`filelock.FileLock` on ``.git/kbapp/write.lock``)."""
        with self._thread_lock:
            if self._lock_depth == 0:
                lock_path = self.git_dir / "kbapp" / "write.lock"
                from filelock import FileLock, Timeout  # loaded on the first write

                # thread_local=False: the re-entrant RLock above already serialises threads.
                lock = FileLock(lock_path, timeout=timeout, thread_local=False)
                try:
                    lock_path.parent.mkdir(parents=True, exist_ok=True)
                    lock.acquire(poll_interval=0.05)
                except Timeout:
                    raise SyncError(
                        "another kbapp is still writing to this knowledge base; "
                        "try again in a moment"
                    ) from None
                except OSError as exc:  # a read-only knowledge base (share, mount, rights)
                    raise save_error(self.root, exc) from exc
                self._lock_file = lock
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_file is not None:
                    self._lock_file.release()
                    self._lock_file = None
