"""The one gateway to git (git-cola's ``git.py``).

Every git operation in kbapp goes through :class:`Git`: it runs git in the repository with a
controlled environment (no pager, no prompts, C locale for parseable messages, the user's
identity), serialises writes with a lock that also holds across processes (the window and the
CLI on the same repository), logs timing when ``KBAPP_GIT_TRACE`` is set, and turns
``git.GitCommandError`` into :class:`~kbapp.errors.SyncError` carrying git's own stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import NotAKnowledgeBase, SyncError
from kbapp.fsutil import save_error, write_failed_for_space

if TYPE_CHECKING:
    import git as gitpython_types
    from filelock import FileLock

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
class Prompting:
    """How git and ssh may ask for a credential (a user name and password or token, a key's
    passphrase, a new host key) during a network operation.

    - ``askpass`` (the window): git and ssh run that program (``GIT_ASKPASS``, ``SSH_ASKPASS``
      with ``SSH_ASKPASS_REQUIRE=force``), which asks the window (:mod:`kbapp.sync.askpass`);
      ``env`` tells it where the window listens.
    - ``terminal`` (the CLI in a terminal): git and ssh prompt on the terminal, as plain git does.
    - neither (the default; the CLI without a terminal, scripts, cron): nothing is asked, a
      missing credential fails at once with a clear message instead of hanging.

    Whatever answers, git's own credential helper (``credential.helper``) stores what worked;
    kbapp never stores a credential.
    """

    askpass: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    terminal: bool = False

    @classmethod
    def for_console(cls) -> Prompting:
        """The CLI's: prompt on the terminal when there is one, never otherwise."""
        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (ValueError, OSError):
            interactive = False
        return cls(terminal=interactive)


NO_PROMPTS = Prompting()


@dataclass(frozen=True)
class Identity:
    """Who commits: from the user's settings, else from git's own configuration.

    Every git command kbapp runs gets it as ``-c user.name=… -c user.email=…`` (see
    :meth:`config_args`), so commits, merge commits and ``commit-tree`` all carry it without
    touching anyone's git configuration."""

    name: str
    email: str
    org: str = ""

    @property
    def known(self) -> bool:
        """Both a name and an e-mail: enough for git to commit."""
        return bool(self.name.strip() and self.email.strip())

    def config_args(self) -> list[str]:
        """``git -c`` options: the name and e-mail when set; and git never makes one up from
        the login and host name (``user.useConfigOnly``), it asks, as kbapp does."""
        args = ["-c", "user.useConfigOnly=true"]
        if self.name.strip():
            args += ["-c", f"user.name={_one_line(self.name)}"]
        if self.email.strip():
            args += ["-c", f"user.email={_one_line(self.email)}"]
        return args

    def env(self) -> dict[str, str]:
        """Extra environment for git (none here; the demo dates its commits with it)."""
        return {}


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class GitIdentity:
    """What git makes of an identity in a repository (see :func:`git_identity`)."""

    name: str
    email: str
    #: git's own words when it has no complete identity ("no email was given ..."), else "".
    problem: str = ""


_IDENT_RE = re.compile(r"^(?P<name>.*) <(?P<email>[^<>]*)> \d+ [+-]\d{4}$")


def git_identity(root: Path | None, name: str = "", email: str = "") -> GitIdentity:
    """Who git would commit as in the work tree ``root`` (``None``: outside any repository,
    the user's own git configuration only), given kbapp's ``name`` and ``email`` (either may be
    empty; git's configured value then fills in). git decides, with ``git var``, exactly as it
    would for a commit; when it cannot, ``problem`` says why and ``name``/``email`` hold what
    git has configured (to prefill a form)."""
    env = dict(os.environ)
    env.update(_BASE_ENV)
    if root is None:  # never the repository the process happens to run in
        env["GIT_DIR"] = str(Path(tempfile.gettempdir()) / "kbapp-no-repository")
    cwd = str(root) if root is not None else None

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed or not on PATH") from None

    done = git(*Identity(name, email).config_args(), "var", "GIT_COMMITTER_IDENT")
    match = _IDENT_RE.match(done.stdout.strip()) if done.returncode == 0 else None
    if match:
        return GitIdentity(match["name"], match["email"])
    configured = {
        key: git("config", "--get", f"user.{key}").stdout.strip() for key in ("name", "email")
    }
    problem = _first_error_line(done.stderr, ["var"]).removeprefix("git var: ")
    return GitIdentity(
        name.strip() or configured["name"], email.strip() or configured["email"], problem
    )


