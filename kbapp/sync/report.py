"""What a sync, a fetch and a status check report (:class:`SyncReport`, :class:`FetchReport`,
:class:`SyncStatus`) and a document a sync changed (:class:`Change`).
:mod:`kbapp.sync.sync` re-exports them."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Change:
    """A document changed by a sync: what, and who changed it last."""

    path: str
    title: str
    author: str = ""
    org: str = ""
    kind: str = "modified"  # added | modified | removed | renamed | conflict
    old_path: str = ""


@dataclass
class SyncReport:
    changed_by_others: list[Change] = field(default_factory=list)
    published: list[Change] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # paths waiting for a decision
    changed_paths: list[str] = field(default_factory=list)  # for the catalog and the index
    pushed: bool = False
    offline: bool = False
    message: str = ""
    repaired: list[str] = field(default_factory=list)  # what a repair did first, in sentences
    details: str = ""  # git's own words when offline

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FetchReport:
    incoming: int = 0  # commits on the shared repository not here yet
    offline: bool = False
    message: str = ""


@dataclass
class SyncStatus:
    local_changes: int = 0  # files changed here and not committed yet
    ahead: int = 0  # commits here not yet published
    behind: int = 0  # commits fetched from the shared repository, not integrated yet
    conflicts: int = 0
    offline: bool = False  # the last attempt to reach the shared repository failed
    last_sync: dt.datetime | None = None
    branch: str = ""
    remote: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_sync"] = self.last_sync.isoformat() if self.last_sync else None
        return data
