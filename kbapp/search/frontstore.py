"""The front matter a full build read, kept beside the index for the next full build.

A build worker reads each document's YAML front matter with PyYAML (libyaml parses; PyYAML's
resolver and constructor and kbapp's checks, :func:`kbapp.documents.frontmatter.parse_block`,
run in Python: about a tenth of a worker's time). What a block becomes is a function of its
text alone, so the next full build's worker takes the result of a block it has read before
from here and reads only the blocks it has not: the index it writes is the same.

One file per worker (``front-<n>.pickle``, worker ``n`` of a build, beside the word analyses
of :mod:`kbapp.search.wordstore`), holding each block's text and its result (the values and
the line of each key) pickled, each result its own ``bytes``: a document gets a fresh copy,
never one shared with another document. A file is used only by the same :func:`version` (a
checksum of the code that reads front matter: kbapp's and PyYAML's, and the libyaml and
Python it runs on) and only whole: it carries a digest of its content, and a file whose
digest does not match, that cannot be read or is not of the expected shape is ignored (the
worker then reads every block, as a first build does). Blocks that cannot be read are not
kept (their error is found again). The files are derived data under ``.git/kbapp`` like the
index itself, written by this program only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import zlib
from pathlib import Path
from typing import Any

FILE = "front-{}.pickle"

#: A front matter block's fence and text -> its result pickled.
Entries = dict[str, bytes]


def version() -> str:
    """A checksum of what makes a block's result: kbapp's front matter reading, PyYAML's
    Python modules (an upgrade may change what a value becomes), the libyaml version and
    Python's (dates and numbers); empty when their source cannot be read (then nothing is
    stored)."""
    import yaml

    from kbapp.documents import frontmatter

    folder = Path(yaml.__file__ or "").parent
    try:
        source = b"".join(
            path.read_bytes()
            for path in (Path(frontmatter.__file__ or ""), *sorted(folder.glob("*.py")))
        )
    except OSError:
        return ""
    libyaml = ""
    with contextlib.suppress(Exception):
        from yaml import _yaml

        libyaml = str(_yaml.get_version_string())
    source += f"{yaml.__version__} {libyaml} {sys.version}".encode()
    return f"1-{zlib.crc32(source):08x}"


def load(directory: Path, share: int, key: str | None = None) -> Entries:
    """The front matter worker ``share`` stored at ``directory``; empty if there is none of
    this ``key`` (default :func:`version`), or the file is damaged or cannot be read."""
    key = version() if key is None else key
    if not key:
        return {}
    try:
        with open(directory / FILE.format(share), "rb") as handle:
            found = pickle.load(handle)
        if not (
            type(found) is tuple
            and len(found) == 3
            and found[0] == key
            and type(found[2]) is bytes
            and found[1] == _digest(found[2])
        ):
            return {}
        entries = pickle.loads(found[2])
    except Exception:  # noqa: BLE001 - missing, truncated, damaged: read the blocks again
        return {}
    if (
        type(entries) is dict
        and set(map(type, entries)) <= {str}
        and set(map(type, entries.values())) <= {bytes}
    ):
        return entries
    return {}


def save(directory: Path, share: int, entries: Entries, key: str | None = None) -> None:
    """Store ``entries`` as worker ``share``'s front matter (replacing the file at once, so a
    reader sees the old file or the new one). A failure to write is not an error: the next
    build reads the blocks again."""
    key = version() if key is None else key
    if not key:
        return
    payload = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    target = directory / FILE.format(share)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            pickle.dump((key, _digest(payload), payload), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _digest(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class FrontMatterReader:
    """:func:`kbapp.documents.frontmatter.parse_block` that takes a block's result from the
    ``stored`` ones when it has it; :attr:`met` then holds the result of every block read
    (for :func:`save`), :attr:`fresh` how many of them were read here, not found stored."""

    def __init__(self, stored: Entries) -> None:
        self.stored = stored
        self.met: Entries = {}
        self.fresh = 0

    def __call__(self, block: Any) -> tuple[dict[str, Any], dict[str, int]]:
        from kbapp.documents import frontmatter

        key = f"{block.fence}\n{block.text}"
        found = self.met.get(key) or self.stored.get(key)
        if found is not None:
            with contextlib.suppress(Exception):
                result = pickle.loads(found)
                if (
                    type(result) is tuple
                    and len(result) == 2
                    and type(result[0]) is dict
                    and type(result[1]) is dict
                ):
                    self.met[key] = found
                    return result
        result = frontmatter.parse_block(block)  # an error is raised, and not kept
        self.met[key] = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        self.fresh += 1
        return result

    def changed(self) -> bool:
        """Whether the blocks met differ from those stored (new ones, or fewer)."""
        return bool(self.fresh) or len(self.met) != len(self.stored)
