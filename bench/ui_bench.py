#!/usr/bin/env python3
"""Window speed on a large knowledge base: time to a usable window, how long the UI thread
is blocked per keystroke while a query is typed, and the longest stall opening each view.

    python bench/ui_bench.py [--corpus PATH] [--kb DIR]

With ``--kb DIR`` the knowledge base is built there once (import of the corpus and a full
index) and reused by later runs. Each start is measured in a fresh process (imports included):
from the start of the process to the window shown with the cursor in the search field, and
to the index being open (a query can run). Typing: a 5-letter query is typed one key every
150 ms; a 1 ms timer measures the event loop's longest stall per keystroke (from the key until
the next keystroke, or until the last answer is painted). Views (first start only): each view
of the main area is opened through its action, one after the other (all stay open), and the
same timer gives the longest stall from the action until the view is filled (no background work
left). Record the figures in docs/benchmarks.md ("Window").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/shared/corpora/gautamanand-dot__SupportArticles-docs")
if not DEFAULT_CORPUS.is_dir():
    DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "gautamanand-dot__SupportArticles-docs"
QUERIES = ("proxy", "print", "azure", "disks", "cache")


def build(kb: Path, corpus: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from kbapp.importer import import_folder
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    if (kb / ".kb" / "config.toml").is_file():
        ws = Workspace.open(kb, settings)
    else:
        ws = Workspace.init(kb, "Bench KB", ["internal", "partner"], settings=settings,
                            domains={"internal": ["internal.example"]})
        started = time.perf_counter()
        report = import_folder(ws, corpus, into="support")
        print(f"import: {len(report.imported)} documents in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    count = SearchIndex.for_workspace(ws).catch_up()
    print(f"index catch-up: {count} documents in {time.perf_counter() - started:.1f} s")
    ws.close()


CHILD = r"""
import json, os, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEventLoop, QTimer, Qt
from PySide6.QtTest import QTest
from kbapp.settings import Settings
from kbapp.ui.app import application, open_window
app = application()
settings = Settings(user_name="Bench", user_email="bench@internal.example",
                    fetch_interval_minutes=0)
window = open_window(sys.argv[2], settings)
app.processEvents()
shown = time.perf_counter() - started
assert window.search.field.hasFocus()
while window.search.index is None:
    app.processEvents()
    time.sleep(0.001)
index_open = time.perf_counter() - started
# Let the start-up work (catch-up, browse outline, sync status) finish before typing.
deadline = time.monotonic() + 60
while window.tasks.busy and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.005)

def wait(ms):
    # Not QTest.qWait: it keeps the GIL while it spins, so the search workers hardly run
    # (a pure-Python thread ran 200 times slower). An event loop waits as app.exec() does.
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()

stalls = []
last = [time.perf_counter()]
worst = [0.0]
def tick():
    now = time.perf_counter()
    worst[0] = max(worst[0], now - last[0])
    last[0] = now
timer = QTimer()
timer.setTimerType(Qt.TimerType.PreciseTimer)
timer.timeout.connect(tick)
timer.start(1)
answered = {}
window.search.results_shown.connect(
    lambda r: answered.setdefault(window.search.field.text(), time.perf_counter()))
results = []
for query in sys.argv[3].split(","):
    window.search.field.clear()
    wait(300)
    answered.clear()
    per_key = []
    for char in query:
        last[0] = time.perf_counter(); worst[0] = 0.0
        QTest.keyClick(window.search.field, char)
        typed = time.perf_counter()
        wait(150)
        per_key.append(worst[0])
    last[0] = time.perf_counter(); worst[0] = 0.0
    deadline = time.monotonic() + 5
    while query not in answered and time.monotonic() < deadline:
        wait(5)
    wait(100)
    per_key[-1] = max(per_key[-1], worst[0])
    total = window.search.response.total if window.search.response else -1
    latency = (answered[query] - typed) * 1000 if query in answered else None
    results.append({"query": query, "stalls_ms": [round(s * 1000, 1) for s in per_key],
                    "total": total, "answer_ms": latency})
