"""A knowledge base's shared configuration: ``.kb/config.toml``, tracked in git.

Both organisations edit it, so it is read leniently (unknown keys are ignored and kept) and
written with tomlkit, which keeps the team's comments and layout.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbapp.errors import ConfigError

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

CONFIG_PATH = ".kb/config.toml"

#: Who may read a knowledge base, and a document in it: ``shared`` (both organisations) or
#: ``internal`` (one only). The document schema (:mod:`kbapp.documents.schema`) uses the same
#: words for a document's ``sensitivity``.
SENSITIVITIES = ("shared", "internal")

#: The longest review interval, in days, a document or the configuration may ask for (100 years:
#: longer would overflow date arithmetic).
MAX_INTERVAL_DAYS = 36500


def valid_interval(value: Any) -> bool:
    """Whether ``value`` is a usable review interval in days (1 to :data:`MAX_INTERVAL_DAYS`):
    ``review.interval_days`` in a document, ``[review_days]`` in the configuration."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INTERVAL_DAYS


DEFAULT_REVIEW_DAYS: dict[str, int] = {
    "sop": 180,
    "runbook": 90,
    "troubleshooting": 180,
    "known-error": 90,
    "post-incident": 365,
}

DEFAULT_FOLDERS: dict[str, str] = {
    "sop": "sops",
    "runbook": "runbooks",
    "troubleshooting": "troubleshooting",
    "known-error": "known-errors",
    "post-incident": "post-incidents",
    "onboarding": "onboarding",
}

DEFAULT_SYNONYMS: dict[str, list[str]] = {
    "k8s": ["kubernetes"],
    "db": ["database"],
    "pg": ["postgres", "postgresql"],
    "dns": ["resolver"],
    "cert": ["certificate"],
    "vm": ["virtual machine"],
}


@dataclass
class Organisation:
    name: str  # the key used in front matter (owner_org: partner)
    title: str = ""  # how people call it ("Blue Ridge Managed Services")
    domains: list[str] = field(default_factory=list)  # e-mail domains of its people

    @property
    def display(self) -> str:
        return self.title or self.name


@dataclass
class TicketSystem:
    """A ticket id pattern and the URL its ids link to (``{id}`` is replaced)."""

    pattern: str
    url: str
    org: str = ""

    def compiled(self) -> re.Pattern[str]:
        return re.compile(rf"\b(?:{self.pattern})\b")


@dataclass
class KbConfig:
    name: str = "Knowledge base"
    sensitivity: str = "shared"  # shared | internal
    organisations: list[Organisation] = field(default_factory=list)
    review_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REVIEW_DAYS))
    folders: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FOLDERS))
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    #: gitignore-like patterns of Markdown files that are not documents ("/x" = top level only).
    exclude: list[str] = field(default_factory=lambda: ["/README.md", "/CONTRIBUTING.md"])
    tickets: list[TicketSystem] = field(default_factory=list)
    #: The whole parsed file, for sections later parts own (policy, secrets allowlist, ...).
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- lookups

    @property
    def org_names(self) -> list[str]:
        return [org.name for org in self.organisations]

    @property
    def owner_org(self) -> str:
        """The organisation that owns the knowledge base's settings: ``owner = "..."`` in
        ``.kb/config.toml``, else the first organisation listed ('' when there is none). Only
        it may change the settings file (the rules both sides are judged by), unless a
        ``[[policy.protected]]`` rule for the file says otherwise, and only it may change the
        knowledge base's sensitivity or owner."""
        owner = self.raw.get("owner")
        if isinstance(owner, str) and owner in self.org_names:
            return owner
        return self.organisations[0].name if self.organisations else ""

    def organisation(self, name: str) -> Organisation | None:
        return next((org for org in self.organisations if org.name == name), None)

    def org_for_email(self, email: str) -> str:
        """The organisation whose e-mail domain matches ``email`` ('' when none does)."""
        domain = email.rpartition("@")[2].lower()
        for org in self.organisations:
            for candidate in org.domains:
                candidate = candidate.lower().lstrip("@")
                if domain == candidate or domain.endswith("." + candidate):
                    return org.name
        return ""

    def review_interval(self, doc_type: str) -> int:
        return self.review_days.get(doc_type, 180)

    def folder_for(self, doc_type: str) -> str:
        return self.folders.get(doc_type, doc_type.replace("_", "-") + "s")

    def is_excluded(self, relative: str) -> bool:
        """Whether ``exclude`` names the file, read as git reads .gitignore (see
        :func:`path_matches`): '/README.md' is only the top-level README."""
        return path_matches(relative, self.exclude)

    def commit_org(self, trailer: str, email: str) -> str:
        """The organisation that made a commit: its ``KB-Org`` trailer (kbapp writes it; the
        first when there are several), else the author's e-mail domain; '' when neither says.
        The one rule history, sync, trends and the audit use."""
        return trailer.split(",")[0].strip() or self.org_for_email(email)

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name)
        return value if isinstance(value, dict) else {}


def path_matches(path: str, patterns: Iterable[str]) -> bool:
    """Whether the repository path ``path`` ('/'-separated, from the top) matches ``patterns``
    read exactly as git reads a .gitignore (pathspec's GitIgnoreSpec), the one matcher for
    every list of paths in .kb/config.toml (``exclude``, ``[secrets] allow_paths``,
    ``[[policy.protected]] paths``): a pattern with a '/' is anchored at the top ('/README.md',
    'docs/*.md'), one without matches a name at any depth ('*.pem'); '*' stays within a folder,
    '**' crosses folders ('a/**/b.md'), 'security/**' is everything inside security/; a
    pattern that matches a folder matches what it holds; '!x' takes x back out (also inside an
    excluded folder, where git, which never looks into it, could not)."""
    return _gitignore_spec(tuple(patterns)).match_file(path)


