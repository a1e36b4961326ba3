"""The :class:`Workspace`: one knowledge base as everything else sees it.

It is the one context object (git-cola's ``ApplicationContext``) passed to the CLI commands,
the search index, sync and the window: the repository root, its shared configuration, the
user's settings and identity, the git gateway, the catalog, the templates, and the event that
announces changed documents. Nothing here is global; two workspaces can be open at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.config import KbConfig, load_config
from kbapp.errors import (
    KbError,
    SettingNeeded,
)
from kbapp.events import Event
from kbapp.interaction import Interaction, SilentInteraction
from kbapp.settings import Settings
from kbapp.sync.gitroot import find_root, git_dir

if TYPE_CHECKING:
    # SQLAlchemy (half a second to import) loads when the catalog is first used, so the
    # window can show before it.
    from kbapp.catalog import Catalog, CatalogChanges, Entry
    from kbapp.documents.model import Document
    from kbapp.documents.templates import TemplateLibrary
    from kbapp.sync.git import Git, Identity
    from kbapp.workspace_save import SaveResult

# Documents, the commit policy and the templates (YAML and the secret scanners: 100 ms) load
# on first use: a search opens the workspace and needs none of them. So do the git gateway
# (kbapp.sync.git), who the user is (kbapp.identity, which asks git), the writing of
# documents (kbapp.workspace_save) and the links between them: a search reads the files and
# the index only.

log = logging.getLogger(__name__)


class Workspace:
    """An open knowledge base. Create with :meth:`open` or :meth:`init`."""

    def __init__(
        self,
        root: Path,
        settings: Settings | None = None,
        interaction: Interaction | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.settings = settings or Settings()
        self.interaction: Interaction = interaction or SilentInteraction()
        self.config: KbConfig = load_config(self.root)
        #: git's reason when nobody is known to commit as ("no email was given ...").
        self.identity_problem = ""
        self._git: Git | None = None  # made on first use (see the property)
        self._git_lock = threading.Lock()
        self.settings.changed.connect(self._on_settings_changed)
        self.data_dir = git_dir(self.root) / "kbapp"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        #: Emitted with the catalog changes after documents were written, pulled or found
        #: changed on disk. The search index and the window subscribe.
        self.documents_changed: Event[CatalogChanges] = Event()
        self._catalog: Catalog | None = None
        self._templates: TemplateLibrary | None = None
        self._services: dict[str, Any] = {}
        #: What opening repaired (a crash's leftovers), in sentences, for the window to show.
        self.repairs: list[str] = []

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: Path | str,
        settings: Settings | None = None,
        interaction: Interaction | None = None,
        *,
        repair: bool = True,
    ) -> Workspace:
        """Open the knowledge base at ``path`` (or the repository containing it).
        ``repair=False``: for a use that only reads (a search), which leaves the repairs
        and set-up of :meth:`_on_open` (a few git processes) to the next open."""
        root = find_root(Path(path).expanduser())
        workspace = cls(root, settings, interaction)
        if repair:
            workspace._on_open()
        return workspace

    @classmethod
    def init(
        cls,
        path: Path | str,
        name: str,
        orgs: list[str],
        *,
        sensitivity: str = "shared",
        settings: Settings | None = None,
        interaction: Interaction | None = None,
        domains: dict[str, list[str]] | None = None,
    ) -> Workspace:
        """Make ``path`` a knowledge base: a git repository with ``.kb/config.toml``,
        ``.gitattributes`` and a first commit. An existing repository gains the files.

        All or nothing: who commits is settled before anything is created (else
        :class:`~kbapp.errors.IdentityMissing`), and a step that fails takes back every
        earlier one (folder, repository, files), so that ``init`` can simply be run again."""
        from kbapp import workspace_init

        workspace = workspace_init.create(
            cls,
            path,
            name,
            orgs,
            sensitivity=sensitivity,
            settings=settings,
            interaction=interaction,
            domains=domains,
        )
        workspace._on_open()
        return workspace

    def _on_open(self) -> None:
        """Repairs and set-up every time a knowledge base is opened (each step is cheap when
        there is nothing to do): the merge driver in the clone's git config, stale git locks,
        a merge or rebase a crash left half-done (see :func:`kbapp.sync.recovery.prepare`), then a
        save or import cut off before its commit (:func:`kbapp.sync.journal.repair`)."""
        from kbapp.sync import journal, recovery

        try:
            self.repairs = recovery.prepare(self)
        except KbError as exc:  # a read-only clone still opens; sync will say what is wrong
            log.warning("could not prepare %s for sync: %s", self.root, exc)
        self.repairs += journal.repair(self)
        for sentence in self.repairs:
            log.warning("%s: %s", self.root, sentence)

    def close(self) -> None:
        self.settings.changed.disconnect(self._on_settings_changed)
        for service in self._services.values():
            closer = getattr(service, "close", None)
            if callable(closer):
                closer()
        self._services.clear()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def service(self, name: str, factory: Callable[[Workspace], Any]) -> Any:
        """A per-workspace singleton (the search index, the activity store...) made on first use."""
        if name not in self._services:
            self._services[name] = factory(self)
        return self._services[name]

    def reload_config(self) -> None:
        self.config = load_config(self.root)
        self._templates = None
        self.git.identity = self._identity()

    @property
    def git(self) -> Git:
        """The one git gateway of this knowledge base (made, and its module imported, on
        first use: a search never runs git)."""
        if self._git is None:
            with self._git_lock:  # one gateway, whichever thread asks first
                if self._git is None:
                    from kbapp.sync.git import Git

                    # who commits is found on first use (it runs git)
                    self._git = Git(self.root, self._identity)
        return self._git

    # ------------------------------------------------------------------ identity

    def _identity(self) -> Identity:
        from kbapp import identity

        found, self.identity_problem = identity.resolve(self.settings, self.config, self.root)
        return found

    def reload_identity(self) -> Identity:
        """Take who the user is from the settings (and git) again: a running window applies
        a changed name or e-mail at once."""
        self.git.identity = self._identity()
        return self.git.identity

    def _on_settings_changed(self, keys: set[str]) -> None:
        from kbapp import identity

        if keys & set(identity.KEYS):
            self.reload_identity()

    @property
    def identity(self) -> Identity:
        return self.git.identity

    def require_identity(self, *, organisation: bool = False) -> Identity:
        """Who commits; called before anything is changed. When nobody is known (or, with
        ``organisation``, their organisation is not), the user is asked through the
        interaction (the window's dialog); when they do not answer, or cannot be asked (the
        command line), raises :class:`~kbapp.errors.IdentityMissing` (or
        :class:`~kbapp.errors.SettingNeeded`) naming the ``kbapp settings`` commands."""
        from kbapp import identity

        if not self.identity.known:
            if self.interaction.ask_settings(
                "kbapp commits every change with your name and e-mail; tell it who you are once.",
                identity.KEYS,
            ):
                self.reload_identity()
            if not self.identity.known:
                raise identity.missing(self.identity_problem)
        if organisation and not self.identity.org:
            names = ", ".join(self.config.org_names) or "none is configured"
            reason = (
                f"{self.identity.email} matches no organisation of {self.config.name} ({names})"
            )
            if self.interaction.ask_settings(f"{reason}: choose yours.", ("organisation",)):
                self.reload_identity()
            if not self.identity.org:
                raise SettingNeeded(
                    f"{reason}; set yours with 'kbapp settings organisation NAME'",
                    key="organisation",
                )
        return self.identity

    def trailers(self) -> dict[str, str]:
        org = self.identity.org
        return {"KB-Org": org} if org else {}

    # ------------------------------------------------------------------ parts

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from kbapp.catalog import Catalog

            self._catalog = Catalog(self.data_dir / "catalog.sqlite")
        return self._catalog

    @property
    def templates(self) -> TemplateLibrary:
        if self._templates is None:
            from kbapp.documents.templates import TemplateLibrary

            self._templates = TemplateLibrary(self.root)
        return self._templates

    def known_types(self) -> list[str]:
        return self.templates.types()

    # ------------------------------------------------------------------ files

    def document_paths(self) -> list[str]:
        """Every document of the knowledge base (tracked or new, whatever a ``.gitignore``
        says), relative. A symbolic link is never a document (see :meth:`symlinks`), nor is a
        name some clone cannot have (see :meth:`unusable_names`)."""
        from kbapp.trust import policy

        return [
            path
            for path in self.git.list_files("*.md", ignored_too=True)
            if policy.is_document_path(path, self.config)
            and not policy.check_path(path)  # one such name must not stop every command
            and not (self.root / path).is_symlink()
        ]

    def unusable_names(self) -> list[str]:
        """Files whose names some clone cannot have (not UTF-8, a Windows desktop cannot check
        them out: ``policy.check_path``): never documents; ``kbapp lint`` reports them so that
        someone renames them."""
        from kbapp.documents.filenames import MARKDOWN_PATHSPECS
        from kbapp.trust import policy

        listed = {
            *self.git.list_files("*"),
            *self.git.list_files(*MARKDOWN_PATHSPECS, ignored_too=True),
        }
        return sorted(path for path in listed if policy.check_path(path))

    def symlinks(self) -> list[str]:
        """Symbolic links in the knowledge base (tracked or new): never read, written, indexed
        or imported; ``kbapp lint`` reports them and the server's hook refuses them."""
        return [path for path in self.git.list_files("*") if (self.root / path).is_symlink()]

    def full_path(self, relative: str) -> Path:
        """Where ``relative`` is on disk; refuses a path outside the knowledge base, inside
        ``.git`` (any case) or through a symbolic link."""
        from kbapp.fsutil import check_inside

        return check_inside(self.root, relative)

    def relative(self, path: Path | str) -> str:
        full = Path(path).expanduser()
        if not full.is_absolute():
            full = Path.cwd() / full
        if full.name not in ("", ".", ".."):
            # The folders on the way may be links (a home folder); the file itself is never
            # followed: a link is not a document, whatever it points at.
            full = full.parent.resolve() / full.name
        else:
            full = full.resolve()
        try:
            return full.relative_to(self.root).as_posix()
        except ValueError:
            raise KbError(f"{path} is not inside the knowledge base {self.root}") from None

    def refresh(self, progress: Callable[[int, int], None] | None = None) -> CatalogChanges:
        """Find documents added, changed or removed on disk (by kbapp or anyone else)."""
        changes = self.catalog.refresh(self.root, self.document_paths(), progress=progress)
        if changes:
            self.documents_changed.emit(changes)
        return changes

    def refresh_paths(self, paths: Iterable[str]) -> CatalogChanges:
        """Re-read just ``paths`` (after a save or a pull) and announce what changed."""
        paths = list(paths)
        listed = set(self.document_paths())
        changes = self.catalog.refresh(self.root, listed, only=paths)
        if changes:
            self.documents_changed.emit(changes)
        return changes

    # ------------------------------------------------------------------ documents

    def resolve(self, ref: str) -> str:
        """The relative path of a document given by id, path or exact title."""
        from kbapp.documents import schema

        ref = ref.strip()
        if schema.ID_RE.match(ref):
            entries = self.catalog.by_id(ref)
            if not entries:
                self.refresh()
                entries = self.catalog.by_id(ref)
            if len(entries) == 1:
                return entries[0].path
            if len(entries) > 1:
                paths = ", ".join(e.path for e in entries)
                raise KbError(f"id {ref} is used by more than one document: {paths}")
            raise KbError(f"no document has the id {ref}")
        candidate = Path(ref).expanduser()
        for base in (Path.cwd(), self.root):
            full = candidate if candidate.is_absolute() else base / candidate
            if full.is_file():
                return self.relative(full)
        entries = self.catalog.by_title(ref)
        if len(entries) == 1:
            return entries[0].path
        raise KbError(f"no document matches {ref!r} (give an id such as kb-3f9c2a1e or a path)")

    def load(self, ref: str) -> Document:
        from kbapp.documents import model as documents

        relative = self.resolve(ref)
        return documents.load(self.full_path(relative), relative)

    def entry(self, ref: str) -> Entry:
        relative = self.resolve(ref)
        entry = self.catalog.get(relative)
        if entry is None:
            self.refresh_paths([relative])
            entry = self.catalog.get(relative)
        if entry is None:
            raise KbError(f"{relative} is not a document of this knowledge base")
        return entry

    def resolve_link(self, from_path: str, kind: str, target: str) -> str | None:
        """Where an internal link points (relative path), or None when it points nowhere."""
        from kbapp.documents import schema
        from kbapp.documents.links import resolve_relative

        if kind == "wiki":
            label = target.split("|", 1)[0].strip()
            if schema.ID_RE.match(label):
                entries = self.catalog.by_id(label)
            else:
                entries = self.catalog.by_title(label)
            # an id or title several documents have names none of them: never pick one
            return entries[0].path if len(entries) == 1 else None
        path = resolve_relative(from_path, target)
        return path if (self.root / path).is_file() else None

    def wiki_target(self, target: str) -> tuple[str, str] | None:
        """(id, title) of the document a ``[[...]]`` link names, or None."""
        from kbapp.documents import schema

        label = target.split("|", 1)[0].strip()
        entries = (
            self.catalog.by_id(label) if schema.ID_RE.match(label) else self.catalog.by_title(label)
        )
        if not entries or len({e.doc_id for e in entries}) > 1:
            return None  # a title several documents have: never pick one of them
        # an id several documents have stays a kb: link: the reader asks which to open
        return (entries[0].doc_id, entries[0].title)

    def render(self, doc: Document) -> Any:
        """The document's body as sanitised HTML (:class:`kbapp.documents.render.Rendered`)."""
        from kbapp.documents.mdext import TicketLinkExtension
        from kbapp.documents.render import (
            render_markdown,  # Markdown and Pygments load on first use
        )

        linker = self.ticket_linker()
        extensions = []
        if linker:
            extensions.append(
                TicketLinkExtension(
                    finder=lambda text: [
                        (ref.start, ref.end, ref.url, ref.org) for ref in linker.find(text)
                    ]
                )
            )
        return render_markdown(doc.body, resolver=self.wiki_target, extensions=extensions)

    def ticket_linker(self) -> Any:
        """The :class:`kbapp.cosourcing.tickets.TicketLinker` of this knowledge base's ticket systems."""
        from kbapp.cosourcing.tickets import TicketLinker

        return TicketLinker(self.config.tickets)

    def new_unique_id(self) -> str:
        from kbapp.documents import model as documents

        taken = self.catalog.ids()
        while True:
            candidate = documents.new_id()
            if candidate not in taken:
                return candidate

    def path_for_new(self, doc_type: str, title: str, folder: str | None = None) -> str:
        if folder is not None and Path(folder).expanduser().is_absolute():
            folder = self.relative(folder)  # refuses a folder outside the knowledge base
        base = folder.strip("/") if folder is not None else self.config.folder_for(doc_type)
        if base:
            self.full_path(base)  # refuses a folder outside the knowledge base or in .git
        stem = slugify(title) or "untitled"
        candidate = f"{base}/{stem}.md" if base else f"{stem}.md"
        number = 2
        while (self.root / candidate).exists():
            candidate = f"{base}/{stem}-{number}.md" if base else f"{stem}-{number}.md"
            number += 1
        return candidate

    def draft_from_template(
        self,
        template_name: str,
        title: str,
        *,
        systems: list[str] | None = None,
        tags: list[str] | None = None,
        folder: str | None = None,
        variables: dict[str, str] | None = None,
        today: dt.date | None = None,
    ) -> Document:
        """A new, not yet saved document from a template, with id, owner and path filled in."""
        title = title.strip()
        if not title:
            raise KbError("a new document needs a title")
        template = self.templates.get(template_name)
        self.refresh()
        identity = self.identity
        return template.instantiate(
            title=title,
            doc_id=self.new_unique_id(),
            path=self.path_for_new(template.type, title, folder),
            owner_org=identity.org,
            owners=[identity.email] if identity.email else None,
            systems=systems,
            tags=tags,
            today=today,
            variables=variables,
        )

    # ------------------------------------------------------------------ writing
    # (kbapp.workspace_save: the write, the commit and what can go wrong between them)

    def create(self, template_name: str, title: str, **kwargs: Any) -> SaveResult:
        """Create, save and commit a document from a template (``Create: <title>``)."""
        from kbapp import workspace_save

        return workspace_save.create(self, template_name, title, **kwargs)

    def save(
        self, doc: Document, verb: str | None = None, message: str | None = None
    ) -> SaveResult:
        """Write ``doc`` atomically and commit it (``Update: <title>``), after the commit
        policy (sensitivity, conflict markers, secrets) has passed.

        Raises :class:`~kbapp.errors.PolicyError` (nothing written) and
        :class:`~kbapp.errors.SaveError` (disk full, read-only folder: the file on disk is
        unchanged; the caller keeps the edit). A crash after the write is finished by the next
        open (:mod:`kbapp.sync.journal`)."""
        from kbapp import workspace_save

        return workspace_save.save(self, doc, verb, message)

    def commit_pending(self, path: str) -> SaveResult | None:
        """Commit saved work that is not committed yet: earlier saves whose commit failed,
        then the document ``path`` if it differs from its last commit (``Update: <title>``).
        None when everything was committed already; raises git's error when it still cannot
        commit (nothing is lost: the files stay as they are)."""
        from kbapp import workspace_save

        return workspace_save.commit_pending(self, path)

    def expect_committed(self, path: str, doc: Document | None, refusal: str) -> None:
        """Before writing text that was not read from the file (an old version, a conflict's
        side; ``doc`` None: deleting it): never over an edit on disk that is in no commit.
        Raises :class:`~kbapp.errors.SaveError` ``changed-on-disk`` with ``refusal`` when the
        file differs from its last commit (and from ``doc``'s text); otherwise ``doc`` counts
        as read from the file as it is, so :meth:`save`'s own check guards it from here."""
        from kbapp import workspace_save

        workspace_save.expect_committed(self, path, doc, refusal)

    def move(self, ref: str, new_path: str) -> SaveResult:
        """Rename or move a document; its id (and so every [[kb-id]] link) stays the same."""
        from kbapp import workspace_save

        return workspace_save.move(self, ref, new_path)


def slugify(title: str, limit: int = 60) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text.lower()).strip("-")
    if len(text) > limit:
        text = text[:limit].rsplit("-", 1)[0]
    return text
