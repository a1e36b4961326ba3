#!/usr/bin/env python3
"""What the meaning re-ranker (kbapp/search/semantic.py) costs, on a built knowledge base.

    python bench/semantic_bench.py KB [--queries bench/queries/supportarticles.tsv] [--rounds 3]
                                      [--processes 7] [--rebuilds 3]

- the documents' vectors built from scratch (what a first build or a rebuild without them
  adds), in a process of its own: CPU time, wall time, peak RSS;
- ``kbapp index --rebuild`` processes with the setting off, on with the vectors there (texts
  unchanged: none embedded) and on without them (all embedded), interleaved: median CPU;
- in process, each query with the setting off and on, interleaved, ``rounds`` times, with ten
  snippets: p50 / p95 of all queries and of the sentence-like ones (the only ones it touches);
- ``kbapp search`` processes, interleaved: a sentence with the setting off and on, and
  keywords with it on: median wall, CPU and peak RSS, and whether NumPy or WordLlama was
  imported (neither should be).

The knowledge base is the one ``bench/relevance.py --set support`` builds in its cache. Run it
without ``PYTHONDONTWRITEBYTECODE``: an installed kbapp has its bytecode compiled, and a
process compiling every module again would charge the re-ranker for compiling its own.
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
      "MODEL", "wordllama" in sys.modules or "numpy" in sys.modules, file=sys.stderr)
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
    parser.add_argument("--rebuilds", type=int, default=3, help="0: no rebuild processes")
    parser.add_argument(
        "--keep-vectors", action="store_true", help="do not time a build of the vectors"
    )
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))

    from kbapp.search import SearchIndex
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
    settings.semantic_search = True
    ranker = index._semantic_ranker()
    assert ranker is not None
    directory = ranker.vectors.directory
    ws.close()
    if not (args.keep_vectors and ranker.vectors.ready()):
        time_the_build(args.kb, directory)
    if args.rebuilds:
        run_rebuilds(args.kb, directory, args.rebuilds)
    if args.rounds:
        ws = Workspace.open(args.kb, settings)
        index = SearchIndex.for_workspace(ws)
        index.catch_up()
        run_in_process(index, settings, texts, args.rounds)
        ws.close()
    if args.processes:
        run_processes(args.kb, args.processes)
    return 0


BUILD = """
import resource, sys, time
from pathlib import Path
began, cpu = time.perf_counter(), time.process_time()
from kbapp.search import semantic
from whoosh import index
vectors = semantic.DocumentVectors(Path(sys.argv[2]))
with index.open_dir(sys.argv[1]).reader() as reader:
    texts = semantic.document_texts(reader, None)
    read = time.process_time()
    embedded = vectors.replace(texts, complete=True)
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(f"vectors for {len(texts)} documents from scratch, a process of its own: "
      f"{time.process_time() - cpu:.2f} s CPU (texts from the index {read - cpu:.2f} s, "
      f"tokenizing and embedding {time.process_time() - read:.2f} s), "
      f"{time.perf_counter() - began:.2f} s wall, peak RSS {int(peak) / 1024:.0f} MiB, "
      f"{embedded} embedded, {vectors.file.stat().st_size / 1e6:.1f} MB on disk")
"""


def time_the_build(kb: Path, directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(directory.with_name("index")), str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )
    print(done.stdout.strip(), flush=True)


def run_rebuilds(kb: Path, directory: Path, count: int) -> None:
    """``kbapp index --rebuild`` processes: off; on, vectors kept; on, vectors removed."""
    config_off = Path(tempfile.mkdtemp(prefix="kbapp-bench-off-"))
    config_on = Path(tempfile.mkdtemp(prefix="kbapp-bench-on-"))
    (config_off / "settings.json").write_text(json.dumps({"semantic_search": False}))
    (config_on / "settings.json").write_text(json.dumps({"semantic_search": True}))
    runs: dict[str, list[tuple[float, float]]] = {"off": [], "on, vectors kept": [], "on, none": []}
    for _ in range(count):
        for label, config in (
            ("off", config_off),
            ("on, vectors kept", config_on),
            ("on, none", config_on),
        ):
            if label == "on, none":
                shutil.rmtree(directory, ignore_errors=True)
            env = {**os.environ, "KBAPP_CONFIG_DIR": str(config)}
            cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "kbapp", "-q", "--kb", str(kb), "index", "--rebuild"],
                capture_output=True,
                env=env,
                check=True,
            )
            wall = time.perf_counter() - began
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs[label].append(
                (wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime)
            )
    print(f"kbapp index --rebuild processes, median of {count}, interleaved:")
    for label, rows in runs.items():
        print(
            f"  {label:17} {statistics.median(r[1] for r in rows):6.2f} s CPU "
            f"{statistics.median(r[0] for r in rows):6.2f} s wall"
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
        (  # the same work on and off: the noise of "added"
            f"the others ({len(texts) - sum(sentence)})",
            [i for i, s in enumerate(sentence) if not s],
        ),
    ):
        a = [statistics.median(off[i]) for i in chosen]
        b = [statistics.median(on[i]) for i in chosen]
        added = [y - x for x, y in zip(a, b)]
        print(
            f"  {label:22} off p50 {pct(a, 0.5):6.1f} p95 {pct(a, 0.95):6.1f} ms | on p50 "
            f"{pct(b, 0.5):6.1f} p95 {pct(b, 0.95):6.1f} ms | added p50 "
            f"{pct(added, 0.5):5.1f} p95 {pct(added, 0.95):5.1f} ms"
        )
    print(
        "  peak RSS with the model loaded: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )


def run_processes(kb: Path, count: int) -> None:
    config_off = Path(tempfile.mkdtemp(prefix="kbapp-bench-off-"))
    config_on = Path(tempfile.mkdtemp(prefix="kbapp-bench-on-"))
    (config_off / "settings.json").write_text(json.dumps({"semantic_search": False}))
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
            f"peak RSS {statistics.median(r[1] for r in rows):5.1f} MiB, NumPy or WordLlama "
            f"imported: {any(r[2] for r in rows)}"
        )


if __name__ == "__main__":
    sys.exit(main())
