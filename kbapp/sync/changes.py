"""What a sync changed: the documents that differ between two commits, each with the last
author who touched it and that author's organisation (the one rule,
:meth:`KbConfig.commit_org <kbapp.config.KbConfig.commit_org>`), for the report's
``changed_by_others`` and ``published`` and the conflicts the merge met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.errors import KbError
from kbapp.sync.report import Change

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

#: git's empty tree: what a first push publishes is compared with it.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def between(ws: Workspace, old: str | None, new: str, log_range: str) -> list[Change]:
    """Files that differ between ``old`` and ``new``, each with the last author in
    ``log_range`` who touched it."""
    git = ws.git
    if old is None:
        old = EMPTY_TREE
    out = git.run(
        "-c",
        "core.quotepath=off",
        "diff",
        "--name-status",
        "-z",
        "-M",
        "--no-ext-diff",
        old,
        new,
        strip=False,
    ).stdout
    items = out.split("\0")
    authors = last_authors(ws, log_range)
    changes: list[Change] = []
    index = 0
    kinds = {
        "A": "added",
        "M": "modified",
        "D": "removed",
        "R": "renamed",
        "T": "modified",
        "C": "added",
    }
    while index < len(items) - 1:
        code = items[index]
        if not code:
            index += 1
            continue
        if code[0] in "RC":
            old_path, path = items[index + 1], items[index + 2]
            index += 3
        else:
            old_path, path = "", items[index + 1]
            index += 2
        author, org = authors.get(path, ("", ""))
        changes.append(
            Change(
                path,
                title_of(ws, path),
                author,
                org,
                kinds.get(code[0], "modified"),
                old_path if code[0] == "R" else "",
            )
        )
    return changes


def latest_per_path(changes: list[Change]) -> list[Change]:
    """The last change of each document (a sync that fetched twice met some twice)."""
    out: dict[str, Change] = {}
    for change in changes:
        out[change.path] = change
    return [c for c in out.values() if c.path.endswith(".md")]


def last_authors(ws: Workspace, log_range: str) -> dict[str, tuple[str, str]]:
    """path -> (author, organisation) of the newest commit in ``log_range`` touching it."""
    found: dict[str, tuple[str, str]] = {}
    for commit in ws.git.log(log_range, no_merges=True):
        org = ws.config.commit_org(commit.org_trailer, commit.email)
        for change in commit.files:
            found.setdefault(change.path, (commit.author, org))
    return found


def title_of(ws: Workspace, path: str) -> str:
    full = ws.root / path
    if path.endswith(".md") and full.is_file():
        try:
            return documents.load(full, path).title
        except KbError:
            pass
    return path
