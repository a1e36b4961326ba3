"""Ranking the documents of one tier (:class:`Ranker`): BM25F (:mod:`kbapp.search.scoring`)
times the document's status factor and, for a long query, its share of the query's words
(:class:`WordCounts`, :class:`WordShare`) to :data:`COVERAGE_POWER`; the best
:data:`PROXIMITY_DEPTH` then re-ranked by how many of the query's neighbouring word pairs
they have as neighbours too (words together rank above the same words apart).

Three ways to the same scores and order (equal scores keep document order): every posting
added up in Python, every document at once in NumPy (:func:`~kbapp.search.vectors.numpy_for`,
the documents a set or a mask), or the best k found without scoring every posting
(:data:`TOPK_PRUNING`, off as shipped).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from kbapp.search.masks import Masks, has_docs
from kbapp.search.postings import TermSets
from kbapp.search.scoring import Scorer
from kbapp.search.tables import DocTable
from kbapp.search.vectors import numpy_for

#: Published documents rank above in-review and drafts with the same text score.
STATUS_FACTOR = {"published": 1.0, "in-review": 0.85, "draft": 0.7}
#: Words together: a document's score is multiplied by (1 + the share of the query's
#: neighbouring word pairs it has as neighbours too) ** PROXIMITY_POWER (Lucene edismax's pf2,
#: as a factor): a pasted message held word for word ranks above its words spread apart.
PROXIMITY_POWER = 3.0
PROXIMITY_POWER_PER_PAIR = 0.75
#: How many of the best documents by BM25F are re-ranked with the proximity factor.
PROXIMITY_DEPTH = 100
#: The score is multiplied by (share of the query's words the document has) ** COVERAGE_POWER.
COVERAGE_POWER = 2.0
#: The best k of a tier are found without scoring every posting (:mod:`kbapp.search.scoring`);
#: Off: the same ranking (tests/test_search_topk.py), but on the real articles its p95 was 2-4x
#: scoring every document's postings (a term's first ranking still adds every posting, and the
#: sort costs more); measured in issue 15, kept for the next lever (per-block maximum scores).
TOPK_PRUNING = False
#: The documents to rank are scored one by one (a binary search in each list) when there
#: are fewer than the lists' postings over this; otherwise every posting is added up.
DENSE_AT_SHARE = 16


class WordShare(Mapping[int, float]):
    """Each document's share of a long query's words (how many of their document sets hold
    it, over how many words), worked out when asked: the same numbers as counting every
    document's words beforehand, for the documents scored only."""

    def __init__(self, sets: list[frozenset[int]]) -> None:
        self.sets = sets
        self._size = len(sets)

    def __getitem__(self, docnum: int) -> float:
        return sum(docnum in docs for docs in self.sets) / self._size

    def __iter__(self) -> Iterator[int]:
        return iter(frozenset().union(*self.sets))

    def __len__(self) -> int:
        return len(frozenset().union(*self.sets))


class WordCounts(Mapping[int, float]):
    """Each document's share of a long query's words, from how many of their document sets
    hold it (counted in C): ``counts`` and ``powers`` (the share of c words to a power,
    ``(c / n) ** power``, as the ranking multiplies by it)."""

    def __init__(
        self, sets: list[frozenset[int]], power: float, vector: Any = None, size: int = 0
    ) -> None:
        self.sets = sets
        self._counts: Counter[int] | None = None
        self._size = size or len(sets)
        self.powers = [(c / self._size) ** power for c in range(self._size + 1)]
        #: the counts as a NumPy array by document number, when the words are masks
        self._vector = vector

    @property
    def counts(self) -> Counter[int]:
        if self._counts is None:
            self._counts = Counter(itertools.chain.from_iterable(self.sets))
        return self._counts

    def vector(self, np: Any, size: int) -> Any:
        """How many of the word sets hold each document number, as a NumPy array."""
        if self._vector is not None:
            return self._vector
        counts = np.zeros(size, dtype=np.int64)
        for docs in self.sets:
            if docs:
                counts[np.fromiter(docs, dtype=np.int64, count=len(docs))] += 1
        return counts

    def __getitem__(self, docnum: int) -> float:
        return self.counts[docnum] / self._size

    def __iter__(self) -> Iterator[int]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)