views = {}
if sys.argv[4] == "views":
    def idle():
        return not window.tasks.busy
    window.search.field.clear()
    wait(300)
    window.search.field.setText(sys.argv[3].split(",")[0])
    deadline = time.monotonic() + 10
    while not window.search.response or not window.search.response.hits:
        wait(20)
        if time.monotonic() > deadline:
            break
    window._create_deferred_views()
    close_id = "view.close" if "view.close" in window.actions_by_id else "doc.close"

    def close_all(left=12):
        window.action(close_id).trigger()
        if left > 1 and getattr(window, "views", None) is not None and window.views.open_names():
            QTimer.singleShot(50, lambda: close_all(left - 1))

    steps = [
        ("reader", lambda: window.search.open_selected(),
         lambda: window.reader.page is not None and idle()),
        ("editor", lambda: window.action("doc.edit").trigger(), idle),
        ("history", lambda: window.action("doc.history").trigger(), idle),
        ("review queue", lambda: window.action("review.queue").trigger(), idle),
        ("review queue: one document's changes",
         lambda: window.lifecycle.review_queue.table.selectRow(1), idle),
        ("health", lambda: window.action("report.dashboard").trigger(), idle),
        ("matrix", lambda: window.action("matrix.show").trigger(), idle),
        ("handovers", lambda: window.action("handover.show").trigger(), idle),
        ("conflicts", lambda: window.action("sync.conflicts").trigger(), idle),
        ("close every view, one Ctrl+W every 50 ms", close_all,
         lambda: idle() and (getattr(window, "views", None) is None
                             or not window.views.open_names())),
    ]
    for name, trigger, done in steps:
        wait(200)
        last[0] = time.perf_counter(); worst[0] = 0.0
        started = time.perf_counter()
        QTimer.singleShot(0, trigger)
        wait(20)
        deadline = time.monotonic() + 120
        while not done() and time.monotonic() < deadline:
            wait(10)
        filled = time.perf_counter() - started
        wait(100)
        views[name] = {"stall_ms": round(worst[0] * 1000, 1), "filled_ms": round(filled * 1000)}
    window.editor.discard()
timer.stop()
print(json.dumps({"shown": shown, "index_open": index_open, "typing": results,
                  "views": views}), flush=True)
window.close()  # as the app does when it quits
app.processEvents()
window.workspace.close()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--kb", type=Path, help="build/reuse the knowledge base here")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--no-views", action="store_true", help="skip opening the views")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the kbapp checkout to measure (another branch, to compare)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    env_dir = Path(tempfile.mkdtemp(prefix="kbapp-uibench-"))
    os.environ["KBAPP_CONFIG_DIR"] = str(env_dir / "config")
    os.environ["KBAPP_DATA_DIR"] = str(env_dir / "data")
    kb = args.kb or env_dir / "kb"
    if not (kb / ".git" / "kbapp" / "index").is_dir():
        if not args.corpus.is_dir():
            print(f"corpus {args.corpus} not found", file=sys.stderr)
            return 1
        build(kb, args.corpus)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"knowledge base: {kb}")
    runs = []
    for number in range(args.starts):
        views = "views" if number == 0 and not args.no_views else "-"
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.root), str(kb),
                               ",".join(QUERIES),
                               views], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
        runs.append(json.loads(line))
    shown = [r["shown"] * 1000 for r in runs]
    index_open = [r["index_open"] * 1000 for r in runs]
    print(f"window shown, cursor in the search field: median {statistics.median(shown):.0f} ms "
          f"(runs {', '.join(f'{v:.0f}' for v in shown)})")
    print(f"search index open (queries run): median {statistics.median(index_open):.0f} ms "
          f"(runs {', '.join(f'{v:.0f}' for v in index_open)})")
    stalls = [s for r in runs for q in r["typing"] for s in q["stalls_ms"]]
    print(f"UI-thread stall per keystroke over {len(stalls)} keystrokes: "
          f"median {statistics.median(stalls):.1f} ms, p95 "
          f"{sorted(stalls)[int(len(stalls) * 0.95) - 1]:.1f} ms, max {max(stalls):.1f} ms")
    answers = [q["answer_ms"] for r in runs for q in r["typing"]]
    if None in answers:
        print(f"  {answers.count(None)} typed queries got no answer within 5 s")
    answers = [a for a in answers if a is not None]
    if answers:
        print(f"last keystroke → its results on screen over {len(answers)} queries: median "
              f"{statistics.median(answers):.0f} ms, max {max(answers):.0f} ms")
    for query in runs[0]["typing"]:
        print(f"  {query['query']!r}: {query['total']} results; stalls {query['stalls_ms']} ms; "
              f"answer {query['answer_ms'] or 0:.0f} ms")
    if runs[0]["views"]:
        print("opening each view (all stay open): longest UI-thread stall, time until filled")
        for name, figures in runs[0]["views"].items():
            print(f"  {name}: stall {figures['stall_ms']:.0f} ms, filled after "
                  f"{figures['filled_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
