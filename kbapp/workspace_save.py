"""Writing documents: what :meth:`Workspace.save <kbapp.workspace.Workspace.save>`,
``create``, ``move`` and ``commit_pending`` do.

Every write is atomic and committed at once, under the git gateway's write lock, after the
commit policy (:mod:`kbapp.trust.policy`) has passed. What can go wrong between the write and
the commit changes together here: a crash (the journal, :mod:`kbapp.sync.journal`, finishes it
at the next open), a full disk (the file is put back as it was, from a hard link kept aside),
another process that wrote the file meanwhile, and earlier saves whose commit failed.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import KbError, NotCommitted, SaveError, SyncError
from kbapp.fsutil import atomic_write, disk_full_error, is_disk_full, low_space
from kbapp.interaction import Level

if TYPE_CHECKING:
    from kbapp.catalog import CatalogChanges
    from kbapp.documents.model import Document
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class SaveResult:
    path: str
    commit: str | None
    changes: CatalogChanges


def create(ws: Workspace, template_name: str, title: str, **kwargs: Any) -> SaveResult:
    """:meth:`Workspace.create <kbapp.workspace.Workspace.create>`."""
    try:
        doc = ws.draft_from_template(template_name, title, **kwargs)
    except SaveError as exc:
        if exc.reason != "disk-full":
            raise
        # The catalog (derived data) could not be brought up to date first: nothing was
        # written; the sentence a save on a full disk gives, for the file it would be.
        template = ws.templates.get(template_name)
        path = ws.path_for_new(template.type, title.strip(), kwargs.get("folder"))
        raise disk_full_error(ws.root / path, exc.details) from None
    return ws.save(doc, verb="Create")


def _draft_commit(ws: Workspace, message: str | None) -> bytes:
    """The commit a save makes, as the shared repository's commit rules read it (author,
    committer, message: :func:`kbapp.trust.object_rules.check_object`)."""
    from kbapp.trust.object_rules import draft_commit

    who = f"{ws.identity.name} <{ws.identity.email}>" if ws.identity.known else ""
    return draft_commit(message or "", author=who, committer=who)


def save(
    ws: Workspace, doc: Document, verb: str | None = None, message: str | None = None
) -> SaveResult:
    """:meth:`Workspace.save <kbapp.workspace.Workspace.save>`."""
    from kbapp.documents import model as documents
    from kbapp.sync import journal
    from kbapp.trust import object_rules, policy

    data = documents.serialise(doc)
    policy.enforce(
        policy.check_commit_file(doc.path, data, ws.config)
        + object_rules.check_object("commit", _draft_commit(ws, message), ws.config)
    )
    ws.require_identity()
    with ws.git.write_lock():
        if doc.source is None and (ws.root / doc.path).exists():
            # A new document never replaces another one, even one that another kbapp
            # created under the same name a moment ago.
            doc.path = free_path(ws.root, doc.path)
        full = ws.full_path(doc.path)
        if documents.changed_on_disk(doc, full):
            raise SaveError(
                f"Could not save {doc.path}: it changed on disk after kbapp read it "
                "(another program or kbapp process saved it meanwhile); nothing was "
                "written, the file keeps that change. Run it again on the new text.",
                path=doc.path,
                reason="changed-on-disk",
            )
        existed = full.exists()
        previous = _keep_aside(full) if existed and full.is_file() else None
        text = message or f"{verb or ('Update' if existed else 'Create')}: {doc.title}"
        earlier = _finish_pending(ws)
        try:
            with journal.pending_commit(ws, [doc.path], text):
                documents.write(doc, full)
                try:
                    commit = ws.git.commit([doc.path], text, trailers=ws.trailers())
                except SyncError as exc:
                    if not (is_disk_full(f"{exc}\n{exc.details}") or low_space(full.parent)):
                        raise
                    _undo_write(ws, doc.path, full, previous, exc)
        except SaveError as exc:
            _drop_aside(previous)
            if exc.reason == "disk-full" and not exc.written and exc.path != str(full):
                raise disk_full_error(full, exc.details) from None  # e.g. the journal
            raise
        except SyncError as exc:  # written, not committed: say exactly that
            _drop_aside(previous)
            changes = ws.refresh_paths([doc.path, *earlier])
            raise NotCommitted(
                f"Saved to disk; not committed yet: {exc}",
                result=SaveResult(doc.path, None, changes),
                details=exc.details,
            ) from None
        except BaseException:
            _drop_aside(previous)
            raise
        _drop_aside(previous)
    try:
        changes = ws.refresh_paths([doc.path, *earlier])
    except SaveError as exc:  # derived data only: the save itself is committed
        ws.interaction.notify(str(exc), Level.WARNING)
        from kbapp.catalog import CatalogChanges

        changes = CatalogChanges()
    return SaveResult(doc.path, commit, changes)


def _undo_write(
    ws: Workspace, relative: str, full: Path, previous: Path | bytes | None, exc: SyncError
) -> None:
    """git could not commit a written document (a full disk): put the file back as it
    was, so what is on disk is what is committed; raises the :class:`SaveError` to show.
    The old file was kept aside as a hard link, so putting it back is a rename: it needs
    no free space."""
    # Unstage, when git got that far; on a disk too full even for that, the journal stays
    # and the next start re-commits the (unchanged) file, which puts the index right.
    unstaged = (
        ws.git.run("--literal-pathspecs", "reset", "-q", "--", relative, check=False).status == 0
    )
    try:
        if previous is None:
            full.unlink(missing_ok=True)
        elif isinstance(previous, Path):
            os.replace(previous, full)
        else:
            atomic_write(full, previous)
    except (OSError, SaveError):
        raise SaveError(
            f"Could not commit {full}: the disk is full. Your edit is on disk; kbapp "
            "commits it once there is space again (at the next start or sync).",
            path=str(full),
            reason="disk-full",
            details=exc.details,
            written=True,
        ) from None
    error = disk_full_error(full, exc.details)
    error.unfinished = not unstaged
    raise error


def _finish_pending(ws: Workspace) -> list[str]:
    """Commit what earlier saves wrote but could not commit (before this save's own
    commit, each with its own message); returns their paths. A commit that fails again
    stays pending, and this save goes on."""
    from kbapp.sync import journal

    paths = journal.pending_paths(ws)
    if not paths:
        return []
    try:
        journal.finish(ws)
    except KbError as exc:
        log.info("earlier saves in %s are still not committed: %s", ws.root, exc)
    return paths


def commit_pending(ws: Workspace, path: str) -> SaveResult | None:
    """:meth:`Workspace.commit_pending <kbapp.workspace.Workspace.commit_pending>`."""
    from kbapp.sync import journal

    earlier = journal.pending_paths(ws)
    if not earlier and not _uncommitted(ws, path):
        return None
    ws.require_identity()
    commit = None
    with ws.git.write_lock():
        for made in journal.finish(ws):
            commit = made
        if _uncommitted(ws, path):
            try:
                title = ws.load(path).title
            except KbError:
                title = path
            verb = "Update" if (ws.root / path).exists() else "Delete"
            commit = ws.git.commit([path], f"{verb}: {title}", trailers=ws.trailers()) or commit
    changes = ws.refresh_paths([path, *earlier])
    return SaveResult(path, commit, changes) if commit else None


def _uncommitted(ws: Workspace, path: str) -> bool:
    return bool(
        ws.git.run(
            "--literal-pathspecs", "status", "--porcelain", "--untracked-files=all", "--", path
        ).stdout.strip()
    )


def free_path(root: Path, relative: str) -> str:
    """``relative``, or, when a file is there, the first free ``<stem>-2.md``, ``-3`` ...."""
    if not (root / relative).exists():
        return relative
    stem, _, suffix = relative.rpartition(".")
    number = 2
    while (root / f"{stem}-{number}.{suffix}").exists():
        number += 1
    return f"{stem}-{number}.{suffix}"


def move(ws: Workspace, ref: str, new_path: str) -> SaveResult:
    """:meth:`Workspace.move <kbapp.workspace.Workspace.move>`."""
    old = ws.resolve(ref)
    new = ws.relative(new_path) if Path(new_path).is_absolute() else new_path.rstrip("/")
    if not new.endswith(".md"):
        new += ".md"
    target = ws.full_path(new)
    if target.exists():
        raise KbError(f"{new} already exists")
    doc = ws.load(old)
    from kbapp.trust import policy

    # A name is pushed like a content: the shared repository refuses a secret in it, and a
    # name some clone cannot check out (Windows).
    policy.enforce(policy.check_path(new) + policy.check_file_name(new, ws.config))
    ws.require_identity()
    with ws.git.write_lock():
        target.parent.mkdir(parents=True, exist_ok=True)
        tracked = ws.git.run(
            "--literal-pathspecs", "ls-files", "--error-unmatch", "--", old, check=False
        )
        if tracked.status == 0:
            ws.git.run("--literal-pathspecs", "mv", "--", old, new)
        else:
            shutil.move(str(ws.full_path(old)), target)
        commit = ws.git.commit([old, new], f"Move: {doc.title}", trailers=ws.trailers())
    changes = ws.refresh_paths([old, new])
    return SaveResult(new, commit, changes)


def _keep_aside(full: Path) -> Path | bytes:
    """A hard link to the file about to be replaced (``.name.XXXX.kbtmp``, cleaned by the
    journal's repair after a crash), to put it back without needing disk space; its bytes
    where the file system has no hard links."""
    aside = full.with_name(f".{full.name}.{os.getpid()}.old.kbtmp")
    try:
        aside.unlink(missing_ok=True)
        os.link(full, aside)
    except OSError:
        return full.read_bytes()
    return aside


def _drop_aside(aside: Path | bytes | None) -> None:
    if isinstance(aside, Path):
        try:
            aside.unlink(missing_ok=True)
        except OSError:
            pass
