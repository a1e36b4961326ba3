#!/usr/bin/env python3
"""Query latency of this kbapp against another (e.g. main) on the same index, in one run.

    python bench/search_ab.py KB --baseline SRC [--rounds 2] [--queries 200]
                              [--words common,rare] [--json FILE]

KB is a knowledge base already indexed (e.g. the one ``search_bench.py --sizes 50000`` keeps
in its cache: ``/tmp/kbapp-search-bench/synthetic-50000-7/kb``); SRC a checkout of the other
kbapp (``git archive main`` unpacked) whose index format is the same. The queries are
``search_bench.py``'s (same generators, same seed), drawn once; each round runs the baseline,
then this kbapp, each in a fresh process timed as ``search_bench.py`` times it (a freshly
opened index, 20 one-word queries to warm up, then every query with 10 results and 10
snippets), in wall time and in CPU time (``time.process_time``: less sensitive to the other
processes of a shared machine). Printed: p50 and p95 per kind and generator, the ratio of
this kbapp's to the baseline's, the load average, and how many answers (paths, scores to
1e-9, totals) are identical in both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(src: str, kb: str, queries_file: str, out: str) -> None:
    sys.path.insert(0, src)
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    queries = json.loads(Path(queries_file).read_text(encoding="utf-8"))
    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    result: dict[str, dict] = {}
    for generator, kinds in queries.items():
        ws = Workspace.open(Path(kb), settings)
        index = SearchIndex.for_workspace(ws)
        for text, _ in kinds["one_word"][:20]:  # warm up, as search_bench.py does
            index.search(text, 10, snippets=10)
        for kind, items in kinds.items():
            wall, cpu, answers = [], [], []
            for text, _ in items:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = index.search(text, 10, snippets=10)
                cpu.append((time.process_time() - started_cpu) * 1000)
                wall.append((time.perf_counter() - started) * 1000)
                answers.append(
                    [[h.path, round(h.score, 9)] for h in response.hits] + [response.total]
                )
            result[f"{generator}/{kind}"] = {"wall": wall, "cpu": cpu, "answers": answers}
        ws.close()
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kb", type=Path)
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--words", default="common,rare")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import search_bench

    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ws = Workspace.open(args.kb, Settings(user_name="Bench", user_email="bench@internal.example"))
    docs = search_bench.load_docs(ws)
    ws.close()
    work = Path(tempfile.mkdtemp(prefix="kbapp-search-ab-"))
    queries_file = work / "queries.json"
    generators = [g for g in args.words.split(",") if g]
    queries = {g: search_bench.make_queries(docs, args.queries, args.seed, g) for g in generators}
    queries_file.write_text(json.dumps(queries), encoding="utf-8")
    runs: dict[str, list[dict]] = {"baseline": [], "this": []}
    loads = [os.getloadavg()[0]]
    for number in range(args.rounds):
        for label, src in (("baseline", args.baseline.resolve()), ("this", ROOT)):
            out = work / f"{label}-{number}.json"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(src),
                    str(args.kb),
                    str(queries_file),
                    str(out),
                ],
                check=True,
            )
            runs[label].append(json.loads(out.read_text(encoding="utf-8")))
            loads.append(os.getloadavg()[0])
    print(f"load average {min(loads):.1f}-{max(loads):.1f}, {args.rounds} rounds; ms, p95 (p50)")
    print(
        f"{'kind':<22} {'baseline wall':>15} {'this wall':>15} {'ratio':>6} | "
        f"{'baseline CPU':>15} {'this CPU':>15} {'ratio':>6}"
    )
    summary: dict[str, dict] = {"load": loads}
    same = differ = 0
    for key in runs["this"][0]:
        row = {}
        for label in ("baseline", "this"):
            for clock in ("wall", "cpu"):
                values = [r[key][clock] for r in runs[label]]
                row[f"{label}_{clock}_p95"] = statistics.median(p95(v) for v in values)
                row[f"{label}_{clock}_p50"] = statistics.median(
                    statistics.median(v) for v in values
                )
        for a, b in zip(runs["baseline"][0][key]["answers"], runs["this"][0][key]["answers"]):
            same += a == b
            differ += a != b
        summary[key] = row
        print(
            f"{key:<22} {row['baseline_wall_p95']:7.1f} ({row['baseline_wall_p50']:5.1f})"
            f" {row['this_wall_p95']:7.1f} ({row['this_wall_p50']:5.1f})"
            f" {row['this_wall_p95'] / row['baseline_wall_p95']:6.2f} |"
            f" {row['baseline_cpu_p95']:7.1f} ({row['baseline_cpu_p50']:5.1f})"
            f" {row['this_cpu_p95']:7.1f} ({row['this_cpu_p50']:5.1f})"
            f" {row['this_cpu_p95'] / row['baseline_cpu_p95']:6.2f}"
        )
    print(f"answers identical: {same}, different: {differ}")
    summary["identical"], summary["different"] = same, differ
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
