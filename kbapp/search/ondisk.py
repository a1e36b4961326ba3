"""The index's files beside Whoosh's: its version record, the manifest of its files, the note
a build leaves for other processes, and how an index on disk is found usable or not."""

from __future__ import annotations

import json
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.util.filelock import FileLock

from kbapp.search.schema import SCHEMA_VERSION

#: The index's version record: {"schema": SCHEMA_VERSION, "uuid": its id}.
META_FILE = "kbapp-index.json"
#: Every file the last writer left, with its size.
MANIFEST_FILE = "kbapp-manifest.json"
#: Where the process building the index says how far it is (other processes read it).
BUILDING_FILE = "kbapp-building.json"

#: What reading a damaged index raises: a file missing or cut short, bytes that do not
#: decode. Anything else (AttributeError, TypeError, KeyError...) is a bug in kbapp or a
#: Whoosh that changed under it, and is raised, not hidden behind a rebuild.
CORRUPTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
    whoosh_index.IndexError,
)


class IndexUnusable(Exception):
    """The index on disk cannot be used as it is (missing, corrupt, another version)."""


def open_checked(
    directory: Path, lock_path: Path, locked: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Open and check the index at ``directory``: (Whoosh index, version record). Raises
    :class:`IndexUnusable` with the reason. ``locked``: the caller holds the write lock
    (the file lock at ``lock_path``)."""
    if not directory.is_dir():
        raise IndexUnusable("does not exist yet")
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise IndexUnusable("has no version record") from None
    if meta.get("schema") != SCHEMA_VERSION:
        raise IndexUnusable(f"is from another kbapp version (format {meta.get('schema')})")
    check_manifest(directory, lock_path, locked)
    try:  # the table of contents (the segments' files are checked by the manifest)
        ix = whoosh_index.open_dir(str(directory))
        ix._read_toc()
    except CORRUPTION_ERRORS as exc:
        raise IndexUnusable(f"cannot be read ({type(exc).__name__}: {exc})") from None
    return ix, meta


def check_manifest(directory: Path, lock_path: Path, locked: bool = False) -> None:
    """Every file the last writer left must still be there with the same size (a deleted or
    truncated file otherwise shows up only when a query happens to read it)."""
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    lock = FileLock(str(lock_path))
    if not locked and not lock.acquire(blocking=False):
        return  # a writer is at work: its files are in flux, trust it
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        for name, size in manifest.get("files", {}).items():
            try:
                actual = (directory / name).stat().st_size
            except OSError:
                raise IndexUnusable(f"is damaged ({name} is missing)") from None
            if actual != size:
                raise IndexUnusable(f"is damaged ({name} is {actual} bytes, not {size})")
    except (OSError, ValueError):
        return
    finally:
        if not locked:
            lock.release()


def write_manifest(directory: Path, only: Callable[[str], bool] | None = None) -> None:
    """Record the index's files and their sizes (``only``: those it accepts the name of)."""
    files = {
        entry.name: entry.stat().st_size
        for entry in os.scandir(directory)
        if entry.is_file()
        and not entry.name.endswith(".lock")
        and not entry.name.startswith("kbapp-")
        and (only is None or only(entry.name))
    }
    data = json.dumps({"files": files}, sort_keys=True).encode()
    tmp = directory / (MANIFEST_FILE + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, directory / MANIFEST_FILE)


def write_meta(directory: Path, index_id: str) -> None:
    (directory / META_FILE).write_text(
        json.dumps({"schema": SCHEMA_VERSION, "uuid": index_id}), encoding="utf-8"
    )


def index_id(directory: Path) -> str | None:
    """The id in the version record of the index at ``directory`` (None: unreadable)."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return str(meta.get("uuid"))
    except (OSError, ValueError, AttributeError):
        return None


def say_building(path: Path, percent: int) -> None:
    """Tell other processes (a ``kbapp search`` beside the window) how far the build is."""
    try:
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"percent": percent, "pid": os.getpid()}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def building_percent(path: Path) -> int | None:
    """How far another process's build is, from what it writes at ``path`` (None: none)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return int(found["percent"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
