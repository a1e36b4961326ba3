"""Search speed on a real knowledge base, side by side with SQLite FTS5 in the same run.

    python bench/real_bench.py KB [--queries bench/queries/support_speed.txt] [--rounds 15]
                                  [--skip-rebuild] [--in-process-only] [--compare-unpruned]
                                  [--baseline SRC]

KB is a knowledge base made with ``kbapp init`` + ``kbapp import`` (the issue's 5.9k
SupportArticles). Measured, each figure beside FTS5's (porter unicode61, bm25 with the title
weighted 5, AND of the words then OR when fewer than 10 match, ``snippet()`` on the body):

- a search *process* (what a user at a terminal gets): ``kbapp search Q -n 10`` against a
  Python process that opens the FTS5 file and answers the same query; the two alternate, so
  load on the (shared) machine hits both alike; median wall time and peak RSS of each; and
  against two floors, run alternately with them: Python importing Whoosh's modules, and the
  issue's floor (Python, Whoosh's import, the index opened, one plain QueryParser search on
  the body printing 10 hits);
- in process, each query with 10 snippets: p50/p95 over all queries and rounds;
- a full rebuild (``kbapp index --rebuild``, worker processes) against building the FTS5
  table from the same texts;
- an update of 10 documents (each file changed on disk, then re-indexed) against FTS5's
  delete + insert of the same 10 rows.

With ``--baseline SRC`` (a checkout of another kbapp, e.g. ``git archive main`` unpacked and
byte-compiled), that kbapp is measured in the same run: its search processes alternate with
this one's, FTS5's and the floor's, and the in-process figures of both come from child
processes run alternately (``--in-process-only``, twice each), so that the machine's load
hits both alike. Before and after, from one run.

Figures are printed; docs/benchmarks.md records them with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KBAPP = [sys.executable, "-m", "kbapp"]
WORD_RE = re.compile(r"[A-Za-z0-9_]+")

FTS_CHILD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
sql = ("SELECT path, title, snippet(docs, 1, '[', ']', '...', 24) FROM docs WHERE docs MATCH ? "
       "ORDER BY bm25(docs, 5.0, 1.0) LIMIT 10")
rows = db.execute(sql, (sys.argv[2],)).fetchall()
if len(rows) < 10 and sys.argv[3]:
    rows += db.execute(sql, (sys.argv[3],)).fetchall()
for path, title, snippet in rows[:10]:
    print(path, title, snippet, sep="\\n    ")
"""


#: The least a Whoosh search process can cost: the interpreter and Whoosh's modules.
FLOOR_CHILD = "import whoosh.index, whoosh.searching, whoosh.reading, whoosh.fields"

#: The floor as issue 15 defines it: the interpreter, Whoosh's import, opening the index in
#: the knowledge base's index folder and one plain Whoosh query (a QueryParser on the body
#: field, BM25), printing 10 hits. The index is opened with a schema of Whoosh's own types
#: for the two fields read: the schema saved with it would unpickle kbapp's analyser, which
#: imports kbapp's search package, and the floor would then contain what it is a floor for.
ISSUE_FLOOR_CHILD = """
import sys
from whoosh import fields, index
from whoosh.qparser import QueryParser
schema = fields.Schema(body=fields.TEXT(phrase=False), path=fields.ID(stored=True))
ix = index.open_dir(sys.argv[1], schema=schema)
with ix.searcher() as searcher:
    for hit in searcher.search(QueryParser("body", schema).parse(sys.argv[2]), limit=10):
        print(hit["path"])
assert not [name for name in sys.modules if name.startswith("kbapp")]
"""


def fts_expressions(query: str) -> tuple[str, str]:
    words = WORD_RE.findall(query)
    quoted = [f'"{w}"' for w in words]
    return " ".join(quoted), " OR ".join(quoted) if len(quoted) > 1 else ""


