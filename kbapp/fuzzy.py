"""Fuzzy, ranked matching for the command palette: actions, documents and settings found by
what the user types, typos ("incdent") and initials ("ni" for New incident) included.

Plain Python (no Qt): the window's palette shows what :meth:`Matcher.rank` returns, and the
tests check the ranking without a display. The edit-distance scoring is RapidFuzz's
(``partial_ratio``: the best-aligned substring, so a typo inside a longer title still scores
high); what this module adds is the order of the tiers a user expects from an editor's palette:
a title that starts with what was typed, then a word that does, then the initials of its words,
then a substring, then a near miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

ACTION, DOCUMENT, SETTING = "action", "document", "setting"
#: At equal score, what the user more likely wants: a command, then a setting, then a document.
KIND_BONUS = {ACTION: 3.0, SETTING: 1.0, DOCUMENT: 0.0}
#: A near miss (edit distance) below this score is not shown.
FUZZY_CUTOFF = 75.0
_WORD_RE = re.compile(r"[^\W_]+")
#: Typed words this short are too short for the ratio to forgive a typo ("snc": 67 for Sync):
#: a command or setting whose word is one edit away still matches.
SHORT_TYPO = 5


def _one_edit_from_a_word(typed: str, text: str) -> bool:
    """Whether a short ``typed`` is one edit from the start of a word of ``text``."""
    if len(typed) > SHORT_TYPO or " " in typed:
        return False
    size = len(typed)
    return any(
        Levenshtein.distance(typed, word[: size + 1], score_cutoff=1) <= 1
        or Levenshtein.distance(typed, word[:size], score_cutoff=1) <= 1
        for word in text.split()
    )


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
    initials: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = [t for t in (self.title, self.keywords) if t]
        object.__setattr__(self, "folded", tuple(_fold(t) for t in texts))
        object.__setattr__(
            self, "initials", tuple("".join(w[0] for w in _WORD_RE.findall(t)) for t in self.folded)
        )


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float


def _fold(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.casefold()))


def score(query: str, candidate: Candidate) -> float:
    """How well ``candidate`` answers ``query`` (0: not at all, about 100: exactly)."""
    q = _fold(query)
    if not q:
        return 0.0
    best = 0.0
    squeezed = q.replace(" ", "")
    for text, initials in zip(candidate.folded, candidate.initials):
        if text.startswith(q):
            tier = 100.0
        elif f" {q}" in f" {text}":
            tier = 95.0  # a word starts with it
        elif len(squeezed) >= 2 and initials.startswith(squeezed):
            tier = 92.0
        elif len(q) >= 3 and q in text:  # two letters inside a word match almost anything
            tier = 88.0
        elif len(q) >= 3:
            near = fuzz.partial_ratio(q, text)
            tier = near * 0.85 if near >= FUZZY_CUTOFF else 0.0
            if not tier and candidate.kind != DOCUMENT and _one_edit_from_a_word(q, text):
                tier = FUZZY_CUTOFF * 0.85  # "snc" for Sync: too short for the ratio
        else:
            tier = 0.0
        # Of two equally good matches, the shorter title is the closer one.
        best = max(best, tier - min(len(text), 200) / 100 if tier else 0.0)
    return best + KIND_BONUS.get(candidate.kind, 0.0) if best else 0.0


class Matcher:
    """Ranks a fixed set of candidates against each query typed."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.candidates = list(candidates)
        self._folded_titles = [c.folded[0] if c.folded else "" for c in self.candidates]

    def rank(self, query: str, limit: int = 50) -> list[Match]:
        """The best ``limit`` candidates for ``query``, best first; an empty query lists the
        actions in the order they were given."""
        q = _fold(query)
        if not q:
            return [Match(c, 0.0) for c in self.candidates if c.kind == ACTION][:limit]
        # The exact tiers are cheap string tests; the edit-distance tier runs in RapidFuzz's
        # C++ over every title at once (thousands of documents while the user types).
        chosen: set[int] = set()
        for index, candidate in enumerate(self.candidates):
            inside = any(
                q in text if len(q) >= 3 else f" {q}" in f" {text}" for text in candidate.folded
            )
            if inside or any(i.startswith(q.replace(" ", "")) for i in candidate.initials):
                chosen.add(index)
        if len(q) >= 3:
            near = process.extract(
                q,
                self._folded_titles,
                scorer=fuzz.partial_ratio,
                score_cutoff=FUZZY_CUTOFF,
                limit=max(limit * 4, 200),
            )
            chosen.update(index for _, _, index in near)
            chosen.update(
                i
                for i, c in enumerate(self.candidates)
                if c.kind != DOCUMENT and (len(c.folded) > 1 or len(q) <= SHORT_TYPO)
            )  # keywords too; a short typo of a command (its words one edit away)
        scored = [(score(query, self.candidates[i]), i) for i in chosen]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [Match(self.candidates[i], s) for s, i in scored if s > 0][:limit]
