"""BM25F scores of a query's documents, and the best k of them without scoring every posting.

Each (field, term, boost) of a query contributes to a document's score a share that depends
on the index only (BM25F: the term's idf, its frequency in the document, the field's length),
so each term's shares are worked out once per searcher and kept, with their maximum, a
document-to-share lookup and the postings in decreasing order of share (made on first use).

The best k of a set of documents are found by the threshold algorithm (Fagin's TA) over those
impact-ordered lists, finished by MaxScore's split into essential and non-essential lists:

1. the documents among the first ``depth`` postings of every list are scored exactly (their
   share in each list looked up), and the k-th best of them is the threshold;
2. a document not scored yet has, in each list, at most the share at position ``depth`` (the
   list's *tail bound*); when the sum of the tail bounds is below the threshold, no such
   document can reach the best k and the answer is exact. Otherwise ``depth`` grows (×4),
   twice at most;
3. then the lists whose tail bounds add up to less than the threshold are non-essential: a
   document in none of the other lists cannot reach the best k, so only the documents of the
   essential lists are scored (with every list's share). No list non-essential: every
   document is scored. For a long query, whose scores are multiplied by the share of its
   words a document has (to a power), a document with too few of the words cannot reach the
   threshold either (the sum of the tail bounds times its share): only documents with enough
   of them (sets of document numbers, intersected in C) are scored.

The final score of a document is its BM25F sum times factors of at most 1 (status, share of
the words), computed exactly as the exhaustive ranking computes it (same lists, same order of
additions, same multiplications), so the pruned ranking is the exhaustive one, ties included
(equal scores keep document order).
"""

from __future__ import annotations

import heapq
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from math import log
from typing import Any

from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher

from kbapp.search.postings import Shares, TermSets
from kbapp.search.schema import TEXT_FIELDS
from kbapp.search.tables import DocTable

#: BM25's term-frequency saturation and length normalisation (Whoosh's defaults are 1.2 and
#: 0.75). Issue 15, i15-words5: 2.0 and 0.9 (a word said several times counts for more, and a
#: long article full of procedure is held back more) moved 9 own-words queries up and 1 down
#: over the 204 written for tuning (13 up, 2 down without meaning); every error code, message,
#: typo, as-you-type and identifier query and every runbook query kept its rank.
K1 = 2.0
B = 0.9
#: Lists of shares kept per searcher (each one a few lists as long as its postings; a word
#: looked up in every field is one list, its fields' own are not kept).
SCORE_CACHE = 512
#: Scoring the documents directly is cheaper than pruning when there are at most this many
#: per list (a lookup per document and list against a pass over every posting).
DIRECT_SHARE = 0.25
#: Rounding: the bounds are sums in another order than the scores', so they get this margin.
MARGIN = 1e-9
_FIELD_ORDER = tuple(TEXT_FIELDS)
_FIELD_BOOSTS = tuple(TEXT_FIELDS.values())
#: A cached list's key: (field, term, boost), or ("", term, the boost of each text field).
ScoreKey = tuple[str, str, float | tuple[float, ...]]


class TermScores:
    """One list of BM25F shares: document set, numbers and shares in posting order, the
    largest share, and (on first use) a lookup by document and the impact order."""

    __slots__ = ("_impact", "_lookup", "docset", "ids", "uses", "values")

    def __init__(
        self,
        docset: frozenset[int],
        ids: Sequence[int],
        values: Sequence[float],
        lookup: dict[int, float] | None = None,
    ) -> None:
        self.docset = docset
        self.ids = ids
        self.values = values
        self._lookup = lookup
        self._impact: tuple[list[int], list[float]] | None = None
        #: How many rankings asked for it (the impact order is made from the second on).
        self.uses = 0

    def shares(self) -> Shares:
        return self.docset, self.ids, self.values

    def lookup(self) -> dict[int, float]:
        if self._lookup is None:
            self._lookup = dict(zip(self.ids, self.values))
        return self._lookup

    def impact(self) -> tuple[list[int], list[float]]:
        """Document numbers and shares, the largest share first."""
        if self._impact is None:
            values = self.values
            order = sorted(range(len(values)), key=values.__getitem__, reverse=True)
            ids = self.ids
            self._impact = [ids[i] for i in order], [values[i] for i in order]
        return self._impact


