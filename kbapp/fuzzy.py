"""Fuzzy, ranked matching for the command palette: actions, documents and settings found by
what the user types, typos ("incdent") and initials ("ni" for New incident) included.

Plain Python (no Qt): the window's palette shows what :meth:`Matcher.rank` returns, and the
tests check the ranking without a display. It matches the way VS Code's and Sublime Text's
palettes do, word by word rather than by edit distance over the whole title (which, on
thousands of titles, let "review" find "Close view" and "UE-V overview"):

- every word typed must match a word of the title (or of its keywords), in any order: the
  whole word, its start, a run inside it ("tate" in "rotate"), its letters in order from its
  first letter ("replca" for replica, "thme" for Theme: a dropped letter), or, for longer
  words, one slip (RapidFuzz's optimal string alignment distance: "rotaet" for rotate);
- a typed word may also run over the starts of consecutive words ("nd", "newdoc": New
  document), and the typed letters may be the initials of the title ("ni": New incident);
- a title that starts with what was typed scores highest, then one with a word that does,
  then its initials, then a word-by-word match scored by how closely each word matched and
  whether the words came in the order and next to each other as typed. What matches none of
  these is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from rapidfuzz.distance import OSA

ACTION, DOCUMENT, SETTING = "action", "document", "setting"
#: At equal score, what the user more likely wants: a command, then a setting, then a document.
KIND_BONUS = {ACTION: 3.0, SETTING: 1.0, DOCUMENT: 0.0}
_WORD_RE = re.compile(r"[^\W_]+")

#: How closely a typed word matches a word of the title, 0 (not at all) to 1 (the same word).
EXACT, PREFIX, INSIDE, ACROSS, IN_ORDER, SLIP = 1.0, 0.9, 0.6, 0.75, 0.65, 0.5
#: Letters in order must fill at least this share of the part of the word they span
#: ("incdent" 7 of "incident"'s 8: yes; "fs" in "favorites": no).
DENSE = 0.75
#: A slip (one edit) is forgiven in typed words this long or longer, two from 8 letters.
SLIP_FROM, TWO_SLIPS_FROM = 4, 8
#: The word-by-word tier: from WORDS_BASE (every word a slip) towards WORDS_BASE + WORDS_SPAN.
WORDS_BASE, WORDS_SPAN, IN_ORDER_BONUS = 70.0, 20.0, 2.0


def _fold(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.casefold()))


def _letters_in_order(typed: str, word: str) -> float:
    """The share of ``word``'s span that ``typed``'s letters fill, when they appear in it in
    order starting at its first letter; 0 when they do not."""
    if not typed or word[:1] != typed[:1]:
        return 0.0
    at = 0
    for letter in typed[1:]:
        at = word.find(letter, at + 1)
        if at < 0:
            return 0.0
    return len(typed) / (at + 1)


@lru_cache(maxsize=200_000)
def word_quality(typed: str, word: str) -> float:
    """How closely one typed word matches one word of a title (see the module's list)."""
    if word == typed:
        return EXACT
    if word.startswith(typed):
        return PREFIX + (1 - PREFIX) * len(typed) / len(word)
    if len(typed) < 3:
        return 0.0  # two letters inside a word, or in order, match almost anything
    if typed in word:
        return INSIDE
    dense = _letters_in_order(typed, word)
    if dense >= DENSE:
        return IN_ORDER * dense
    if len(typed) >= SLIP_FROM and word[:1] == typed[:1]:
        allowed = 2 if len(typed) >= TWO_SLIPS_FROM else 1
        size = len(typed)
        for part in {word, word[: size - 1], word[:size], word[: size + 1]}:
            if (
                abs(len(part) - size) <= 1
                and OSA.distance(typed, part, score_cutoff=allowed) <= allowed
            ):
                return SLIP
    return 0.0


def _across(typed: str, words: tuple[str, ...], start: int, initials_only: bool) -> bool:
    """Whether ``typed`` is made of the starts of words ``start``, ``start + 1``, … (two at
    least): "nd" and "newdoc" for "new document". With ``initials_only`` every part but the
    last is one letter: among thousands of titles "re"+"view" would find "Report Viewer"."""

    def rest(at: int, index: int, used: int) -> bool:
        if at == len(typed):
            return used >= 2
        if index >= len(words):
            return False
        word = words[index]
        for size in range(min(len(word), len(typed) - at), 0, -1):
            if initials_only and 1 < size < len(typed) - at:
                continue  # only the last part may be more than a letter
            if word[:size] == typed[at : at + size] and rest(at + size, index + 1, used + 1):
                return True
        return False

    return rest(0, start, 0)


@dataclass(frozen=True)
class Candidate:
    """Something the palette can offer."""

    kind: str  # ACTION, DOCUMENT or SETTING
    key: str  # the action id, the document's path, the setting's name
    title: str
    #: Other words it answers to ("new incident" for "Start incident…"), not shown.
    keywords: str = ""
    #: Shown beside the title: the shortcut, the document's type, the setting's value.
    detail: str = ""
    folded: tuple[str, ...] = field(init=False, repr=False, compare=False)
    words: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)
    initials: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = [t for t in (self.title, self.keywords) if t]
        folded = tuple(_fold(t) for t in texts)
        words = tuple(tuple(t.split()) for t in folded)
        object.__setattr__(self, "folded", folded)
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "initials", tuple("".join(w[0] for w in ws) for ws in words))


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float