class Ranker:
    """Ranks documents on one searcher (its documents' status factors made once)."""

    def __init__(self, table: DocTable, sets: TermSets, scorer: Scorer) -> None:
        self.table = table
        self.sets = sets
        self.scorer = scorer
        self._status_factors: list[float] | None = None
        self._factor_vector: Any = None
        #: Pruning needs every factor a score is multiplied by to be at most 1.
        self._factors_at_most_one = max(STATUS_FACTOR.values(), default=1.0) <= 1.0

    def ranked(
        self,
        masks: Masks | None,
        docs: frozenset[int] | Any,
        specs: list[tuple[str, str, float]],
        limit: int,
        masked: frozenset[int] | None,
        coverage: Mapping[int, float] | None = None,
        words: int = 1,
        pairs: list[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The best ``limit`` of ``docs`` by BM25F, times the status factor and, given
        ``coverage`` (how many of the ``words`` each document has), the squared share; given
        the hashes of the query's neighbouring word ``pairs``, the best
        :data:`PROXIMITY_DEPTH` of those are then re-ranked by the share of the pairs they
        have (words together, in the query's order, rank above the same words apart)."""
        if limit <= 0 or not has_docs(docs):
            return []
        mask = None
        if not isinstance(docs, frozenset):  # a NumPy mask (a large knowledge base)
            mask = docs
            counted = coverage is None or isinstance(coverage, WordCounts)
            if not specs or masks is None or not counted:
                mask, docs = None, frozenset(docs.nonzero()[0].tolist())
        status = self.table.values["status"]
        if not specs:  # filters only: published first, then index order
            ordered = sorted(docs, key=lambda d: -STATUS_FACTOR.get(status[d], 0.8))
            return [(d, 0.0) for d in ordered[:limit]]
        if self._status_factors is None:
            self._status_factors = [STATUS_FACTOR.get(s, 0.8) for s in status]
        factors = self._status_factors
        depth = max(PROXIMITY_DEPTH, limit) if pairs else limit
        if mask is not None and masks is not None:
            # every document's score at once in NumPy (the mask's documents)
            word_share = coverage if isinstance(coverage, WordCounts) else None
            best_vector = self._best_vector(masks.np, mask, specs, depth, factors, word_share)
            if not pairs:
                return best_vector
            final = dict(best_vector)
        elif (
            TOPK_PRUNING
            and self._factors_at_most_one
            and (coverage is None or isinstance(coverage, WordShare))
        ):
            # the best ``depth`` only, found without scoring every posting (same scores)
            words_of = coverage.sets if isinstance(coverage, WordShare) else None
            final = self.scorer.best(docs, specs, depth, factors, words_of, COVERAGE_POWER)
        elif (coverage is None or isinstance(coverage, WordCounts)) and (
            np := numpy_for(len(docs), self._postings(specs))
        ) is not None:
            # the same scores and order, every document's at once in NumPy
            best_vector = self._best_vector(np, docs, specs, depth, factors, coverage)
            if not pairs:
                return best_vector
            final = dict(best_vector)
        else:
            sums = self.scorer.dense(specs)
            # in document order, so that equal scores keep it (nlargest is stable)
            ordered = sorted(docs)
            if isinstance(coverage, WordCounts):
                powers, shares = coverage.powers, coverage.counts
                values = [sums[d] * factors[d] * powers[shares[d]] for d in ordered]
            elif coverage is not None:
                values = [sums[d] * factors[d] * coverage[d] ** COVERAGE_POWER for d in ordered]
            else:
                values = [sums[d] * factors[d] for d in ordered]
            positions = range(len(values))
            if not pairs:
                best = heapq.nlargest(limit, positions, key=values.__getitem__)
                return [(ordered[i], values[i]) for i in best]
            final = {
                ordered[i]: values[i]
                for i in heapq.nlargest(depth, positions, key=values.__getitem__)
            }
        if pairs:
            best = (
                heapq.nlargest(depth, final, key=final.__getitem__)
                if len(final) > depth
                else list(final)
            )
            counts = self.table.pair_counts(best, pairs)
            size = len(pairs)
            # the longer the query, the more its word order says (a pasted message)
            power = min(PROXIMITY_POWER, PROXIMITY_POWER_PER_PAIR * size)
            factor = [(1.0 + c / size) ** power for c in range(size + 1)]
            final = {d: final[d] * factor[counts.get(d, 0)] for d in sorted(best)}
        return [(d, final[d]) for d in heapq.nlargest(limit, final, key=final.__getitem__)]

    def _postings(self, specs: list[tuple[str, str, float]]) -> int:
        """How many postings scoring ``specs`` adds up, of those read already (nothing is
        read for this: a long query's scores are kept longer than its terms' postings)."""
        known = self.sets.known_size
        return sum(known(fieldname, term) for fieldname, term, _boost in specs)

    def _best_vector(
        self,
        np: Any,
        docs: frozenset[int] | Any,
        specs: list[tuple[str, str, float]],
        limit: int,
        factors: list[float],
        coverage: WordCounts | None,
    ) -> list[tuple[int, float]]:
        """The best ``limit`` of ``docs`` as :meth:`ranked` finds them without pruning (the
        same products in the same order, equal scores in document order), in NumPy."""
        if isinstance(docs, frozenset):
            ordered = np.fromiter(docs, dtype=np.int64, count=len(docs))
            ordered.sort()
        else:  # a mask: its documents, in order
            ordered = np.flatnonzero(docs)
        if len(ordered) * DENSE_AT_SHARE < self._postings(specs):
            sums = self.scorer.dense_at(np, specs, ordered)  # (a few documents' only)
        else:
            sums = self.scorer.dense_vector(np, specs)[ordered]
        if self._factor_vector is None or len(self._factor_vector) != len(factors):
            self._factor_vector = np.array(factors, dtype=np.float64)
        values = sums * self._factor_vector[ordered]
        if coverage is not None:
            powers = np.array(coverage.powers, dtype=np.float64)
            values = values * powers[coverage.vector(np, self.table.size)[ordered]]
        size = len(values)
        if size > limit:
            kth = np.partition(values, size - limit)[size - limit]
            positions = np.flatnonzero(values >= kth)
        else:
            positions = np.arange(size)
        # a stable sort of the negated values: the largest first, equal ones in document order
        best = positions[np.argsort(-values[positions], kind="stable")[:limit]]
        return list(zip(ordered[best].tolist(), values[best].tolist()))