def _groups(specs: list[tuple[str, str, float]]) -> list[ScoreKey]:
    """What :meth:`Scorer.lists` adds up for ``specs``, in order: ("", term, the boost of
    each text field) for a word looked up in every text field, (field, term, boost) for
    the others."""
    by_term: dict[str, set[str]] = {}
    for fieldname, term, boost in specs:
        if TEXT_FIELDS.get(fieldname) == boost:
            by_term.setdefault(term, set()).add(fieldname)
    whole = {t for t, names in by_term.items() if len(names) == len(TEXT_FIELDS)}
    out: list[ScoreKey] = [("", t, _FIELD_BOOSTS) for t in sorted(whole)]
    rest = [spec for spec in specs if not (spec[1] in whole and spec[0] in TEXT_FIELDS)]
    width = len(_FIELD_ORDER)
    at = 0
    while at < len(rest):
        run = rest[at : at + width]
        if (
            len(run) == width
            and tuple(fieldname for fieldname, _t, _b in run) == _FIELD_ORDER
            and all(term == run[0][1] for _f, term, _b in run)
        ):
            out.append(("", run[0][1], tuple(boost for _f, _t, boost in run)))
            at += width
        else:
            out.append(rest[at])
            at += 1
    return out


class Scorer:
    """BM25F shares of terms on one searcher, and the best documents of a query."""

    def __init__(self, searcher: Searcher, table: DocTable, sets: TermSets) -> None:
        self.searcher = searcher
        self.table = table
        self.sets = sets
        self._scores: OrderedDict[ScoreKey, TermScores] = OrderedDict()
        self._slope: dict[str, list[float]] = {}
        self._slope_vectors: dict[str, Any] = {}
        self._idfs: dict[tuple[str, str], float] = {}
        self._doc_count: int | None = None
        #: Over every :meth:`best` so far: documents asked about, documents scored (tests and
        #: profiling see what the pruning saved).
        self.asked = 0
        self.scored = 0

    # ------------------------------------------------------------------ lists

    def lists(self, specs: list[tuple[str, str, float]]) -> list[TermScores]:
        """The lists of shares a query's ``specs`` add up, in the order they are added.

        A word looked up in every text field with the usual weights (the common case) is
        scored from one list merged over the fields, not five; so is a synonym's word,
        looked up in every field at a share of the usual weights (its five specs follow each
        other, in field order, as :meth:`~kbapp.search.plan.Alternative.specs` makes them):
        a synonym phrase's common words ("not", "t", "show") were five long lists each."""
        out = []
        for fieldname, term, boost in _groups(specs):
            if isinstance(boost, tuple):
                out.append(self.all_fields(term, boost))
            else:
                out.append(self.contributions(fieldname, term, boost))
        return out

    def scores(self, docs: frozenset[int], specs: list[tuple[str, str, float]]) -> dict[int, float]:
        """BM25F (Whoosh's formula with :data:`K1` and :data:`B`) of ``docs`` (see :meth:`dense`)."""
        dense = self.dense(specs)
        return {docnum: dense[docnum] for docnum in docs}

    def dense(self, specs: list[tuple[str, str, float]]) -> list[float]:
        """BM25F of every document number of the searcher (0.0 without any of the terms):
        every posting of every list added, in the lists' order. One list indexed by
        document number: half the time of a dict's ``get`` and store per posting, the same
        sums. Whoosh's own collector costs a Python call per posting and per length lookup,
        and its union matcher cannot skip blocks."""
        sums = [0.0] * self.table.size
        for number, found in enumerate(self.lists(specs)):
            if number == 0:  # 0.0 + value is the value (each document once in a list)
                for docnum, value in zip(found.ids, found.values):
                    sums[docnum] = value
                continue
            for docnum, value in zip(found.ids, found.values):
                sums[docnum] += value
        return sums

    def dense_vector(self, np: Any, specs: list[tuple[str, str, float]]) -> Any:
        """:meth:`dense` in NumPy (an array by document number): each list's shares worked
        out with the same operations on every posting at once (IEEE arithmetic, one
        operation at a time: the same numbers), added field by field and list by list in
        :meth:`lists`' order; a document without a list's term adds 0.0, which changes no
        sum."""
        sums = np.zeros(self.table.size)
        for fieldname, term, boost in _groups(specs):
            if isinstance(boost, tuple):  # a word in every text field
                total = np.zeros(self.table.size)
                for name, field_boost in zip(_FIELD_ORDER, boost):
                    ids, weights = self._arrays(np, name, term)
                    if len(ids):
                        total[ids] += self._values_vector(np, name, term, field_boost, ids, weights)
                sums += total
            else:
                ids, weights = self._arrays(np, fieldname, term)
                if len(ids):
                    sums[ids] += self._values_vector(np, fieldname, term, boost, ids, weights)
        return sums

    def dense_at(self, np: Any, specs: list[tuple[str, str, float]], docs: Any) -> Any:
        """:meth:`dense_vector` at ``docs`` only (a sorted array of document numbers; their
        sums, in that order): each posting of theirs found by a binary search in the list,
        its share worked out by the same operations and added in the same order (the same
        numbers), the others never computed. For a few documents of long lists (a phrase
        of common words found in a few hundred documents)."""
        sums = np.zeros(len(docs))
        for fieldname, term, boost in _groups(specs):
            if isinstance(boost, tuple):  # a word in every text field
                total = np.zeros(len(docs))
                for name, field_boost in zip(_FIELD_ORDER, boost):
                    self._add_at(np, total, docs, name, term, field_boost)
                sums += total
            else:
                self._add_at(np, sums, docs, fieldname, term, boost)
        return sums

    def _add_at(
        self, np: Any, into: Any, docs: Any, fieldname: str, term: str, boost: float
    ) -> None:
        ids, weights = self._arrays(np, fieldname, term)
        if not len(ids):
            return
        at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        present = ids[at] == docs
        at = at[present]
        into[present] += self._values_vector(np, fieldname, term, boost, ids[at], weights[at])

    def _arrays(self, np: Any, fieldname: str, term: str) -> tuple[Any, Any]:
        """A term's postings as NumPy arrays (document numbers, weights), kept a while."""
        return self.sets.arrays(np, fieldname, term)

    def _values_vector(
        self, np: Any, fieldname: str, term: str, boost: float, ids: Any, weights: Any
    ) -> Any:
        """:meth:`_values` in NumPy: the same operations in the same order."""
        if fieldname in TEXT_FIELDS:
            k1, b = K1, B
            idf = self._idf(fieldname, term) * boost
            top = idf * (k1 + 1)
            base = k1 * (1 - b)
            slopes = self._slope_vectors.get(fieldname)
            if slopes is None:
                slopes = self._slope_vectors[fieldname] = np.array(
                    self._slopes(fieldname), dtype=np.float64
                )
            return top * weights / (weights + base + slopes[ids])
        return weights * boost

    def all_fields(self, term: str, boosts: tuple[float, ...] | None = None) -> TermScores:
        """:meth:`contributions` of ``term`` summed over all text fields with their weights
        (``boosts``, in :data:`TEXT_FIELDS` order; by default the fields' own), added field by
        field in that order, as the per-field lists would be."""
        boosts = boosts or _FIELD_BOOSTS
        key = ("", term, boosts)
        found = self._scores.get(key)
        if found is not None:
            self._scores.move_to_end(key)
            return found
        sums: dict[int, float] = {}
        for fieldname, boost in zip(_FIELD_ORDER, boosts):
            ids, weights = self.sets.read(fieldname, term)
            values = self._values(fieldname, term, boost, ids, weights)
            if not sums:
                sums.update(zip(ids, values))  # 0.0 + share is the share
                continue
            fresh = dict(zip(ids, values))
            for docnum in fresh.keys() & sums.keys():  # documents with the term in both
                fresh[docnum] = sums[docnum] + fresh[docnum]
            sums.update(fresh)
        # (the documents with the term in any field: the same set the query's plan uses; the
        # lookup by document is made again if the pruning asks: kept, it was a dict per word)
        found = TermScores(self.sets.any_field(term), list(sums), list(sums.values()))
        self._keep(key, found)
        return found

    def contributions(self, fieldname: str, term: str, boost: float) -> TermScores:
        """Each document's BM25F share of a term in a field: it depends only on the index, so
        it is worked out once per searcher."""
        key = (fieldname, term, boost)
        found = self._scores.get(key)
        if found is not None:
            self._scores.move_to_end(key)
            return found
        found = TermScores(*self._shares(fieldname, term, boost))
        self._keep(key, found)
        return found

    def _shares(self, fieldname: str, term: str, boost: float) -> Shares:
        docset, ids, weights = self.sets.postings(fieldname, term)
        return docset, ids, self._values(fieldname, term, boost, ids, weights)

    def _values(
        self,
        fieldname: str,
        term: str,
        boost: float,
        ids: Sequence[int],
        weights: Sequence[float],
    ) -> list[float]:
        """Each posting's BM25F share (Whoosh's formula with :data:`K1` and :data:`B`)."""
        if fieldname in TEXT_FIELDS and ids:
            k1, b = K1, B
            idf = self._idf(fieldname, term) * boost
            top = idf * (k1 + 1)
            base = k1 * (1 - b)
            # (slope * length per document worked out once: the same products)
            slopes = self._slopes(fieldname)
            values = [top * tf / (tf + base + slopes[d]) for d, tf in zip(ids, weights)]
        else:
            values = [tf * boost for tf in weights]
        return values

    def _slopes(self, fieldname: str) -> list[float]:
        """Each document's ``slope * length`` of a field (BM25's length normalisation, as
        the score adds it), worked out once per searcher."""
        found = self._slope.get(fieldname)
        if found is None:
            k1, b = K1, B
            average = self.searcher.avg_field_length(fieldname) or 1.0
            slope = k1 * b / average
            found = self._slope[fieldname] = [slope * n for n in self.table.lengths(fieldname)]
        return found

    def _idf(self, fieldname: str, term: str) -> float:
        """The searcher's idf of a term (Whoosh's formula, log(N / (df + 1)) + 1), with the
        document frequency counted while its postings were read rather than looked up in
        every segment's term table again (the same number); another weighting is asked."""
        searcher = self.searcher
        if type(searcher.weighting).idf is not WeightingModel.idf:
            return float(searcher.idf(fieldname, term))
        key = (fieldname, term)
        found = self._idfs.get(key)
        if found is None:
            if self._doc_count is None:
                self._doc_count = searcher.get_parent().doc_count_all()
            frequency = self.sets.written(fieldname, term)
            found = self._idfs[key] = log(self._doc_count / (frequency + 1)) + 1
        return found

    def _keep(self, key: ScoreKey, found: TermScores) -> None:
        self._scores[key] = found
        if len(self._scores) > SCORE_CACHE:
            self._scores.popitem(last=False)

    # ------------------------------------------------------------------ the best k

    def best(
        self,
        docs: frozenset[int],
        specs: list[tuple[str, str, float]],
        k: int,
        factors: list[float],
        words: list[frozenset[int]] | None = None,
        power: float = 1.0,
    ) -> dict[int, float]:
        """The best ``k`` of ``docs`` (fewer if there are fewer) by BM25F times the document's
        factor (``factors``, each at most 1) and, given the documents of each of a long
        query's ``words``, times the share of the words the document has to the ``power``;
        with their final scores, in document order: the same documents and scores as
        scoring every document (:meth:`final`), ties broken by document order."""
        self.asked += len(docs)
        lists = [found for found in self.lists(specs) if found.ids]
        postings = sum(len(found.ids) for found in lists)
        fresh_lists = False
        for found in lists:
            found.uses += 1
            fresh_lists = fresh_lists or found.uses < 2
        if fresh_lists and len(docs) > k:
            # a list seen for the first time: ordering it by share costs more than one pass
            # over its postings, so this ranking adds them all (the next one prunes)
            self.scored += len(docs)
            sums = self.scores(docs, specs)
            return self._top(Scoring(lists, factors, words, power, sums)(docs, {}), k)
        score = Scoring(lists, factors, words, power)
        if len(docs) <= k or not lists or len(docs) * len(lists) <= DIRECT_SHARE * postings:
            self.scored += len(docs)
            return self._top(score(docs, {}), k)
        scored: dict[int, float] = {}
        depth = 2 * k
        while True:
            seeds: set[int] = set()
            tails = []
            for found in lists:
                ids, values = found.impact()
                seeds.update(ids[:depth])
                tails.append(values[depth] if depth < len(values) else 0.0)
            fresh = docs.intersection(seeds).difference(scored)
            self.scored += len(fresh)
            score(fresh, scored)
            rest = docs
            if len(scored) >= k:
                threshold = heapq.nlargest(k, scored.values())[-1]
                if threshold > 0:
                    rest = self._contenders(docs, lists, tails, threshold, words, power)
            rest = rest.difference(scored)
            # finish when what is left costs less than looking deeper (4 times as deep)
            if len(rest) <= 4 * depth * len(lists) or 4 * depth * len(lists) >= len(docs):
                self.scored += len(rest)
                score(rest, scored)
                return self._top(scored, k)
            depth *= 4

    @staticmethod
    def _contenders(
        docs: frozenset[int],
        lists: list[TermScores],
        tails: list[float],
        threshold: float,
        words: list[frozenset[int]] | None,
        power: float,
    ) -> frozenset[int]:
        """The documents of ``docs`` that may still score ``threshold`` or more, given that
        any document not scored yet has at most ``tails`` in the lists (MaxScore: a document
        in none of the lists whose tails add up to the threshold cannot reach it; nor can a
        document with too few of a long query's words)."""
        essential: list[TermScores] = []
        bound = 0.0
        for tail, found in sorted(zip(tails, lists), key=lambda pair: pair[0]):
            if (bound + tail) * (1 + MARGIN) < threshold:
                bound += tail
            else:
                essential.append(found)
        if not essential:
            return frozenset()
        rest = docs
        if len(essential) < len(lists):
            rest = frozenset().union(*(found.docset for found in essential)) & docs
        if words:
            # a document with c of the n words scores at most sum(tails) * (c / n) ** power
            total, n = sum(tails), len(words)
            least = 1
            while least <= n and total * (least / n) ** power * (1 + MARGIN) < threshold:
                least += 1
            if least > n:
                return frozenset()
            if least > 1:
                rest = rest & at_least(words, least)
        return rest

    @staticmethod
    def _top(scored: Mapping[int, float], k: int) -> dict[int, float]:
        ordered = sorted(scored)
        if len(ordered) > k:
            ordered = heapq.nlargest(k, ordered, key=scored.__getitem__)
            ordered.sort()
        return {d: scored[d] for d in ordered}


