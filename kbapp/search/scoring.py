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
   document is scored.

The final score of a document is its BM25F sum times factors of at most 1 (status, share of
the words), computed exactly as the exhaustive ranking computes it (same lists, same order of
additions, same multiplications), so the pruned ranking is the exhaustive one, ties included
(equal scores keep document order).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Mapping

from whoosh.searching import Searcher

from kbapp.search.schema import TEXT_FIELDS
from kbapp.search.tables import DocTable, Shares, TermSets

#: A term's shares kept per searcher (each one a few lists as long as its postings).
SCORE_CACHE = 256
#: Scoring the documents directly is cheaper than pruning when there are at most this many
#: per list (a lookup per document and list against a pass over every posting).
DIRECT_SHARE = 0.25
#: Rounding: the bounds are sums in another order than the scores', so they get this margin.
MARGIN = 1e-9


class TermScores:
    """One list of BM25F shares: document set, numbers and shares in posting order, the
    largest share, and (on first use) a lookup by document and the impact order."""

    __slots__ = ("_impact", "_lookup", "docset", "ids", "values")

    def __init__(
        self,
        docset: frozenset[int],
        ids: list[int],
        values: list[float],
        lookup: dict[int, float] | None = None,
    ) -> None:
        self.docset = docset
        self.ids = ids
        self.values = values
        self._lookup = lookup
        self._impact: tuple[list[int], list[float]] | None = None

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


