"""Top-k pruning (kbapp/search/scoring.py) returns exactly what scoring every document returns:
the same documents, in the same order, with the same scores (bit for bit), the same totals and
suggestions, on a real index of about 600 real documents and hundreds of random queries of
every kind (one word, two, pasted message fragments, words from anywhere in a document,
filters, exclusions, phrases, prefixes, typos)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator

import pytest
from helpers import CORPORA

from kbapp.search import SearchIndex
from kbapp.search import ranking as ranking_module
from kbapp.search import scoring as scoring_module
from kbapp.search.analysis import STOP_WORDS
from kbapp.search.query import parse_query
from kbapp.search.searcher import Outcome, QueryRunner

WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,}")
TYPES = ["runbook", "troubleshooting", "sop", "known-error", "reference"]


def _texts() -> list[list[str]]:
    """The words of each document of the corpus index (read from the files themselves)."""
    from conftest import SEARCH_CORPUS_PARTS

    out = []
    for part, _into in SEARCH_CORPUS_PARTS:
        for path in sorted((CORPORA / part).rglob("*.md")):
            words = WORD.findall(path.read_text(encoding="utf-8", errors="replace"))
            if len(words) >= 12:
                out.append(words)
    return out


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def random_queries(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    texts = _texts()
    for number in range(n):
        words = rng.choice(texts)
        kind = number % 10
        if kind == 0:  # one word, anywhere in the text (common and rare alike)
            yield rng.choice(words) + " "
        elif kind == 1:  # two words of one document
            yield " ".join(rng.sample(words, 2)) + " "
        elif kind == 2:  # a pasted fragment: consecutive words
            start = rng.randrange(len(words) - 10)
            yield " ".join(words[start : start + rng.randint(3, 10)]) + " "
        elif kind == 3:  # the engineer's own words: a few words of the document, any order
            yield " ".join(rng.sample(words, rng.randint(3, 7))) + " "
        elif kind == 4:  # a filter and words
            yield f"type:{rng.choice(TYPES)} " + " ".join(rng.sample(words, 2)) + " "
        elif kind == 5:  # words and an exclusion
            yield " ".join(rng.sample(words, 3)) + f" -{rng.choice(words)} "
        elif kind == 6:  # a phrase and a word
            start = rng.randrange(len(words) - 2)
            yield f'"{words[start]} {words[start + 1]}" {rng.choice(words)} '
        elif kind == 7:  # typing: the last word is a prefix
            chosen = rng.sample(words, rng.randint(1, 3))
            chosen[-1] = chosen[-1][: rng.randint(3, 5)]
            yield " ".join(chosen)
        elif kind == 8:  # a typo
            long_words = [w for w in words if len(w) >= 6 and w.isalpha()] or ["failover"]
            yield _typo(rng, rng.choice(long_words)) + " " + rng.choice(words) + " "
        else:  # many words (a long pasted message)
            start = rng.randrange(max(1, len(words) - 20))
            yield " ".join(words[start : start + rng.randint(10, 20)]) + " "


def _run(
    runner: QueryRunner, query: str, limit: int, pruning: bool, monkeypatch: pytest.MonkeyPatch
) -> Outcome:
    monkeypatch.setattr(ranking_module, "TOPK_PRUNING", pruning)
    return runner.run(query, parse_query(query), limit)


@pytest.fixture(scope="module")
def runner(corpus_search_index: SearchIndex) -> QueryRunner:
    found = corpus_search_index._current_runner()
    assert found is not None
    assert found.searcher.doc_count() > 500
    return found


@pytest.mark.parametrize("direct_share", [scoring_module.DIRECT_SHARE, 0.0])
def test_pruned_ranking_is_the_exhaustive_ranking(
    runner: QueryRunner, monkeypatch: pytest.MonkeyPatch, direct_share: float
) -> None:
    # direct_share 0: the threshold algorithm and MaxScore even where scoring every
    # document directly would be cheaper (small result sets)
    monkeypatch.setattr(scoring_module, "DIRECT_SHARE", direct_share)
    compared = 0
    for number, query in enumerate(random_queries(300, seed=15 + int(direct_share * 100))):
        limit = (10, 1, 3, 25, 100)[number % 5]
        exhaustive = _run(runner, query, limit, False, monkeypatch)
        # the first time a term is ranked its postings are all added; from the second on,
        # pruned
        for _time in range(2):
            pruned = _run(runner, query, limit, True, monkeypatch)
            assert pruned.ranked == exhaustive.ranked, query
            assert pruned.total == exhaustive.total, query
            assert pruned.hits() == exhaustive.hits(), query
            assert pruned.suggestion == exhaustive.suggestion, query
        compared += bool(exhaustive.ranked)
    assert compared > 250  # the queries found something to rank


def test_pruning_scores_few_of_the_documents(
    runner: QueryRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Common words, the first ten: most documents that have them are never scored."""
    monkeypatch.setattr(ranking_module, "TOPK_PRUNING", True)
    words = [w.lower() for text in _texts() for w in text if w.isalpha() and len(w) > 3]
    common = [w for w, _ in Counter(words).most_common(80) if w not in STOP_WORDS]
    for word in common:  # the first ranking of a term adds all its postings
        runner.run(word + " ", parse_query(word + " "), 10)
    asked, scored = runner.scorer.asked, runner.scorer.scored
    found = sum(bool(runner.run(w + " ", parse_query(w + " "), 10).ranked) for w in common)
    assert found >= 60
    asked, scored = runner.scorer.asked - asked, runner.scorer.scored - scored
    assert asked > 60 * 100
    assert scored < 0.2 * asked, (scored, asked)


def test_ties_keep_document_order(runner: QueryRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal scores (a filter and one word in many documents with the same share) keep the
    index's order, pruned or not."""
    monkeypatch.setattr(scoring_module, "DIRECT_SHARE", 0.0)
    for query in ("type:troubleshooting intune ", "openshift ", "alert ", "device policy "):
        for limit in (1, 5, 10, 40):
            exhaustive = _run(runner, query, limit, False, monkeypatch)
            _run(runner, query, limit, True, monkeypatch)
            pruned = _run(runner, query, limit, True, monkeypatch)
            assert pruned.ranked == exhaustive.ranked, (query, limit)
            scores = [score for _, score in pruned.ranked]
            assert scores == sorted(scores, reverse=True)


def test_facets_of_most_documents_count_what_is_hit(runner: QueryRunner) -> None:
    """Facet counts over a hit set holding most documents (counted from the documents not hit)
    are the counts of the hits' own values."""
    from kbapp.search.schema import FACET_FIELDS

    everything = frozenset(range(runner.searcher.doc_count_all()))
    rng = random.Random(3)
    for share in (0.4, 0.6, 0.9, 1.0):
        hits = frozenset(d for d in everything if rng.random() < share)
        counted = runner.facets(hits)
        for key, name in FACET_FIELDS.items():
            column = runner.table.values[name]
            if name in ("tag", "system"):
                own = Counter(v for d in hits for v in column[d])
            else:
                own = Counter(column[d] for d in hits if column[d])
            expected = sorted(own.items(), key=lambda kv: (-kv[1], kv[0]))[: len(counted[key])]
            assert counted[key] == expected, (share, key)
        assert sum(count for items in counted.values() for _, count in items) >= len(hits)
