"""The one gateway to git (git-cola's ``git.py``).

Every git operation in kbapp goes through :class:`Git`: it runs git in the repository with a
controlled environment (no pager, no prompts, C locale for parseable messages, the user's
identity), serialises writes with a lock that also holds across processes (the window and the
CLI on the same repository), logs timing when ``KBAPP_GIT_TRACE`` is set, and turns
``git.GitCommandError`` into :class:`~kbapp.errors.SyncError` carrying git's own stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import NotAKnowledgeBase, SyncError
from kbapp.fsutil import save_error, write_failed_for_space
from kbapp.sync.gitclone import CloneCancelled as CloneCancelled
from kbapp.sync.gitclone import CloneProgress as CloneProgress
from kbapp.sync.gitclone import _read_progress, _remove_partial_clone
from kbapp.sync.gitenv import _BASE_ENV, _NO_MAILMAP, _refuse_mailmap
from kbapp.sync.gitenv import NO_PROMPTS as NO_PROMPTS
from kbapp.sync.gitenv import GitIdentity as GitIdentity
from kbapp.sync.gitenv import Identity as Identity
from kbapp.sync.gitenv import Prompting as Prompting
from kbapp.sync.gitenv import git_identity as git_identity
from kbapp.sync.gitenv import network_env as network_env
from kbapp.sync.giterrors import RemoteError as RemoteError
from kbapp.sync.giterrors import _first_error_line
from kbapp.sync.giterrors import remote_error as remote_error
from kbapp.sync.gitlog import _LOG_FORMAT
from kbapp.sync.gitlog import FileChange as FileChange
from kbapp.sync.gitlog import LogEntry as LogEntry
from kbapp.sync.gitlog import parse_log as parse_log

if TYPE_CHECKING:
    import git as gitpython_types
    from filelock import FileLock

log = logging.getLogger(__name__)
_TRACE = bool(os.environ.get("KBAPP_GIT_TRACE"))


@dataclass(frozen=True)
class IgnoreRule:
    """The ignore rule that matches a path: the file it is in, its line, the pattern."""

    source: str
    line: int
    pattern: str


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
        _refuse_mailmap(args)
        command = ["git", *_NO_MAILMAP, *self.identity.config_args(), *args]
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
            # one file (``follow``) is a name, never a pattern (':(glob)x.md', 'a[b].md')
            *((LITERAL,) if follow else ()),
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

    def list_files(self, *patterns: str, ignored_too: bool = False) -> list[str]:
        """Tracked and untracked files matching ``patterns`` (git pathspecs; default ``*.md``),
        relative, with '/'. Untracked files that ignore rules match are left out unless
        ``ignored_too``: documents never depend on a ``.gitignore``."""
        out = self.run(
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            *(() if ignored_too else ("--exclude-standard",)),
            "--",
            *(patterns or ("*.md",)),
            strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

    def ignored_untracked(self, *patterns: str) -> list[str]:
        """Untracked files matching ``patterns`` that ignore rules hide from ``git status``
        and ``git add``."""
        out = self.run(
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--",
            *patterns,
            strip=False,
        ).stdout
        return sorted({p for p in out.split("\0") if p})

    def ignored(self, paths: Sequence[str], work_tree: Path | None = None) -> dict[str, IgnoreRule]:
        """Which of ``paths`` the work tree's ignore rules match, tracked or not (``git
        check-ignore --no-index``; a path a ``!`` rule re-includes is not matched), each with
        the rule that matches. Only the repository's own files are read (``.gitignore`` at any
        depth and ``info/exclude``), never the user's ``core.excludesFile``. ``work_tree``:
        another folder's ``.gitignore`` files instead of the work tree's (a bare repository
        has none: the hook writes a tree's into a temporary folder). The rules are matched as
        git matches them on every file system: case-sensitively, and case-insensitively as on
        Windows and macOS (``core.ignorecase=true``: ``*.MD`` hides ``x.md`` there)."""
        if not paths:
            return {}
        other = [f"--work-tree={work_tree}"] if work_tree is not None else []
        found: dict[str, IgnoreRule] = {}
        for ignore_case in ("false", "true"):
            fields = self.run(
                "-c",
                "core.quotepath=off",
                "-c",
                "core.excludesFile=",
                "-c",
                f"core.ignorecase={ignore_case}",
                *other,
                "check-ignore",
                "--no-index",
                "--verbose",
                "-z",
                "--stdin",
                input=_nul_list(paths),
                check=False,
                strip=False,
            ).stdout.split("\0")
            for index in range(0, len(fields) - 3, 4):
                source, line, pattern, path = fields[index : index + 4]
                if pattern and not pattern.startswith("!") and path not in found:
                    found[path] = IgnoreRule(source, int(line or 0), pattern)
        return found

    def attributes(
        self, paths: Sequence[str], names: Sequence[str], work_tree: Path | None = None
    ) -> dict[str, dict[str, str]]:
        """The attributes ``names`` git gives each of ``paths`` (``git check-attr``: every
        ``.gitattributes``, macros from the top-level one, ``info/attributes``): path -> name
        -> ``set``, ``unset``, ``unspecified`` or the value. ``work_tree`` as in
        :meth:`ignored`."""
        if not paths or not names:
            return {}
        other = [f"--work-tree={work_tree}"] if work_tree is not None else []
        fields = self.run(
            "-c",
            "core.quotepath=off",
            "-c",
            "core.attributesFile=",
            *other,
            "check-attr",
            "-z",
            "--stdin",
            *names,
            input=_nul_list(paths),
            check=False,
            strip=False,
        ).stdout.split("\0")
        found: dict[str, dict[str, str]] = {}
        for index in range(0, len(fields) - 2, 3):
            path, name, value = fields[index : index + 3]
            found.setdefault(path, {})[name] = value
        return found

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
            named = [p for p in present if not (self.root / p).is_dir()]
            trees = [p for p in present if (self.root / p).is_dir()]
            if named:
                # '-f': a file kbapp commits by name is committed even when a .gitignore the
                # other organisation pushed ('*.md') matches it; saved work must reach a commit.
                self.run(LITERAL, "add", "-A", "-f", *_FROM_STDIN, input=_nul_list(named))
            if trees:  # an imported folder: what .gitignore leaves out stays out
                self.run(LITERAL, "add", "-A", *_FROM_STDIN, input=_nul_list(trees))
            if gone:
                self.run(
                    LITERAL,
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
                self.run(LITERAL, *args, *_FROM_STDIN, input=_nul_list(mine), env=checked)
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


_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")

#: Author of kbapp's own backup commits (never on a branch) when the user is not known yet.
_STAND_IN = {
    "GIT_AUTHOR_NAME": "kbapp",
    "GIT_AUTHOR_EMAIL": "kbapp@localhost",
    "GIT_COMMITTER_NAME": "kbapp",
    "GIT_COMMITTER_EMAIL": "kbapp@localhost",
}


#: Paths kbapp passes to git are file names, never pathspecs: a partner's file named
#: ``:(glob)x.md``, ``*.md`` or ``a[b].md`` means itself.
LITERAL = "--literal-pathspecs"


def _nul_list(paths: Sequence[str]) -> str:
    return "".join(f"{p}\0" for p in paths)


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
