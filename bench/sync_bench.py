#!/usr/bin/env python3
"""Sync speed on a large real knowledge base.

    python bench/sync_bench.py [--corpus PATH] [--keep DIR]

Imports the corpus (default: the 5,883-file SupportArticles collection) into a knowledge base,
publishes it to a bare repository and clones it as the partner (kbapp clone: checkout and
catalog). Then times, on the internal clone: a sync with nothing to do, ``status``, and pulling
100 documents the partner changed (fast-forward, and as a real merge with a local change),
including the catalog update (and the search index when kbapp.search is installed).
Targets: nothing to do <= 1 s, status <= 300 ms, 100 changed documents <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS_NAME = "gautamanand-dot__SupportArticles-docs"


def default_corpus() -> Path:
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared", Path("/work/shared")):
        if (shared / "corpora" / CORPUS_NAME).is_dir():
            return shared / "corpora" / CORPUS_NAME
    return ROOT.parent / "shared" / "corpora" / CORPUS_NAME


def isolated_environment(base: Path) -> None:
    gitconfig = base / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Bench\n\temail = bench@internal.example\n"
        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
    )
    os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["KBAPP_CONFIG_DIR"] = str(base / "config")
    os.environ["KBAPP_DATA_DIR"] = str(base / "data")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs


def ms(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--keep", type=Path, help="build everything here and keep it")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus {args.corpus} not found", file=sys.stderr)
        return 1
    base = args.keep or Path(tempfile.mkdtemp(prefix="kbapp-sync-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    isolated_environment(base)

    from kbapp.documents.importer import import_folder
    from kbapp.settings import Settings
    from kbapp.sync import sync
    from kbapp.workspace import Workspace

    git_version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python "
        f"{platform.python_version()}, {git_version}"
    )
    ana = Workspace.init(
        base / "ana",
        "Bench KB",
        ["internal", "partner"],
        settings=Settings(user_name="Ana", user_email="ana@internal.example"),
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    started = time.perf_counter()
    report = import_folder(ana, args.corpus, into="support")
    print(f"import: {len(report.imported)} documents in {time.perf_counter() - started:.1f} s")
    index = None
    try:
        from kbapp.search import SearchIndex

        index = SearchIndex.for_workspace(ana)
        started = time.perf_counter()
        index.catch_up()
        print(f"search index built in {time.perf_counter() - started:.1f} s (updates on sync)")
    except ImportError:
        print("kbapp.search is not installed here: the figures cover git and the catalog")

    remote = base / "shared.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "-C", str(ana.root), "remote", "add", "origin", str(remote)], check=True)
    started = time.perf_counter()
    sync.sync(ana)
    print(f"first publish (push of the whole KB): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    jo = sync.clone(
        str(remote), base / "jo", Settings(user_name="Jo", user_email="jo@partner.example")
    )
    print(
        f"kbapp clone (checkout, merge driver, catalog of {jo.catalog.count()} documents): "
        f"{time.perf_counter() - started:.1f} s"
    )

    sync.sync(ana)  # warm: the first call after the import also loads the catalog
    median, runs = timed(lambda: sync.sync(ana))
    print(f"sync, nothing to do: median {median * 1000:.0f} ms (runs: {ms(runs)}) [target <= 1000]")
    median, runs = timed(lambda: sync.status(ana), repeat=7)
    print(f"status: median {median * 1000:.0f} ms (runs: {ms(runs)}) [target <= 300]")
    (ana.root / "scratch.md").write_text("# Scratch\n")
    median, runs = timed(lambda: sync.status(ana), repeat=7)
    print(f"status with a local change: median {median * 1000:.0f} ms (runs: {ms(runs)})")
    (ana.root / "scratch.md").unlink()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kbapp", "--kb", str(ana.root), "status"],
        capture_output=True,
        text=True,
    )
    print(
        f"'kbapp status' as a new process (Python start and imports included): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms (exit {done.returncode})"
    )

    paths = sorted(jo.document_paths())
    events: list[int] = []
    ana.documents_changed.connect(lambda changes: events.append(len(changes.changed_paths)))
    for round_number, merge in ((1, False), (2, True)):
        chosen = paths[(round_number - 1) * 100 : round_number * 100]
        for relative in chosen:
            full = jo.root / relative
            full.write_text(
                full.read_text(encoding="utf-8") + f"\nPartner note, round {round_number}.\n",
                encoding="utf-8",
            )
        jo.git.commit(chosen, f"Update: {len(chosen)} documents", trailers={"KB-Org": "partner"})
        sync.sync(jo)
        if merge:
            ana.create("sop", "A local change that makes this a merge")
        events.clear()
        started = time.perf_counter()
        report = sync.sync(ana)
        elapsed = time.perf_counter() - started
        updated = sum(
            1
            for r in chosen
            if (entry := ana.catalog.get(r)) is not None
            and "Partner note, round" in (ana.root / r).read_text(encoding="utf-8")
            and entry.content_hash
        )
        kind = "as a merge with a local commit" if merge else "fast-forward"
        print(
            f"pull of 100 changed documents ({kind}), catalog updated"
            f"{' and index' if index is not None else ''}: {elapsed * 1000:.0f} ms "
            f"[target <= 3000]; {len(report.changed_by_others)} reported changed by others, "
            f"{updated} in the catalog, documents_changed carried {sum(events)} paths"
        )
    ana.close()
    jo.close()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
