"""From the words typed to what is looked up: each word's alternatives (its terms, a KB
number's digits, synonyms from the shipped and the knowledge base's groups, a prefix while
typing, spelling corrections of a word that matches nothing) and the neighbouring pairs the
proximity re-ranking looks for."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq

from kbapp.search.analysis import (
    is_simple,
    pair_hash,
    phrase_form,
    phrase_terms,
    stem,
    word_terms,
)
from kbapp.search.postings import TermSets
from kbapp.search.schema import PREFIX_FIELD, PREFIX_MAX, PREFIX_MIN, TEXT_FIELDS
from kbapp.search.vocabulary import Vocabulary

#: A synonym (another member of the word's group) scores at this share of the word itself.
SYNONYM_WEIGHT = 0.8
#: Longest phrase (in words) looked up in the synonym table.
SYNONYM_SPAN = 4


@dataclass
class Alternative:
    """One way a word may match: a term, or a phrase (a multi-word synonym)."""

    terms: list[str]
    prefix: str | None = None
    #: Below 1 for a synonym or a weaker form of the word (its score share).
    weight: float = 1.0

    def specs(self) -> list[tuple[str, str, float]]:
        """(field, term, boost) of every term that scores this alternative."""
        if self.prefix is not None:
            return [(PREFIX_FIELD, self.prefix, self.weight)]
        w = self.weight
        return [(f, t, b * w) for t in self.terms for f, b in TEXT_FIELDS.items()]

    def query(self) -> wq.Query:
        return wq.Or([wq.Term(f, t, boost=b) for f, t, b in self.specs()])

    def docs(self, sets: TermSets) -> frozenset[int]:
        if self.prefix is not None:
            return sets.docs(PREFIX_FIELD, self.prefix)
        if len(self.terms) == 1:
            return sets.any_field(self.terms[0])
        return sets.phrase_docs(self.terms)


@dataclass
class WordPlan:
    word: str
    alternatives: list[Alternative] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    #: The words as typed (several for a phrase found in the synonym table).
    words: list[str] = field(default_factory=list)

    def specs(self) -> list[tuple[str, str, float]]:
        best: dict[tuple[str, str], float] = {}
        for a in self.alternatives:
            for fieldname, term, boost in a.specs():
                key = (fieldname, term)
                if boost > best.get(key, 0.0):
                    best[key] = boost
        return [(f, t, b) for (f, t), b in best.items()]

    def docs(self, sets: TermSets) -> frozenset[int]:
        if len(self.alternatives) == 1:  # (a frozenset: no copy to make)
            return self.alternatives[0].docs(sets)
        return frozenset().union(*(a.docs(sets) for a in self.alternatives))

    def terms(self) -> list[str]:
        return [t for a in self.alternatives for t in a.terms]


def pair_hashes(words: list[str]) -> list[int]:
    """Hashes of the neighbouring phrase terms of the query's words, in the order typed."""
    terms = [term for word in words for term in phrase_form(word)]
    return sorted({pair_hash(a, b) for a, b in itertools.pairwise(terms) if a != b})


_BUILTIN_SYNONYMS: list[list[str]] | None = None


def builtin_synonyms() -> list[list[str]]:
    """The IT synonym groups shipped with kbapp (``kbapp/search/synonyms.txt``)."""
    global _BUILTIN_SYNONYMS
    if _BUILTIN_SYNONYMS is None:
        # pkgutil.get_data, not importlib.resources: the same file from the package's loader
        # (a wheel, a zip), without the 3 ms that importing importlib.resources and zipfile
        # adds to every search process
        import pkgutil

        data = pkgutil.get_data("kbapp.search", "synonyms.txt")
        if data is None:  # (a loader that cannot read data files: never kbapp's)
            raise FileNotFoundError("kbapp/search/synonyms.txt cannot be read from the package")
        text = data.decode("utf-8")
        groups = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            members = [m.strip().lower() for m in line.split(",") if m.strip()]
            if len(members) > 1:
                groups.append(members)
        _BUILTIN_SYNONYMS = groups
    return _BUILTIN_SYNONYMS


def synonym_groups(synonyms: dict[str, list[str]], builtin: bool = True) -> dict[str, list[str]]:
    """Synonyms both ways: k8s → kubernetes and kubernetes → k8s; the shipped groups (every
    member stands for every other) and then the knowledge base's own (``.kb/config.toml``)."""
    groups: dict[str, list[str]] = {}
    for members in builtin_synonyms() if builtin else []:
        for word in members:
            groups.setdefault(word, []).extend(m for m in members if m != word)
    for word, alternatives in synonyms.items():
        for alt in alternatives:
            groups.setdefault(word, []).append(alt)
            groups.setdefault(alt, []).append(word)
    return {k: list(dict.fromkeys(v)) for k, v in groups.items()}


def _synonym_terms(text: str) -> tuple[str, ...]:
    """The phrase terms of a synonym; none for a phrase that stop words reduce to one word
    ("log on" would otherwise stand for every "log", "sign in" for every "sign")."""
    terms = tuple(phrase_terms(text))
    if len(terms) == 1 and len(text.split()) > 1:
        return ()
    return terms


