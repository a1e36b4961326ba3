"""Answering one query on an open Whoosh searcher (:class:`QueryRunner`): which documents
match (sets of document numbers, see :mod:`kbapp.search.postings`, or NumPy masks on a large
knowledge base, :mod:`kbapp.search.masks`), in which tiers (all words, then some; at least
half of a long query's words, then fewer), what is never shown (exclusions, retired
documents), facets and spelling suggestions; and the searcher itself, reopened after each
index change (:func:`reopen_searcher`).

The query's words are planned in :mod:`kbapp.search.plan` (alternatives, synonyms, prefix,
corrections); each tier's documents are ranked in :mod:`kbapp.search.ranking` (BM25F times
the status and the share of the words, the best 100 re-ranked by words together).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from kbapp.search import expansion, ranking
from kbapp.search.analysis import (
    join_identifiers,
    phrase_terms,
    query_words,
    typed_words,
    word_terms,
)
from kbapp.search.expansion import feedback_specs
from kbapp.search.facets import FacetCounter
from kbapp.search.masks import Masks, has_docs
from kbapp.search.plan import (
    Alternative,
    SynonymTable,
    WordPlan,
    correct,
    pair_hashes,
    plan_words,
    split_identifier,
)
from kbapp.search.postings import EMPTY, TermSets
from kbapp.search.query import ParsedQuery
from kbapp.search.ranking import Ranker, WordCounts, WordShare
from kbapp.search.scoring import Scorer, at_least
from kbapp.search.tables import DocTable
from kbapp.search.vectors import numpy_for
from kbapp.search.vocabulary import Vocabulary
from kbapp.search.wordlists import QUERY_NOISE

__all__ = ["Outcome", "QueryRunner", "reopen_searcher"]

log = logging.getLogger(__name__)

#: The "some words only" notice says how many of the words the first hits have: those a
#: result list shows at once (the CLI's default), whatever the number asked for, so that
#: the window's 50 and the CLI's 10 say the same.
NOTICE_HITS = 10
#: Share of a long query's words a document must have to rank in the first tier.
COVERAGE_NEED = 0.5
#: A long query's words count towards a document's share by their rarity (log(1 + N / df)),
#: not one each. Off: measured in issue 15 (own words: fresh +0.03, blind +0.01, held 0,
#: fitted dev -0.09 MRR@10), within the noise of 27-38 queries.
COVERAGE_BY_RARITY = False


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
    #: The words searched for (as typed; a synonym phrase as one), and whether no document
    #: has all of them (``some_words_only``: the hits are the documents with some), and
    #: those of them no document has at all.
    words: list[str] = field(default_factory=list)
    some_words_only: bool = False
    unmatched_words: list[str] = field(default_factory=list)
    #: When ``some_words_only``: the most of the words one of the ranked hits has.
    most_words: int = 0

    def hits(self) -> frozenset[int]:
        """Every hit's document number."""
        if isinstance(self.hit_docs, frozenset):
            return self.hit_docs
        return frozenset(self.hit_docs.nonzero()[0].tolist())


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
        self.ranker = Ranker(table, self.sets, self.scorer)
        self.synonyms = synonyms
        self.synonym_table = SynonymTable.of(synonyms)
        self.reader = searcher.reader()
        self._facets = FacetCounter(table)
        self._masks: Masks | None = None

    def masks(self) -> Masks | None:
        """The documents as NumPy masks, for a knowledge base large enough that NumPy is
        loaded (:func:`~kbapp.search.vectors.numpy_for`); None for a small one (sets)."""
        if ranking.TOPK_PRUNING or COVERAGE_BY_RARITY or expansion.PRF_TERMS:
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
        for number, (plan, docs) in enumerate(zip(plans, word_docs)):
            if has_docs(docs):
                continue
            had = len(plan.alternatives)
            if not split_identifier(plan):
                correct(plan, self.vocabulary, self.reader)
                if plan.corrections:
                    suggestion_words[plan.word] = plan.corrections[0]
            if len(plan.alternatives) > had:
                word_docs[number] = docs_of(plan)
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
            ranked, total, hit_docs, together = self._run_masks(
                masks, required, word_docs, masked, specs, limit, pairs
            )
        else:
            ranked, total, hit_docs, together = self._run_sets(
                required, word_docs, masked, plans, specs, limit, pairs
            )
        typed: dict[str, str] = {}
        for chunk in parsed.words:
            typed.update(typed_words(chunk))
        shown = [" ".join(typed.get(w, w) for w in plan.words) for plan in plans]
        unmatched = [w for w, docs in zip(shown, word_docs) if not has_docs(docs)]
        suggestion = None
        if suggestion_words:
            suggestion = text
            for wrong, right in suggestion_words.items():
                suggestion = suggestion.replace(typed.get(wrong, wrong), right)
        prefix = prefix_word.lower() if prefix_word else None
        some_only = len(plans) > 1 and bool(ranked) and not together
        most = _most_words(ranked[:NOTICE_HITS], word_docs) if some_only else 0
        return Outcome(
            ranked,
            total,
            hit_docs,
            suggestion,
            highlight,
            prefix,
            highlight_phrases,
            words=shown,
            some_words_only=some_only,
            unmatched_words=unmatched,
            most_words=most,
        )

    def _run_masks(
        self,
        masks: Masks,
        required: list[Any],
        word_docs: list[Any],
        masked: set[int],
        specs: list[tuple[str, str, float]],
        limit: int,
        pairs: list[int],
    ) -> tuple[list[tuple[int, float]], int, Any, bool]:
        """:meth:`_run_sets` with the documents as NumPy masks: the same tiers, ranking,
        total, hits (a mask) and whether a document has every word."""
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
            ranked = self.ranker.ranked(self._masks, every, specs, limit, None, pairs=pairs)
            total = int(np.count_nonzero(every))
            together = total > 0
            if len(word_docs) == 2 and len(ranked) < limit:
                some = (word_docs[0] | word_docs[1]) & ~every
                if allowed is not None:
                    some &= allowed
                ranked += self.ranker.ranked(
                    self._masks, some, specs, limit - len(ranked), None, pairs=pairs
                )
                every = every | some
                total += int(np.count_nonzero(some))
            return ranked, total, every, together
        # Three words or more: how many of them each document has, one count vector
        counts = word_docs[0].astype(np.int64)
        for docs in word_docs[1:]:
            counts += docs
        candidates = counts > 0
        if allowed is not None:
            candidates &= allowed
        coverage = WordCounts([], ranking.COVERAGE_POWER, counts, len(word_docs))
        need = int(len(word_docs) * COVERAGE_NEED)
        enough = candidates if need <= 1 else (counts >= need) & candidates
        ranked = self.ranker.ranked(self._masks, enough, specs, limit, None, coverage, 1, pairs)
        if len(ranked) < limit:
            rest = candidates & ~enough
            ranked += self.ranker.ranked(
                self._masks, rest, specs, limit - len(ranked), None, coverage, 1, pairs
            )
        together = bool(np.any((counts == len(word_docs)) & candidates))
        return ranked, int(np.count_nonzero(candidates)), candidates, together

    def _run_sets(
        self,
        required: list[frozenset[int]],
        word_docs: list[frozenset[int]],
        masked: set[int],
        plans: list[WordPlan],
        specs: list[tuple[str, str, float]],
        limit: int,
        pairs: list[int],
    ) -> tuple[list[tuple[int, float]], int, frozenset[int], bool]:
        """The ranked best ``limit``, the total, every hit and whether a document has all
        the words, from the document sets of the query's ``required`` phrases and filters
        and of its words."""
        base: frozenset[int] | None = None
        for docs in required:
            base = docs if base is None else base & docs
        every = base
        for docs in word_docs:
            every = docs if every is None else every & docs
        all_docs = frozenset(every or ()) - masked
        if len(plans) <= 2:
            # One or two words: documents with all of them, then those with some.
            ranked = self.ranker.ranked(
                self._masks, all_docs, specs, limit, frozenset(masked), pairs=pairs
            )
            hit_docs, total = all_docs, len(all_docs)
            if len(plans) == 2 and len(ranked) < limit:
                some = (word_docs[0] | word_docs[1]) - masked - all_docs
                if base is not None:
                    some &= base
                ranked += self.ranker.ranked(
                    self._masks, some, specs, limit - len(ranked), None, pairs=pairs
                )
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
            if ranking.TOPK_PRUNING and not COVERAGE_BY_RARITY:
                # the same shares and tiers, worked out for the documents scored only
                coverage = WordShare(word_docs)
                enough = at_least(word_docs, int(len(plans) * COVERAGE_NEED)) & candidates
            elif not COVERAGE_BY_RARITY:
                # (by count: at least half rounded down, 3 of 7)
                coverage = WordCounts(word_docs, ranking.COVERAGE_POWER)
                need = int(len(plans) * COVERAGE_NEED)
                enough = candidates if need <= 1 else at_least(word_docs, need) & candidates
            else:
                coverage = self._coverage(word_docs)
                enough = frozenset(d for d in candidates if coverage[d] >= COVERAGE_NEED)
            ranked = self.ranker.ranked(
                self._masks, enough, specs, limit, None, coverage, words_counted, pairs
            )
            if len(ranked) < limit:
                ranked += self.ranker.ranked(
                    self._masks,
                    candidates - enough,
                    specs,
                    limit - len(ranked),
                    None,
                    coverage,
                    words_counted,
                    pairs,
                )
            if expansion.PRF_TERMS and ranked:
                extra = feedback_specs(self.table, self.reader, ranked, plans)
                if extra:
                    ranked = self.ranker.ranked(
                        self._masks,
                        enough,
                        specs + extra,
                        limit,
                        None,
                        coverage,
                        words_counted,
                        pairs,
                    )
                    if len(ranked) < limit:
                        ranked += self.ranker.ranked(
                            self._masks,
                            candidates - enough,
                            specs + extra,
                            limit - len(ranked),
                            None,
                            coverage,
                            words_counted,
                            pairs,
                        )
            hit_docs, total = candidates, len(candidates)
        return ranked, total, hit_docs, bool(all_docs)

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


def _most_words(ranked: list[tuple[int, float]], word_docs: list[Any]) -> int:
    """The most of the query's words (their documents: sets, or NumPy masks by document
    number) that one of the ``ranked`` documents has."""
    return max(
        (
            sum(bool(d in docs if isinstance(docs, frozenset) else docs[d]) for docs in word_docs)
            for d, _ in ranked
        ),
        default=0,
    )
