"""File-system primitives the guarantees rest on: atomic writes and bounded reads."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from kbapp.errors import DocumentError, SaveError

#: Larger files are refused with a message instead of being parsed, indexed or rendered.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Temporary file in the same directory, fsync, rename over the target, fsync the directory.
    The original file's permission bits are kept. ``durable=False`` skips the fsyncs for bulk
    work (import) that flushes once at the end.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode: int | None = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = None
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kbtmp", dir=path.parent)
    except OSError as exc:
        raise save_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        # mkstemp makes the file 0600; a new file gets what the user's umask gives any file
        # (the partner's tools and backups must be able to read it where the umask says so).
        os.chmod(tmp, mode if mode is not None else new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise save_error(path, exc) from exc
    if durable:
        _fsync_dir(path.parent)


def replace_file(source: Path, target: Path, tries: int = 20) -> None:
    """``os.replace(source, target)``, tried again for a second where Windows refuses it
    because another process has ``target`` open this moment (it reads a small file and
    closes it again); the error of the last try is raised."""
    for attempt in range(tries):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == tries - 1:
                raise
            time.sleep(0.05)


_UMASK: list[int] = []


def new_file_mode() -> int:
    """The permission bits a new file gets under this process's umask (0o666 & ~umask)."""
    if not _UMASK:
        try:  # Linux tells it without changing it
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("Umask:"):
                        _UMASK.append(int(line.split()[1], 8))
        except (OSError, ValueError):
            pass
        if not _UMASK:
            current = os.umask(0o022)  # elsewhere: read it by setting it, and put it back
            os.umask(current)
            _UMASK.append(current)
    return 0o666 & ~_UMASK[0]


_REASONS = {
    errno.ENOSPC: ("disk-full", "the disk is full"),
    errno.EDQUOT: ("disk-full", "your disk quota is used up"),
    errno.EFBIG: ("too-large", "the file is larger than this system allows"),
    errno.EROFS: ("read-only", "the folder is on a read-only file system"),
    errno.EACCES: ("permission", "you have no permission to write in this folder"),
    errno.EPERM: ("permission", "you have no permission to write in this folder"),
}


#: How git (and other tools) say that the disk is full, in their C-locale messages.
_DISK_FULL_SIGNS = (
    "no space left on device",
    "out of diskspace",
    "disk quota exceeded",
    "database or disk is full",
)


def is_disk_full(text: str) -> bool:
    """Whether a tool's error output says the disk (or the quota) is full."""
    lowered = text.lower()
    return any(sign in lowered for sign in _DISK_FULL_SIGNS)


#: Less free space than this, and a write that failed without saying why, means a full disk.
LOW_SPACE_BYTES = 1024 * 1024


def low_space(path: Path | str) -> bool:
    """Whether the file system holding ``path`` is (nearly) full."""
    try:
        return shutil.disk_usage(path).free < LOW_SPACE_BYTES
    except OSError:
        return False


def write_failed_for_space(text: str, path: Path | str) -> bool:
    """Whether a tool that failed (``text``: its error output) did so because the disk holding
    ``path`` is full: it says so, or it could not write and almost no space is left (git's
    "couldn't write '...lock'" gives no reason)."""
    if is_disk_full(text):
        return True
    lowered = text.lower()
    return any(
        sign in lowered
        for sign in ("couldn't write", "unable to write", "write error", "could not write")
    ) and low_space(path)


def disk_full_error(path: Path | str, details: str = "") -> SaveError:
    """The documented message for a save that met a full disk (the file is unchanged)."""
    return SaveError(
        f"Could not save {path}: the disk is full. The file on disk is unchanged.",
        path=str(path),
        reason="disk-full",
        details=details,
    )


def save_error(path: Path | str, exc: OSError) -> SaveError:
    """The :class:`SaveError` for an ``OSError`` met while writing ``path``."""
    reason, words = _REASONS.get(exc.errno or 0, ("other", exc.strerror or str(exc)))
    return SaveError(
        f"Could not save {path}: {words}. The file on disk is unchanged.",
        path=str(path),
        reason=reason,
        details=str(exc),
    )


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_document_bytes(path: Path, display: str | None = None) -> bytes:
    """Read a file that should be a Markdown document, refusing what is not: a symbolic link
    is never followed (one committed by the other organisation could point at
    ``.git/config`` or ``/etc/passwd``), a folder or device is not a document."""
    shown = display or str(path)
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise DocumentError(SYMLINK_REASON, path=shown)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                raise DocumentError("is a folder, not a document", path=shown)
            raise DocumentError("is not a regular file", path=shown)
        # O_NOFOLLOW: a link swapped in after the check above is refused too (ELOOP).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_DOCUMENT_BYTES:
                raise DocumentError(
                    f"file is {size / 1024 / 1024:.0f} MB; documents larger than "
                    f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB are not opened",
                    path=shown,
                )
            return handle.read()
    except FileNotFoundError:
        raise DocumentError("no such file", path=shown) from None
    except IsADirectoryError:
        raise DocumentError("is a folder, not a document", path=shown) from None
    except PermissionError:
        raise DocumentError("permission denied", path=shown) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DocumentError(SYMLINK_REASON, path=shown) from None
        raise DocumentError(f"cannot be read ({exc.strerror or exc})", path=shown) from None


SYMLINK_REASON = "is a symbolic link; kbapp never follows links in a knowledge base"


def is_git_dir_name(part: str) -> bool:
    """Whether a path part names git's own folder as some file system sees it: ``.git``,
    ``.GIT``, ``.git.`` or ``.git `` (Windows drops trailing dots and spaces), ``git~1``
    (its Windows short name)."""
    folded = part.casefold().rstrip(". ")
    return folded == ".git" or folded == "git~1"


def check_inside(root: Path, relative: str) -> Path:
    """``root / relative`` if that stays inside ``root`` without passing through a symbolic
    link or git's own folder; raises :class:`KbError` otherwise. Nothing is resolved, so a
    link committed by someone else can never redirect a read or a write."""
    from kbapp.errors import KbError

    text = relative.replace("\\", "/")
    if (
        not text.strip("/ ")
        or Path(text).is_absolute()
        or text.startswith("/")
        or (len(text) > 1 and text[1] == ":")
    ):
        raise KbError(f"{relative} is outside the knowledge base")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise KbError(f"{relative} is outside the knowledge base")
    if any(is_git_dir_name(part) for part in parts):
        raise KbError(
            f"{relative} is inside git's own folder (.git), which is not part of the knowledge base"
        )
    current = Path(root)
    for part in parts:
        current = current / part
        try:
            is_link = stat.S_ISLNK(os.lstat(current).st_mode)
        except OSError:
            break  # does not exist (yet): nothing below it can be a link either
        if is_link:
            link = current.relative_to(root).as_posix()
            where = link if link == "/".join(parts) else f"{'/'.join(parts)}: {link}"
            raise KbError(f"{where} {SYMLINK_REASON}")
    return Path(root).joinpath(*parts)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete temporaries a crash left behind (``.name.XXXX.kbtmp``); returns what was removed."""
    removed = []
    for tmp in Path(directory).rglob(".*.kbtmp"):
        if ".git" in tmp.parts:
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed
