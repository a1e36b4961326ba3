"""What is on disk and not committed when a sync starts: a hand edit, a file another tool
wrote, a save cut short before its commit (the journal, :mod:`kbapp.sync.journal`, finishes
kbapp's own saves first). Nothing the user saved stays uncommitted, and nothing is committed
that the shared repository's hook would refuse: each file passes the commit policy and the
rules of the shared branch before the commit exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kbapp.documents import model as documents
from kbapp.errors import KbError, SyncError
from kbapp.sync import refused
from kbapp.sync.git import Git
from kbapp.sync.remote import REMOTE
from kbapp.trust import policy, serverhook

if TYPE_CHECKING:
    from kbapp.workspace import Workspace


def commit_all(ws: Workspace) -> list[str]:
    """Commit every change on disk (a hand edit, a save that was interrupted before its
    commit): nothing the user saved stays uncommitted. Documents must pass the commit policy;
    one that does not stops the sync with the reason and the file untouched."""
    git = ws.git
    out = git.run(
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        strip=False,
    ).stdout
    paths: list[str] = []
    added: set[str] = set()
    items = out.split("\0")
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if len(item) < 4:
            continue
        code, path = item[:2], item[3:]
        if code[0] in "RC":  # a staged rename: the next item is where it came from
            paths.append(items[index])
            index += 1
        if path.endswith(".kbtmp") or path.startswith(".merge_file_"):
            continue  # an atomic save in progress, or git's merge driver copies a crash left
        if code == "??" and (ws.root / path).is_symlink():
            continue  # a symbolic link is never part of a knowledge base (lint reports it)
        paths.append(path)
        if code == "??" or code[0] == "A":
            added.add(path)
    # New documents a .gitignore hides from 'git status' are documents all the same (kbapp
    # lists them): committed, by name, like any other (git.commit adds with '-f').
    for path in hidden_new_documents(ws):
        paths.append(path)
        added.add(path)
    if not paths:
        return []
    titles: list[str] = []
    problems: list[policy.Violation] = []
    incoming = _incoming_paths(git)
    # Paths the shared repository keeps for one organisation (the settings, .gitattributes,
    # the templates, [[policy.protected]]): judged by the rules the shared branch has, as its
    # hook will judge the push, before a commit exists that only 'kbapp refused --drop' undoes.
    rules = refused.shared_config(git, git.rev(refused.tracking_ref(ws)), ws.config)
    me = ws.identity
    problems.extend(
        serverhook.protected_changes(paths, rules, rules.org_for_email(me.email) or me.org)
    )
    for path in paths:
        full = ws.root / path
        if not full.is_file() or full.is_symlink():
            continue
        try:
            data = full.read_bytes()
        except OSError as exc:
            raise SyncError(
                f"{path} cannot be read ({exc.strerror or exc}); nothing was sent or changed"
            ) from None
        if path in incoming:
            _refuse_partial_copy(git, path, data, incoming[path])
        # The very rules the shared repository's hook applies to a pushed file: what passes
        # here is never refused there (docs/security.md).
        problems.extend(policy.check_commit_file(path, data, ws.config))
        if path.endswith(".md"):
            try:
                titles.append(documents.parse(data, path).title)
            except KbError:
                pass
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        where = f"line {first.line}: " if first.line else ""
        raise SyncError(
            f"{first.path} was changed outside kbapp and cannot be committed: {where}"
            f"{first.message} [{first.rule}]{more}; fix the file and sync again — nothing was "
            "sent or changed",
            details="\n".join(str(v) for v in problems),
        )
    if len(paths) == 1:
        verb = (
            "Create"
            if paths[0] in added
            else ("Delete" if not (ws.root / paths[0]).exists() else "Update")
        )
        message = f"{verb}: {titles[0] if titles else paths[0]}"
    else:
        message = f"Update: {len(paths)} files changed outside kbapp\n\n" + "\n".join(
            f"- {p}" for p in paths
        )
    git.commit(paths, message, trailers=ws.trailers())
    return paths


def hidden_new_documents(ws: Workspace) -> list[str]:
    """Untracked documents that ignore rules hide from ``git status`` (a partner's ``*/*/`` or
    ``*[0-9]*.md``; ``*.MD`` where git ignores case)."""
    return [
        path
        for path in ws.git.ignored_untracked("*.md")
        if policy.is_document_path(path, ws.config) and not (ws.root / path).is_symlink()
    ]


def _incoming_paths(git: Git) -> dict[str, str]:
    """path -> the fetched shared branch, for the paths where it differs from HEAD (what an
    integration writes); empty when there is no fetched branch."""
    branch = git.current_branch()
    tracking = git.rev(f"refs/remotes/{REMOTE}/{branch}") if branch else None
    head = git.head()
    if not tracking or not head or tracking == head:
        return {}
    return {p: tracking for p in git.diff_names(head, tracking, diff_filter="AM")}


def _refuse_partial_copy(git: Git, path: str, data: bytes, tracking: str) -> None:
    """A second line of defence (the first is :func:`recovery.repair`, which removes what an
    undone merge wrote): a file on disk that is a strict prefix of the fetched shared version
    of that path, and not a cut of HEAD's version (the user shortening a document), is a
    write a crash or a full disk cut short, never committed as the user's edit. Nothing is
    lost by deleting it: the shared version holds all of it."""
    theirs = git.read_blob(f"{tracking}:{path}")
    if theirs is None or len(data) >= len(theirs) or not theirs.startswith(data):
        return
    mine = git.read_blob(f"HEAD:{path}")
    if mine is not None and mine.startswith(data):
        return
    raise SyncError(
        f"{path} is a partly written copy of the shared repository's version (a write cut "
        "short, by a full disk for instance), so it is not committed; delete it (the next "
        "sync brings the whole file) and sync again — nothing was sent or changed",
        details=f"{path}: {len(data)} of the {len(theirs)} bytes of {tracking[:10]}:{path}",
    )
