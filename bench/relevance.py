#!/usr/bin/env python3
"""Relevance: do the right runbooks come first? kbapp search against SQLite FTS5 bm25.

    python bench/relevance.py [--queries bench/queries] [--cache DIR] [--show-misses]

Builds (once, kept in --cache) a knowledge base by importing three public runbook
collections from ../shared/corpora into openshift/, prometheus/ and gitlab/, indexes it, and
runs every query of bench/queries/*.tsv (``QUERY<TAB>path | path``: the documents that answer
it). Prints MRR@10, success@1 and success@3 for kbapp and for FTS5 (bm25 over title and
body, title weighted 5, the query's words OR-ed: FTS5's implicit AND finds nothing for most
natural-language queries). Record the figures in docs/benchmarks.md.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPORA = next((p for p in (ROOT.parent / "shared" / "corpora", ROOT.parent.parent / "shared" / "corpora") if p.is_dir()), ROOT.parent / "shared" / "corpora")
SOURCES = {
    "openshift": "openshift__runbooks",
    "prometheus": "prometheus-operator__runbooks",
    "gitlab": "mattrussi__gitlab-com-runbooks",
}


def load_queries(folder: Path) -> list[tuple[str, list[str]]]:
    queries = []
    for path in sorted(folder.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            text, relevant = line.split("\t")
            queries.append((text, [r.strip() for r in relevant.split("|")]))
    return queries


def build_kb(kb: Path, corpora: Path):  # type: ignore[no-untyped-def]
    from kbapp.importer import import_folder
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    if (kb / ".kb" / "config.toml").exists():
        return Workspace.open(kb, settings)
    ws = Workspace.init(kb, "Runbooks", ["internal", "partner"], settings=settings)
    for into, name in SOURCES.items():
        import_folder(ws, corpora / name, into)
    return ws


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries")
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "kbapp-relevance")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    from kbapp import documents
    from kbapp.search import SearchIndex

    ws = build_kb(args.cache / "kb", args.corpora)
    index = SearchIndex.for_workspace(ws)
    index.catch_up()
    queries = load_queries(args.queries)
    known = {e.path for e in ws.catalog.all()}
    for text, relevant in queries:
        for path in relevant:
            if path not in known:
                print(f"warning: {path} (for {text!r}) is not in the knowledge base")

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, path UNINDEXED, "
               "tokenize='porter unicode61')")
    for entry in ws.catalog.all():
        if entry.usable:
            doc = documents.load(ws.root / entry.path, entry.path)
            db.execute("INSERT INTO docs VALUES (?,?,?)", (doc.title, doc.body, entry.path))

    ours: list[int | None] = []
    theirs: list[int | None] = []
    rows = []
    started = time.perf_counter()
    for text, relevant in queries:
        response = index.search(text, 10, snippets=0)  # as typed: the last word may be a prefix
        found = [hit.path for hit in response.hits]
        words = re.findall(r"\w+", text)
        match = " OR ".join(f'"{w}"' for w in words)
        fts = [row[0] for row in db.execute(
            "SELECT path FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 5.0, 1.0) LIMIT 10",
            (match,))] if words else []
        ours.append(first_relevant(found, relevant))
        theirs.append(first_relevant(fts, relevant))
        rows.append({"query": text, "kbapp_rank": ours[-1], "fts5_rank": theirs[-1],
                     "kbapp_top": found[:3], "fts5_top": fts[:3], "suggestion": response.suggestion})
    elapsed = time.perf_counter() - started
    result = {"queries": len(queries), "documents": len(known), "kbapp": metrics(ours),
              "fts5_bm25": metrics(theirs)}
    print(f"{len(queries)} queries over {len(known)} documents ({elapsed:.1f} s)")
    print(f"{'':10} {'MRR@10':>7} {'s@1':>6} {'s@3':>6} {'s@10':>6}")
    for name in ("kbapp", "fts5_bm25"):
        m = result[name]
        print(f"{name:10} {m['mrr@10']:7.3f} {m['success@1']:6.3f} {m['success@3']:6.3f} "
              f"{m['success@10']:6.3f}")
    if args.show_misses:
        for row in rows:
            if row["kbapp_rank"] != 1:
                print(f"  {row['query']!r}: kbapp rank {row['kbapp_rank']}, FTS5 {row['fts5_rank']}; "
                      f"kbapp top {row['kbapp_top']}")
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "queries": rows}, indent=2))
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
