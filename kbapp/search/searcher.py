"""Answering one query on an open Whoosh searcher: which documents match (sets of document
numbers, see :mod:`kbapp.search.postings`), in which tiers (all words, then some; at least half
of a long query's words, then fewer), ranked by BM25F (:mod:`kbapp.search.scoring`: the best
k found without scoring every posting) times the status and the share of the words, the best
100 re-ranked by words together; facets and spelling suggestions.

The query's words are planned in :mod:`kbapp.search.plan` (alternatives, synonyms, prefix,
corrections).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from kbapp.search.analysis import (
    join_identifiers,
    phrase_terms,
    query_words,
    word_terms,
)
from kbapp.search.facets import FacetCounter
from kbapp.search.masks import Masks
from kbapp.search.plan import (
    Alternative,
    SynonymTable,
    WordPlan,
    correct,
    pair_hashes,
    plan_words,
)
from kbapp.search.postings import EMPTY, TermSets
from kbapp.search.query import ParsedQuery
from kbapp.search.schema import TEXT_FIELDS
from kbapp.search.scoring import Scorer, at_least
from kbapp.search.tables import DocTable
from kbapp.search.vectors import numpy_for
from kbapp.search.vocabulary import Vocabulary
from kbapp.search.wordlists import QUERY_NOISE

__all__ = ["Outcome", "QueryRunner", "reopen_searcher"]

log = logging.getLogger(__name__)

#: Published documents rank above in-review and drafts with the same text score.
STATUS_FACTOR = {"published": 1.0, "in-review": 0.85, "draft": 0.7}
#: Words together: a document's score is multiplied by (1 + the share of the query's
#: neighbouring word pairs it has as neighbours too) ** PROXIMITY_POWER (Lucene edismax's pf2,
#: as a factor): a pasted message held word for word ranks above its words spread apart.
PROXIMITY_POWER = 3.0
PROXIMITY_POWER_PER_PAIR = 0.75
#: How many of the best documents by BM25F are re-ranked with the proximity factor.
PROXIMITY_DEPTH = 100
#: Pseudo-relevance feedback (RM3) for queries of three words or more: the words that weigh
#: most in the best PRF_DOCS documents (by their share of each document's text, weighted by the
#: document's score, times their rarity) are added, PRF_TERMS of them at up to PRF_WEIGHT of a
#: query word, to re-rank the documents the query found (never to find others). 0 turns it off.
PRF_TERMS = 0
PRF_DOCS = 5
PRF_WEIGHT = 0.3
#: Share of a long query's words a document must have to rank in the first tier.
COVERAGE_NEED = 0.5
#: The score is multiplied by (share of the query's words the document has) ** COVERAGE_POWER.
COVERAGE_POWER = 2.0
#: A long query's words count towards a document's share by their rarity (log(1 + N / df)),
#: not one each. Off: measured in issue 15 (own words: fresh +0.03, blind +0.01, held 0,
#: fitted dev -0.09 MRR@10), within the noise of 27-38 queries.
COVERAGE_BY_RARITY = False
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


@dataclass
class Outcome:
    ranked: list[tuple[int, float]]
    total: int
    #: every hit: a set of document numbers, or a NumPy mask by document number (a large
    #: knowledge base's, see :mod:`kbapp.search.masks`); :meth:`hits` is the set either way
    hit_docs: frozenset[int] | Any
    suggestion: str | None
    highlight_terms: set[str]
    highlight_prefix: str | None
    #: Phrases (quoted, or synonyms of several words) whose words are shown only together.
    highlight_phrases: set[tuple[str, ...]] = field(default_factory=set)

    def hits(self) -> frozenset[int]:
        """Every hit's document number."""
        if isinstance(self.hit_docs, frozenset):
            return self.hit_docs
        return frozenset(self.hit_docs.nonzero()[0].tolist())


