"""The one gateway to git (git-cola's ``git.py``).

Every git operation in kbapp goes through :class:`Git`: it runs git in the repository with a
controlled environment (no pager, no prompts, C locale for parseable messages, the user's
identity), serialises writes with a lock that also holds across processes (the window and the
CLI on the same repository), logs timing when ``KBAPP_GIT_TRACE`` is set, and turns
``git.GitCommandError`` into :class:`~kbapp.errors.SyncError` carrying git's own stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import git as gitpython

from kbapp.errors import NotAKnowledgeBase, SyncError
from kbapp.fsutil import save_error

log = logging.getLogger(__name__)
_TRACE = bool(os.environ.get("KBAPP_GIT_TRACE"))

#: Environment for every git call: never wait on a terminal prompt or a pager.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
    "GCM_INTERACTIVE": "never",
    "SSH_ASKPASS": "",
    "GIT_ASKPASS": "",
}


@dataclass(frozen=True)
class Identity:
    """Who commits: from the user's settings, else from git's own configuration."""

    name: str
    email: str
    org: str = ""

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.name:
            out["GIT_AUTHOR_NAME"] = out["GIT_COMMITTER_NAME"] = self.name
        if self.email:
            out["GIT_AUTHOR_EMAIL"] = out["GIT_COMMITTER_EMAIL"] = self.email
        return out


@dataclass(frozen=True)
class GitResult:
    status: int
    stdout: str
    stderr: str


def find_root(path: Path) -> Path:
    """The top of the git work tree containing ``path``."""
    if not path.exists():
        raise NotAKnowledgeBase(f"{path} does not exist")
    if not path.is_dir():
        raise NotAKnowledgeBase(f"{path} is a file; a knowledge base is a folder")
    try:
        repo = gitpython.Repo(path, search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        raise NotAKnowledgeBase(
            f"{path} is not a git repository; run 'kbapp init {path}' to make it a knowledge "
            "base, or 'kbapp clone URL PATH' to get an existing one"
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise NotAKnowledgeBase(f"{path} is a bare git repository; clone it to work in it")
    return Path(repo.working_tree_dir)


class Git:
    """git for one repository. Thread-safe; writes are serialised (see :meth:`write_lock`)."""

    def __init__(self, root: Path, identity: Identity | None = None) -> None:
        self.root = Path(root)
        try:
            self.repo = gitpython.Repo(self.root)
        except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
            raise NotAKnowledgeBase(f"{self.root} is not a git repository") from None
        self.git_dir = Path(self.repo.git_dir)
        self.identity = identity or Identity("", "")
        self._thread_lock = threading.RLock()
        self._lock_depth = 0
        self._lock_file: int | None = None

    @staticmethod
    def init_repository(root: Path, bare: bool = False) -> None:
        """``git init`` with ``main`` as the first branch."""
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
        input: str | None = None,  # noqa: A002 - mirrors subprocess
        strip: bool = True,
        timeout: float | None = None,
    ) -> GitResult:
        """Run ``git <args>`` in the repository. Raises :class:`SyncError` when git fails and
        ``check`` is true; the message is git's first error line, ``details`` all of stderr."""
        full_env = dict(_BASE_ENV)
        full_env.update(self.identity.env())
        if env:
            full_env.update(env)
        command = ["git", *args]
        started = time.perf_counter()
        stdin = None
        try:
            if input is not None:  # Popen needs a real file for stdin
                stdin = tempfile.TemporaryFile()
                stdin.write(input.encode("utf-8"))
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
            log.warning("git %s -> %s (%.0f ms)", " ".join(args), status,
                        1000 * (time.perf_counter() - started))
        result = GitResult(int(status or 0), str(stdout), str(stderr))
        if check and result.status != 0:
            raise SyncError(_first_error_line(result.stderr, args), details=result.stderr.strip())
        return result

    def out(self, *args: str, **kwargs: object) -> str:
        """stdout of a git command that must succeed."""
        return self.run(*args, **kwargs).stdout  # type: ignore[arg-type]

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the repository's write lock: one writer at a time, in this process (re-entrant)
        and across processes (an ``flock`` on ``.git/kbapp/write.lock``)."""
        with self._thread_lock:
            if self._lock_depth == 0:
                lock_path = self.git_dir / "kbapp" / "write.lock"
                try:
                    lock_path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError as exc:  # a read-only knowledge base (share, mount, rights)
                    raise save_error(self.root, exc) from exc
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            os.close(fd)
                            raise SyncError(
                                "another kbapp is still writing to this knowledge base; "
                                "try again in a moment"
                            ) from None
                        time.sleep(0.05)
                self._lock_file = fd
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_file is not None:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                    os.close(self._lock_file)
                    self._lock_file = None

    # ------------------------------------------------------------------ common queries

    def head(self) -> str | None:
        result = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def current_branch(self) -> str | None:
        result = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def list_files(self, pattern: str = "*.md") -> list[str]:
        """Tracked and untracked (not ignored) files matching ``pattern``, relative, with '/'."""
        out = self.run(
            "-c", "core.quotepath=off", "ls-files", "-z", "--cached", "--others",
            "--exclude-standard", "--", pattern, strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

    def read_blob(self, spec: str) -> bytes | None:
        """The bytes of a blob (``<rev>:<path>``, ``:<path>`` for the index, or an id), read
        through one long-lived ``git cat-file --batch``; None when there is no such blob."""
        try:
            _sha, kind, _size, data = self.repo.git.get_object_data(spec)
        except (ValueError, gitpython.GitCommandError):
            return None
        return bytes(data) if kind == b"blob" or kind == "blob" else None

    def config_get(self, key: str) -> str:
        result = self.run("config", "--get", key, check=False)
        return result.stdout if result.status == 0 else ""

    def commit(
        self,
        paths: Sequence[str],
        message: str,
        trailers: dict[str, str] | None = None,
        allow_empty: bool = False,
    ) -> str | None:
        """Stage exactly ``paths`` (additions, changes and deletions) and commit them.

        Returns the new commit id, or ``None`` when there was nothing to commit."""
        text = message.strip() + "\n"
        if trailers:
            text += "\n" + "".join(f"{key}: {value}\n" for key, value in trailers.items())
        with self.write_lock():
            present = [p for p in paths if (self.root / p).exists()]
            gone = [p for p in paths if not (self.root / p).exists()]
            if present:
                self.run("add", "-A", *_FROM_STDIN, input=_nul_list(present))
            if gone:
                self.run("rm", "--cached", "-r", "-q", "--ignore-unmatch", *_FROM_STDIN,
                         input=_nul_list(gone))
            staged = self.run("diff", "--cached", "--name-only", "-z", "--no-renames",
                              strip=False).stdout.split("\0")
            if paths:
                exact = set(paths)
                folders = tuple(p.rstrip("/") + "/" for p in paths if (self.root / p).is_dir())
                mine = [s for s in staged if s and (s in exact or s.startswith(folders or ("\0",)))]
            else:
                mine = [s for s in staged if s]
            if not mine and not allow_empty:
                return None
            message_file = self.git_dir / "kbapp" / "COMMIT_MSG"
            message_file.parent.mkdir(parents=True, exist_ok=True)
            message_file.write_text(text, encoding="utf-8")
            args = ["commit", "-q", "--no-edit", "-F", str(message_file)]
            if allow_empty:
                args.append("--allow-empty")
            # kbapp ran the commit policy already: its own pre-commit hook need not run again.
            checked = {"KBAPP_POLICY_CHECKED": "1"}
            if paths and mine:  # only what we staged, never someone's unrelated staged work
                self.run(*args, *_FROM_STDIN, input=_nul_list(mine), env=checked)
            else:
                self.run(*args, env=checked)
            return self.out("rev-parse", "HEAD")


_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


def _nul_list(paths: Sequence[str]) -> str:
    return "".join(f"{p}\0" for p in paths)


def _first_error_line(stderr: str, args: Sequence[str]) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.lower().startswith(("fatal:", "error:")):
            return "git " + args[0] + ": " + line.split(":", 1)[1].strip()
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"git {args[0]} failed" + (f": {lines[-1].strip()}" if lines else "")
