"""Autosaved drafts: typing that is not saved yet, kept outside the repository.

The editor writes the document being edited (front matter fields and body) here every few
seconds while it has unsaved changes, so that a crash, a power cut or a sync never costs
typing. Drafts live under the user's data folder (``<data_dir>/drafts/<kb>/``), never in the
knowledge base's tree or its ``.git``, so no sync, checkout or ``git clean`` can touch them.
A successful save or an explicit "discard" deletes the draft; whatever is left when kbapp
starts is offered back to the user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kbapp.documents import frontmatter
from kbapp.documents import model as documents
from kbapp.fsutil import atomic_write
from kbapp.settings import data_dir

log = logging.getLogger(__name__)


@dataclass
class Draft:
    """What the editor held: enough to rebuild the document exactly as it was being typed."""

    path: str
    meta: dict[str, Any]
    body: str
    #: Content hash of the file the editing started from ("" for a new document).
    base_hash: str = ""
    #: The text of the file the editing started from (the base of a later merge).
    base_text: str = ""
    saved_at: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))

    @property
    def title(self) -> str:
        return documents.Document(self.path, dict(self.meta), self.body).title


class DraftStore:
    """The drafts of one knowledge base (identified by its folder)."""

    def __init__(self, kb_root: Path, base: Path | None = None) -> None:
        key = hashlib.sha1(str(Path(kb_root).resolve()).encode("utf-8")).hexdigest()[:12]
        self.folder = (base or data_dir()) / "drafts" / f"{Path(kb_root).name}-{key}"

    def _file(self, path: str) -> Path:
        name = hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]
        return self.folder / f"{name}.json"

    def save(self, draft: Draft) -> None:
        data = asdict(draft)
        data["meta"] = frontmatter.plain(draft.meta)
        text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
        # Not fsynced: drafts are written every few seconds and a lost last draft costs seconds.
        atomic_write(self._file(draft.path), text.encode("utf-8"), durable=False)

    def load(self, path: str) -> Draft | None:
        return self._read(self._file(path))

    def discard(self, path: str) -> None:
        try:
            self._file(path).unlink()
        except FileNotFoundError:
            pass

    def all(self) -> list[Draft]:
        """Every draft left behind, the most recent first."""
        if not self.folder.is_dir():
            return []
        found = [d for d in (self._read(p) for p in self.folder.glob("*.json")) if d]
        return sorted(found, key=lambda d: d.saved_at, reverse=True)

    @staticmethod
    def _read(file: Path) -> Draft | None:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
            return Draft(
                path=str(raw["path"]),
                meta=dict(raw.get("meta") or {}),
                body=str(raw.get("body") or ""),
                base_hash=str(raw.get("base_hash") or ""),
                base_text=str(raw.get("base_text") or ""),
                saved_at=str(raw.get("saved_at") or ""),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("draft %s is unreadable (%s); left in place", file, exc)
            return None