def _has(docs: frozenset[int] | Any) -> bool:
    """Whether a set or a NumPy mask of documents holds any."""
    return bool(docs) if isinstance(docs, frozenset) else bool(docs.any())


def _mark(terms: list[str], words: set[str], phrases: set[tuple[str, ...]]) -> None:
    """Highlight ``terms``: one word alone, several only together (a phrase)."""
    if len(terms) > 1:
        phrases.add(tuple(terms))
    else:
        words.update(terms)


class QueryRunner:
    """Runs parsed queries on one searcher (a new runner per searcher generation)."""

    def __init__(
        self,
        searcher: Searcher,
        table: DocTable,
        synonyms: dict[str, list[str]],
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.searcher = searcher
        self.vocabulary = vocabulary
        self.table = table
        self.sets = TermSets(searcher, table)
        self.scorer = Scorer(searcher, table, self.sets)
        self._status_factors: list[float] | None = None
        self._factor_vector: Any = None
        #: Pruning needs every factor a score is multiplied by to be at most 1.
        self._factors_at_most_one = max(STATUS_FACTOR.values(), default=1.0) <= 1.0
        self.synonyms = synonyms
        self.synonym_table = SynonymTable.of(synonyms)
        self.reader = searcher.reader()
        self._facets = FacetCounter(table)
        self._masks: Masks | None = None

    def masks(self) -> Masks | None:
        """The documents as NumPy masks, for a knowledge base large enough that NumPy is
        loaded (:func:`~kbapp.search.vectors.numpy_for`); None for a small one (sets)."""
        if TOPK_PRUNING or COVERAGE_BY_RARITY or PRF_TERMS:
            return None
        np = numpy_for(self.table.size)
        if np is None:
            return None
        if self._masks is None:
            self._masks = Masks(np, self.sets, self.table)
        return self._masks

    # ------------------------------------------------------------------ running

    def run(self, text: str, parsed: ParsedQuery, limit: int) -> Outcome:
        sets = self.sets
        phrase_specs: list[tuple[str, str, float]] = []
        highlight: set[str] = set()
        highlight_phrases: set[tuple[str, ...]] = set()
        # Phrases and filters must match.
        phrases: list[Alternative] = []
        for phrase in parsed.phrases:
            terms = phrase_terms(phrase)
            if not terms:
                continue
            _mark(terms, highlight, highlight_phrases)
            alt = Alternative(terms)
            phrases.append(alt)
            phrase_specs.extend(alt.specs())
        # Words: each one a union over its alternatives.
        words = join_identifiers([w for chunk in parsed.words for w in query_words(chunk)])
        prefix_word = None
        if parsed.prefix is not None:
            tail = query_words(parsed.prefix)
            prefix_word = tail[-1] if tail else None
        plans = plan_words(words, prefix_word, self.synonym_table)
        pairs = pair_hashes(words) if len(plans) > 1 else []
        if len(plans) >= 3:
            content = [p for p in plans if p.word.lower() not in QUERY_NOISE or p.corrections]
            if len(content) >= 2:
                plans = content
        # a large knowledge base's documents as masks (something to score: a filter alone
        # lists its documents in the sets' order)
        masks = self.masks() if phrase_specs or any(p.specs() for p in plans) else None
        required: list[Any]
        if masks is None:
            required = [alt.docs(sets) for alt in phrases]
            required += [sets.docs(name, value.lower()) for name, value in parsed.filters]
        else:
            required = [masks.phrase(alt.terms) for alt in phrases]
            required += [masks.term(name, value.lower()) for name, value in parsed.filters]
        docs_of = (lambda p: p.docs(sets)) if masks is None else masks.word
        word_docs = [docs_of(p) for p in plans]
        suggestion_words: dict[str, str] = {}
        for plan, docs in zip(plans, word_docs):
            if not _has(docs):
                correct(plan, self.vocabulary, self.reader)
                if plan.corrections:
                    suggestion_words[plan.word] = plan.corrections[0]
        word_docs = [docs_of(p) if p.corrections else d for p, d in zip(plans, word_docs)]
        for plan in plans:
            for alternative in plan.alternatives:
                if alternative.weight >= 1.0:  # the words as typed: each one marked
                    highlight.update(alternative.terms)
                else:  # a synonym: a phrase of it only where it stands whole
                    _mark(alternative.terms, highlight, highlight_phrases)
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
            return Outcome([], 0, EMPTY, None, highlight, None, highlight_phrases)
        specs = [spec for plan in plans for spec in plan.specs()] + phrase_specs
        if masks is not None:
            ranked, total, hit_docs = self._run_masks(
                masks, required, word_docs, masked, specs, limit, pairs
            )
        else:
            ranked, total, hit_docs = self._run_sets(
                required, word_docs, masked, plans, specs, limit, pairs
            )
        suggestion = None
        if suggestion_words:
            suggestion = text
            for wrong, right in suggestion_words.items():
                suggestion = suggestion.replace(wrong, right)
        prefix = prefix_word.lower() if prefix_word else None
        return Outcome(ranked, total, hit_docs, suggestion, highlight, prefix, highlight_phrases)

    def _run_masks(
        self,
        masks: Masks,
        required: list[Any],
        word_docs: list[Any],
        masked: set[int],
        specs: list[tuple[str, str, float]],
        limit: int,
        pairs: list[int],
    ) -> tuple[list[tuple[int, float]], int, Any]:
        """:meth:`_run_sets` with the documents as NumPy masks: the same tiers, ranking,
        total and hits (a mask)."""
        np = masks.np
        allowed: Any = None  # the filters' and phrases' documents, less those never shown
        for docs in required:
            allowed = docs.copy() if allowed is None else allowed & docs
        if masked:
            hidden = ~masks.of(masked)
            allowed = hidden if allowed is None else allowed & hidden
        if len(word_docs) <= 2:
            every = allowed
            for docs in word_docs:
                every = docs.copy() if every is None else every & docs
            ranked = self._ranked(every, specs, limit, None, pairs=pairs)
            total = int(np.count_nonzero(every))
            if len(word_docs) == 2 and len(ranked) < limit:
                some = (word_docs[0] | word_docs[1]) & ~every
                if allowed is not None:
                    some &= allowed
                ranked += self._ranked(some, specs, limit - len(ranked), None, pairs=pairs)
                every = every | some
                total += int(np.count_nonzero(some))
            return ranked, total, every
        # Three words or more: how many of them each document has, one count vector
        counts = word_docs[0].astype(np.int64)
        for docs in word_docs[1:]:
            counts += docs
        candidates = counts > 0
        if allowed is not None:
            candidates &= allowed
        coverage = WordCounts([], COVERAGE_POWER, counts, len(word_docs))
        need = int(len(word_docs) * COVERAGE_NEED)
        enough = candidates if need <= 1 else (counts >= need) & candidates
        ranked = self._ranked(enough, specs, limit, None, coverage, 1, pairs)
        if len(ranked) < limit:
            rest = candidates & ~enough
            ranked += self._ranked(rest, specs, limit - len(ranked), None, coverage, 1, pairs)
        return ranked, int(np.count_nonzero(candidates)), candidates

    def _run_sets(
        self,
        required: list[frozenset[int]],
        word_docs: list[frozenset[int]],
        masked: set[int],
        plans: list[WordPlan],
        specs: list[tuple[str, str, float]],
        limit: int,
        pairs: list[int],
    ) -> tuple[list[tuple[int, float]], int, frozenset[int]]:
        """The ranked best ``limit``, the total and every hit, from the document sets of
        the query's ``required`` phrases and filters and of its words."""
        base: frozenset[int] | None = None
        for docs in required:
            base = docs if base is None else base & docs
        every = base
        for docs in word_docs:
            every = docs if every is None else every & docs
        all_docs = frozenset(every or ()) - masked
        if len(plans) <= 2:
            # One or two words: documents with all of them, then those with some.
            ranked = self._ranked(all_docs, specs, limit, frozenset(masked), pairs=pairs)
            hit_docs, total = all_docs, len(all_docs)
            if len(plans) == 2 and len(ranked) < limit:
                some = (word_docs[0] | word_docs[1]) - masked - all_docs
                if base is not None:
                    some &= base
                ranked += self._ranked(some, specs, limit - len(ranked), None, pairs=pairs)
                hit_docs, total = all_docs | some, total + len(some)
        else:
            # Three words or more (a symptom in the user's own words): documents with at
            # least half of them first (COVERAGE_NEED), ranked by BM25F times the share of
            # the words they have (squared), then documents with fewer.
            words_counted = 1
            candidates = frozenset().union(*word_docs) - masked
            if base is not None:
                candidates &= base
            coverage: Mapping[int, float]
            if TOPK_PRUNING and not COVERAGE_BY_RARITY:
                # the same shares and tiers, worked out for the documents scored only
                coverage = WordShare(word_docs)
                enough = at_least(word_docs, int(len(plans) * COVERAGE_NEED)) & candidates
            elif not COVERAGE_BY_RARITY:
                # (by count: at least half rounded down, 3 of 7)
                coverage = WordCounts(word_docs, COVERAGE_POWER)
                need = int(len(plans) * COVERAGE_NEED)
                enough = candidates if need <= 1 else at_least(word_docs, need) & candidates
            else:
                coverage = self._coverage(word_docs)
                enough = frozenset(d for d in candidates if coverage[d] >= COVERAGE_NEED)
            ranked = self._ranked(enough, specs, limit, None, coverage, words_counted, pairs)
            if len(ranked) < limit:
                ranked += self._ranked(
                    candidates - enough,
                    specs,
                    limit - len(ranked),
                    None,
                    coverage,
                    words_counted,
                    pairs,
                )
            if PRF_TERMS and ranked:
                extra = self._feedback(ranked, plans)
                if extra:
                    ranked = self._ranked(
                        enough, specs + extra, limit, None, coverage, words_counted, pairs
                    )
                    if len(ranked) < limit:
                        ranked += self._ranked(
                            candidates - enough,
                            specs + extra,
                            limit - len(ranked),
                            None,
                            coverage,
                            words_counted,
                            pairs,
                        )
            hit_docs, total = candidates, len(candidates)
        return ranked, total, hit_docs

    def _coverage(self, word_docs: list[frozenset[int]]) -> dict[int, float]:
        """Each document's share of a long query's words (0 to 1). With
        :data:`COVERAGE_BY_RARITY`, each word counts by its rarity (log(1 + N / documents with
        it)): "dhcp" and "rdp" say more about a problem than "windows" and "server", so a
        document holding the rare words of a sentence ranks above one holding its common ones.
        A word no document has counts for nothing."""
        if not COVERAGE_BY_RARITY:
            counts = Counter(itertools.chain.from_iterable(word_docs))
            size = len(word_docs)
            return {d: c / size for d, c in counts.items()}
        n = max(self.reader.doc_count_all(), 1)
        weights = [math.log(1.0 + n / len(docs)) if docs else 0.0 for docs in word_docs]
        total = sum(weights) or 1.0
        shares: dict[int, float] = {}
        get = shares.get
        for weight, docs in zip(weights, word_docs):
            share = weight / total
            for docnum in docs:
                shares[docnum] = get(docnum, 0.0) + share
        return shares

    def _ranked(
        self,
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
        if limit <= 0 or not _has(docs):
            return []
        mask = None
        if not isinstance(docs, frozenset):  # a NumPy mask (a large knowledge base)
            mask = docs
            counted = coverage is None or isinstance(coverage, WordCounts)
            if not specs or self._masks is None or not counted:
                mask, docs = None, frozenset(docs.nonzero()[0].tolist())
        status = self.table.values["status"]
        if not specs:  # filters only: published first, then index order
            ordered = sorted(docs, key=lambda d: -STATUS_FACTOR.get(status[d], 0.8))
            return [(d, 0.0) for d in ordered[:limit]]
        if self._status_factors is None:
            self._status_factors = [STATUS_FACTOR.get(s, 0.8) for s in status]
        factors = self._status_factors
        depth = max(PROXIMITY_DEPTH, limit) if pairs else limit
        if mask is not None and self._masks is not None:
            # every document's score at once in NumPy (the mask's documents)
            word_share = coverage if isinstance(coverage, WordCounts) else None
            best_vector = self._best_vector(self._masks.np, mask, specs, depth, factors, word_share)
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
        """The best ``limit`` of ``docs`` as :meth:`_ranked` finds them without pruning (the
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

    def _feedback(
        self, ranked: list[tuple[int, float]], plans: list[WordPlan]
    ) -> list[tuple[str, str, float]]:
        """RM3 expansion terms (as scoring specs) from the best ranked documents."""
        top = [(d, s) for d, s in ranked[:PRF_DOCS] if s > 0]
        total = sum(s for _, s in top)
        if not top or total <= 0:
            return []
        known = {t for plan in plans for t in plan.terms()}
        weights: dict[str, float] = {}
        seen_in: Counter[str] = Counter()
        for docnum, score in top:
            terms = self.table.sequence(docnum).split()
            if not terms:
                continue
            counts = Counter(terms)
            share = score / total / len(terms)
            for term, count in counts.items():
                weights[term] = weights.get(term, 0.0) + share * count
                seen_in[term] += 1
        n = max(self.reader.doc_count(), 1)
        scored = []
        for term, weight in weights.items():
            if term in known or len(term) < 3 or term.isdigit() or seen_in[term] < 2:
                continue
            frequency = self.reader.doc_frequency("body", term)
            if not frequency or frequency > n * 0.1:
                continue
            scored.append((weight * math.log(n / frequency), term))
        scored.sort(reverse=True)
        chosen = scored[:PRF_TERMS]
        if not chosen:
            return []
        best = chosen[0][0]
        return [
            (f, term, b * PRF_WEIGHT * value / best)
            for value, term in chosen
            for f, b in TEXT_FIELDS.items()
        ]

    def facets(self, docs: Iterable[int] | Any) -> dict[str, list[tuple[str, int]]]:
        """Counts of each facet value over ``docs`` (a set, or the NumPy mask of a large
        knowledge base's hits): see :class:`~kbapp.search.facets.FacetCounter`."""
        return self._facets.count(docs, self._masks)


def reopen_searcher(
    ix: Any, previous: dict[tuple[str, int], Any]
) -> tuple[Searcher, dict[tuple[str, int], Any], int]:
    """A searcher on the latest commit of ``ix`` that reuses the readers of unchanged segments
    (``previous``: segment reader by segment id and deletion count; the unused ones are
    closed). Returns (searcher, its segment readers, generation).

    Whoosh's own ``Searcher.refresh()`` reuses a segment's reader even when documents of it
    were deleted since (it matches segments by id only), so a re-indexed document would show
    twice; here a reader is reused only if its deletions are unchanged too."""
    toc = ix._read_toc()
    fresh: dict[tuple[str, int], Any] = {}
    readers = []
    for segment in toc.segments:
        key = (segment.segment_id(), segment.deleted_count())
        leaf = previous.pop(key, None) or SegmentReader(
            ix.storage, toc.schema, segment, generation=toc.generation
        )
        fresh[key] = leaf
        readers.append(leaf)
    for unused in previous.values():
        unused.close()
    if not readers:
        reader: Any = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix), fresh, toc.generation
