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

An edit made in place (an editor that rewrites the file, ``>>``) changes neither the folder
nor anything but the file itself, so every document is looked at: one ``stat`` each, from
the root's descriptor (no path joins), or, where listing a folder gives each file's size and
time with it (Windows), one listing per folder. That is the cost that stays (5,864 documents:
about 6,100 ``stat`` calls, 10-20 ms); reading the stamp itself is a few flat arrays, not a
JSON document (3.5 ms → 0.5 ms for the same 5,864 documents).

A folder whose modification time is at or after the moment the catch-up began is recorded
as 0 (never equal): a file may have arrived in it while the catch-up listed the files.
"""

from __future__ import annotations

import json
import os
import sys
from array import array
from collections.abc import Iterable
from pathlib import Path

STAMP_FILE = "kbapp-stamp.bin"
#: Where kbapp before this format kept its stamp (removed when a new one is written).
OLD_STAMP_FILE = "kbapp-stamp.json"
FORMAT = 2
#: Files outside the documents that decide which files are documents.
SETTING_FILES = (".kb/config.toml", ".gitignore")
#: Listing a folder gives each entry's size and modification time without a ``stat`` per
#: file (``os.DirEntry.stat``: "on Windows ... does not require a system call").
LISTING_HAS_STATS = sys.platform == "win32"


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
    return {
        "paths": paths,
        "sizes": sizes,
        "mtimes": mtimes,
        "folders": folder_times,
        "settings": settings,
    }


def unchanged(root: Path, stamp: dict[str, object], *, by_listing: bool | None = None) -> bool:
    """Whether every file and folder of ``stamp`` is as recorded. ``by_listing``: read the
    files' sizes and times from folder listings (default: where that costs no ``stat``)."""
    base = str(root)
    try:
        settings: dict[str, int] = stamp["settings"]  # type: ignore[assignment]
        folders: dict[str, int] = stamp["folders"]  # type: ignore[assignment]
        paths: list[str] = stamp["paths"]  # type: ignore[assignment]
        sizes: list[int] = stamp["sizes"]  # type: ignore[assignment]
        mtimes: list[int] = stamp["mtimes"]  # type: ignore[assignment]
        if not len(paths) == len(sizes) == len(mtimes):
            return False
        for name, mtime in settings.items():
            if _mtime(os.path.join(base, name)) != mtime:
                return False
        for folder, mtime in folders.items():
            if _mtime(os.path.join(base, folder) if folder else base) != mtime:
                return False
        if LISTING_HAS_STATS if by_listing is None else by_listing:
            found = _by_listing(base, paths)
        else:
            found = _by_stat(base, paths)
        if found is None:
            return False
        found_sizes, found_mtimes = found
        return found_sizes == list(sizes) and found_mtimes == list(mtimes)
    except (OSError, KeyError, TypeError, ValueError, AttributeError):
        return False


def _by_stat(base: str, paths: list[str]) -> tuple[list[int], list[int]]:
    """Sizes and modification times of ``paths``, a ``stat`` each (raises OSError for a
    file that is gone)."""
    if os.stat in os.supports_dir_fd:  # paths looked up from the root: no joins
        root_fd = os.open(base, os.O_RDONLY)
        try:
            found = [os.stat(relative, dir_fd=root_fd) for relative in paths]
        finally:
            os.close(root_fd)
    else:
        join = os.path.join
        found = [os.stat(join(base, relative)) for relative in paths]
    return [st.st_size for st in found], [st.st_mtime_ns for st in found]


def _by_listing(base: str, paths: list[str]) -> tuple[list[int], list[int]] | None:
    """Sizes and modification times of ``paths`` from one listing of each folder (None: one
    of them is gone or is not a file)."""
    listed: dict[str, dict[str, os.stat_result]] = {}
    sizes: list[int] = []
    mtimes: list[int] = []
    for relative in paths:
        folder, _, name = relative.rpartition("/")
        entries = listed.get(folder)
        if entries is None:
            with os.scandir(os.path.join(base, folder) if folder else base) as found:
                entries = listed[folder] = {
                    entry.name: entry.stat() for entry in found if entry.is_file()
                }
        st = entries.get(name)
        if st is None:
            return None
        sizes.append(st.st_size)
        mtimes.append(st.st_mtime_ns)
    return sizes, mtimes


# ---------------------------------------------------------------------- on disk
#
# One JSON line (format, count, folders, settings), then the paths (UTF-8, each ended by a
# NUL), then the sizes and the modification times as little-endian 64-bit arrays.


def _encode(stamp: dict[str, object]) -> bytes:
    paths: list[str] = stamp["paths"]  # type: ignore[assignment]
    head = {
        "format": FORMAT,
        "count": len(paths),
        "folders": stamp["folders"],
        "settings": stamp["settings"],
    }
    recorded_sizes: list[int] = stamp["sizes"]  # type: ignore[assignment]
    recorded_mtimes: list[int] = stamp["mtimes"]  # type: ignore[assignment]
    sizes, mtimes = array("q", recorded_sizes), array("q", recorded_mtimes)
    if sys.byteorder != "little":
        sizes.byteswap()
        mtimes.byteswap()
    names = "".join(path + "\0" for path in paths).encode("utf-8")
    head_line = json.dumps(head, separators=(",", ":")).encode("utf-8") + b"\n"
    return head_line + names + sizes.tobytes() + mtimes.tobytes()


def _decode(data: bytes) -> dict[str, object] | None:
    end = data.find(b"\n")
    if end < 0:
        return None
    head = json.loads(data[:end])
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        return None
    count = int(head["count"])
    numbers = 2 * 8 * count
    names_end = len(data) - numbers
    if names_end <= end:
        return None
    paths = data[end + 1 : names_end].decode("utf-8").split("\0")
    if paths.pop() != "" or len(paths) != count:  # every path ends with a NUL
        return None
    sizes, mtimes = array("q"), array("q")
    sizes.frombytes(data[names_end : names_end + 8 * count])
    mtimes.frombytes(data[names_end + 8 * count :])
    if sys.byteorder != "little":
        sizes.byteswap()
        mtimes.byteswap()
    return {
        "paths": paths,
        "sizes": sizes.tolist(),
        "mtimes": mtimes.tolist(),
        "folders": head["folders"],
        "settings": head["settings"],
    }


def load(directory: Path) -> dict[str, object] | None:
    try:
        return _decode((directory / STAMP_FILE).read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(directory: Path, stamp: dict[str, object]) -> None:
    tmp = directory / (STAMP_FILE + f".{os.getpid()}.tmp")
    tmp.write_bytes(_encode(stamp))
    os.replace(tmp, directory / STAMP_FILE)
    (directory / OLD_STAMP_FILE).unlink(missing_ok=True)


def forget(directory: Path) -> None:
    """The index changed in a way the stamp does not describe: the next catch-up is exact."""
    for name in (STAMP_FILE, OLD_STAMP_FILE):
        try:
            (directory / name).unlink()
        except OSError:
            pass