def at_least(sets: list[frozenset[int]], count: int) -> frozenset[int]:
    """The documents in at least ``count`` of ``sets`` (set operations only: no loop over
    documents in Python)."""
    if count <= 1:
        return frozenset().union(*sets)
    if count >= len(sets):
        out = sets[0]
        for docs in sets[1:]:
            out = out & docs
        return out
    # found[j]: the documents in at least j of the sets seen so far (found[0]: any document)
    found: list[frozenset[int] | None] = [None] + [frozenset()] * count
    for seen, docs in enumerate(sets, start=1):
        for j in range(min(count, seen), 0, -1):
            below = found[j - 1]
            grown = docs if below is None else below & docs
            found[j] = (found[j] or frozenset()) | grown
    return found[count] or frozenset()


class Scoring:
    """Final scores of documents: each one's shares added in the lists' order (as
    :meth:`Scorer.scores` adds them), times its factor and its share of the words, computed
    as the exhaustive ranking computes them (the same operations in the same order)."""

    def __init__(
        self,
        lists: list[TermScores],
        factors: list[float],
        words: list[frozenset[int]] | None,
        power: float,
        sums: dict[int, float] | None = None,
    ) -> None:
        #: the BM25F sums already added up (:meth:`Scorer.scores`), or a lookup per list
        self.sums = sums
        self.lookups = [] if sums is not None else [found.lookup() for found in lists]
        self.factors = factors
        self.words = words
        self.power = power

    def __call__(self, docs: frozenset[int] | set[int], into: dict[int, float]) -> dict[int, float]:
        lookups, factors, sums = self.lookups, self.factors, self.sums
        counts: Counter[int] = Counter()
        if self.words is not None:
            # how many of the words each document has: set intersections and a C count
            for word_docs in self.words:
                counts.update(word_docs.intersection(docs))
        if sums is not None:
            get = sums.get
            if self.words is None:
                for docnum in docs:
                    into[docnum] = get(docnum, 0.0) * factors[docnum]
            else:
                size, power = len(self.words), self.power
                for docnum in docs:
                    into[docnum] = (
                        get(docnum, 0.0) * factors[docnum] * (counts[docnum] / size) ** power
                    )
            return into
        if self.words is None:
            for docnum in docs:
                score = 0.0
                for lookup in lookups:
                    value = lookup.get(docnum)
                    if value is not None:
                        score += value
                into[docnum] = score * factors[docnum]
            return into
        size, power = len(self.words), self.power
        for docnum in docs:
            score = 0.0
            for lookup in lookups:
                value = lookup.get(docnum)
                if value is not None:
                    score += value
            into[docnum] = score * factors[docnum] * (counts[docnum] / size) ** power
        return into
