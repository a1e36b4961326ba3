#!/usr/bin/env python3
"""How else could meaning and words be mixed? Offline variants of the meaning re-ranker.

    python bench/meaning_lab.py [--cache DIR] [--queries DIR]

Builds (or reuses, in ``--cache``, the same as ``bench/relevance.py --cache``) the runbooks and
SupportArticles knowledge bases, runs every query once as kbapp does with meaning on, and keeps
for each query the re-ranker sees its lexical list (the best :data:`POOL`, with scores) and its
cosine with every document: the shipped vector (title, summary, opening text), the title and
summary alone, and the text after the opening (characters 1,000-2,500). Each variant below then
re-orders those lists without searching again, and prints MRR@10 / success@3 per set of
queries: the own-words sets one by one, the other kinds together, the runbooks. Only totals are
printed (no query), so a blind set can be run without being looked at; ``tune`` is the
own-words and symptom sets other than the blind ones given by ``--blind``.

Written for issue 15 (i15-words5, docs/benchmarks.md "Own words, round 5"): the first row is
the shipped re-ranker and must equal ``relevance.py --semantic``'s column.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import relevance  # noqa: E402

#: How deep a lexical list is kept (the shipped re-ranker re-orders the best 50).
POOL = 300
Row = dict[str, Any]


def group_of(q: relevance.Query) -> str:
    if q.split == "runbooks":
        return "runbooks"
    if q.kind == "own-words":
        return q.split
    if q.kind == "symptom":
        return f"{q.split}-symptom"
    return "other kinds"


def collect(cache: Path, queries: Path) -> list[Row]:
    import numpy as np

    from kbapp.search import SearchIndex, semantic
    from kbapp.search.analysis import phrase_terms
    from kbapp.search.embedding import Model
    from kbapp.search.schema import SNIPPET_FIELD, SUMMARY_FIELD

    support = relevance.load_queries(queries / "supportarticles.tsv")
    runbooks = relevance.load_queries(queries / "runbooks.tsv")
    for q in runbooks:
        q.split = "runbooks"
    captured: dict[str, Any] = {}
    shipped = semantic.SemanticRanker.rerank

    def capture(self: Any, runner: Any, query: str, ranked: list, limit: int) -> list:
        out = shipped(self, runner, query, ranked, limit)
        words = phrase_terms(query)
        applied = len(ranked) >= 2 and not (len(words) >= 3 and runner.sets.phrase_docs(words))
        stored = runner.searcher.stored_fields
        captured.update(applied=applied, lex=[(stored(d)["path"], s) for d, s in ranked])
        return out

    semantic.SemanticRanker.depth = POOL
    semantic.SemanticRanker.rerank = capture  # type: ignore[method-assign]
    model = Model.get()
    rows: list[Row] = []
    for kb, sources, qs in (
        (cache / "support-kb", {"": relevance.SUPPORT}, support),
        (cache / "kb", relevance.SOURCES, runbooks),
    ):
        ws = relevance.build_kb(kb, relevance.CORPORA, sources)
        ws.settings.semantic_search = True
        index = SearchIndex.for_workspace(ws)
        index.catch_up()
        index.search("warm up the searcher", 1, snippets=0)
        runner = index._current_runner()
        reader = runner.searcher.reader()
        column = reader.column_reader(SNIPPET_FIELD)
        paths, shipped_texts, heads, laters = [], [], [], []
        for docnum, fields in reader.iter_docs():
            if not fields.get("path"):
                continue
            readable = bytes(column[docnum]).decode("utf-8", "replace")
            paths.append(fields["path"])
            shipped_texts.append(semantic.stored_document_text(fields, readable))
            heads.append(f"{fields.get('title', '')}.\n{fields.get(SUMMARY_FIELD) or ''}")
            laters.append(readable[1000:2500] or readable[:1000])

        def matrix(texts: list[str]) -> Any:
            rows_ = np.frombuffer(model.vectors(texts, bulk=True), dtype="<f2")
            return rows_.reshape(len(texts), -1).astype(np.float32)

        vectors = {"cos": matrix(shipped_texts), "head": matrix(heads), "later": matrix(laters)}
        for q in qs:
            captured.clear()
            found = [h.path for h in index.search(q.text, 10, snippets=0, facets=False).hits]
            row: Row = {"group": group_of(q), "relevant": q.relevant, "found": found}
            if captured.get("applied"):
                vector = np.array(model.vector(q.text), dtype=np.float32)
                row["lex"] = captured["lex"]
                for name, m in vectors.items():
                    row[name] = dict(zip(paths, (m @ vector).tolist()))
            rows.append(row)
        ws.close()
    semantic.SemanticRanker.rerank = shipped  # type: ignore[method-assign]
    return rows


# ---------------------------------------------------------------------- the variants


def blend(row: Row, cos: Callable[[str], float], k: float = 8.0, depth: int = 50) -> list[str]:
    """Lexical score × exp(k × (cosine − best cosine)) over the best ``depth``: kbapp's."""
    top = row["lex"][:depth]
    sims = [cos(p) for p, _ in top]
    best = max(sims)
    order = sorted(range(len(top)), key=lambda i: -top[i][1] * math.exp(k * (sims[i] - best)))
    return [top[i][0] for i in order] + [p for p, _ in row["lex"][depth:]]


