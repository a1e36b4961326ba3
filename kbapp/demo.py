"""The bundled demo knowledge base, set up on first use so that kbapp works out of the box.

``resources/demo-kb`` is copied to the user's data folder, made a git repository whose history
has commits from both organisations, and given a local bare "remote" so that sync works
without any server.
"""

from __future__ import annotations

import shutil
from importlib.resources.abc import Traversable
from pathlib import Path

from kbapp import documents
from kbapp.errors import KbError
from kbapp.git import Git, Identity
from kbapp.bundled import resource
from kbapp.settings import data_dir

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
    """A first commit with the setup files, then one commit per organisation's documents."""
    git = Git(root, DEMO_PEOPLE["internal"])
    setup = [p for p in (".kb/config.toml", "README.md") if (root / p).exists()]
    (root / ".gitattributes").write_text("*.md merge=kbapp\n", encoding="utf-8")
    (root / ".gitignore").write_text(".*.kbtmp\n", encoding="utf-8")
    git.commit([*setup, ".gitattributes", ".gitignore"], "Create knowledge base: demo",
               trailers={"KB-Org": "internal"})
    by_org: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(".") or relative in setup:
            continue
        try:
            org = documents.load(path, relative).owner_org or "internal"
        except KbError:
            org = "internal"
        by_org.setdefault(org if org in DEMO_PEOPLE else "internal", []).append(relative)
    for org, paths in sorted(by_org.items()):
        git.identity = DEMO_PEOPLE[org]
        git.commit(paths, f"Import: {len(paths)} documents of {DEMO_PEOPLE[org].name}",
                   trailers={"KB-Org": org})