class Scorer:
    """BM25F shares of terms on one searcher, and the best documents of a query."""

    def __init__(self, searcher: Searcher, table: DocTable, sets: TermSets) -> None:
        self.searcher = searcher
        self.table = table
        self.sets = sets
        self._scores: OrderedDict[tuple[str, str, float], TermScores] = OrderedDict()
        #: Figures of the last :meth:`best` (for tests and profiling): documents scored.
        self.last_scored = 0

    # ------------------------------------------------------------------ lists

    def lists(self, specs: list[tuple[str, str, float]]) -> list[TermScores]:
        """The lists of shares a query's ``specs`` add up, in the order they are added.

        A word looked up in every text field with the usual weights (the common case) is
        scored from one list merged over the fields, not five."""
        by_term: dict[str, set[str]] = {}
        for fieldname, term, boost in specs:
            if TEXT_FIELDS.get(fieldname) == boost:
                by_term.setdefault(term, set()).add(fieldname)
        whole = {t for t, names in by_term.items() if len(names) == len(TEXT_FIELDS)}
        out = [self.all_fields(t) for t in sorted(whole)]
        for fieldname, term, boost in specs:
            if not (term in whole and fieldname in TEXT_FIELDS):
                out.append(self.contributions(fieldname, term, boost))
        return out

    def scores(self, docs: frozenset[int], specs: list[tuple[str, str, float]]) -> dict[int, float]:
        """BM25F (Whoosh's formula, B=0.75, K1=1.2) of ``docs`` (the result may hold others
        too), every posting of every list added. Whoosh's own collector costs a Python call
        per posting and per length lookup, and its union matcher cannot skip blocks."""
        scores: dict[int, float] = {}
        get = scores.get
        for found in self.lists(specs):
            ids, contributions = found.ids, found.values
            if not ids:
                continue
            if len(ids) <= 2 * len(docs):
                # most postings are wanted: scoring the others too is cheaper than asking
                # (callers read the scores of ``docs`` only)
                for docnum, value in zip(ids, contributions):
                    scores[docnum] = get(docnum, 0.0) + value
            else:
                for docnum, value in zip(ids, contributions):
                    if docnum in docs:
                        scores[docnum] = get(docnum, 0.0) + value
        return scores

    def all_fields(self, term: str) -> TermScores:
        """:meth:`contributions` of ``term`` summed over all text fields with their weights."""
        key = ("", term, 0.0)
        found = self._scores.get(key)
        if found is not None:
            self._scores.move_to_end(key)
            return found
        sums: dict[int, float] = {}
        get = sums.get
        for fieldname, boost in TEXT_FIELDS.items():
            part = self.contributions(fieldname, term, boost)
            for docnum, value in zip(part.ids, part.values):
                sums[docnum] = get(docnum, 0.0) + value
        found = TermScores(frozenset(sums), list(sums), list(sums.values()), sums)
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
        docset, ids, weights = self.sets.postings(fieldname, term)
        if fieldname in TEXT_FIELDS and ids:
            k1, b = 1.2, 0.75
            searcher = self.searcher
            idf = searcher.idf(fieldname, term) * boost
            average = searcher.avg_field_length(fieldname) or 1.0
            lengths = self.table.lengths(fieldname)
            top = idf * (k1 + 1)
            base = k1 * (1 - b)
            slope = k1 * b / average
            values = [top * tf / (tf + base + slope * lengths[d]) for d, tf in zip(ids, weights)]
        else:
            values = [tf * boost for tf in weights]
        found = TermScores(docset, ids, values)
        self._keep(key, found)
        return found

    def _keep(self, key: tuple[str, str, float], found: TermScores) -> None:
        self._scores[key] = found
        if len(self._scores) > SCORE_CACHE:
            self._scores.popitem(last=False)

    # ------------------------------------------------------------------ the best k

    def best(
        self,
        docs: frozenset[int],
        specs: list[tuple[str, str, float]],
        k: int,
        final: Callable[[int, float], float],
    ) -> dict[int, float]:
        """The best ``k`` of ``docs`` (fewer if there are fewer) by ``final(doc, BM25F)``,
        which must not exceed the BM25F sum it is given (factors of at most 1), with their
        final scores, in document order: the same documents and scores as scoring every
        document, ties broken by document order."""
        lists = [found for found in self.lists(specs) if found.ids]
        postings = sum(len(found.ids) for found in lists)
        if len(docs) <= k or not lists or len(docs) * len(lists) <= DIRECT_SHARE * postings:
            return self._top(self._score(sorted(docs), lists, final, {}), k)
        lookups = [found.lookup() for found in lists]
        scored: dict[int, float] = {}
        threshold = 0.0
        depth = 2 * k
        for _round in range(3):
            seeds: set[int] = set()
            tails = []
            for found in lists:
                ids, values = found.impact()
                seeds.update(ids[:depth])
                tails.append(values[depth] if depth < len(values) else 0.0)
            fresh = [d for d in seeds if d in docs and d not in scored]
            self._score(fresh, lookups, final, scored)
            if len(scored) >= k:
                threshold = heapq.nlargest(k, scored.values())[-1]
                if threshold > 0 and sum(tails) * (1 + MARGIN) < threshold:
                    self.last_scored = len(scored)
                    return self._top(scored, k)
            depth *= 4
        # MaxScore: the lists whose tail bounds add up to less than the threshold cannot
        # lift a document outside the other lists into the best k
        essential: list[TermScores] = []
        bound = 0.0
        for tail, found in sorted(zip(tails, lists), key=lambda pair: pair[0]):
            if threshold > 0 and (bound + tail) * (1 + MARGIN) < threshold:
                bound += tail
            else:
                essential.append(found)
        if len(essential) < len(lists):
            rest = frozenset().union(*(found.docset for found in essential)) & docs
        else:
            rest = docs
        self._score([d for d in rest if d not in scored], lookups, final, scored)
        return self._top(scored, k)

    def _score(
        self,
        docs: list[int],
        lists: list[TermScores] | list[dict[int, float]],
        final: Callable[[int, float], float],
        into: dict[int, float],
    ) -> dict[int, float]:
        """Final scores of ``docs`` into ``into``: each document's shares added in the lists'
        order (as :meth:`scores` adds them)."""
        lookups = [found.lookup() if isinstance(found, TermScores) else found for found in lists]
        for docnum in docs:
            score = 0.0
            for lookup in lookups:
                value = lookup.get(docnum)
                if value is not None:
                    score += value
            into[docnum] = final(docnum, score)
        self.last_scored = len(into)
        return into

    @staticmethod
    def _top(scored: Mapping[int, float], k: int) -> dict[int, float]:
        ordered = sorted(scored)
        if len(ordered) > k:
            ordered = heapq.nlargest(k, ordered, key=scored.__getitem__)
            ordered.sort()
        return {d: scored[d] for d in ordered}