def fusion(row: Row, depth: int, c: int, weight: float) -> list[str]:
    """Reciprocal rank fusion of the lexical rank and the meaning rank over ``depth``."""
    top = [p for p, _ in row["lex"][:depth]]
    by_meaning = {p: i for i, p in enumerate(sorted(top, key=lambda p: -row["cos"][p]))}
    score = {p: 1 / (c + i + 1) + weight / (c + by_meaning[p] + 1) for i, p in enumerate(top)}
    return sorted(top, key=lambda p: -score[p])


def nearest(row: Row, n: int, share: float, weak: float | None) -> list[str]:
    """The ``n`` documents nearest the query by vector added to the lexical 50 at ``share`` of
    the best lexical score, when the best cosine among the lexical 50 is more than ``weak``
    below the best of all (always when None), then the shipped blend."""
    cos = row["cos"]
    top = list(row["lex"][:50])
    listed = {p for p, _ in row["lex"]}
    if weak is None or max(cos.values()) - max(cos[p] for p, _ in top) > weak:
        extra = [p for p in sorted(cos, key=lambda p: -cos[p])[:n] if p not in listed]
        top += [(p, top[0][1] * share) for p in extra]
    return blend({"lex": top}, cos.__getitem__, depth=len(top))


def standardised(row: Row, k: float) -> list[str]:
    """exp(k × (cosine − best) / standard deviation of the 50 cosines)."""
    sd = statistics.pstdev([row["cos"][p] for p, _ in row["lex"][:50]]) or 1.0
    return blend(row, lambda p: row["cos"][p] / sd, k=k)


def variants() -> list[tuple[str, Callable[[Row], list[str]]]]:
    out: list[tuple[str, Callable[[Row], list[str]]]] = [
        ("shipped (k 8, 50)", lambda r: blend(r, r["cos"].__getitem__)),
        ("words only", lambda r: [p for p, _ in r["lex"]]),
    ]
    for depth in (100, 200, 300):
        out.append((f"depth {depth}", lambda r, d=depth: blend(r, r["cos"].__getitem__, depth=d)))
    for depth in (50, 100, 300):
        for c in (10, 60):
            for w in (0.7, 1.0):
                out.append(
                    (f"fusion {depth} c {c} w {w}", lambda r, d=depth, c=c, w=w: fusion(r, d, c, w))
                )
    for n in (5, 10, 20):
        for share in (0.3, 0.5):
            for weak in (None, 0.05, 0.1):
                out.append(
                    (
                        f"nearest {n} at {share} weak {weak}",
                        lambda r, n=n, s=share, w=weak: nearest(r, n, s, w),
                    )
                )
    for k in (0.5, 0.7, 1.0):
        out.append((f"standardised k {k}", lambda r, k=k: standardised(r, k)))
    for name, b in (("head", 0.25), ("head", 0.5), ("later", 0.25), ("later", 0.5)):
        out.append(
            (
                f"+ {b} x {name} cosine",
                lambda r, n=name, b=b: blend(r, lambda p: r["cos"][p] + b * r[n][p]),
            )
        )
    out.append(
        (
            "max(doc, head, later)",
            lambda r: blend(r, lambda p: max(r["cos"][p], r["head"][p], r["later"][p])),
        )
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "kbapp-relevance"
    )
    parser.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries")
    parser.add_argument("--blind", default="blind5", help="sets left out of tune (comma list)")
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    blind = set(args.blind.split(","))
    rows = collect(args.cache, args.queries)
    groups = sorted({r["group"] for r in rows}, key=lambda g: (g in blind, g))
    for name, variant in variants():
        ranks: dict[str, list[int | None]] = {}
        for row in rows:
            found = variant(row) if "lex" in row else row["found"]
            ranks.setdefault(row["group"], []).append(
                relevance.first_relevant(found, row["relevant"])
            )
        tune = [
            r
            for g, rs in ranks.items()
            if g not in blind and g not in ("other kinds", "runbooks")
            for r in rs
        ]
        cells = [f"tune {relevance.metrics(tune)['mrr@10']:.3f}"]
        for g in groups:
            m = relevance.metrics(ranks[g])
            cells.append(f"{g} {m['mrr@10']:.3f}/{m['success@3']:.2f}")
        print(f"{name:34} " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