class SynonymTable:
    """Synonym groups keyed by their phrase terms (stems), so that ``network drives`` finds
    the entry ``network drive`` and ``cmd.exe`` the entry ``cmd.exe``."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.entries: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        # each member of a group is the key of its own entry and an alternative in the
        # others': analysed once (345 members, 1,817 uses for the shipped groups)
        analysed: dict[str, tuple[str, ...]] = {}

        def terms_of(text: str) -> tuple[str, ...]:
            found = analysed.get(text)
            if found is None:
                found = analysed[text] = _synonym_terms(text)
            return found

        for key, alternatives in groups.items():
            key_terms = terms_of(key)
            if not key_terms:
                continue
            alts = self.entries.setdefault(key_terms, [])
            for alt in alternatives:
                alt_terms = terms_of(alt)
                if alt_terms and alt_terms != key_terms and alt_terms not in alts:
                    alts.append(alt_terms)
        self.span = max((len(k) for k in self.entries), default=0)

    @classmethod
    def of(cls, groups: dict[str, list[str]]) -> SynonymTable:
        """The table of ``groups``, made once per process for the same groups (each change of
        the index opens a new searcher, and stemming every member of the shipped groups
        took longer than a search)."""
        for known, table in _TABLES:
            if known == groups:
                return table
        table = cls(groups)
        _TABLES.insert(0, ({word: list(alts) for word, alts in groups.items()}, table))
        del _TABLES[4:]
        return table

    def match(self, forms: list[tuple[str, ...]], start: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest entry made of the words ``forms[start:]`` begin with: (words, key)."""
        for end in range(min(len(forms), start + SYNONYM_SPAN), start, -1):
            key = tuple(term for form in forms[start:end] for term in form)
            if key in self.entries:
                return end - start, key
        return None


#: The last few synonym tables made, with their groups (:meth:`SynonymTable.of`).
_TABLES: list[tuple[dict[str, list[str]], SynonymTable]] = []


def plan_word(
    word: str,
    is_prefix: bool,
    synonyms: list[tuple[str, ...]] = (),  # type: ignore[assignment]
) -> WordPlan | None:
    """The alternatives of one word typed (None: nothing to look up)."""
    terms = word_terms(word)
    plan = WordPlan(word, words=[word])
    if terms:
        plan.alternatives.append(Alternative(terms))
        if terms[0].startswith("kb") and terms[0][2:].isdigit():
            # a KB number also finds the documents that only mention the number
            plan.alternatives.append(Alternative([terms[0][2:]], weight=0.5))
    lower = word.lower()
    for syn_terms in synonyms:
        plan.alternatives.append(Alternative(list(syn_terms), weight=SYNONYM_WEIGHT))
    if is_prefix and len(lower) >= PREFIX_MIN and lower.isalnum():
        # completed from the words of titles, tags... (their first PREFIX_MAX letters)
        plan.alternatives.append(Alternative([], prefix=lower[:PREFIX_MAX]))
    return plan if plan.alternatives else None


def plan_words(words: list[str], prefix_word: str | None, table: SynonymTable) -> list[WordPlan]:
    """One plan per word typed, or per phrase of the synonym table (one concept: its words
    together, or another member of its group)."""
    plans: list[WordPlan] = []
    forms = [phrase_form(w) for w in words]
    index = 0
    while index < len(words):
        word = words[index]
        found = table.match(forms, index) if table.entries else None
        if found is not None and found[0] > 1:
            span, key = found
            plan = WordPlan(
                " ".join(words[index : index + span]), words=words[index : index + span]
            )
            plan.alternatives.append(Alternative(list(key)))
            plan.alternatives.extend(
                Alternative(list(alt), weight=SYNONYM_WEIGHT) for alt in table.entries[key]
            )
            plans.append(plan)
            index += span
            continue
        is_prefix = index == len(words) - 1 and word == prefix_word
        synonyms = table.entries[found[1]] if found is not None else []
        word_plan = plan_word(word, is_prefix, synonyms)
        if word_plan is not None:
            plans.append(word_plan)
        index += 1
    return plans


def split_identifier(plan: WordPlan) -> bool:
    """Look an identifier that matches nothing whole up as the phrase of its parts, as if it
    were quoted: a piece of a longer identifier in the text (``winevt\\Logs`` of
    ``%SystemRoot%\\System32\\Winevt\\Logs``, ``apiserver-down`` of
    ``kube-apiserver-down``) is indexed only by its parts. False: not an identifier of
    several parts."""
    if len(plan.words) != 1 or is_simple(plan.word):
        return False
    parts = phrase_form(plan.word)
    if len(parts) < 2:
        return False
    plan.alternatives.append(Alternative(list(parts)))
    return True


def correct(plan: WordPlan, vocabulary: Vocabulary | None, reader: Any) -> None:
    """Add spelling corrections of a word that matches nothing (the knowledge base's own
    words near it, the most frequent first)."""
    lower = plan.word.lower()
    if len(lower) < 4 or not lower.isalpha() or vocabulary is None:
        return
    scored = []
    for candidate in vocabulary.near(lower):
        term = stem(candidate)
        frequency = sum(reader.doc_frequency(f, term) for f in TEXT_FIELDS)
        if frequency:  # words of deleted documents are still in the vocabulary
            scored.append((-frequency, candidate))
    ranked = [w for _, w in sorted(scored)[:3]]
    plan.corrections = ranked
    for candidate in ranked:
        plan.alternatives.append(Alternative([stem(candidate)]))
