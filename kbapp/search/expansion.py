"""Pseudo-relevance feedback (RM3), measured and left off (:data:`PRF_TERMS` = 0): for a
query of three words or more, the words that weigh most in the best documents it found are
added to re-rank those documents (never to find others). It pulls the ranking toward the
topic of the first hits: right for recall, wrong for the first result (the figures are in
docs/search.md).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from kbapp.search.plan import WordPlan
from kbapp.search.schema import TEXT_FIELDS
from kbapp.search.tables import DocTable

#: Pseudo-relevance feedback (RM3) for queries of three words or more: the words that weigh
#: most in the best PRF_DOCS documents (by their share of each document's text, weighted by the
#: document's score, times their rarity) are added, PRF_TERMS of them at up to PRF_WEIGHT of a
#: query word, to re-rank the documents the query found (never to find others). 0 turns it off.
PRF_TERMS = 0
PRF_DOCS = 5
PRF_WEIGHT = 0.3


def feedback_specs(
    table: DocTable, reader: Any, ranked: list[tuple[int, float]], plans: list[WordPlan]
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
        terms = table.sequence(docnum).split()
        if not terms:
            continue
        counts = Counter(terms)
        share = score / total / len(terms)
        for term, count in counts.items():
            weights[term] = weights.get(term, 0.0) + share * count
            seen_in[term] += 1
    n = max(reader.doc_count(), 1)
    scored = []
    for term, weight in weights.items():
        if term in known or len(term) < 3 or term.isdigit() or seen_in[term] < 2:
            continue
        frequency = reader.doc_frequency("body", term)
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
