"""What the files looked like when the index last caught up with them: a cheap "has anything
changed?" for every search process.

A ``kbapp search`` opens the index, and must first know whether any document changed since
(an edit in another editor, a pull, a save by another kbapp). Asking the catalog means loading
SQLAlchemy, listing the files with git and comparing every row: 300-500 ms on 5,900
documents. The stamp answers the same question from the file system alone: the size and
modification time of every indexed document (as the catalog read them), and the modification
time of every folder that holds one (a file added, removed or renamed in it changes that),
of the knowledge base's root and of the files that decide what is a document
(``.kb/config.toml``, ``.gitignore``). If all of them are as recorded, nothing changed; if
anything differs, the caller takes the slow, exact path (the catalog) and writes a new stamp.

A folder whose modification time is at or after the moment the catch-up began is recorded
as 0 (never equal): a file may have arrived in it while the catch-up listed the files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

STAMP_FILE = "kbapp-stamp.json"
#: Files outside the documents that decide which files are documents.
SETTING_FILES = (".kb/config.toml", ".gitignore")


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def take(root: Path, files: Iterable[tuple[str, int, int]], began_ns: int) -> dict[str, object]:
    """The stamp of ``files`` ((relative path, size, mtime_ns) as the catalog read them)
    under ``root``; ``began_ns``: when the catch-up that read them started."""
    base = str(root)
    paths: list[str] = []
    sizes: list[int] = []
    mtimes: list[int] = []
    folders: set[str] = {""}
    for relative, size, mtime_ns in files:
        paths.append(relative)
        sizes.append(size)
        mtimes.append(mtime_ns)
        folder = relative.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    folder_times = {}
    for folder in sorted(folders):
        mtime = _mtime(os.path.join(base, folder) if folder else base)
        folder_times[folder] = 0 if mtime >= began_ns else mtime
    settings = {name: _mtime(os.path.join(base, name)) for name in SETTING_FILES}
    # flat lists: JSON reads them twice as fast as a list per document
    return {
        "paths": paths,
        "sizes": sizes,
        "mtimes": mtimes,
        "folders": folder_times,
        "settings": settings,
    }


def unchanged(root: Path, stamp: dict[str, object]) -> bool:
    """Whether every file and folder of ``stamp`` is as recorded (one ``stat`` each)."""
    base = str(root)
    join, stat = os.path.join, os.stat
    root_fd = None
    try:
        settings: dict[str, int] = stamp["settings"]  # type: ignore[assignment]
        folders: dict[str, int] = stamp["folders"]  # type: ignore[assignment]
        paths: list[str] = stamp["paths"]  # type: ignore[assignment]
        sizes: list[int] = stamp["sizes"]  # type: ignore[assignment]
        mtimes: list[int] = stamp["mtimes"]  # type: ignore[assignment]
        if not len(paths) == len(sizes) == len(mtimes):
            return False
        for name, mtime in settings.items():
            if _mtime(join(base, name)) != mtime:
                return False
        for folder, mtime in folders.items():
            if _mtime(join(base, folder) if folder else base) != mtime:
                return False
        if os.stat in os.supports_dir_fd:  # paths looked up from the root: no joins
            root_fd = os.open(base, os.O_RDONLY)
            for relative, size, mtime in zip(paths, sizes, mtimes):
                st = stat(relative, dir_fd=root_fd)
                if st.st_mtime_ns != mtime or st.st_size != size:
                    return False
        else:
            for relative, size, mtime in zip(paths, sizes, mtimes):
                st = stat(join(base, relative))
                if st.st_mtime_ns != mtime or st.st_size != size:
                    return False
    except (OSError, KeyError, TypeError, ValueError, AttributeError):
        return False
    finally:
        if root_fd is not None:
            os.close(root_fd)
    return True


def load(directory: Path) -> dict[str, object] | None:
    try:
        found = json.loads((directory / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def save(directory: Path, stamp: dict[str, object]) -> None:
    tmp = directory / (STAMP_FILE + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stamp, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, directory / STAMP_FILE)


def forget(directory: Path) -> None:
    """The index changed in a way the stamp does not describe: the next catch-up is exact."""
    try:
        (directory / STAMP_FILE).unlink()
    except OSError:
        pass
