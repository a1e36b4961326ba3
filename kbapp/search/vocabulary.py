"""The spelling vocabulary: every plain word of the knowledge base, unstemmed, for "did you mean".

It lives next to the index in two text files (one word a line): ``kbapp-vocab.txt`` written by a
full build and ``kbapp-vocab-added.txt`` that updates append the words it does not hold yet
to (a save appends nothing when its words are known, so the file stays bounded by the number
of distinct words; once it holds :data:`FOLD_AT` words it is folded into the main file). Keeping it out of the Whoosh
index saves a posting per distinct word per document (a third of all postings, and of the
build time). Words of deleted documents stay until the next full build; a correction is only
offered when its stem is still in the index, so a stale word is never suggested.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

MAIN_FILE = "kbapp-vocab.txt"
ADDED_FILE = "kbapp-vocab-added.txt"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def write(directory: Path, words: Iterable[str]) -> None:
    tmp = directory / (MAIN_FILE + ".tmp")
    tmp.write_text("\n".join(sorted(set(words))) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MAIN_FILE)
    (directory / ADDED_FILE).unlink(missing_ok=True)


#: Words in the added file that make an update fold it into the main file.
FOLD_AT = 5000


def append(directory: Path, words: Iterable[str]) -> None:
    text = "\n".join(words)
    if text:
        with open(directory / ADDED_FILE, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


class Vocabulary:
    """The words, loaded on first use and reloaded when another writer added some."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._words: set[str] = set()
        self._stamp: tuple[float, ...] | None = None
        self._added = 0

    def add(self, words: Iterable[str]) -> None:
        """Record the words of updated documents: only those not known yet are written, and
        this process's copy is kept in step without reading the files again. (Call with the
        index's write lock held.)"""
        known = self.words
        new = sorted(set(words) - known)
        if not new:
            return
        if self._added + len(new) >= FOLD_AT:
            write(self.directory, known | set(new))
            self._added = 0
        else:
            append(self.directory, new)
            self._added += len(new)
        known.update(new)
        self._stamp = self._current_stamp()

    def _current_stamp(self) -> tuple[float, ...]:
        stamp = []
        for name in (MAIN_FILE, ADDED_FILE):
            try:
                st = (self.directory / name).stat()
                stamp += [st.st_mtime_ns, st.st_size]
            except OSError:
                stamp += [0, 0]
        return tuple(stamp)

    @property
    def words(self) -> set[str]:
        stamp = self._current_stamp()
        if stamp != self._stamp:
            words: set[str] = set()
            for name in (MAIN_FILE, ADDED_FILE):
                try:
                    found = (self.directory / name).read_text(encoding="utf-8").split()
                except OSError:
                    continue
                words.update(found)
                if name == ADDED_FILE:
                    self._added = len(found)
            self._words, self._stamp = words, stamp
        return self._words

    def near(self, word: str) -> set[str]:
        """Known words one edit away (two for words of 7 letters or more)."""
        if len(word) > MAX_CORRECTED_LENGTH:
            return set()  # a pasted token, not a misspelt word (and its edits grow cubically)
        words = self.words
        first = _edits(word)
        found = {w for w in first if w in words}
        if not found and len(word) >= 7:
            found = {w for e in first for w in _edits(e, cheap=True) if w in words}
        found.discard(word)
        return found


#: Longer words get no spelling suggestions: no word of any language is this long, and the
#: edits of a 2,000-character token take minutes to build.
MAX_CORRECTED_LENGTH = 24


def _edits(word: str, cheap: bool = False) -> set[str]:
    """Norvig's single edits: deletes, transposes, (unless cheap) replaces and inserts."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    if not cheap:
        out.update(a + c + b[1:] for a, b in splits if b for c in _LETTERS)
        out.update(a + c + b for a, b in splits for c in _LETTERS)
    return out
