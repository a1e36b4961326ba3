"""Answering one query on an open Whoosh searcher: doc sets, BM25F ranking, facets, typos.

Which documents match is worked out with Python sets of document numbers, one per term,
read straight from the posting blocks and cached while the index does not change; Whoosh
only scores the candidates (BM25F, title/labels/headings above the body). That keeps the
total count and the facet counts over every hit cheap, and lets "all words first, then
some words" be two small scored passes instead of one big one.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq
from whoosh.matching.wrappers import FilterMatcher
from whoosh.searching import Searcher

from kbapp.search.analysis import phrase_terms, query_words, stem, word_terms
from kbapp.search.query import ParsedQuery
from kbapp.search.schema import FACET_FIELDS, PREFIX_MAX, PREFIX_MIN, TEXT_FIELDS

log = logging.getLogger(__name__)

#: Published documents rank above in-review and drafts with the same text score.
STATUS_FACTOR = {"published": 1.0, "in-review": 0.85, "draft": 0.7}
PHRASE_FIELDS = ("title", "headings", "labels", "body", "code")
FACET_LIMIT = 20
_EMPTY: frozenset[int] = frozenset()


class SegmentTable:
    """Per-document facet values of one segment (segments never change, so this is built once
    per segment: a refresh after a 10-document update only builds the new small segment)."""

    def __init__(self, reader: Any) -> None:
        size = reader.doc_count_all()
        self.values: dict[str, list[Any]] = {}
        for name in ("type", "status", "owner_org"):
            column: list[str] = [""] * size
            for term in reader.lexicon(name):
                value = term.decode("utf-8")
                for docnum in _leaf_ids(reader, name, term):
                    column[docnum] = value
            self.values[name] = column
        for name in ("tag", "system"):
            lists: list[tuple[str, ...]] = [()] * size
            for term in reader.lexicon(name):
                value = term.decode("utf-8")
                for docnum in _leaf_ids(reader, name, term):
                    lists[docnum] = (*lists[docnum], value)
            self.values[name] = lists


class DocTable:
    """Facet values for every document number of one searcher (segments concatenated)."""

    def __init__(self, searcher: Searcher, cache: dict[str, SegmentTable]) -> None:
        self.values: dict[str, list[Any]] = {n: [] for n in ("type", "status", "owner_org", "tag", "system")}
        used: dict[str, SegmentTable] = {}
        for reader, _offset in searcher.reader().leaf_readers():
            key = _segment_key(reader)
            table = cache.get(key) or SegmentTable(reader)
            used[key] = table
            for name, column in table.values.items():
                self.values[name].extend(column)
        cache.clear()
        cache.update(used)


def _segment_key(reader: Any) -> str:
    try:
        return str(reader.segment().segment_id())
    except Exception:  # not a segment reader: do not cache
        return f"id-{id(reader)}"


def _leaf_ids(reader: Any, fieldname: str, btext: bytes) -> list[int]:
    """Document numbers of one term in one segment, read a block at a time (the matcher's
    own ``all_ids`` costs a Python call per posting)."""
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(matcher, FilterMatcher):
        deleted = reader.deleted_docs_set
        matcher = matcher.child
    ids: list[int] = []
    try:
        while matcher.is_active():
            if getattr(matcher, "_ids", None) is None and hasattr(matcher, "_read_ids"):
                matcher._read_ids()
            block = getattr(matcher, "_ids", None)
            if block is None or not hasattr(matcher, "_next_block"):
                ids.extend(matcher.all_ids())
                break
            ids.extend(block[matcher._i : matcher._blocklength])
            matcher._next_block()
    except AttributeError:  # another codec: the slow, general way
        ids = list(reader.postings(fieldname, btext).all_ids())
        deleted = None
    if deleted:
        ids = [i for i in ids if i not in deleted]
    return ids


class TermSets:
    """Cached document sets of terms on one searcher."""

    def __init__(self, searcher: Searcher, size: int = 4096) -> None:
        self.searcher = searcher
        self.leaves = searcher.reader().leaf_readers()
        self._cache: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self._size = size

    def docs(self, fieldname: str, term: str) -> frozenset[int]:
        key = (fieldname, term)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        btext = term.encode("utf-8")
        ids: list[int] = []
        for reader, offset in self.leaves:
            if (fieldname, btext) in reader:
                local = _leaf_ids(reader, fieldname, btext)
                ids.extend(local if not offset else [d + offset for d in local])
        found = frozenset(ids)
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found

    def query_docs(self, q: wq.Query) -> frozenset[int]:
        return frozenset(self.searcher.docs_for_query(q))


# --------------------------------------------------------------------------- query plan


@dataclass
class Alternative:
    """One way a word may match: a term, or a phrase (a multi-word synonym)."""

    terms: list[str]
    prefix: str | None = None

    def query(self) -> wq.Query:
        if self.prefix is not None:
            return wq.Term("prefix", self.prefix)
        if len(self.terms) == 1:
            return wq.Or([wq.Term(f, self.terms[0], boost=b) for f, b in TEXT_FIELDS.items()])
        return wq.Or([wq.Phrase(f, self.terms, boost=TEXT_FIELDS[f]) for f in PHRASE_FIELDS])

    def docs(self, sets: TermSets) -> frozenset[int]:
        if self.prefix is not None:
            return sets.docs("prefix", self.prefix)
        if len(self.terms) == 1:
            return frozenset().union(*(sets.docs(f, self.terms[0]) for f in TEXT_FIELDS))
        return sets.query_docs(self.query())


@dataclass
class WordPlan:
    word: str
    alternatives: list[Alternative] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)

    def query(self) -> wq.Query:
        queries = [a.query() for a in self.alternatives]
        return queries[0] if len(queries) == 1 else wq.Or(queries)

    def docs(self, sets: TermSets) -> frozenset[int]:
        return frozenset().union(*(a.docs(sets) for a in self.alternatives))

    def terms(self) -> list[str]:
        return [t for a in self.alternatives for t in a.terms]


@dataclass
class Outcome:
    ranked: list[tuple[int, float]]
    total: int
    hit_docs: frozenset[int]
    suggestion: str | None
    highlight_terms: set[str]
    highlight_prefix: str | None


def synonym_groups(synonyms: dict[str, list[str]]) -> dict[str, list[str]]:
    """Synonyms both ways: k8s → kubernetes and kubernetes → k8s."""
    groups: dict[str, list[str]] = {}
    for word, alternatives in synonyms.items():
        for alt in alternatives:
            groups.setdefault(word, []).append(alt)
            groups.setdefault(alt, []).append(word)
    return {k: list(dict.fromkeys(v)) for k, v in groups.items()}


class QueryRunner:
    """Runs parsed queries on one searcher (a new runner per searcher generation)."""

    def __init__(self, searcher: Searcher, table: DocTable, synonyms: dict[str, list[str]]) -> None:
        self.searcher = searcher
        self.table = table
        self.sets = TermSets(searcher)
        self.synonyms = synonyms
        self.reader = searcher.reader()

    # ------------------------------------------------------------------ planning

    def plan_word(self, word: str, is_prefix: bool) -> WordPlan | None:
        terms = word_terms(word)
        plan = WordPlan(word)
        if terms:
            plan.alternatives.append(Alternative(terms))
        lower = word.lower()
        for synonym in self.synonyms.get(lower, []):
            syn_terms = phrase_terms(synonym)
            if syn_terms:
                plan.alternatives.append(Alternative(syn_terms))
        if is_prefix and PREFIX_MIN <= len(lower) <= PREFIX_MAX and lower.isalnum():
            plan.alternatives.append(Alternative([], prefix=lower))
        return plan if plan.alternatives else None

    def correct(self, plan: WordPlan) -> None:
        """Add spelling corrections of a word that matches nothing."""
        lower = plan.word.lower()
        if len(lower) < 4 or not lower.isalpha():
            return
        maxdist = 1 if len(lower) < 7 else 2
        candidates: set[str] = set()
        for reader, _offset in self.sets.leaves:
            candidates.update(
                w.decode("utf-8") if isinstance(w, bytes) else w
                for w in reader.terms_within("words", lower, maxdist, prefix=1)
            )
        candidates.discard(lower)
        if not candidates:
            return
        ranked = sorted(candidates, key=lambda w: (-self.reader.doc_frequency("words", w), w))[:3]
        plan.corrections = ranked
        for candidate in ranked:
            plan.alternatives.append(Alternative([stem(candidate)]))

    # ------------------------------------------------------------------ running

    def run(self, text: str, parsed: ParsedQuery, limit: int) -> Outcome:
        sets = self.sets
        required: list[frozenset[int]] = []
        scored: list[wq.Query] = []
        highlight: set[str] = set()
        # Phrases and filters must match.
        for phrase in parsed.phrases:
            terms = phrase_terms(phrase)
            if not terms:
                continue
            highlight.update(terms)
            alt = Alternative(terms)
            required.append(alt.docs(sets))
            scored.append(alt.query())
        for name, value in parsed.filters:
            required.append(sets.docs(name, value.lower()))
        # Words: each one a union over its alternatives.
        plans: list[WordPlan] = []
        words = [w for chunk in parsed.words for w in query_words(chunk)]
        prefix_word = None
        if parsed.prefix is not None:
            tail = query_words(parsed.prefix)
            prefix_word = tail[-1] if tail else None
        for index, word in enumerate(words):
            plan = self.plan_word(word, is_prefix=(index == len(words) - 1 and word == prefix_word))
            if plan is not None:
                plans.append(plan)
        word_docs = [p.docs(sets) for p in plans]
        suggestion_words: dict[str, str] = {}
        for plan, docs in zip(plans, word_docs):
            if not docs:
                self.correct(plan)
                if plan.corrections:
                    suggestion_words[plan.word] = plan.corrections[0]
        word_docs = [p.docs(sets) if p.corrections else d for p, d in zip(plans, word_docs)]
        for plan in plans:
            highlight.update(plan.terms())
        # What is never shown: exclusions, and retired documents unless asked for.
        masked: set[int] = set()
        if not parsed.wants_retired():
            masked.update(sets.docs("status", "retired"))
        for word in parsed.excluded_words:
            for w in query_words(word):
                masked.update(Alternative(word_terms(w)).docs(sets) if word_terms(w) else ())
        for phrase in parsed.excluded_phrases:
            terms = phrase_terms(phrase)
            if terms:
                masked.update(Alternative(terms).docs(sets))
        for name, value in parsed.excluded_filters:
            masked.update(sets.docs(name, value.lower()))

        if not plans and not required:
            return Outcome([], 0, _EMPTY, None, highlight, None)
        base: frozenset[int] | None = None
        for docs in required:
            base = docs if base is None else base & docs
        every = base if base is not None else None
        for docs in word_docs:
            every = docs if every is None else every & docs
        all_docs = frozenset(every or ()) - masked
        word_queries = [p.query() for p in plans]
        ranked = self._ranked(wq.And(word_queries + scored), all_docs, limit, bool(word_queries or scored))
        hit_docs = all_docs
        total = len(all_docs)
        if len(plans) > 1 and len(ranked) < limit:
            some = frozenset().union(*word_docs)
            if base is not None:
                some &= base
            some = some - masked - all_docs
            if some:
                ranked += self._ranked(wq.Or(word_queries), some, limit - len(ranked), True)
                hit_docs = all_docs | some
                total += len(some)
        suggestion = None
        if suggestion_words:
            suggestion = text
            for wrong, right in suggestion_words.items():
                suggestion = suggestion.replace(wrong, right)
        prefix = prefix_word.lower() if prefix_word else None
        return Outcome(ranked, total, hit_docs, suggestion, highlight, prefix)

    def _ranked(
        self, q: wq.Query, docs: frozenset[int], limit: int, scored: bool
    ) -> list[tuple[int, float]]:
        if not docs or limit <= 0:
            return []
        status = self.table.values["status"]
        if not scored:  # filters only: published first, then index order
            ordered = sorted(docs, key=lambda d: -STATUS_FACTOR.get(status[d], 0.8))
            return [(d, 0.0) for d in ordered[:limit]]
        want = max(limit * 2, 20)
        results = self.searcher.search(q, limit=want, filter=set(docs))
        ranked = [
            (hit.docnum, hit.score * STATUS_FACTOR.get(status[hit.docnum], 0.8)) for hit in results
        ]
        if len(ranked) < min(len(docs), limit):
            # Documents in the set that the scoring query does not reach (a phrase-only
            # synonym, a prefix the scorer skipped): keep them, below the scored ones.
            seen = {d for d, _ in ranked}
            ranked += [(d, 0.0) for d in sorted(docs - seen)[: limit - len(ranked)]]
        ranked.sort(key=lambda item: -item[1])
        return ranked[:limit]

    def facets(self, docs: Iterable[int]) -> dict[str, list[tuple[str, int]]]:
        docs = list(docs)
        out: dict[str, list[tuple[str, int]]] = {}
        for key, name in FACET_FIELDS.items():
            column = self.table.values[name]
            if name in ("tag", "system"):
                counts = Counter(itertools.chain.from_iterable(map(column.__getitem__, docs)))
            else:
                counts = Counter(map(column.__getitem__, docs))
                counts.pop("", None)
            out[key] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_LIMIT]
        return out
