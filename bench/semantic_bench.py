#!/usr/bin/env python3
"""What the optional meaning re-ranker (kbapp/search/semantic.py) costs, on a built knowledge base.

    python bench/semantic_bench.py KB [--queries bench/queries/supportarticles.tsv] [--rounds 3]

- the documents' vectors built from scratch (the part a rebuild or the first catch-up with
  ``semantic_search`` on adds), and the peak memory that adds;
- in process, each query with the setting off and on, interleaved, ``rounds`` times, with ten
  snippets: p50 / p95 of all queries and of the sentence-like ones (the only ones it touches);
- a ``kbapp search`` process for a sentence, off and on (model import and load included), and
  for keywords with the setting on (nothing is imported), median wall time and peak RSS.

The knowledge base is the one ``bench/relevance.py --set support`` builds in its cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


PROCESS = """
import resource, sys, time
began = time.perf_counter()
from kbapp.cli import main
main(["--kb", sys.argv[1], "search", sys.argv[2], "-n", "10"])
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("WALL", (time.perf_counter() - began) * 1000, "RSS", int(peak) / 1024,
      "MODEL", "wordllama" in sys.modules, file=sys.stderr)
"""


def process_run(kb: Path, query: str, config: Path) -> tuple[float, float, bool, float]:
    """(wall ms, peak RSS MiB, model imported, CPU ms user + system) of one search process."""
    env = {**os.environ, "KBAPP_CONFIG_DIR": str(config)}
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, str(kb), query],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime) * 1000
    fields = done.stderr.strip().splitlines()[-1].split()
    return wall, float(fields[3]), fields[5] == "True", used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kb", type=Path)
    parser.add_argument(
        "--queries", type=Path, default=ROOT / "bench" / "queries" / "supportarticles.tsv"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=7, help="0: no process runs")
    parser.add_argument(
        "--keep-vectors", action="store_true", help="do not time a build of the vectors"
    )
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))

    from kbapp.search import SearchIndex, semantic
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    texts = [
        line.split("\t")[2]
        for line in args.queries.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    ws = Workspace.open(args.kb, settings)
    index = SearchIndex.for_workspace(ws)
    index.catch_up()
    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # vectors from scratch
    settings.semantic_search = True
    ranker = index._semantic_ranker()
    assert ranker is not None
    if args.keep_vectors and ranker.vectors.ready():
        semantic.Model.get()
    else:
        time_the_build(index, ranker, before_rss)
    if args.rounds:
        run_in_process(index, settings, texts, args.rounds)
    ws.close()
    if args.processes:
        run_processes(args.kb, args.processes)
    return 0


def time_the_build(index, ranker, before_rss: float) -> None:  # type: ignore[no-untyped-def]
    from kbapp.search import semantic

    shutil.rmtree(ranker.vectors.directory, ignore_errors=True)
    ranker.vectors = semantic.DocumentVectors(ranker.vectors.directory)
    began = time.perf_counter()
    semantic.Model.get()
    loaded = time.perf_counter()
    with index._ix.reader() as reader:
        texts_of = semantic.document_texts(reader, None)
        read = time.perf_counter()
        ranker.vectors.replace(texts_of, complete=True)
    done = time.perf_counter()
    size = sum(f.stat().st_size for f in ranker.vectors.directory.iterdir())
    print(
        f"vectors for {len(texts_of)} documents: {done - began:.1f} s "
        f"(model load {loaded - began:.2f} s, texts from the index {read - loaded:.2f} s, "
        f"embedding {done - read:.1f} s); {size / 1e6:.1f} MB on disk; peak RSS "
        f"{before_rss:.0f} -> {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )


def run_in_process(index, settings, texts: list[str], rounds: int) -> None:  # type: ignore[no-untyped-def]
    from kbapp.search import semantic

    sentence = [semantic.looks_like_sentence(t) for t in texts]
    off: list[list[float]] = [[] for _ in texts]
    on: list[list[float]] = [[] for _ in texts]
    for text in texts:  # a warm-up round: every query's terms read once, unmeasured
        for flag in (False, True):
            settings.semantic_search = flag
            index.search(text, 10, snippets=10)
    for round_ in range(rounds):
        for number, text in enumerate(texts):
            pairs = ((False, off), (True, on))
            # which one goes first alternates, so neither gets the other's warm caches
            for flag, into in pairs if (round_ + number) % 2 else pairs[::-1]:
                settings.semantic_search = flag
                began = time.process_time()  # CPU time: the machine is shared
                index.search(text, 10, snippets=10)
                into[number].append((time.process_time() - began) * 1000)
    print(
        f"in process, {len(texts)} queries x {rounds} rounds after a warm-up round, off and"
        " on alternately first, 10 snippets, CPU time, median per query:",
        flush=True,
    )
    for label, chosen in (
        ("all queries", range(len(texts))),
        (
            f"sentence-like ({sum(sentence)})",
            [i for i, s in enumerate(sentence) if s],
        ),
    ):
        a = [statistics.median(off[i]) for i in chosen]
        b = [statistics.median(on[i]) for i in chosen]
        print(
            f"  {label:22} off p50 {pct(a, 0.5):6.1f} p95 {pct(a, 0.95):6.1f} ms | on p50 "
            f"{pct(b, 0.5):6.1f} p95 {pct(b, 0.95):6.1f} ms | added p50 "
            f"{pct([y - x for x, y in zip(a, b)], 0.5):5.1f} ms"
        )
    print(
        "  peak RSS with the model loaded: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )


def run_processes(kb: Path, count: int) -> None:
    config_off = Path(tempfile.mkdtemp(prefix="kbapp-bench-off-"))
    config_on = Path(tempfile.mkdtemp(prefix="kbapp-bench-on-"))
    (config_on / "settings.json").write_text(json.dumps({"semantic_search": True}))
    phrase = "sql server backup taking forever how far along is the restore"
    keywords = "backup restore slow"
    runs: dict[str, list[tuple[float, float, bool, float]]] = {
        "off": [],
        "on": [],
        "on, keywords": [],
    }
    for _ in range(count):
        runs["off"].append(process_run(kb, phrase, config_off))
        runs["on"].append(process_run(kb, phrase, config_on))
        runs["on, keywords"].append(process_run(kb, keywords, config_on))
    print(f"kbapp search processes, median of {count} (wall from the parent):")
    for label, rows in runs.items():
        print(
            f"  {label:13} {statistics.median(r[0] for r in rows):7.0f} ms wall, "
            f"{statistics.median(r[3] for r in rows):6.0f} ms CPU, "
            f"peak RSS {statistics.median(r[1] for r in rows):5.0f} MiB, model imported: "
            f"{rows[0][2]}"
        )


if __name__ == "__main__":
    sys.exit(main())
