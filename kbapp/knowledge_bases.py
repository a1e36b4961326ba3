"""Several knowledge bases at once: the one open, the others searched together with it, and
moving a document from one to another.

A user often works with two: the one shared with the partner and an internal-only one
(``sensitivity = "internal"`` in its ``.kb/config.toml``). ``Settings.also_search`` lists the
others; :func:`open_others` opens them for searching (a missing or unreadable one is skipped
with a one-line reason, never an error), and :func:`kbapp.search.search_all` asks every index.

Nothing crosses between knowledge bases by itself: :func:`move_to_kb` is the one explicit way.
It commits the document into the target first and removes it from the source second, so an
interruption between the two leaves it in both, never in neither; the commit policy of the
target (an ``internal`` document never goes into a shared knowledge base) runs before anything
is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbapp.config import load_config
from kbapp.documents import model as documents
from kbapp.errors import KbError
from kbapp.interaction import Interaction
from kbapp.settings import Settings
from kbapp.sync import conflicts, journal
from kbapp.sync.git import find_root
from kbapp.sync.recovery import checkpoint
from kbapp.workspace import Workspace
from kbapp.workspace_save import free_path

#: Where ``KBAPP_SYNC_CRASH_AT`` can kill a move (crash tests): after the target's commit, and
#: after the source's file is gone but before its commit.
MOVE_CHECKPOINTS = ("move-committed-in-target", "move-removed-from-source")


def _key(path: Path | str) -> str:
    return str(Path(path).expanduser().resolve())


def searched_together(settings: Settings, current: Path) -> list[str]:
    """The other knowledge bases to search with ``current`` (absolute paths, in order, without
    ``current`` itself or repeats)."""
    own = _key(current)
    seen: list[str] = []
    for path in settings.also_search:
        key = _key(path)
        if key != own and key not in seen:
            seen.append(key)
    return seen


def add_searched(settings: Settings, path: Path | str) -> str:
    """Search the knowledge base at ``path`` together with the open one (saved by the caller);
    returns its root. Raises :class:`KbError` when ``path`` is not a knowledge base."""
    root = find_root(Path(path).expanduser().resolve())
    key = _key(root)
    if key not in (_key(p) for p in settings.also_search):
        settings.also_search = [*settings.also_search, key]
    return key


def remove_searched(settings: Settings, path: Path | str) -> bool:
    """Stop searching ``path`` with the others; False when it was not in the list."""
    key = _key(path)
    kept = [p for p in settings.also_search if _key(p) != key]
    removed = len(kept) != len(settings.also_search)
    settings.also_search = kept
    return removed


def make_current(settings: Settings, previous: Path, current: Path) -> None:
    """The user switched from ``previous`` to ``current``: it becomes the default and the
    most recent, and when it was searched together with ``previous``, ``previous`` now is
    searched together with it (the same knowledge bases stay in reach). Saved by the caller."""
    settings.remember_kb(current)
    settings.default_kb = _key(current)
    if remove_searched(settings, current):
        add_searched(settings, previous)


def candidates(settings: Settings, current: Path) -> list[str]:
    """Knowledge bases a document could be moved to: those searched together, then the ones
    opened recently (absolute paths, without ``current``)."""
    own = _key(current)
    found = searched_together(settings, current)
    for path in settings.knowledge_bases:
        key = _key(path)
        if key != own and key not in found and Path(key).is_dir():
            found.append(key)
    return found


def display_name(path: str) -> str:
    """A knowledge base's name from its configuration, else its folder's name."""
    try:
        return load_config(Path(path)).name
    except (KbError, OSError):
        return Path(path).name


@dataclass
class OtherKnowledgeBases:
    """The other knowledge bases, opened for searching, and those that could not be."""

    workspaces: list[Workspace] = field(default_factory=list)
    #: (path, why) of each knowledge base that was skipped.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f"Not searching {path}: {why}" for path, why in self.skipped]

    def by_root(self, root: str | Path) -> Workspace | None:
        key = _key(root)
        return next((ws for ws in self.workspaces if str(ws.root) == key), None)

    def close(self) -> None:
        for ws in self.workspaces:
            ws.close()
        self.workspaces.clear()


def open_others(
    settings: Settings, current: Path, interaction: Interaction | None = None
) -> OtherKnowledgeBases:
    """Open every knowledge base of ``settings.also_search`` except ``current``; a missing,
    unreadable or broken one is skipped with its reason."""
    found = OtherKnowledgeBases()
    for path in searched_together(settings, current):
        try:
            found.workspaces.append(Workspace.open(path, settings, interaction))
        except (KbError, OSError) as exc:
            found.skipped.append((path, _reason(exc)))
    return found


def _reason(exc: Exception) -> str:
    if isinstance(exc, KbError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return "permission denied"
    return getattr(exc, "strerror", None) or str(exc)


# --------------------------------------------------------------------------- moving


@dataclass
class KbMove:
    """What :func:`move_to_kb` did."""

    title: str
    source_kb: str
    target_kb: str
    source_root: str
    target_root: str
    source_path: str
    target_path: str
    old_id: str
    new_id: str
    target_commit: str | None
    source_commit: str | None
    #: Titles of the source's documents whose links pointed at it (they no longer reach it).
    linked_from: list[str] = field(default_factory=list)

    @property
    def id_changed(self) -> bool:
        return self.old_id != self.new_id

    def sentences(self) -> list[str]:
        said = [
            (
                f"Moved “{self.title}” from {self.source_kb} to {self.target_kb} "
                f"({self.target_path})."
            )
        ]
        if self.target_path != self.source_path:
            said.append(f"{self.source_path} was taken there, so it is {self.target_path}.")
        if self.id_changed:
            said.append(
                f"Its id {self.old_id} was taken there, so it is now {self.new_id}; "
                f"links to {self.old_id} no longer reach it."
            )
        if self.linked_from:
            n = len(self.linked_from)
            said.append(
                f"{n} document{'s' if n > 1 else ''} in {self.source_kb} linked to it "
                f"and no longer reach{'' if n > 1 else 'es'} it: " + "; ".join(self.linked_from)
            )
        return said

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "from": {
                "kb": self.source_kb,
                "kb_path": self.source_root,
                "path": self.source_path,
                "id": self.old_id,
                "commit": self.source_commit,
            },
            "to": {
                "kb": self.target_kb,
                "kb_path": self.target_root,
                "path": self.target_path,
                "id": self.new_id,
                "commit": self.target_commit,
            },
            "id_changed": self.id_changed,
            "linked_from": self.linked_from,
        }


def waiting_conflicts(ws: Workspace) -> int:
    """Conflicts not resolved yet in ``ws``: kept by sync, or a merge left half-done."""
    unmerged = ws.git.run("ls-files", "--unmerged", check=False).stdout.strip()
    return len(conflicts.conflict_refs(ws)) + (1 if unmerged else 0)


def move_to_kb(source: Workspace, ref: str, target: Workspace) -> KbMove:
    """Move the document ``ref`` of ``source`` into ``target``: same relative path unless it is
    taken there, same id unless it is taken there. Commits in the target (naming the source),
    then removes it from the source (naming the target).

    Raises :class:`~kbapp.errors.PolicyError` when the target's policy refuses the document
    (an ``internal`` one into a shared knowledge base) and :class:`KbError` when the target
    has conflicts waiting; nothing is written then."""
    if source.root == target.root:
        raise KbError(f"the document is already in {target.config.name} ({target.root})")
    source.require_identity()  # both commits need it: asked before either is made
    target.require_identity()
    from kbapp.lifecycle.review_actions import linking_documents

    path = source.resolve(ref)
    doc = source.load(path)
    linked_from = [entry.title for entry in linking_documents(source, path)]
    waiting = waiting_conflicts(target)
    if waiting:
        raise KbError(
            f"{target.config.name} has conflicts waiting to be resolved; resolve them there "
            f"first (kbapp --kb {target.root} conflicts)"
        )
    target.refresh()
    old_id = doc.id
    new_id = old_id
    data = documents.serialise(doc)
    target_path = free_path(target.root, path)
    moved = documents.parse(data, target_path)
    if doc.has_front_matter and target.catalog.by_id(old_id):
        new_id = target.new_unique_id()
        moved.set("id", new_id)
    elif not doc.has_front_matter:
        new_id = moved.id  # derived from the path, as before
    result = target.save(moved, message=f"Move in: {doc.title} (from {source.config.name})")
    checkpoint(MOVE_CHECKPOINTS[0])
    message = f"Move out: {doc.title} (to {target.config.name})"
    with source.git.write_lock(), journal.pending_commit(source, [path], message):
        source.full_path(path).unlink()
        checkpoint(MOVE_CHECKPOINTS[1])
        source_commit = source.git.commit([path], message, trailers=source.trailers())
    source.refresh_paths([path])
    return KbMove(
        doc.title,
        source.config.name,
        target.config.name,
        str(source.root),
        str(target.root),
        path,
        result.path,
        old_id,
        new_id,
        result.commit,
        source_commit,
        linked_from,
    )
