"""Making a folder a knowledge base: what :meth:`Workspace.init <kbapp.workspace.Workspace.init>`
does, all or nothing.

The files every knowledge base starts with (``.kb/config.toml``, ``.gitattributes`` for the
front matter merge driver, ``.gitignore`` for interrupted saves) and the first commit; who
commits is settled before anything is made, and a step that fails takes back every earlier one
(:class:`_InitUndo`), so that ``init`` can simply be run again.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from kbapp import identity
from kbapp.config import CONFIG_PATH, SENSITIVITIES, new_config_text
from kbapp.errors import KbError, NotAKnowledgeBase
from kbapp.fsutil import atomic_write
from kbapp.interaction import Interaction
from kbapp.settings import Settings
from kbapp.sync.git import Git

if TYPE_CHECKING:
    from kbapp.workspace import Workspace

log = logging.getLogger(__name__)

GITATTRIBUTES = """\
# Front matter merges by meaning (lists: union, last_reviewed: the later date, ...).
# kbapp sets the driver up in each clone; on plain git see docs/sync.md.
*.md merge=kbapp
"""

GITIGNORE = """\
# temporary files of interrupted atomic saves
.*.kbtmp
"""


def create(
    cls: type[Workspace],
    path: Path | str,
    name: str,
    orgs: list[str],
    *,
    sensitivity: str,
    settings: Settings | None,
    interaction: Interaction | None,
    domains: dict[str, list[str]] | None,
) -> Workspace:
    """The knowledge base made at ``path`` and its first commit, opened as a ``cls``; see
    :meth:`Workspace.init <kbapp.workspace.Workspace.init>`."""
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise NotAKnowledgeBase(f"{root} is a file; give a folder for the knowledge base")
    if (root / CONFIG_PATH).exists():
        raise KbError(f"{root} is already a knowledge base ({CONFIG_PATH} exists)")
    if sensitivity not in SENSITIVITIES:
        raise KbError("sensitivity must be 'shared' or 'internal'")
    settings = settings or Settings()
    _require_identity_for_init(root, settings, interaction)
    undo = _InitUndo(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not (root / ".git").exists():
            Git.init_repository(root)
        for relative, text in (
            (CONFIG_PATH, new_config_text(name, orgs, sensitivity, domains)),
            (".gitattributes", GITATTRIBUTES),
            (".gitignore", GITIGNORE),
        ):
            undo.record_file(relative)
            if relative == CONFIG_PATH:
                atomic_write(root / CONFIG_PATH, text.encode())
            else:
                _append_once(root / relative, text)
        workspace = cls(root, settings, interaction)
        undo.workspace = workspace
        workspace.require_identity()
        workspace.git.commit(
            [CONFIG_PATH, ".gitattributes", ".gitignore"],
            f"Create knowledge base: {name}",
            trailers=workspace.trailers(),
        )
    except BaseException:
        undo.run()
        raise
    return workspace


def _append_once(path: Path, block: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    if block.strip() in existing:
        return
    joined = (existing.rstrip("\n") + "\n\n" if existing.strip() else "") + block
    atomic_write(path, joined.encode("utf-8"))


def _require_identity_for_init(
    root: Path, settings: Settings, interaction: Interaction | None
) -> None:
    """Before ``init`` creates anything: somebody must be known to make the first commit
    (in a folder that is a repository already, its own git identity counts too)."""
    here = root if (root / ".git").exists() else None
    found, problem = identity.resolve(settings, None, here)
    if found.known:
        return
    if interaction is not None and interaction.ask_settings(
        "kbapp commits every change with your name and e-mail; tell it who you are once.",
        identity.KEYS,
    ):
        found, problem = identity.resolve(settings, None, here)
        if found.known:
            return
    raise identity.missing(problem)


class _InitUndo:
    """What ``init`` made, to take it all back when a later step fails: no half-made
    knowledge base is ever left, and a second ``init`` works."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made_root = not root.exists()
        self.made_repository = not (root / ".git").exists()
        self.made_data_dir = not (root / ".git" / "kbapp").exists()
        self.files: dict[str, bytes | None] = {}  # relative path -> content before (None: new)
        self.workspace: Workspace | None = None

    def record_file(self, relative: str) -> None:
        full = self.root / relative
        self.files[relative] = full.read_bytes() if full.is_file() else None

    def run(self) -> None:
        if self.workspace is not None:
            self.workspace.close()
        try:
            if self.made_root:
                shutil.rmtree(self.root, ignore_errors=True)
                return
            for relative, before in self.files.items():
                full = self.root / relative
                if before is None:
                    full.unlink(missing_ok=True)
                else:
                    atomic_write(full, before)
            if self.made_repository:
                shutil.rmtree(self.root / ".git", ignore_errors=True)
            else:
                if self.files:
                    self._unstage()
                if self.made_data_dir:
                    shutil.rmtree(self.root / ".git" / "kbapp", ignore_errors=True)
            kb_dir = (self.root / CONFIG_PATH).parent
            if kb_dir.is_dir() and not any(kb_dir.iterdir()):
                kb_dir.rmdir()
        except OSError as exc:  # best effort: the error that stopped init is what matters
            log.warning("could not take back the half-made knowledge base %s: %s", self.root, exc)

    def _unstage(self) -> None:
        """Leave the existing repository's index as it was for the files init touched."""
        try:
            git = Git(self.root)
            paths = list(self.files)
            if git.head():
                git.run("--literal-pathspecs", "reset", "-q", "--", *paths, check=False)
            else:
                new = [p for p, before in self.files.items() if before is None]
                if new:
                    git.run(
                        "--literal-pathspecs",
                        "rm",
                        "--cached",
                        "-q",
                        "--ignore-unmatch",
                        "--",
                        *new,
                        check=False,
                    )
        except KbError as exc:
            log.warning("could not unstage init's files in %s: %s", self.root, exc)