@functools.lru_cache(maxsize=256)
def _gitignore_spec(patterns: tuple[str, ...]) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec  # loaded on first use: start-up stays short

    return GitIgnoreSpec.from_lines(patterns)


def load_config(root: Path) -> KbConfig:
    """Read ``<root>/.kb/config.toml``; a missing file gives the defaults."""
    path = root / CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KbConfig(name=root.name)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{CONFIG_PATH} cannot be read: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{CONFIG_PATH} is not valid TOML: {exc}") from None
    return config_from_dict(raw, default_name=root.name)


def config_from_dict(raw: dict[str, Any], default_name: str = "Knowledge base") -> KbConfig:
    cfg = KbConfig(name=str(raw.get("name") or default_name), raw=raw)
    sensitivity = raw.get("sensitivity", "shared")
    if sensitivity not in SENSITIVITIES:
        raise ConfigError(
            f"{CONFIG_PATH}: sensitivity must be 'shared' or 'internal', not {sensitivity!r}"
        )
    cfg.sensitivity = sensitivity
    for index, item in enumerate(raw.get("organisations") or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"{CONFIG_PATH}: organisations[{index}] needs a name")
        cfg.organisations.append(
            Organisation(
                name=str(item["name"]),
                title=str(item.get("title", "")),
                domains=[str(d) for d in item.get("domains", [])],
            )
        )
    review = raw.get("review", {})
    days = review.get("interval_days", {}) if isinstance(review, dict) else {}
    for doc_type, value in days.items():
        if not valid_interval(value):
            raise ConfigError(
                f"{CONFIG_PATH}: review.interval_days.{doc_type} must be a number of days "
                f"between 1 and {MAX_INTERVAL_DAYS}"
            )
        cfg.review_days[doc_type] = value
    for doc_type, folder in (raw.get("folders") or {}).items():
        cfg.folders[doc_type] = str(folder).strip("/")
    search = raw.get("search", {})
    for word, alternatives in (
        search.get("synonyms", {}) if isinstance(search, dict) else {}
    ).items():
        if isinstance(alternatives, str):
            alternatives = [alternatives]
        cfg.synonyms[str(word).lower()] = [str(a).lower() for a in alternatives]
    if "exclude" in raw:
        cfg.exclude = [str(p) for p in raw["exclude"]]
    for index, item in enumerate(raw.get("tickets") or []):
        if not isinstance(item, dict) or not item.get("pattern") or not item.get("url"):
            raise ConfigError(f"{CONFIG_PATH}: tickets[{index}] needs a pattern and a url")
        ticket = TicketSystem(str(item["pattern"]), str(item["url"]), str(item.get("org", "")))
        try:
            ticket.compiled()
        except re.error as exc:
            raise ConfigError(
                f"{CONFIG_PATH}: tickets[{index}].pattern is not a regex: {exc}"
            ) from None
        cfg.tickets.append(ticket)
    return cfg


def new_config_text(
    name: str,
    orgs: list[str],
    sensitivity: str = "shared",
    domains: dict[str, list[str]] | None = None,
) -> str:
    """The commented ``.kb/config.toml`` that ``kbapp init`` writes."""
    import tomlkit  # only for writing: reading is tomllib

    doc = tomlkit.document()
    doc.add(tomlkit.comment("kbapp knowledge base settings, shared by every organisation."))
    doc.add(tomlkit.comment("Plain TOML: edit it with any editor; kbapp keeps your comments."))
    doc.add(tomlkit.nl())
    doc["name"] = name
    doc["sensitivity"] = sensitivity
    doc["sensitivity"].comment("shared: both organisations push here | internal: one only")
    doc["exclude"] = ["/README.md", "/CONTRIBUTING.md"]
    doc["exclude"].comment("not knowledge documents (gitignore-like; '/x' = top level only)")
    doc.add(tomlkit.nl())
    organisations = tomlkit.aot()
    for org in orgs:
        table = tomlkit.table()
        table["name"] = org
        table["title"] = org.capitalize()
        table["domains"] = list((domains or {}).get(org, []))
        organisations.append(table)
    doc["organisations"] = organisations
    review = tomlkit.table()
    intervals = tomlkit.table()
    for doc_type, days in DEFAULT_REVIEW_DAYS.items():
        intervals[doc_type] = days
    review["interval_days"] = intervals
    doc["review"] = review
    search = tomlkit.table()
    synonyms = tomlkit.table()
    for word, alternatives in DEFAULT_SYNONYMS.items():
        synonyms[word] = alternatives
    search["synonyms"] = synonyms
    doc["search"] = search
    return tomlkit.dumps(doc)


def update_config_text(text: str, changes: dict[str, Any]) -> str:
    """Set top-level keys in config text, keeping everything else as written."""
    import tomlkit

    doc = tomlkit.parse(text)
    for key, value in changes.items():
        doc[key] = value
    return tomlkit.dumps(doc)


def allow_secrets_text(text: str, allowances: list[tuple[str, str]]) -> str:
    """Add reviewed false positives to ``[secrets] allow`` in config text, each as its
    ``sha256:`` digest with a comment saying where it was found; comments and layout kept."""
    import tomlkit

    doc = tomlkit.parse(text)
    section = doc.get("secrets")
    if section is None:
        section = tomlkit.table()
        doc["secrets"] = section
    current = section.get("allow")
    known = {str(v) for v in current} if current is not None else set()
    array = tomlkit.array()
    for value in current or []:
        array.add_line(str(value))
    for digest, where in allowances:
        if digest not in known:
            known.add(digest)
            array.add_line(digest, comment=f"reviewed false positive: {where}")
    array.add_line(indent="")
    section["allow"] = array
    return tomlkit.dumps(doc)