def documents(kb: Path) -> list[tuple[str, str, str]]:
    """(path, title, body) of every document (front matter dropped)."""
    listed = subprocess.run(
        ["git", "-C", str(kb), "ls-files", "-z", "--", "*.md"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = []
    for path in sorted(p for p in listed.split("\0") if p):
        text = (kb / path).read_text(encoding="utf-8", errors="replace")
        title = ""
        if text.startswith("---\n"):
            end = text.find("\n---\n", 4)
            if end > 0:
                found = re.search(r"^title:\s*['\"]?(.*?)['\"]?\s*$", text[4:end], re.M)
                title = found.group(1) if found else ""
                text = text[end + 5 :]
        out.append((path, title, text))
    return out


class Fts5:
    def __init__(self, path: Path, docs: list[tuple[str, str, str]]) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        started = time.perf_counter()
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, path UNINDEXED, "
            "tokenize='porter unicode61')"
        )
        self.db.executemany(
            "INSERT INTO docs(rowid, title, body, path) VALUES (?,?,?,?)",
            [(n, t, b, p) for n, (p, t, b) in enumerate(docs, start=1)],
        )
        self.db.commit()
        self.rowids = {p: n for n, (p, _t, _b) in enumerate(docs, start=1)}
        self.build_seconds = time.perf_counter() - started

    def search(self, query: str, fallback: bool = True) -> list[tuple[str, str, str]]:
        sql = (
            "SELECT path, title, snippet(docs, 1, '<b>', '</b>', '…', 24) FROM docs "
            "WHERE docs MATCH ? ORDER BY bm25(docs, 5.0, 1.0) LIMIT 10"
        )
        every, some = fts_expressions(query)
        rows = self.db.execute(sql, (every,)).fetchall() if every else []
        if len(rows) < 10 and some and fallback:
            rows += self.db.execute(sql, (some,)).fetchall()
        return rows[:10]

    def update(self, docs: list[tuple[str, str, str]]) -> float:
        started = time.perf_counter()
        for path, _title, _body in docs:
            self.db.execute("DELETE FROM docs WHERE rowid = ?", (self.rowids[path],))
        self.db.executemany(
            "INSERT INTO docs(rowid, title, body, path) VALUES (?,?,?,?)",
            [(self.rowids[p], t, b, p) for p, t, b in docs],
        )
        self.db.commit()
        return time.perf_counter() - started


def timed_child(command: list[str], root: Path = ROOT) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MiB, stdout) of one process. The peak RSS is
    measured by /usr/bin/time (a child forked from this big process would count its
    pages); the CPU time (user + system) is what the process itself cost, whatever else
    runs on the machine."""
    timer = ["/usr/bin/time", "-f", "RSS %M"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*timer, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        # ``python -m`` puts the working directory first on sys.path, before PYTHONPATH:
        # run in the checkout measured, or a --baseline would import this one
        cwd=str(root),
    )
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed ({proc.returncode}): {err}")
    found = re.search(r"RSS (\d+)", err)
    rss = int(found.group(1)) / 1024 if found else float("nan")
    return elapsed, 0.0, rss, out


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kb", type=Path)
    parser.add_argument("--queries", type=Path, default=ROOT / "bench/queries/support_speed.txt")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument(
        "--in-process-only",
        action="store_true",
        help="only the in-process latency (no rebuild, search processes or update)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another kbapp checkout (its kbapp/ byte-compiled) measured in the same run",
    )
    parser.add_argument(
        "--compare-unpruned",
        action="store_true",
        help="in process, also with the runner's top-k pruning off (same run, same queries)",
    )
    parser.add_argument(
        "--engine",
        choices=("kbapp", "fts5", "both"),
        default="both",
        help="with --in-process-only: which engine this process measures",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="with --in-process-only: the kbapp checkout to import (default: this one)",
    )
    args = parser.parse_args()
    kb = args.kb.resolve()
    queries = [
        q.strip()
        for q in args.queries.read_text().splitlines()
        if q.strip() and not q.startswith("#")
    ]
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"{len(queries)} queries"
    )

    if args.in_process_only:
        return in_process_only(args, kb, queries, load)

    docs = documents(kb)
    fts = Fts5(kb.parent / (kb.name + "-fts5.sqlite"), docs)
    print(f"documents: {len(docs)}")
    results: dict[str, object] = {"documents": len(docs), "load": load}

    # --- full rebuild, then FTS5's build (timed above; built again here, beside it)
    if not args.skip_rebuild:
        rebuild_s, _, rebuild_rss, _ = timed_child(
            [*KBAPP, "--kb", str(kb), "-q", "index", "--rebuild"]
        )
        fts = Fts5(fts.path, docs)
        print(
            f"full rebuild: kbapp {rebuild_s:.1f} s (parent RSS {rebuild_rss:.0f} MiB), "
            f"FTS5 {fts.build_seconds:.1f} s, ratio {rebuild_s / fts.build_seconds:.1f}x"
        )
        results["rebuild_s"], results["fts5_build_s"] = rebuild_s, fts.build_seconds
    subprocess.run(
        [*KBAPP, "--kb", str(kb), "-q", "index"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None:  # its own stamp, made before anything is timed
        subprocess.run(
            [*KBAPP, "--kb", str(kb), "-q", "index"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(baseline)},
            cwd=str(baseline),
        )

    # --- a search process, alternating with an FTS5 process
    kb_wall, kb_cpu, kb_rss, fts_wall, fts_cpu, fts_rss = [], [], [], [], [], []
    base_wall: list[float] = []
    base_cpu: list[float] = []
    base_rss: list[float] = []
    floor_wall: list[float] = []
    floor_cpu: list[float] = []
    issue_wall: list[float] = []
    issue_cpu: list[float] = []
    index_dir = (
        Path(
            subprocess.run(
                ["git", "-C", str(kb), "rev-parse", "--absolute-git-dir"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        / "kbapp"
        / "index"
    )
    process_queries = [queries[i % len(queries)] for i in range(args.rounds)]
    for query in process_queries:
        before = cpu_of_children()
        wall, _, rss, _ = timed_child([*KBAPP, "--kb", str(kb), "search", query, "-n", "10"])
        kb_cpu.append(cpu_of_children() - before)
        kb_wall.append(wall)
        kb_rss.append(rss)
        if baseline is not None:
            before = cpu_of_children()
            wall, _, rss, _ = timed_child(
                [*KBAPP, "--kb", str(kb), "search", query, "-n", "10"], baseline
            )
            base_cpu.append(cpu_of_children() - before)
            base_wall.append(wall)
            base_rss.append(rss)
        every, some = fts_expressions(query)
        before = cpu_of_children()
        wall, _, rss, _ = timed_child([sys.executable, "-c", FTS_CHILD, str(fts.path), every, some])
        fts_cpu.append(cpu_of_children() - before)
        fts_wall.append(wall)
        fts_rss.append(rss)
        before = cpu_of_children()
        wall, _, rss, _ = timed_child([sys.executable, "-c", FLOOR_CHILD])
        floor_cpu.append(cpu_of_children() - before)
        floor_wall.append(wall)
        before = cpu_of_children()
        wall, _, rss, _ = timed_child(
            [sys.executable, "-c", ISSUE_FLOOR_CHILD, str(index_dir), query]
        )
        issue_cpu.append(cpu_of_children() - before)
        issue_wall.append(wall)
    med = {
        name: statistics.median(values) * 1000
        for name, values in (
            ("kb", kb_wall),
            ("fts", fts_wall),
            ("kb_cpu", kb_cpu),
            ("fts_cpu", fts_cpu),
            ("floor", floor_wall),
            ("floor_cpu", floor_cpu),
            ("issue_floor", issue_wall),
            ("issue_floor_cpu", issue_cpu),
        )
    }
    print(
        f"search process (median of {len(kb_wall)}): wall kbapp {med['kb']:.0f} ms, FTS5 "
        f"{med['fts']:.0f} ms, ratio {med['kb'] / med['fts']:.1f}x; CPU kbapp "
        f"{med['kb_cpu']:.0f} ms, FTS5 {med['fts_cpu']:.0f} ms, ratio "
        f"{med['kb_cpu'] / med['fts_cpu']:.1f}x; peak RSS kbapp {max(kb_rss):.0f} MiB, "
        f"FTS5 {max(fts_rss):.0f} MiB; the floor (Python importing Whoosh) wall "
        f"{med['floor']:.0f} ms, CPU {med['floor_cpu']:.0f} ms: kbapp/floor wall "
        f"{med['kb'] / med['floor']:.2f}x, CPU {med['kb_cpu'] / med['floor_cpu']:.2f}x"
    )
    print(
        f"the issue's floor (Python, Whoosh, the index opened, one QueryParser search on the "
        f"body, 10 hits printed): wall {med['issue_floor']:.0f} ms, CPU "
        f"{med['issue_floor_cpu']:.0f} ms: kbapp/issue floor wall "
        f"{med['kb'] / med['issue_floor']:.2f}x, CPU {med['kb_cpu'] / med['issue_floor_cpu']:.2f}x"
    )
    results["process_ms"] = {**med, "kbapp_rss": max(kb_rss), "fts5_rss": max(fts_rss)}
    if baseline is not None:
        b_wall, b_cpu = statistics.median(base_wall) * 1000, statistics.median(base_cpu) * 1000
        print(
            f"baseline {baseline} search process: wall {b_wall:.0f} ms (FTS5 "
            f"{b_wall / med['fts']:.1f}x, floor {b_wall / med['floor']:.2f}x, issue floor "
            f"{b_wall / med['issue_floor']:.2f}x), CPU {b_cpu:.0f} ms (floor "
            f"{b_cpu / med['floor_cpu']:.2f}x, issue floor {b_cpu / med['issue_floor_cpu']:.2f}x), "
            f"peak RSS {max(base_rss):.0f} MiB; "
            f"this kbapp / baseline: wall {med['kb'] / b_wall:.2f}x, CPU {med['kb_cpu'] / b_cpu:.2f}x"
        )
        results["baseline_process_ms"] = {"kb": b_wall, "kb_cpu": b_cpu, "rss": max(base_rss)}

    # --- in process, 10 snippets per query: each engine in its own child process, alternately
    # (one process running both let FTS5's large allocations and cache misses land on
    # kbapp's timings: p95 27.8 ms interleaved against 11.4 ms alone on an idle machine)
    results["in_process_children"] = in_process_children(kb, args.queries, baseline)
    sys.path.insert(0, str(ROOT))
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ws = Workspace.open(
        kb, Settings(user_name="Bench", user_email="bench@internal.example"), repair=False
    )
    index = SearchIndex.for_workspace(ws)
    index.catch_up()

    # --- an update of 10 documents
    chosen = [p for p, _t, _b in docs[:: max(1, len(docs) // 10)]][:10]
    originals = {p: (kb / p).read_bytes() for p in chosen}
    times = {p: (kb / p).stat() for p in chosen}
    # what a running window has loaded already: the catalog and the spelling vocabulary
    ws.catalog.count()
    len(index._vocabulary.words)
    try:
        for path in chosen:
            (kb / path).write_bytes(originals[path] + b"\nUpdated for the benchmark.\n")
        started = time.perf_counter()
        index.update(chosen)
        update_s = time.perf_counter() - started
        changed = [(p, t, b + "\nUpdated for the benchmark.\n") for p, t, b in docs if p in chosen]
        fts_update_s = fts.update(changed)
        print(
            f"update of 10 documents: kbapp {update_s * 1000:.0f} ms, FTS5 "
            f"{fts_update_s * 1000:.0f} ms"
        )
        results["update_ms"] = {"kbapp": update_s * 1000, "fts5": fts_update_s * 1000}
    finally:
        for path, data in originals.items():
            (kb / path).write_bytes(data)
            os.utime(kb / path, ns=(times[path].st_atime_ns, times[path].st_mtime_ns))
        index.update(chosen)
    ws.close()
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process peaked at {self_rss:.0f} MiB)")
    print(json.dumps(results, default=str))
    return 0


def in_process_only(
    args: argparse.Namespace, kb: Path, queries: list[str], load: tuple[float, ...]
) -> int:
    """A child of :func:`in_process_children`: one engine's in-process figures as JSON (a
    kbapp child reads no texts and builds no FTS5 table, so nothing else is in its memory)."""
    results: dict[str, object] = {"load": load}
    fts = None
    if args.engine != "kbapp":  # its own table beside the parent's
        fts = Fts5(kb.parent / f"{kb.name}-fts5-{os.getpid()}.sqlite", documents(kb))
    sys.path.insert(0, str(args.code.resolve()))
    try:  # where TOPK_PRUNING lives (in the searcher before the ranking had a module)
        from kbapp.search import ranking as ranking_module
    except ImportError:
        from kbapp.search import searcher as ranking_module

    # (without --compare-unpruned: as shipped, TOPK_PRUNING as the code sets it)
    modes = [True, False] if args.compare_unpruned else [ranking_module.TOPK_PRUNING]
    for pruning in modes:
        ranking_module.TOPK_PRUNING = pruning
        figures = in_process(kb, queries, fts, args.engine)
        label = "pruned" if pruning else "unpruned"
        results[f"in_process_ms_{label}"] = figures
        results["in_process_ms"] = figures
        print(
            f"in process ({args.engine}), 10 snippets, top-k pruning "
            f"{'on' if pruning else 'off'} (load {os.getloadavg()[0]:.1f}): "
            + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()),
            flush=True,
        )
    if fts is not None:
        fts.db.close()
        fts.path.unlink(missing_ok=True)
    print(json.dumps(results, default=str))
    return 0


def in_process_children(
    kb: Path, queries: Path, baseline: Path | None
) -> dict[str, list[dict[str, float]]]:
    """In-process figures, each engine in its own child process (``--in-process-only
    --engine``), alternately, twice each: this kbapp, FTS5 and, with ``baseline``, that kbapp."""
    runs: list[tuple[str, Path, str]] = [("this", ROOT, "kbapp"), ("fts5", ROOT, "fts5")]
    if baseline is not None:
        runs.append(("baseline", baseline, "kbapp"))
    out: dict[str, list[dict[str, float]]] = {label: [] for label, _root, _engine in runs}
    for _round in range(2):
        for label, root, engine in runs:
            done = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "real_bench.py"),
                    str(kb),
                    "--queries",
                    str(queries),
                    "--in-process-only",
                    "--engine",
                    engine,
                    "--code",
                    str(root),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            out[label].append(json.loads(done.stdout.strip().splitlines()[-1])["in_process_ms"])
    for label, figures in out.items():
        prefix = "fts5_and" if label == "fts5" else "kbapp"
        second = "fts5" if label == "fts5" else "kbapp_cold"

        def pairs(name: str, figures: list[dict[str, float]] = figures) -> str:
            return ", ".join(f"{f[name + '_p50']:.1f}/{f[name + '_p95']:.1f}" for f in figures)

        print(
            f"in process, 10 snippets, {label} (own process, 2 runs): p50/p95 wall "
            f"{pairs(prefix)}, CPU {pairs(prefix + '_cpu')}; "
            f"{'AND then OR' if label == 'fts5' else 'first round'} wall {pairs(second)}",
            flush=True,
        )
    return out


def in_process(
    kb: Path, queries: list[str], fts: Fts5 | None, engine: str = "both"
) -> dict[str, float]:
    """p50/p95 of each query with 10 snippets in one process (the first round apart, its
    terms read for the first time), wall and CPU time: kbapp's, FTS5's or both (``engine``)."""
    cpu = time.thread_time  # on a loaded machine a query's wall time is mostly waiting
    figures: dict[str, float] = {}

    def timed(prefix: str, search: Callable[[str], object], rounds: int = 3) -> None:
        wall: dict[bool, list[float]] = {True: [], False: []}
        used: dict[bool, list[float]] = {True: [], False: []}
        for round_number in range(rounds):
            for query in queries:
                started, started_cpu = time.perf_counter(), cpu()
                search(query)
                wall[round_number == 0].append((time.perf_counter() - started) * 1000)
                used[round_number == 0].append((cpu() - started_cpu) * 1000)
        for first, name in ((False, prefix), (True, prefix + "_cold")):
            figures[f"{name}_p50"], figures[f"{name}_p95"] = (
                pct(wall[first], 50),
                pct(wall[first], 95),
            )
            figures[f"{name}_cpu_p50"] = pct(used[first], 50)
            figures[f"{name}_cpu_p95"] = pct(used[first], 95)

    if engine in ("kbapp", "both"):
        from kbapp.search import SearchIndex
        from kbapp.settings import Settings
        from kbapp.workspace import Workspace

        ws = Workspace.open(
            kb, Settings(user_name="Bench", user_email="bench@internal.example"), repair=False
        )
        index = SearchIndex.for_workspace(ws)
        index.catch_up()
        timed("kbapp", lambda query: index.search(query + " ", 10, snippets=10))
        ws.close()
    if fts is not None and engine in ("fts5", "both"):
        timed("fts5", fts.search)
        timed("fts5_and", lambda query: fts.search(query, fallback=False))
    return figures


if __name__ == "__main__":
    sys.exit(main())