@dataclass(frozen=True)
class GitResult:
    status: int
    stdout: str
    stderr: str


def _gitpython() -> Any:
    """GitPython, imported on first use: a search (``kbapp search``) never runs git, and the
    import alone is 60-80 ms of a 150 ms answer."""
    import git as gitpython

    return gitpython


def _plain_git_dir(root: Path) -> Path | None:
    """``root``'s git directory when ``root`` is the top of an ordinary work tree (``.git`` a
    folder, or a file ``gitdir: ...`` in a linked worktree); None when git's environment
    variables or anything unusual are in play (GitPython decides then)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return None
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git if (dot_git / "HEAD").is_file() else None
    if dot_git.is_file():
        try:
            first = dot_git.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            return None
        if first.startswith("gitdir:"):
            found = Path(first[7:].strip())
            found = found if found.is_absolute() else root / found
            return found if (found / "HEAD").is_file() else None
    return None


def find_root(path: Path) -> Path:
    """The top of the git work tree containing ``path``."""
    if not path.exists():
        raise NotAKnowledgeBase(f"{path} does not exist")
    if not path.is_dir():
        raise NotAKnowledgeBase(f"{path} is a file; a knowledge base is a folder")
    for candidate in (path.resolve(), *path.resolve().parents):
        if (candidate / ".git").exists():
            if _plain_git_dir(candidate) is not None:
                return candidate
            break
    gitpython = _gitpython()
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

    def __init__(
        self, root: Path, identity: Identity | Callable[[], Identity] | None = None
    ) -> None:
        """``identity`` may be a function, asked on first use (finding it can run git)."""
        self.root = Path(root)
        self._repo: gitpython_types.Repo | None = None
        plain = _plain_git_dir(self.root)
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
            gitpython = _gitpython()
            try:
                self._repo = gitpython.Repo(self.root)
            except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
                raise NotAKnowledgeBase(f"{self.root} is not a git repository") from None
        return self._repo

    @staticmethod
    def init_repository(root: Path, bare: bool = False) -> None:
        """``git init`` with ``main`` as the first branch."""
        gitpython = _gitpython()
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
        gitpython = _gitpython()
        full_env = dict(_BASE_ENV)
        full_env.update(self.identity.env())
        if env:
            full_env.update(env)
        command = ["git", *self.identity.config_args(), *args]
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

    # ------------------------------------------------------------------ common queries

    def log(
        self,
        *revisions: str,
        paths: Sequence[str] = (),
        follow: bool = False,
        no_merges: bool = False,
        since: str | None = None,
        changed_line: str | None = None,
        limit: int | None = None,
        diff_filter: str = "",
        patch: bool = False,
    ) -> list[LogEntry]:
        """The commits ``git log`` lists (newest first) with their files, parsed once, here.

        ``revisions`` as git takes them (``a..b``; none: from HEAD), ``paths`` limit to those
        files (``follow``: one file across renames), ``since`` anything ``--since`` takes,
        ``changed_line`` a regex of lines added or removed (``-G``), ``diff_filter`` the kinds
        of change to list (``--diff-filter``: ``MR`` for changed and renamed files). Renames are
        detected. With ``patch`` each file also carries the lines it gained and lost
        (:attr:`FileChange.added`, :attr:`FileChange.removed`; no context): ask for it with a
        ``diff_filter`` that leaves out added files when a commit may add thousands (an import).
        An empty repository, or a revision git does not know, has no commits."""
        args = [
            "-c",
            "core.quotepath=off",
            "log",
            "-M",
            *(("--raw", "-p", "-U0", "--no-ext-diff") if patch else ("--name-status",)),
            "-z",
            "--no-color",
            f"--format={_LOG_FORMAT}",
        ]
        if diff_filter:
            args.append(f"--diff-filter={diff_filter}")
        if follow:
            args.append("--follow")
        if no_merges:
            args.append("--no-merges")
        if since:
            args.append(f"--since={since}")
        if changed_line:
            args += ["-G", changed_line]
        if limit is not None:
            args.append(f"-{int(limit)}")
        args += [*revisions, "--", *paths]
        return parse_log(self.run(*args, check=False, strip=False).stdout)

    def head(self) -> str | None:
        result = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def current_branch(self) -> str | None:
        result = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return result.stdout if result.status == 0 else None

    def list_files(self, pattern: str = "*.md") -> list[str]:
        """Tracked and untracked (not ignored) files matching ``pattern``, relative, with '/'."""
        out = self.run(
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            pattern,
            strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

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
                self.run(
                    "rm",
                    "--cached",
                    "-r",
                    "-q",
                    "--ignore-unmatch",
                    *_FROM_STDIN,
                    input=_nul_list(gone),
                )
            staged = self.diff_names(cached=True, check=True)
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

    # ------------------------------------------------------------------ objects and refs

    def read_blob(self, spec: str) -> bytes | None:
        """The bytes of a blob (``<rev>:<path>``, ``:2:<path>``, a blob id), None if absent."""
        gitpython = _gitpython()
        try:
            status, stdout, _ = self.repo.git.execute(
                ["git", "cat-file", "blob", spec],
                with_extended_output=True,
                with_exceptions=False,
                env=dict(_BASE_ENV),
                stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        except gitpython.GitCommandError:
            return None
        return bytes(stdout) if status == 0 else None

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob; returns its id."""
        return self.out("hash-object", "-w", "--stdin", input=data)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).status == 0
        )

    def diff_names(
        self,
        *revs: str,
        cached: bool = False,
        diff_filter: str = "",
        renames: bool = False,
        paths: Iterable[str] = (),
        check: bool = False,
    ) -> list[str]:
        """The paths ``git diff --name-only`` lists between ``revs`` (the index and the work
        tree when none), read NUL-separated so that any file name comes back as it is."""
        args = ["-c", "core.quotepath=off", "--no-optional-locks", "--literal-pathspecs"]
        args += ["diff", "--name-only", "-z"]
        if cached:
            args.append("--cached")
        if not renames:
            args.append("--no-renames")
        if diff_filter:
            args.append(f"--diff-filter={diff_filter}")
        args += revs
        if paths:
            args += ["--", *paths]
        out = self.run(*args, check=check, strip=False).stdout
        return [p for p in out.split("\0") if p]

    def rev(self, spec: str) -> str | None:
        result = self.run("rev-parse", "--verify", "-q", spec + "^{commit}", check=False)
        return result.stdout if result.status == 0 else None

    def refs(self, prefix: str) -> list[tuple[str, str]]:
        """(ref name, object id) of every ref under ``prefix``."""
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]

    def ensure_config(self, values: dict[str, str]) -> bool:
        """Set the repository's own (local) git config keys that differ; True if any changed."""
        current = {}
        listed = self.run("config", "--local", "--list", "-z", check=False, strip=False)
        for item in listed.stdout.split("\0"):
            key, _, value = item.partition("\n")
            current[key.lower()] = value
        changed = False
        for key, value in values.items():
            if current.get(key.lower()) != value:
                self.run("config", "--local", key, value)
                changed = True
        return changed

    # ------------------------------------------------------------------ repairs

    def unfinished_operation(self) -> str | None:
        """A merge, rebase, cherry-pick or revert that was started and not finished."""
        if (self.git_dir / "rebase-merge").is_dir() or (self.git_dir / "rebase-apply").is_dir():
            return "rebase"
        for name, marker in (
            ("merge", "MERGE_HEAD"),
            ("cherry-pick", "CHERRY_PICK_HEAD"),
            ("revert", "REVERT_HEAD"),
        ):
            if (self.git_dir / marker).exists():
                return name
        unmerged = self.run("ls-files", "-u", "-z", strip=False, check=False).stdout
        return "unmerged" if unmerged.strip("\0") else None

    def snapshot(self, message: str) -> str:
        """A commit (on no branch) of the whole work tree as it is now, tracked and untracked
        files alike, made with a temporary index so the real one is left alone."""
        index = self.git_dir / "kbapp" / "snapshot-index"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.unlink(missing_ok=True)
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            head = self.head()
            if head:
                self.run("read-tree", head, env=env)
            self.run("add", "-A", "--", ".", env=env)
            tree = self.out("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        parents = ["-p", head] if head else []
        # A backup on no branch: made even before the user has said who they are.
        return self.out(
            "commit-tree",
            tree,
            *parents,
            "-m",
            message,
            env=None if self.identity.known else _STAND_IN,
        )

    def remove_stale_locks(self, older_than: float = 10.0) -> list[str]:
        """Delete lock files a killed git left behind (``index.lock``, ``HEAD.lock``, a ref's
        ``.lock``..., and the ``.merge_file_*`` copies it makes for a merge driver). Call while holding :meth:`write_lock`: then no kbapp is writing, and a
        lock counts as stale when it is old or no git process is running in this repository."""
        locks = [p for p in (self.git_dir.glob("*.lock")) if p.is_file()]
        refs_dir = self.git_dir / "refs"
        if refs_dir.is_dir():
            locks += [p for p in refs_dir.rglob("*.lock") if p.is_file()]
        # the temporary copies git writes at the top of the work tree for a merge driver
        locks += [p for p in self.root.glob(".merge_file_*") if p.is_file()]
        if not locks:
            return []
        busy = _git_running_in(self.root)
        removed = []
        for lock in locks:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if busy and age < older_than:
                continue
            try:
                lock.unlink()
                removed.append(
                    lock.name
                    if lock.parent == self.root
                    else lock.relative_to(self.git_dir).as_posix()
                )
            except FileNotFoundError:
                pass
        return removed

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


_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")

#: Author of kbapp's own backup commits (never on a branch) when the user is not known yet.
_STAND_IN = {
    "GIT_AUTHOR_NAME": "kbapp",
    "GIT_AUTHOR_EMAIL": "kbapp@localhost",
    "GIT_COMMITTER_NAME": "kbapp",
    "GIT_COMMITTER_EMAIL": "kbapp@localhost",
}


@dataclass(frozen=True)
class FileChange:
    """One file a commit changed: git's status letter (A, M, D, R, C, T), its path after the
    commit, and for a rename or copy its path before. With :meth:`Git.log`'s ``patch``, the
    lines the commit added to it and removed from it, in order, without their ``+``/``-``."""

    status: str
    path: str
    old_path: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogEntry:
    """One commit of :meth:`Git.log`. ``org_trailer`` is the ``KB-Org`` trailer's value ('' when
    none): :meth:`kbapp.config.KbConfig.commit_org` turns it and ``email`` into the
    organisation."""

    rev: str
    author: str
    email: str
    date: dt.datetime
    subject: str
    body: str
    org_trailer: str
    files: tuple[FileChange, ...] = ()

    @property
    def path(self) -> str:
        """The first file's path ('' when none): with ``follow``, the document's path then."""
        return self.files[0].path if self.files else ""


#: Each commit: a record separator, then NUL-separated fields (no field can hold a NUL), then,
#: with ``-z --name-status``, NUL-separated status letters and paths.
_LOG_FORMAT = (
    "%x1e%H%x00%aN%x00%aE%x00%aI%x00%s%x00%(trailers:key=KB-Org,valueonly,separator=%x2C)%x00%B%x00"
)
_LOG_FIELDS = 7
#: A record starts the output, a line (after a patch) or a NUL-ended field (after file names):
#: a separator inside a changed line of a document is not the start of a commit.
_RECORD_RE = re.compile(r"(?:^|(?<=[\n\0]))\x1e")


def parse_log(out: str) -> list[LogEntry]:
    """Parse ``git log -z --name-status --format=`` :data:`_LOG_FORMAT` output, or with
    ``--raw -p -U0`` instead of ``--name-status``."""
    entries: list[LogEntry] = []
    for record in _RECORD_RE.split(out)[1:]:
        fields = record.split("\0")
        if len(fields) < _LOG_FIELDS:
            continue
        rev, author, email, date, subject, trailer, body = fields[:_LOG_FIELDS]
        # "\0\n" ends the header, then "R100\0old\0new\0M\0path\0..." (no path is empty);
        # --raw writes ":100644 100644 <sha> <sha> R100" for the status, and -p the patch
        # after the last path (one text: a patch holds no NUL, binary files are not shown).
        tokens = [t for t in "\0".join(fields[_LOG_FIELDS:]).lstrip("\0\n").split("\0") if t]
        files: list[FileChange] = []
        patch = ""
        i = 0
        while i < len(tokens):
            if tokens[i].startswith("diff --git "):
                patch = tokens[i]
                break
            status = tokens[i].rsplit(" ", 1)[-1][:1]
            if status in ("R", "C") and i + 2 < len(tokens):
                files.append(FileChange(status, tokens[i + 2], tokens[i + 1]))
                i += 3
            elif i + 1 < len(tokens):
                files.append(FileChange(status, tokens[i + 1]))
                i += 2
            else:
                break
        if patch:
            files = _with_lines(files, patch)
        entries.append(
            LogEntry(
                rev,
                author,
                email,
                dt.datetime.fromisoformat(date),
                subject,
                body.strip("\n"),
                trailer.strip(),
                tuple(files),
            )
        )
    return entries


def _with_lines(files: list[FileChange], patch: str) -> list[FileChange]:
    """``files`` with the lines ``patch`` (``-U0``) adds to and removes from each. git writes
    one ``diff --git`` section per file, in the order it lists them; a type change (T) is
    written as two and carries no lines."""
    sections = patch.split("\ndiff --git ")
    if len(sections) != len(files) or any(f.status == "T" for f in files):
        return files
    out: list[FileChange] = []
    for change, section in zip(files, sections):
        added: list[str] = []
        removed: list[str] = []
        in_hunk = False
        for line in section.split("\n"):
            if line.startswith("@@"):
                in_hunk = True
            elif not in_hunk:
                continue  # the section's header: paths, modes, index
            elif line.startswith("+"):
                added.append(line[1:])
            elif line.startswith("-"):
                removed.append(line[1:])
        out.append(dataclasses.replace(change, added=tuple(added), removed=tuple(removed)))
    return out


def _nul_list(paths: Sequence[str]) -> str:
    return "".join(f"{p}\0" for p in paths)


def _first_error_line(stderr: str, args: Sequence[str]) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.lower().startswith(("fatal:", "error:")):
            return "git " + args[0] + ": " + line.split(":", 1)[1].strip()
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"git {args[0]} failed" + (f": {lines[-1].strip()}" if lines else "")


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


def network_env(prompting: Prompting = NO_PROMPTS, *, own_ssh: bool = False) -> dict[str, str]:
    """Environment for git talking to a remote, following ``prompting`` (:class:`Prompting`).

    ssh gives up on a dead host after 20 s and, when nothing may be asked, never asks
    (``BatchMode``). A user's own ssh command (``GIT_SSH_COMMAND``, ``GIT_SSH``, or
    ``core.sshCommand``: ``own_ssh``) is left as it is."""
    from kbapp.sync import askpass

    env: dict[str, str] = {}
    if prompting.askpass:
        env.update(
            {
                "GIT_ASKPASS": prompting.askpass,
                "SSH_ASKPASS": prompting.askpass,
                # OpenSSH >= 8.4 asks through askpass even with a terminal; older ssh do when
                # the desktop session has a DISPLAY
                "SSH_ASKPASS_REQUIRE": "force",
                "GIT_TERMINAL_PROMPT": "0",
                "GCM_INTERACTIVE": os.environ.get("GCM_INTERACTIVE", "auto"),
            }
        )
        env.update(prompting.env)
        ssh = "ssh -o ConnectTimeout=20"
    elif prompting.terminal:
        env.update(
            {
                "GIT_ASKPASS": os.environ.get("GIT_ASKPASS", ""),
                "SSH_ASKPASS": os.environ.get("SSH_ASKPASS", ""),
                "GIT_TERMINAL_PROMPT": "1",
                "GCM_INTERACTIVE": os.environ.get("GCM_INTERACTIVE", "auto"),
            }
        )
        ssh = "ssh -o ConnectTimeout=20"
    else:
        env.update({askpass.ADDRESS_ENV: "", askpass.TOKEN_ENV: ""})
        ssh = "ssh -o BatchMode=yes -o ConnectTimeout=20"
    if not (own_ssh or os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")):
        env["GIT_SSH_COMMAND"] = ssh
    return env


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
        return RemoteError(
            f"The shared repository cannot be reached ({action}); your work is kept here and "
            "goes out at the next sync",
            stderr.strip(),
            "offline",
        )
    return RemoteError(_first_error_line(stderr, [action]), stderr.strip())


def _git_running_in(root: Path) -> bool:
    """Whether a git process has its working directory in ``root`` (Linux /proc; elsewhere
    we cannot tell and assume one might be)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    target = str(root.resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("git", "git-remote-http", "git-merge"):
                continue
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == target or cwd.startswith(target + os.sep):
            return True
    return False
