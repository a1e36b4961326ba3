#!/usr/bin/env python3
"""Relevance: do the right documents come first? kbapp search against SQLite FTS5 bm25.

    python bench/relevance.py [--set runbooks|support|all]
                              [--split dev|held|fresh|blind|blind2|blind3|blind4|blind5|blind6|blind7|all]
                              [--cache DIR] [--show-misses] [--json FILE]

Two collections, each built once (kept in --cache) by importing public corpora from
../shared/corpora into a knowledge base and indexing it:

- ``runbooks``: three runbook collections imported into openshift/, prometheus/ and gitlab/;
  queries in bench/queries/runbooks.tsv (``QUERY<TAB>path | path``).
- ``support``: the 5,883 SupportArticles imported as they are; queries in
  bench/queries/supportarticles.tsv (``SPLIT<TAB>KIND<TAB>QUERY<TAB>path | path``), judged by
  reading the articles, split into a ``dev`` part (looked at while tuning), a ``held`` part
  (evaluated at checkpoints only) and two own-words parts written for issue 15: ``fresh``
  (before its levers) and ``blind`` (after them, never looked at query by query); ``blind2``
  (40 own-words queries written for the embedding re-ranker before it was tried) and ``blind3``
  (28, written after its configuration was chosen, looked at once); ``blind4`` (47, written
  for i15-words4 before any of its levers was tried, only its totals looked at); ``blind5``
  (45, written for i15-words5 the same way, only its totals looked at); ``blind6``
  (63 queries of the five other kinds, written on 2026-12-01 to check the held figures on
  queries no configuration was chosen with); ``blind7`` (40 own-words queries written on
  2026-12-01 as the forecast for the hidden set, articles drawn with a keyed random source,
  run once before any miss was looked at).

Prints MRR@10, success@1, success@3 and success@10 per kind of query, for kbapp and for FTS5
(bm25 over title and body, title weighted 5; the query's words AND-ed, then OR-ed to fill up
to ten results: FTS5's implicit AND alone finds nothing for most natural-language queries).
With ``--semantic`` a third column ranks with the meaning re-ranker (:mod:`kbapp.search.semantic`,
on by default for users; the kbapp column is words only) on top of kbapp's ranking.
Record the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPORA = next(
    (
        p
        for p in (ROOT.parent / "shared" / "corpora", ROOT.parent.parent / "shared" / "corpora")
        if p.is_dir()
    ),
    ROOT.parent / "shared" / "corpora",
)
SOURCES = {
    "openshift": "openshift__runbooks",
    "prometheus": "prometheus-operator__runbooks",
    "gitlab": "mattrussi__gitlab-com-runbooks",
}
SUPPORT = "gautamanand-dot__SupportArticles-docs"
KINDS = ["code", "message", "symptom", "own-words", "typo", "short", "ident"]


@dataclass
class Query:
    text: str
    relevant: list[str]
    kind: str = "all"
    split: str = "dev"


def load_queries(path: Path) -> list[Query]:
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        relevant = [r.strip() for r in cells[-1].split("|")]
        if len(cells) == 2:
            queries.append(Query(cells[0], relevant))
        else:
            queries.append(Query(cells[2], relevant, kind=cells[1], split=cells[0]))
    return queries


def build_kb(kb: Path, corpora: Path, sources: dict[str, str]):  # type: ignore[no-untyped-def]
    from kbapp.documents.importer import import_folder
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    if (kb / ".kb" / "config.toml").exists():
        return Workspace.open(kb, settings)
    ws = Workspace.init(kb, "Bench", ["internal", "partner"], settings=settings)
    for into, name in sources.items():
        import_folder(ws, corpora / name, into)
    return ws


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "mrr@10": sum(1 / r for r in ranks if r and r <= 10) / n,
        "success@1": sum(1 for r in ranks if r == 1) / n,
        "success@3": sum(1 for r in ranks if r and r <= 3) / n,
        "success@10": sum(1 for r in ranks if r and r <= 10) / n,
    }


def first_relevant(found: list[str], relevant: list[str]) -> int | None:
    for rank, path in enumerate(found[:10], start=1):
        if path in relevant:
            return rank
    return None


def fts5_table(ws) -> sqlite3.Connection:  # type: ignore[no-untyped-def]
    from kbapp.documents import model as documents

    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, path UNINDEXED, "
        "tokenize='porter unicode61')"
    )
    for entry in ws.catalog.all():
        if entry.usable:
            doc = documents.load(ws.root / entry.path, entry.path)
            db.execute("INSERT INTO docs VALUES (?,?,?)", (doc.title, doc.body, entry.path))
    return db


def fts5_search(db: sqlite3.Connection, text: str) -> list[str]:
    """bm25 (title ×5): all the words, then any of them to fill up to ten."""
    words = re.findall(r"\w+", text)
    if not words:
        return []
    sql = "SELECT path FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 5.0, 1.0) LIMIT 10"
    quoted = [f'"{w}"' for w in words]
    found = [row[0] for row in db.execute(sql, (" ".join(quoted),))]
    if len(found) < 10 and len(words) > 1:
        for (path,) in db.execute(sql.replace("LIMIT 10", "LIMIT 20"), (" OR ".join(quoted),)):
            if path not in found:
                found.append(path)
    return found[:10]


def run_set(name: str, ws, queries: list[Query], show_misses: bool, semantic: bool = False) -> dict:  # type: ignore[no-untyped-def]
    from kbapp.search import SearchIndex

    index = SearchIndex.for_workspace(ws)
    ws.settings.semantic_search = semantic
    began = time.perf_counter()
    index.catch_up()  # with --semantic: the documents' vectors too, the first time
    if semantic:
        print(f"[{name}] caught up, vectors included, in {time.perf_counter() - began:.1f} s")
    known = {e.path for e in ws.catalog.all()}
    for q in queries:
        for path in q.relevant:
            if path not in known:
                print(f"warning: {path} (for {q.text!r}) is not in the knowledge base")
    db = fts5_table(ws)
    rows = []
    started = time.perf_counter()
    for q in queries:
        ws.settings.semantic_search = False
        response = index.search(q.text, 10, snippets=0)  # as typed: the last word may be a prefix
        found = [hit.path for hit in response.hits]
        meaning = found
        if semantic:
            ws.settings.semantic_search = True
            meaning = [hit.path for hit in index.search(q.text, 10, snippets=0).hits]
        fts = fts5_search(db, q.text)
        rows.append(
            {
                "query": q.text,
                "kind": q.kind,
                "split": q.split,
                "relevant": q.relevant,
                "kbapp_rank": first_relevant(found, q.relevant),
                "meaning_rank": first_relevant(meaning, q.relevant),
                "fts5_rank": first_relevant(fts, q.relevant),
                "kbapp_top": found[:3],
                "fts5_top": fts[:3],
                "suggestion": response.suggestion,
            }
        )
    elapsed = time.perf_counter() - started
    print(f"\n[{name}] {len(queries)} queries over {len(known)} documents ({elapsed:.1f} s)")
    print(
        f"{'split':6} {'kind':9} {'n':>3}  {'kbapp MRR':>9} {'s@1':>5} {'s@3':>5} {'s@10':>5}"
        f"   {'FTS5 MRR':>8} {'s@1':>5} {'s@3':>5} {'s@10':>5}"
        + (f"   {'+meaning':>8} {'s@1':>5} {'s@3':>5} {'s@10':>5}" if semantic else "")
    )
    summary: dict[str, dict] = {}
    splits = sorted({q.split for q in queries}) + (
        ["all"] if len({q.split for q in queries}) > 1 else []
    )
    kinds = [k for k in KINDS if any(q.kind == k for q in queries)]
    for split in splits:
        chosen = [r for r in rows if split in ("all", r["split"])]
        for kind in ["all", *kinds]:
            part = [r for r in chosen if kind in ("all", r["kind"])]
            if not part:
                continue
            ours = metrics([r["kbapp_rank"] for r in part])
            theirs = metrics([r["fts5_rank"] for r in part])
            more = metrics([r["meaning_rank"] for r in part])
            summary[f"{split}/{kind}"] = {"kbapp": ours, "fts5": theirs}
            if semantic:
                summary[f"{split}/{kind}"]["kbapp+meaning"] = more
            print(
                f"{split:6} {kind:9} {len(part):3}  {ours['mrr@10']:9.3f} {ours['success@1']:5.2f} "
                f"{ours['success@3']:5.2f} {ours['success@10']:5.2f}   {theirs['mrr@10']:8.3f} "
                f"{theirs['success@1']:5.2f} {theirs['success@3']:5.2f} {theirs['success@10']:5.2f}"
                + (
                    f"   {more['mrr@10']:8.3f} {more['success@1']:5.2f} {more['success@3']:5.2f} "
                    f"{more['success@10']:5.2f}"
                    if semantic
                    else ""
                )
            )
    if show_misses:
        for row in rows:
            if row["kbapp_rank"] != 1 and row["split"] == "dev":
                print(
                    f"  [{row['kind']}] {row['query']!r}: kbapp {row['kbapp_rank']}, "
                    f"FTS5 {row['fts5_rank']}; kbapp top {row['kbapp_top']}"
                )
    return {"summary": summary, "queries": rows}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=["runbooks", "support", "all"], default="all")
    parser.add_argument(
        "--split",
        choices=[
            "dev",
            "held",
            "fresh",
            "blind",
            "blind2",
            "blind3",
            "blind4",
            "blind5",
            "blind6",
            "blind7",
            "all",
        ],
        default="dev",
        help="which part of the SupportArticles set (default: dev)",
    )
    parser.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries")
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "kbapp-relevance"
    )
    parser.add_argument(
        "--show-misses",
        action="store_true",
        help="list the queries kbapp does not rank first (dev part only)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="also rank with the meaning re-ranker (builds its vectors)",
    )
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    out = {}
    if args.set in ("runbooks", "all"):
        ws = build_kb(args.cache / "kb", args.corpora, SOURCES)
        out["runbooks"] = run_set(
            "runbooks",
            ws,
            load_queries(args.queries / "runbooks.tsv"),
            args.show_misses,
            args.semantic,
        )
        ws.close()
    if args.set in ("support", "all"):
        if not (args.corpora / SUPPORT).is_dir():
            print(f"skipped: {args.corpora / SUPPORT} is not there")
        else:
            ws = build_kb(args.cache / "support-kb", args.corpora, {"": SUPPORT})
            queries = [
                q
                for q in load_queries(args.queries / "supportarticles.tsv")
                if args.split in ("all", q.split)
            ]
            out["support"] = run_set("support", ws, queries, args.show_misses, args.semantic)
            ws.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
