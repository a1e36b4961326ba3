"""Changing the repository and repairing it: the writes of the git gateway
(:class:`kbapp.sync.git.Git`).

A commit of exactly the paths kbapp wrote (never someone's unrelated staged work), blobs and
local config, and the repairs after a crash: an operation git left unfinished, a snapshot of
the work tree before a repair, the lock files a killed git left behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from kbapp.sync.gitquery import GitQueries
from kbapp.sync.gitrun import _FROM_STDIN, LITERAL, _nul_list

#: Author of kbapp's own backup commits (never on a branch) when the user is not known yet.
_STAND_IN = {
    "GIT_AUTHOR_NAME": "kbapp",
    "GIT_AUTHOR_EMAIL": "kbapp@localhost",
    "GIT_COMMITTER_NAME": "kbapp",
    "GIT_COMMITTER_EMAIL": "kbapp@localhost",
}


class GitWrites(GitQueries):
    """What changes the repository; a part of :class:`kbapp.sync.git.Git`."""

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

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob; returns its id."""
        return self.out("hash-object", "-w", "--stdin", input=data)

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
