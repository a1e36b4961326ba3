"""The user's own settings (who they are, which knowledge bases they use, UI preferences).

A typed schema with defaults and a version, stored as JSON under the platform's config
directory (platformdirs). Only keys that differ from the defaults are written, so a later kbapp
with better defaults still applies them. ``KBAPP_CONFIG_DIR`` and ``KBAPP_DATA_DIR`` move
everything elsewhere (tests, portable installs). Nothing is read at import time: a
:class:`Settings` is created and passed along (one context object, no globals).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbapp.events import Event
from kbapp.fsutil import atomic_write

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APP_NAME = "kbapp"


def config_dir() -> Path:
    override = os.environ.get("KBAPP_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs  # only when not given by the environment

    return Path(platformdirs.user_config_dir(APP_NAME, False))


def data_dir() -> Path:
    override = os.environ.get("KBAPP_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, False))


@dataclass
class Settings:
    version: int = SCHEMA_VERSION
    user_name: str = ""
    user_email: str = ""
    #: Organisation the user works for; empty means "derive from the e-mail domain".
    organisation: str = ""
    #: Knowledge bases the user has opened, most recent first.
    knowledge_bases: list[str] = field(default_factory=list)
    default_kb: str = ""
    #: Other knowledge bases searched together with the one open (an internal-only one beside
    #: the shared one); see :mod:`kbapp.knowledge_bases`.
    also_search: list[str] = field(default_factory=list)
    theme: str = "system"  # system | light | dark
    zoom: int = 100
    editor_font_size: int = 11
    search_limit: int = 50
    #: Re-rank questions typed in words by meaning too (WordLlama's small static embeddings,
    #: a dependency; see docs/search.md). Off: words only.
    semantic_search: bool = True
    #: Minutes between background fetches in the window (0 = never).
    fetch_interval_minutes: int = 5
    #: The template the last new document was made from: the next one starts there.
    last_template: str = ""

    path: Path | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        #: Emitted with the names of the settings :meth:`update` changed, so that a running
        #: window and its workspaces apply them at once (who commits, the editor's font, ...).
        self.changed: Event[set[str]] = Event()

    @classmethod
    def keys(cls) -> list[str]:
        """The names of the settings (``kbapp settings KEY``), in schema order."""
        return [f.name for f in dataclasses.fields(cls) if f.name not in ("path", "version")]

    def update(self, values: Mapping[str, Any]) -> set[str]:
        """Change settings, write them, and announce (:attr:`changed`) those whose value is
        new; returns their names. Unknown names and values of the wrong type are refused
        (``ValueError``); a settings file that cannot be written raises ``OSError`` after the
        change was applied and announced (it holds for this session)."""
        known = set(self.keys())
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"there is no setting {key!r}")
            if type(value) is not type(getattr(self, key)):
                raise ValueError(f"{key} must be a {type(getattr(self, key)).__name__}")
        changed = {key for key, value in values.items() if getattr(self, key) != value}
        for key in changed:
            setattr(self, key, values[key])
        if changed:
            self.changed.emit(changed)
            self.save()
        return changed

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the settings file; a missing or broken file gives the defaults (and a log line)."""
        path = path or config_dir() / "settings.json"
        settings = cls(path=path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return settings
        except (OSError, ValueError) as exc:
            log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
            return settings
        if not isinstance(raw, dict):
            return settings
        known = set(cls.keys())
        for key, value in raw.items():
            if key not in known:
                continue  # a key from a newer kbapp; kept on disk by save()
            default = getattr(settings, key)
            if isinstance(default, bool) is isinstance(value, bool) and isinstance(
                value, type(default)
            ):
                setattr(settings, key, value)
            else:
                log.warning(
                    "settings: ignoring %s=%r (expected %s)", key, value, type(default).__name__
                )
        return settings

    def save(self) -> None:
        """Write only the keys that differ from the defaults (keys unknown to us are kept)."""
        path = self.path or config_dir() / "settings.json"
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(existing, dict):
                existing = {}
        except (OSError, ValueError):
            existing = {}
        defaults = Settings()
        known = self.keys()
        out: dict[str, Any] = {k: v for k, v in existing.items() if k not in known}
        for name in known:
            value = getattr(self, name)
            if value != getattr(defaults, name):
                out[name] = value
        out["version"] = SCHEMA_VERSION
        atomic_write(path, (json.dumps(out, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    def remember_kb(self, root: Path) -> None:
        text = str(Path(root).resolve())
        self.knowledge_bases = [text] + [p for p in self.knowledge_bases if p != text][:19]
        if not self.default_kb:
            self.default_kb = text


#: The settings a person changes by hand, as the window calls them (the Settings dialog and
#: the command palette list these; the others are kept by kbapp itself).
LABELS: dict[str, str] = {
    "user_name": "Your name",
    "user_email": "Your e-mail",
    "organisation": "Your organisation",
    "editor_font_size": "Editor font size",
    "search_limit": "Search results shown",
    "fetch_interval_minutes": "Look for the other side's changes every",
}


#: How many recently opened documents the browse panel lists.
RECENT_LIMIT = 15


def choose_kb(explicit: str | None, settings: Settings, here: Path | None = None) -> Path | None:
    """The knowledge base a command or the window works on: ``explicit`` (``--kb``), else
    $KBAPP_KB, else the one the current folder is in (as git finds its repository: a folder
    of a clone, up to its top), else the default in the settings; None when none is known."""
    chosen = explicit or os.environ.get("KBAPP_KB")
    if chosen:
        return Path(chosen).expanduser()
    if here is None:
        try:
            here = Path.cwd()
        except OSError:  # the current folder was deleted under the shell
            here = None
    enclosing = enclosing_kb(here) if here is not None else None
    if enclosing is not None:
        return enclosing
    return Path(settings.default_kb).expanduser() if settings.default_kb else None


def enclosing_kb(folder: Path) -> Path | None:
    """The top of the knowledge base ``folder`` is in (a git work tree with
    ``.kb/config.toml``), or None: a folder outside any repository, or in another one."""
    try:
        folder = folder.resolve()
    except OSError:
        return None
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate if (candidate / ".kb" / "config.toml").is_file() else None
    return None


class Shelf:
    """Pinned and recently opened documents of one clone (``<data folder>/shelf.json``, the
    browse panel shows them): this clone's own, never committed."""

    def __init__(self, data_dir: Path) -> None:
        self.file = data_dir / "shelf.json"
        self.pinned: list[str] = []
        self.recent: list[str] = []
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
            self.pinned = [str(p) for p in raw.get("pinned", [])]
            self.recent = [str(p) for p in raw.get("recent", [])]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("%s is unreadable (%s); starting empty", self.file, exc)

    def opened(self, path: str) -> None:
        self.recent = [path] + [p for p in self.recent if p != path][: RECENT_LIMIT - 1]
        self._save()

    def toggle_pin(self, path: str) -> bool:
        """Pin ``path`` or unpin it; True when it is pinned now."""
        if path in self.pinned:
            self.pinned.remove(path)
        else:
            self.pinned.append(path)
        self._save()
        return path in self.pinned

    def forget(self, paths: list[str]) -> None:
        gone = set(paths)
        self.pinned = [p for p in self.pinned if p not in gone]
        self.recent = [p for p in self.recent if p not in gone]
        self._save()

    def _save(self) -> None:
        data = {"pinned": self.pinned, "recent": self.recent}
        atomic_write(self.file, json.dumps(data, indent=1).encode("utf-8"), durable=False)
