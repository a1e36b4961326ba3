"""Index build speed on a real knowledge base, side by side with SQLite FTS5 in the same run.

    python bench/build_bench.py KB [--rounds 3] [--updates 5] [--baseline SRC [--baseline-kb KB2]]

KB is a knowledge base made with ``kbapp init`` + ``kbapp import`` (the issue's 5.9k
SupportArticles). Measured, each beside FTS5 (porter unicode61, as bench/real_bench.py):

- a full rebuild: ``kbapp index --rebuild`` (worker processes) against building the FTS5 table
  from the same texts; wall time and CPU time (user + system of the process and its workers),
  rounds alternating, medians;
- an update of 10 documents (each file changed on disk, then ``SearchIndex.update``) in a
  process that has searched once and loaded its catalog (as a running window has), against
  FTS5's delete + insert of the same rows; the first update of the process (analysis caches
  cold) and the median of the following ones.

``--baseline SRC``: also time another kbapp source tree (a folder holding a ``kbapp``
package, e.g. ``git archive main kbapp | tar -x -C SRC``) in the same run, alternating, for
before/after ratios on a machine whose load moves. ``--baseline-kb KB2``: the baseline
rebuilds its own copy of the knowledge base (``cp -a KB KB2``), so each code finds what its
own previous build kept there (the word analyses are kept per version of the analysis code:
two codes rebuilding one knowledge base in turn would each find the other's and analyse
every word again). Prints figures and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from real_bench import Fts5, documents

ROOT = Path(__file__).resolve().parent.parent

UPDATE_CHILD = """
import json, os, sys, time
from pathlib import Path
from kbapp.search import SearchIndex
from kbapp.settings import Settings
from kbapp.workspace import Workspace

kb, chosen, rounds = Path(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3])
ws = Workspace.open(kb, Settings(user_name="Bench", user_email="bench@internal.example"),
                    repair=False)
index = SearchIndex.for_workspace(ws)
index.catch_up()
index.search("network drive ", 10, snippets=10)  # a window has searched: searcher open
ws.catalog.count()  # and its catalog loaded
originals = {p: (kb / p).read_bytes() for p in chosen}
stats = {p: (kb / p).stat() for p in chosen}
out = []
try:
    for number in range(rounds):
        for path in chosen:
            (kb / path).write_bytes(originals[path] + f"\\nUpdated {number}.\\n".encode())
        wall, cpu = time.perf_counter(), time.process_time()
        index.update(chosen)
        out.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
finally:
    for path, data in originals.items():
        (kb / path).write_bytes(data)
        os.utime(kb / path, ns=(stats[path].st_atime_ns, stats[path].st_mtime_ns))
    index.update(chosen)
    ws.close()
print(json.dumps(out))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def env_for(source: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(source)}


def rebuild(kb: Path, source: Path) -> tuple[float, float]:
    """(wall s, CPU s) of ``kbapp index --rebuild`` from the kbapp package in ``source``."""
    before = children_cpu()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kbapp", "--kb", str(kb), "-q", "index", "--rebuild"],
        check=True,
        capture_output=True,
        env=env_for(source),
        cwd=source,
    )
    return time.perf_counter() - started, children_cpu() - before


def updates(kb: Path, source: Path, chosen: list[str], rounds: int) -> list[list[float]]:
    found = subprocess.run(
        [sys.executable, "-c", UPDATE_CHILD, str(kb), ",".join(chosen), str(rounds)],
        check=True,
        capture_output=True,
        text=True,
        env=env_for(source),
        cwd=source,
    )
    result: list[list[float]] = json.loads(found.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kb", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--baseline-kb", type=Path)
    args = parser.parse_args()
    kb = args.kb.resolve()
    sources = {"kbapp": ROOT}
    kbs = {"kbapp": kb}
    if args.baseline:
        sources["baseline"] = args.baseline.resolve()
        kbs["baseline"] = (args.baseline_kb or args.kb).resolve()
    loads = [os.getloadavg()[0]]
    docs = documents(kb)
    print(f"machine: {os.cpu_count()} cores; {len(docs)} documents")
    fts_path = kb.parent / (kb.name + "-fts5-build.sqlite")

    walls: dict[str, list[float]] = {name: [] for name in [*sources, "fts5"]}
    cpus: dict[str, list[float]] = {name: [] for name in [*sources, "fts5"]}
    for number in range(args.rounds):
        order = list(sources.items())
        if number % 2:
            order.reverse()
        for name, source in order:
            wall, cpu = rebuild(kbs[name], source)
            walls[name].append(wall)
            cpus[name].append(cpu)
            loads.append(os.getloadavg()[0])
        cpu_before = time.process_time()
        fts = Fts5(fts_path, docs)
        walls["fts5"].append(fts.build_seconds)
        cpus["fts5"].append(time.process_time() - cpu_before)
        print(
            f"round {number + 1}: "
            + ", ".join(f"{n} {walls[n][-1]:.1f} s (CPU {cpus[n][-1]:.1f} s)" for n in walls),
            flush=True,
        )
    med_wall = {name: statistics.median(values) for name, values in walls.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpus.items()}
    for name in sources:
        print(
            f"full rebuild, median of {args.rounds}: {name} wall {med_wall[name]:.1f} s, CPU "
            f"{med_cpu[name]:.1f} s; FTS5 wall {med_wall['fts5']:.1f} s, CPU "
            f"{med_cpu['fts5']:.1f} s; ratio wall {med_wall[name] / med_wall['fts5']:.1f}x, "
            f"CPU {med_cpu[name] / med_cpu['fts5']:.1f}x"
        )

    # --- updates of 10 documents
    chosen = [p for p, _t, _b in docs[:: max(1, len(docs) // 10)]][:10]
    fts = Fts5(fts_path, docs)
    update_results: dict[str, dict[str, float]] = {}
    for name, source in sources.items():
        rounds = updates(kbs[name], source, chosen, args.updates)
        loads.append(os.getloadavg()[0])
        later = rounds[1:] or rounds
        update_results[name] = {
            "first_wall_ms": rounds[0][0],
            "first_cpu_ms": rounds[0][1],
            "wall_ms": statistics.median(r[0] for r in later),
            "cpu_ms": statistics.median(r[1] for r in later),
        }
    fts_ms = []
    for number in range(args.updates):
        changed = [(p, t, b + f"\nUpdated {number}.\n") for p, t, b in docs if p in chosen]
        fts_ms.append(fts.update(changed) * 1000)
    update_results["fts5"] = {"wall_ms": statistics.median(fts_ms)}
    fts.db.close()
    fts_path.unlink(missing_ok=True)
    for name in sources:
        found = update_results[name]
        print(
            f"update of 10 documents: {name} first {found['first_wall_ms']:.0f} ms (CPU "
            f"{found['first_cpu_ms']:.0f}), then median {found['wall_ms']:.0f} ms (CPU "
            f"{found['cpu_ms']:.0f}); FTS5 {update_results['fts5']['wall_ms']:.0f} ms; ratio "
            f"{found['wall_ms'] / update_results['fts5']['wall_ms']:.1f}x"
        )
    print(f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}")
    print(
        json.dumps(
            {
                "documents": len(docs),
                "rebuild_wall_s": walls,
                "rebuild_cpu_s": cpus,
                "updates": update_results,
                "load": loads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