def _words_score(typed: list[str], words: tuple[str, ...], initials_only: bool) -> float:
    """The word-by-word tier for one text: 0 unless every typed word matches."""
    qualities: list[float] = []
    places: list[int] = []
    for q in typed:
        best, place = 0.0, -1
        for index, word in enumerate(words):
            quality = word_quality(q, word)
            if quality > best:
                best, place = quality, index
        if best < ACROSS and len(q) >= 2:
            for index, word in enumerate(words[:-1]):
                if word[:1] == q[:1] and _across(q, words, index, initials_only):
                    best, place = ACROSS, index
                    break
        if not best:
            return 0.0
        qualities.append(best)
        places.append(place)
    in_order = all(b == a + 1 for a, b in pairwise(places)) if len(places) > 1 else False
    mean = sum(qualities) / len(qualities)
    return WORDS_BASE + WORDS_SPAN * mean + (IN_ORDER_BONUS if in_order else 0.0)


def score(query: str, candidate: Candidate) -> float:
    """How well ``candidate`` answers ``query`` (0: not at all, about 100: exactly)."""
    q = _fold(query)
    if not q:
        return 0.0
    typed = q.split()
    squeezed = "".join(typed)
    best = 0.0
    for text, words, initials in zip(candidate.folded, candidate.words, candidate.initials):
        if text.startswith(q):
            tier = 100.0
        elif f" {q}" in f" {text}":
            tier = 95.0  # a word starts with it
        elif len(squeezed) >= 2 and initials.startswith(squeezed):
            tier = 92.0
        else:
            tier = _words_score(typed, words, candidate.kind == DOCUMENT)
        # Of two equally good matches, the shorter title is the closer one.
        best = max(best, tier - min(len(text), 200) / 100 if tier else 0.0)
    return best + KIND_BONUS.get(candidate.kind, 0.0) if best else 0.0


class Matcher:
    """Ranks a fixed set of candidates against each query typed."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.candidates = list(candidates)
        # Which candidates hold each word: a typed word is compared with each distinct word
        # once, and only the candidates that hold a match for every typed word are scored.
        self._holding: dict[str, set[int]] = {}
        self._always: set[int] = set()  # actions and settings: few, and "newdoc" runs over words
        for index, candidate in enumerate(self.candidates):
            if candidate.kind != DOCUMENT:
                self._always.add(index)
            for words in candidate.words:
                for word in words:
                    self._holding.setdefault(word, set()).add(index)

    def _holders(self, typed: str) -> set[int]:
        """The candidates that may match ``typed``: a word of theirs does, or their initials
        hold it, or they are actions and settings."""
        found = set(self._always)
        for word, holders in self._holding.items():
            if word_quality(typed, word):
                found |= holders
        if len(typed) >= 2:
            found.update(
                i
                for i, c in enumerate(self.candidates)
                if any(typed in initials for initials in c.initials)
            )
        return found

    def rank(self, query: str, limit: int = 50) -> list[Match]:
        """The best ``limit`` candidates for ``query``, best first; an empty query lists the
        actions in the order they were given."""
        q = _fold(query)
        if not q:
            return [Match(c, 0.0) for c in self.candidates if c.kind == ACTION][:limit]
        pool: set[int] | None = None
        for typed in q.split():
            holders = self._holders(typed)
            pool = holders if pool is None else pool & holders
        scored = [(score(q, self.candidates[i]), i) for i in pool or ()]
        scored = [pair for pair in scored if pair[0] > 0]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [Match(self.candidates[i], s) for s, i in scored[:limit]]
