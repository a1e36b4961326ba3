"""Searching several knowledge bases at once (the shared one and an internal-only one).

Each knowledge base keeps its own index; :func:`search_all` asks each and merges the answers.
Every hit keeps the name of the knowledge base it comes from (``SearchHit.kb``), so the window
and the CLI can say where a result lives, and nothing moves between knowledge bases unless
the user moves it explicitly.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from kbapp.search.index import SearchIndex, SearchResponse


def search_all(
    indexes: Sequence[SearchIndex], query: str, limit: int = 20, *, snippets: int = 10
) -> SearchResponse:
    """Search every index; hits merged by score, facets added up. Never raises for what the
    user typed (each index answers for itself)."""
    started = time.perf_counter()
    answers = [index.search(query, limit, snippets=snippets) for index in indexes]
    hits = sorted(
        (hit for answer in answers for hit in answer.hits), key=lambda hit: hit.score, reverse=True
    )[:limit]
    facets: dict[str, Counter[str]] = {}
    for answer in answers:
        for name, values in answer.facets.items():
            counter = facets.setdefault(name, Counter())
            for value, count in values:
                counter[value] += count
    return SearchResponse(
        hits=hits,
        total=sum(answer.total for answer in answers),
        facets={name: counter.most_common() for name, counter in facets.items()},
        suggestion=next((a.suggestion for a in answers if a.suggestion), None),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        indexing=any(answer.indexing for answer in answers),
        indexing_percent=min(
            (a.indexing_percent for a in answers if a.indexing and a.indexing_percent is not None),
            default=None,
        ),
        words=next((a.words for a in answers if a.words), []),
        # some words only: no knowledge base has a document with all of them
        some_words_only=bool(hits) and all(a.some_words_only for a in answers if a.hits),
        most_words=max((a.most_words for a in answers if a.hits), default=0),
        unmatched_words=[
            word
            for word in answers[0].unmatched_words
            if all(word in a.unmatched_words for a in answers)
        ]
        if answers
        else [],
    )
