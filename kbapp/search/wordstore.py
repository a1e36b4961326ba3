"""The word analyses of a full build, kept beside the index for the next full build.

A build worker analyses every distinct word of its share once (:func:`analysis._text_entry`:
Porter stems, an identifier's parts; about a seventh of its time). What a word becomes is a
function of the word alone, so the next full build's worker takes the analyses from here
and analyses only the words it has not met: the index it writes is the same, byte for byte.

One file per worker (``words-<n>.pickle``, worker ``n`` of a build), holding the words of
that worker's share: the shares are runs of consecutive documents, so the next build's worker
``n`` meets mostly the same words. A file is used only by the same :data:`version` (the
analysis version and a checksum of the source that analyses, so a change to it cannot go
unnoticed); a file that cannot be read, of another version or not of the expected shape is
ignored (the worker then analyses every word, as a first build does). The files are derived
data under ``.git/kbapp`` like the index itself, written by this program only.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import unicodedata
import zlib
from pathlib import Path

from whoosh.lang import porter

from kbapp.search import analysis, wordlists

FILE = "words-{}.pickle"


def version() -> str:
    """The analysis version and a checksum of what makes a word's analysis: the modules
    (ours and Whoosh's Porter stemmer, which an upgrade of whoosh-reloaded may change) and
    the Unicode database (``isalpha``, ``lower``: a new Python may change it); empty when
    their source cannot be read (then nothing is stored)."""
    try:
        source = b"".join(
            Path(module.__file__ or "").read_bytes() for module in (analysis, wordlists, porter)
        )
    except OSError:
        return ""
    source += unicodedata.unidata_version.encode()
    return f"{analysis.ANALYSIS_VERSION}-{zlib.crc32(source):08x}"


def load(directory: Path, share: int, key: str | None = None) -> dict[str, analysis.Entry]:
    """The word analyses worker ``share`` stored at ``directory``; empty if there are none of
    this ``key`` (default :func:`version`) or the file cannot be read."""
    key = version() if key is None else key
    if not key:
        return {}
    try:
        with open(directory / FILE.format(share), "rb") as handle:
            found = pickle.load(handle)
    except Exception:  # noqa: BLE001 - missing, truncated, damaged: analyse the words again
        return {}
    if (
        isinstance(found, tuple)
        and len(found) == 2
        and found[0] == key
        and isinstance(found[1], dict)
        and all(map(_is_entry, found[1].items()))
    ):
        return found[1]
    return {}


def _is_entry(item: tuple[object, object]) -> bool:
    """Whether ``item`` is a word and an analysis as :func:`analysis._text_entry` makes them
    (a file that loads may still hold something else: damaged, or written by hand; a build
    that took it failed, as did every later one). ~0.1 s for 100,000 identifiers."""
    word, entry = item
    if type(word) is not str or type(entry) is not tuple or len(entry) != 4:
        return False
    terms, form, kb, spelling = entry
    return (
        type(kb) is bool
        and type(terms) is tuple
        and type(form) is tuple
        and type(spelling) is tuple
        and all(type(text) is str for part in (terms, form, spelling) for text in part)
    )


def save(
    directory: Path, share: int, entries: dict[str, analysis.Entry], key: str | None = None
) -> None:
    """Store ``entries`` as worker ``share``'s word analyses (replacing the file at once, so
    a reader sees the old file or the new one). A failure to write is not an error: the next
    build analyses the words again."""
    key = version() if key is None else key
    if not key:
        return
    target = directory / FILE.format(share)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            pickle.dump((key, entries), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
