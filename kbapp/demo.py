"""The bundled demo knowledge base, set up on first use so that kbapp works out of the box.

``resources/demo-kb`` is copied to the user's data folder, made a git repository whose history
has commits from both organisations, and given a local bare "remote" so that sync works
without any server.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from kbapp.bundled import resource
from kbapp.documents import model as documents
from kbapp.errors import KbError
from kbapp.settings import data_dir
from kbapp.sync.git import Git, Identity

DEMO_PEOPLE = {
    "internal": Identity("Ana Ribeiro", "ana.ribeiro@tidewater.example", "internal"),
    "partner": Identity("Jo Okafor", "j.okafor@kestrel-ms.example", "partner"),
}


def demo_paths(base: Path | None = None) -> tuple[Path, Path]:
    base = base or data_dir()
    return base / "demo-kb", base / "demo-remote.git"


def ensure_demo(base: Path | None = None) -> Path:
    """The demo knowledge base's folder, creating it (and its remote) when missing."""
    root, remote = demo_paths(base)
    if (root / ".kb" / "config.toml").is_file() and (root / ".git").is_dir():
        return root
    partial = root.with_name(root.name + ".partial")
    for leftover in (partial, remote):  # a previous attempt that did not finish
        if leftover.exists():
            shutil.rmtree(leftover)
    if root.exists():
        raise KbError(f"{root} exists but is not the demo knowledge base; move it away first")
    _copy_tree(resource("demo-kb"), partial)
    Git.init_repository(partial)
    _commit_history(partial)
    Git.init_repository(remote, bare=True)
    git = Git(partial)
    git.run("remote", "add", "origin", str(remote))
    git.run("push", "-q", "-u", "origin", "main")
    partial.rename(root)
    # The remote's recorded URL does not change; only the work tree moved.
    return root


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name in ("__pycache__",):
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def _commit_history(root: Path) -> None:
    """A first commit with the setup files, then one ``Create:`` commit per document by a person
    of its owning organisation, dated a week before the document was last reviewed, so that the
    history, the trends of the health report and ``kbapp history`` look like a year of work."""
    documents_by_date: list[tuple[dt.date, str, str, str]] = []
    setup = [p for p in (".kb/config.toml", "README.md") if (root / p).exists()]
    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(".") or relative in setup:
            continue
        try:
            doc = documents.load(path, relative)
        except KbError:
            documents_by_date.append((_FIRST_DAY, "internal", relative, relative))
            continue
        org = doc.owner_org if doc.owner_org in DEMO_PEOPLE else "internal"
        reviewed = doc.last_reviewed
        created = (
            reviewed - dt.timedelta(days=7)
            if reviewed
            else _FIRST_DAY + dt.timedelta(days=len(documents_by_date) * 11)
        )
        documents_by_date.append((max(created, _FIRST_DAY), org, relative, doc.title))
    git = Git(root, _dated(DEMO_PEOPLE["internal"], _FIRST_DAY - dt.timedelta(days=1)))
    (root / ".gitattributes").write_text("*.md merge=kbapp\n", encoding="utf-8")
    (root / ".gitignore").write_text(".*.kbtmp\n", encoding="utf-8")
    git.commit(
        [*setup, ".gitattributes", ".gitignore"],
        "Create knowledge base: demo",
        trailers={"KB-Org": "internal"},
    )
    for day, org, relative, title in sorted(documents_by_date):
        git.identity = _dated(DEMO_PEOPLE[org], day)
        git.commit([relative], f"Create: {title}", trailers={"KB-Org": org})


#: The day the demo's history starts (its documents are dated in 2025-2026).
_FIRST_DAY = dt.date(2025, 11, 3)


@dataclass(frozen=True)
class _DatedIdentity(Identity):
    """An identity whose commits carry a given author and committer date."""

    date: str = ""

    def env(self) -> dict[str, str]:
        out = super().env()
        if self.date:
            out["GIT_AUTHOR_DATE"] = out["GIT_COMMITTER_DATE"] = self.date
        return out


def _dated(person: Identity, day: dt.date) -> Identity:
    return _DatedIdentity(
        person.name, person.email, person.org, f"{day.isoformat()}T10:00:00+00:00"
    )
