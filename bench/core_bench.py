#!/usr/bin/env python3
"""Core speed: importing a large real corpus, and refreshing the catalog afterwards.

    python bench/core_bench.py [--corpus PATH] [--keep DIR]

Imports the corpus (default: the 5,883-file SupportArticles collection in ../shared/corpora)
into a fresh knowledge base, then times a catalog refresh with nothing changed and with 10
files changed on disk, and a cold open + refresh (a new process's view). Prints the figures;
record them in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kbapp.documents.importer import import_folder  # noqa: E402
from kbapp.settings import Settings  # noqa: E402
from kbapp.workspace import Workspace  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "gautamanand-dot__SupportArticles-docs"


def timed(fn, repeat: int = 5) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--keep", type=Path, help="build the KB here and keep it (for other benches)"
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus {args.corpus} not found", file=sys.stderr)
        return 1
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    base = args.keep or Path(tempfile.mkdtemp(prefix="kbapp-bench-"))
    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"corpus: {args.corpus} ({sum(1 for _ in args.corpus.rglob('*.md'))} .md files)")

    ws = Workspace.init(
        base / "kb",
        "Bench KB",
        ["internal", "partner"],
        settings=settings,
        domains={"internal": ["internal.example"]},
    )
    started = time.perf_counter()
    report = import_folder(ws, args.corpus, into="support")
    elapsed = time.perf_counter() - started
    print(
        f"import: {len(report.imported)} documents in {elapsed:.1f} s "
        f"({len(report.imported) / elapsed:.0f} docs/s), skipped {len(report.skipped)}; "
        f"types {report.type_counts()}"
    )

    median, runs = timed(ws.refresh)
    print(
        f"catalog refresh, nothing changed: median {median * 1000:.0f} ms "
        f"(runs: {', '.join(f'{r * 1000:.0f}' for r in runs)})"
    )

    paths = ws.document_paths()
    rng = random.Random(7)

    def change_ten() -> None:
        for relative in rng.sample(paths, 10):
            full = ws.root / relative
            full.write_text(
                full.read_text(encoding="utf-8") + "\nEdited by the benchmark.\n", encoding="utf-8"
            )

    samples = []
    for _ in range(5):
        change_ten()
        started = time.perf_counter()
        changes = ws.refresh()
        samples.append(time.perf_counter() - started)
        assert len(changes.modified) == 10, changes
    print(
        f"catalog refresh, 10 files changed: median {statistics.median(samples) * 1000:.0f} ms "
        f"(runs: {', '.join(f'{r * 1000:.0f}' for r in samples)})"
    )

    ws.close()
    started = time.perf_counter()
    again = Workspace.open(base / "kb", settings)
    again.refresh()
    print(
        f"open + refresh in a fresh workspace object: {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    again.close()
    if not args.keep:
        print(f"(knowledge base left in {base}; delete it when done)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
