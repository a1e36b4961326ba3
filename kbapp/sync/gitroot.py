"""Where a knowledge base's repository is, from the file system: what opening a
:class:`~kbapp.workspace.Workspace` needs, without the rest of the git gateway
(:mod:`kbapp.sync.git`, its subprocesses), which a search never uses. GitPython is asked only
when git's environment variables or an unusual layout are in play."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kbapp.errors import NotAKnowledgeBase


def gitpython_module() -> Any:
    """GitPython, imported on first use: a search (``kbapp search``) never runs git, and the
    import alone is 60-80 ms of a 150 ms answer."""
    import git as gitpython

    return gitpython


def plain_git_dir(root: Path) -> Path | None:
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
            if plain_git_dir(candidate) is not None:
                return candidate
            break
    gitpython = gitpython_module()
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


def git_dir(root: Path) -> Path:
    """The git directory of the work tree whose top is ``root`` (GitPython asked only when
    git's environment variables or anything unusual are in play)."""
    plain = plain_git_dir(root)
    if plain is not None:
        return plain
    gitpython = gitpython_module()
    try:
        return Path(gitpython.Repo(root).git_dir)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        raise NotAKnowledgeBase(f"{root} is not a git repository") from None
