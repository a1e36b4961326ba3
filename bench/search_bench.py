#!/usr/bin/env python3
"""Search speed: build, update, cold open and query latency, against SQLite FTS5 on the same data.

    python bench/search_bench.py [--sizes 1000,10000,50000] [--corpus PATH] [--queries 200]
                                 [--cache DIR] [--kinds one,three,...] [--words common,rare]
                                 [--compare-unpruned] [--reuse-index] [--no-update]

For each size, generates a synthetic knowledge base of runbooks (front matter, sections,
shell commands, error codes, host names, a Zipf vocabulary, 300-1,500 words each; the same
seed gives the same corpus), or imports a real folder with --corpus. Then measures, in the
same run: full index build (in a fresh process: time, docs/s, peak RSS, size on disk);
update of 10 changed documents; cold open to first result (fresh process); query latency
p50/p95/p99 by kind, with snippets for the top 10; and the same queries on an FTS5 table
(bm25 + snippet()) with the ratio kbapp/FTS5 per kind. ``--words`` picks the query
generators (common words of the corpus, or rarer words: rank 200-3,000 and IT terms);
The queries are timed with the runner as shipped (its ``TOPK_PRUNING`` default);
``--compare-unpruned`` measures the same queries again with the other pruning setting.
Record the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("one_word", "three_words", "phrase", "prefix", "typo", "filter_word")

# --------------------------------------------------------------------------- corpus

IT_WORDS = [
    "server",
    "database",
    "replica",
    "failover",
    "backup",
    "restore",
    "disk",
    "memory",
    "cpu",
    "network",
    "latency",
    "timeout",
    "certificate",
    "expired",
    "renew",
    "dns",
    "resolver",
    "load",
    "balancer",
    "proxy",
    "cache",
    "queue",
    "message",
    "broker",
    "cluster",
    "node",
    "pod",
    "container",
    "deployment",
    "service",
    "ingress",
    "volume",
    "storage",
    "snapshot",
    "quota",
    "login",
    "password",
    "account",
    "locked",
    "permission",
    "denied",
    "access",
    "token",
    "session",
    "firewall",
    "port",
    "upgrade",
    "patch",
    "rollback",
    "release",
    "pipeline",
    "build",
    "deploy",
    "monitor",
    "alert",
    "threshold",
    "metric",
    "log",
    "error",
    "warning",
    "critical",
    "outage",
    "incident",
    "escalate",
    "ticket",
    "oncall",
    "customer",
    "payment",
    "invoice",
    "printer",
    "driver",
    "laptop",
    "vpn",
    "wifi",
    "email",
    "mailbox",
    "calendar",
    "license",
    "antivirus",
    "scan",
    "update",
    "kernel",
    "process",
    "thread",
    "socket",
    "connection",
    "refused",
    "reset",
    "handshake",
    "tls",
    "ssl",
    "cipher",
    "key",
    "rotate",
    "secret",
    "vault",
    "config",
    "file",
    "path",
    "directory",
    "mount",
    "filesystem",
    "inode",
    "full",
    "cleanup",
    "rotate",
    "journal",
    "syslog",
    "restart",
    "stop",
    "start",
    "enable",
    "disable",
    "status",
    "check",
    "verify",
    "health",
    "probe",
    "readiness",
    "liveness",
    "replication",
    "lag",
    "primary",
    "secondary",
    "standby",
    "promote",
    "demote",
    "consistency",
    "transaction",
    "lock",
    "deadlock",
    "query",
    "slow",
    "index",
    "vacuum",
    "analyze",
    "table",
    "schema",
    "migration",
    "user",
    "group",
    "role",
    "policy",
]
SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "tel",
    "van",
    "sor",
    "dex",
    "lum",
    "pra",
    "qui",
    "zen",
    "bal",
    "cor",
    "fit",
    "gan",
    "hol",
    "jup",
    "kev",
    "lor",
    "mun",
    "nap",
    "ost",
    "pex",
    "rud",
    "sim",
    "tov",
    "ulm",
    "vex",
    "wor",
    "yan",
    "zol",
    "bri",
    "cle",
    "dro",
    "fla",
    "gri",
]
SYSTEMS = [
    f"{a}-{b}"
    for a in ("payments", "billing", "crm", "erp", "hr", "web", "auth", "mail", "files", "print")
    for b in ("db", "api", "app", "web", "queue")
]
TAGS = [
    "failover",
    "postgres",
    "oracle",
    "windows",
    "linux",
    "network",
    "security",
    "backup",
    "kubernetes",
    "vmware",
    "storage",
    "monitoring",
    "identity",
    "email",
    "printing",
]
TYPES = ["sop", "runbook", "troubleshooting", "known-error", "post-incident"]
ORGS = ["internal", "partner"]
STATUSES = ["published"] * 8 + ["draft", "in-review", "retired"]
HEADINGS = {
    "sop": ["Purpose", "Scope", "Prerequisites", "Steps", "Verification", "Rollback"],
    "runbook": ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"],
    "troubleshooting": ["Symptoms", "Cause", "Resolution", "More information"],
    "known-error": ["Symptoms", "Workaround", "Permanent fix", "Affected versions"],
    "post-incident": ["Summary", "Timeline", "Root cause", "Lessons learned"],
}


class Vocabulary:
    def __init__(self, rng: random.Random, size: int = 20000, s: float = 1.07) -> None:
        words = list(IT_WORDS)
        seen = set(words)
        while len(words) < size:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
            if word not in seen:
                seen.add(word)
                words.append(word)
        # IT words spread over the head of the distribution, invented words fill the tail
        rng.shuffle(words)
        self.words = words
        weights = [1 / (rank**s) for rank in range(1, size + 1)]
        self.cum = list(itertools.accumulate(weights))

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


def error_code(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: f"ORA-{rng.randint(0, 99999):05d}",
            lambda: f"0x8007{rng.randint(0, 0xFFFF):04X}",
            lambda: f"HTTP {rng.choice((500, 502, 503, 504, 401, 403, 404))}",
            lambda: f"CVE-20{rng.randint(15, 25)}-{rng.randint(1000, 49999)}",
            lambda: f"E{rng.randint(1000, 9999)}",
        ]
    )()


def host(rng: random.Random) -> str:
    return (
        f"{rng.choice(('db', 'web', 'app', 'mq', 'dc', 'fs'))}{rng.randint(1, 40):02d}."
        f"{rng.choice(('prod', 'stage', 'dr'))}.example.com"
    )


def alert_name(rng: random.Random, vocab: Vocabulary) -> str:
    words = vocab.sample(rng, 3)
    return words[0] + "".join(w.capitalize() for w in words[1:])


def command(rng: random.Random, vocab: Vocabulary) -> str:
    word = vocab.sample(rng, 1)[0]
    return rng.choice(
        [
            f"systemctl restart {word}.service",
            f"journalctl -u {word} --since -1h | grep -i {rng.choice(('error', 'fail', 'timeout'))}",
            f"kubectl -n {word} get pods -o wide",
            f"grep -R {word} /var/log/{word}/",
            f"psql -h {host(rng)} -c 'select * from pg_stat_replication'",
            f"Get-EventLog -LogName System -Source {word.capitalize()} -Newest 50",
        ]
    )


def make_document(rng: random.Random, vocab: Vocabulary, number: int) -> tuple[str, dict]:
    doc_type = rng.choice(TYPES)
    title_words = vocab.sample(rng, rng.randint(3, 6))
    if rng.random() < 0.3:
        title_words.insert(0, alert_name(rng, vocab))
    title = " ".join(title_words).capitalize()
    length = rng.randint(300, 1500)
    sections = HEADINGS[doc_type]
    body: list[str] = [f"# {title}", ""]
    words_left = length
    for heading in sections:
        body += [f"## {heading}", ""]
        share = max(30, length // len(sections))
        while share > 0 and words_left > 0:
            n = min(share, rng.randint(20, 80))
            words = vocab.sample(rng, n)
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), error_code(rng))
            if rng.random() < 0.2:
                words.insert(rng.randrange(len(words)), host(rng))
            body.append(" ".join(words).capitalize() + ".")
            body.append("")
            share -= n
            words_left -= n
            if rng.random() < 0.25:
                body += ["```shell", command(rng, vocab), command(rng, vocab), "```", ""]
    meta = {
        "id": f"kb-{number:08x}",
        "title": title,
        "type": doc_type,
        "status": rng.choice(STATUSES),
        "owner_org": rng.choice(ORGS),
        "systems": rng.sample(SYSTEMS, rng.randint(0, 2)),
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "last_reviewed": f"202{rng.randint(3, 6)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }
    lines = [
        "---",
        f"id: {meta['id']}",
        f"title: {title}",
        f"type: {doc_type}",
        f"status: {meta['status']}",
        f"owner_org: {meta['owner_org']}",
    ]
    for key in ("systems", "tags"):
        if meta[key]:
            lines.append(f"{key}:")
            lines += [f"  - {v}" for v in meta[key]]
    lines += ["review:", f"  last_reviewed: {meta['last_reviewed']}", "---", ""]
    text = "\n".join(lines) + "\n".join(body) + "\n"
    meta["body"] = "\n".join(body)
    return text, meta


def generate(kb_root: Path, size: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    vocab = Vocabulary(rng)
    docs = []
    for number in range(size):
        text, meta = make_document(rng, vocab, number + 1)
        folder = f"{meta['type']}s/{number % 50:02d}"
        path = f"{folder}/doc-{number:06d}.md"
        full = kb_root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text, encoding="utf-8")
        meta["path"] = path
        docs.append(meta)
    return docs


def load_docs(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    """Title, body and type of every document (for queries and the FTS5 table)."""
    from kbapp.documents import model as documents

    out = []
    for entry in ws.catalog.all():
        if not entry.usable:
            continue
        doc = documents.load(ws.root / entry.path, entry.path)
        out.append(
            {
                "path": entry.path,
                "title": doc.title,
                "body": doc.body,
                "type": doc.type,
                "status": doc.status,
            }
        )
    return out


# --------------------------------------------------------------------------- queries


def make_queries(
    docs: list[dict], n: int, seed: int, words: str = "common"
) -> dict[str, list[tuple[str, str]]]:
    """(kbapp query, FTS5 MATCH expression or '') per kind, drawn from the documents' text.

    ``words="common"``: any word of a document (mostly the commonest words of the corpus,
    thousands of hits each); ``"rare"``: only words of document-frequency rank 200-3,000 and
    the IT terms (hundreds of hits each), the words people search for."""
    from kbapp.search.analysis import STOP_WORDS, WORD_RE

    rng = random.Random(seed + 1)
    live = [d for d in docs if d["status"] != "retired"]

    def words_of(text: str) -> list[str]:
        text = re.sub(r"^```.*$", "", text, flags=re.MULTILINE)  # fence lines are not content
        return [
            w
            for w in (m.group() for m in WORD_RE.finditer(text))
            if w.isalpha() and len(w) > 3 and w.lower() not in STOP_WORDS
        ]

    wanted: set[str] | None = None
    if words == "rare":
        frequency: dict[str, int] = {}
        for d in docs:
            for w in {w.lower() for w in words_of(d["title"] + " " + d["body"])}:
                frequency[w] = frequency.get(w, 0) + 1
        ranked = sorted(frequency, key=lambda w: (-frequency[w], w))
        wanted = set(ranked[199:3000]) | ({w for w in IT_WORDS if len(w) > 3} & set(frequency))

    def usable(w: str) -> bool:
        return wanted is None or w.lower() in wanted

    def pick_words(k: int) -> list[str]:
        while True:
            doc = rng.choice(live)
            found = [w for w in words_of(doc["title"] + " " + doc["body"][:3000]) if usable(w)]
            if len(found) >= k:
                return rng.sample(found, k)

    out: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}
    for _ in range(n):
        word = pick_words(1)[0].lower()
        out["one_word"].append((word + " ", f'"{word}"'))
        three = [w.lower() for w in pick_words(3)]
        out["three_words"].append((" ".join(three) + " ", " ".join(f'"{w}"' for w in three)))
        while True:
            doc = rng.choice(live)
            body_words = [
                m.group()
                for m in WORD_RE.finditer(
                    re.sub(r"^```.*$", "", doc["body"][:3000], flags=re.MULTILINE)
                )
            ]
            pairs = [
                (a, b)
                for a, b in itertools.pairwise(body_words)
                if a.isalpha()
                and b.isalpha()
                and len(a) > 3
                and len(b) > 3
                and a.lower() not in STOP_WORDS
                and b.lower() not in STOP_WORDS
                and (usable(a) or usable(b))
            ]
            if pairs:
                a, b = rng.choice(pairs)
                out["phrase"].append((f'"{a.lower()} {b.lower()}"', f'"{a.lower()} {b.lower()}"'))
                break
        while True:
            title_words = [
                w for w in words_of(rng.choice(live)["title"]) if len(w) >= 4 and usable(w)
            ]
            if title_words:
                prefix = rng.choice(title_words).lower()[: rng.choice((3, 4))]
                out["prefix"].append((prefix, f'"{prefix}"*'))
                break
        typo_source = [w for w in pick_words(3) if len(w) >= 6]
        while not typo_source:
            typo_source = [w for w in pick_words(3) if len(w) >= 6]
        out["typo"].append((typo(rng, typo_source[0].lower()) + " ", ""))
        doc_type = rng.choice(TYPES)
        word = pick_words(1)[0].lower()
        out["filter_word"].append((f"type:{doc_type} {word} ", f'"{word}"\t{doc_type}'))
    return out


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "replace"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeiourstln".replace(word[i], "")) + word[i + 1 :]


# --------------------------------------------------------------------------- measuring


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {"p50": at(50), "p95": at(95), "p99": at(99), "mean": statistics.fmean(ordered)}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_child(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_build(kb: str, reuse: bool = False) -> None:
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ws = Workspace.open(kb, Settings(user_name="Bench", user_email="bench@internal.example"))
    ws.refresh()
    index = SearchIndex.for_workspace(ws)
    started = time.perf_counter()
    count = index.catch_up() if reuse else index.rebuild()
    elapsed = time.perf_counter() - started
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ws.close()
    print(
        json.dumps(
            {
                "count": count,
                "seconds": elapsed,
                "rss_mb": self_rss / 1024,
                "worker_rss_mb": child_rss / 1024,
            }
        )
    )


def child_open(kb: str, query: str) -> None:
    t0 = time.perf_counter()
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    t1 = time.perf_counter()
    ws = Workspace.open(kb, Settings(user_name="Bench", user_email="bench@internal.example"))
    index = SearchIndex.for_workspace(ws)
    response = index.search(query, 10, snippets=10)
    t2 = time.perf_counter()
    print(
        json.dumps({"import_s": t1 - t0, "open_to_result_s": t2 - t1, "hits": len(response.hits)})
    )


class Fts5:
    def __init__(self, path: Path, docs: list[dict]) -> None:
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        started = time.perf_counter()
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, path UNINDEXED, "
            "type UNINDEXED, tokenize='porter unicode61')"
        )
        self.db.executemany(
            "INSERT INTO docs(title, body, path, type) VALUES (?,?,?,?)",
            [(d["title"], d["body"], d["path"], d["type"]) for d in docs],
        )
        self.db.commit()
        self.build_seconds = time.perf_counter() - started
        self.size = path.stat().st_size

    def search(self, match: str) -> list:
        sql = (
            "SELECT path, title, snippet(docs, 1, '<b>', '</b>', '…', 24) FROM docs "
            "WHERE docs MATCH ? {extra} ORDER BY bm25(docs, 5.0, 1.0) LIMIT 10"
        )
        if "\t" in match:
            expression, doc_type = match.split("\t")
            return self.db.execute(
                sql.format(extra="AND type = ?"), (expression, doc_type)
            ).fetchall()
        return self.db.execute(sql.format(extra=""), (match,)).fetchall()


def _pruning_home() -> ModuleType:
    """The module that holds TOPK_PRUNING (the searcher's, before the ranking had one)."""
    try:
        from kbapp.search import ranking
    except ImportError:
        from kbapp.search import searcher as ranking
    return ranking


def measure_latency(
    kb: Path,
    queries: dict[str, list[tuple[str, str]]],
    kinds: list[str],
    pruning: bool | None = None,
) -> dict[str, dict]:
    """p50/p95/p99 per kind of a freshly opened index (its caches empty), after a warm-up of
    20 one-word queries; ``pruning``: the runner's top-k pruning on or off (None: as
    shipped)."""
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ranking_module = _pruning_home()

    shipped = getattr(ranking_module, "TOPK_PRUNING", None)
    if pruning is not None and shipped is not None:
        ranking_module.TOPK_PRUNING = pruning
    elif pruning is not None:
        raise SystemExit("this kbapp has no top-k pruning to turn on or off")
    ws = Workspace.open(kb, Settings(user_name="Bench", user_email="bench@internal.example"))
    index = SearchIndex.for_workspace(ws)
    for text, _ in queries["one_word"][:20]:  # warm up (first-touch of files, caches)
        index.search(text, 10, snippets=10)
    latency: dict[str, dict] = {}
    for kind in kinds:
        times = []
        empty = 0
        for text, _ in queries[kind]:
            started = time.perf_counter()
            response = index.search(text, 10, snippets=10)
            times.append((time.perf_counter() - started) * 1000)
            empty += not response.hits
        latency[kind] = {**percentiles(times), "empty": empty}
    ws.close()
    if shipped is not None:
        ranking_module.TOPK_PRUNING = shipped
    return latency


def bench_corpus(
    label: str,
    kb: Path,
    n_queries: int,
    seed: int,
    kinds: list[str],
    reuse_index: bool = False,
    generators: tuple[str, ...] = ("common",),
    compare: bool = False,
    update: bool = True,
) -> dict:
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    result: dict = {"label": label, "load_average": os.getloadavg()}
    ws = Workspace.open(kb, settings)
    started = time.perf_counter()
    ws.refresh()
    result["catalog_refresh_s"] = time.perf_counter() - started
    docs = load_docs(ws)
    result["docs"] = len(docs)
    result["words"] = sum(len(d["body"].split()) for d in docs)
    ws.close()

    print(
        f"[{label}] {len(docs)} documents, {result['words'] / max(1, len(docs)):.0f} words "
        f"on average; {'catching up' if reuse_index else 'building'} the index in a fresh "
        f"process... (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    build = run_child(["--child-build", str(kb)] + (["--reuse"] if reuse_index else []))
    result["build"] = build
    result["index_mb"] = dir_size(kb / ".git" / "kbapp" / "index") / 1e6
    if not reuse_index:
        print(
            f"  build: {build['seconds']:.1f} s ({build['count'] / build['seconds']:.0f} docs/s), "
            f"peak RSS {build['rss_mb']:.0f} MB (+ workers {build['worker_rss_mb']:.0f} MB), "
            f"{result['index_mb']:.0f} MB on disk",
            flush=True,
        )

    fts = Fts5(kb.parent / f"fts5-{label}.sqlite", docs)
    result["fts5_build_s"] = fts.build_seconds
    result["fts5_mb"] = fts.size / 1e6
    ranking_module = _pruning_home()

    shipped_pruning = bool(getattr(ranking_module, "TOPK_PRUNING", False))
    result["topk_pruning"] = shipped_pruning
    for generator in generators:
        queries = make_queries(docs, n_queries, seed, generator)
        if generator == generators[0]:
            opens = [
                run_child(["--child-open", str(kb), queries["one_word"][i][0]]) for i in range(3)
            ]
            result["cold_open"] = {
                "open_to_result_s": statistics.median(o["open_to_result_s"] for o in opens),
                "import_s": statistics.median(o["import_s"] for o in opens),
            }
            print(
                f"  cold open to first result: "
                f"{result['cold_open']['open_to_result_s'] * 1000:.0f} ms "
                f"(+ {result['cold_open']['import_s'] * 1000:.0f} ms of imports)",
                flush=True,
            )
        loads = [os.getloadavg()[0]]
        exhaustive: dict[str, dict] = {}
        if compare:
            # every query once first (not measured), so that neither mode reads the index
            # files from disk for the other; then the other setting, then as shipped (each on a freshly
            # opened index: the runner's caches empty)
            measure_latency(kb, queries, kinds)
            exhaustive = measure_latency(kb, queries, kinds, pruning=not shipped_pruning)
            loads.append(os.getloadavg()[0])
        latency = measure_latency(kb, queries, kinds)
        loads.append(os.getloadavg()[0])
        fts_latency: dict[str, dict] = {}
        for kind in kinds:
            if kind == "typo":
                continue  # FTS5 has no typo tolerance: nothing to compare
            times, empty = [], 0
            for _, match in queries[kind]:
                started = time.perf_counter()
                rows = fts.search(match)
                times.append((time.perf_counter() - started) * 1000)
                empty += not rows
            fts_latency[kind] = {**percentiles(times), "empty": empty}
        loads.append(os.getloadavg()[0])
        result[generator] = {
            "latency": latency,
            "exhaustive_latency": exhaustive,  # (the other pruning setting's)
            "fts5_latency": fts_latency,
            "load_average_1min": loads,
        }
        print(
            f"  {generator} words (load average {min(loads):.1f}-{max(loads):.1f}); ms, "
            f"empty results kbapp/FTS5"
        )
        head = f"  {'kind':<12} {'p50':>6} {'p95':>6} {'p99':>6}"
        if compare:
            setting = "on" if not shipped_pruning else "off"
            head += f" | pruning {setting:<3} {'p50':>6} {'p95':>6} p95 shipped/other"
        print(head + f" | FTS5 {'p50':>6} {'p95':>6} {'p99':>6} | p95 ratio")
        for kind in kinds:
            ours = latency[kind]
            line = f"  {kind:<12} {ours['p50']:6.1f} {ours['p95']:6.1f} {ours['p99']:6.1f}"
            if compare:
                other = exhaustive[kind]
                line += (
                    f" |          {other['p50']:6.1f} {other['p95']:6.1f} "
                    f"{ours['p95'] / other['p95']:5.2f}x            "
                )
            theirs = fts_latency.get(kind)
            if theirs:
                ratio = ours["p95"] / theirs["p95"] if theirs["p95"] else float("inf")
                line += (
                    f" |      {theirs['p50']:6.1f} {theirs['p95']:6.1f} {theirs['p99']:6.1f} | "
                    f"{ratio:5.2f}x ({ours['empty']}/{theirs['empty']})"
                )
            else:
                line += f" |      {'-':>6} {'-':>6} {'-':>6} |   n/a  ({ours['empty']}/-)"
            print(line, flush=True)
    print(f"  FTS5 build {fts.build_seconds:.1f} s, {fts.size / 1e6:.0f} MB", flush=True)
    if not update:
        return result

    # update of 10 changed documents (the file writes are not timed; the catalog is not
    # involved: this is the index's own cost, as on a save)
    ws = Workspace.open(kb, settings)
    index = SearchIndex.for_workspace(ws)
    rng = random.Random(seed + 2)
    all_paths = [d["path"] for d in docs]
    updates, first_after = [], []
    for round_number in range(5):
        chosen = rng.sample(all_paths, 10)
        for relative in chosen:
            with open(kb / relative, "a", encoding="utf-8") as handle:
                handle.write(f"\nAppended note {round_number} zebrafish{round_number}.\n")
        started = time.perf_counter()
        index.update(chosen)
        updates.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.search(f"zebrafish{round_number} ", 10, snippets=10)
        first_after.append(time.perf_counter() - started)
    result["update10_ms"] = statistics.median(updates) * 1000
    result["first_query_after_update_ms"] = statistics.median(first_after) * 1000
    ws.close()
    print(
        f"  update of 10 documents: {result['update10_ms']:.0f} ms median of 5 "
        f"(first query after it: {result['first_query_after_update_ms']:.0f} ms)",
        flush=True,
    )
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-build":
        child_build(sys.argv[2], "--reuse" in sys.argv)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-open":
        child_open(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="synthetic corpus sizes")
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="a real folder of Markdown to import and measure (repeatable)",
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "kbapp-search-bench",
        help="where generated knowledge bases are kept between runs",
    )
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--words",
        default="common",
        help="query generators, comma-separated: common (any word of a document), "
        "rare (words of document-frequency rank 200-3,000 and IT terms)",
    )
    parser.add_argument(
        "--compare-unpruned",
        action="store_true",
        help="also measure with the other top-k pruning setting (same queries, same run)",
    )
    parser.add_argument("--no-update", action="store_true", help="skip the update of 10 documents")
    parser.add_argument("--json", type=Path, help="also write all figures to this file")
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="keep an existing index (catch up) instead of timing a full build",
    )
    args = parser.parse_args()
    os.environ.setdefault("KBAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="kbapp-bench-cfg-"))
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
        flush=True,
    )
    settings = Settings(user_name="Bench", user_email="bench@internal.example")
    kinds = [k for k in args.kinds.split(",") if k]
    common = {
        "reuse_index": args.reuse_index,
        "generators": tuple(w for w in args.words.split(",") if w),
        "compare": args.compare_unpruned,
        "update": not args.no_update,
    }
    results = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        kb = args.cache / f"synthetic-{size}-{args.seed}" / "kb"
        complete = kb.parent / "generated"  # written last: an interrupted run starts again
        if not complete.exists():
            shutil.rmtree(kb.parent, ignore_errors=True)
            Workspace.init(kb, f"Synthetic {size}", ORGS, settings=settings).close()
            started = time.perf_counter()
            generate(kb, size, args.seed)
            complete.write_text(f"{size}\n")
            print(
                f"generated {size} documents in {time.perf_counter() - started:.1f} s", flush=True
            )
        results.append(
            bench_corpus(f"synthetic-{size}", kb, args.queries, args.seed, kinds, **common)
        )
    for corpus in args.corpus:
        kb = args.cache / f"corpus-{corpus.name}" / "kb"
        if not (kb / ".kb" / "config.toml").exists():
            from kbapp.documents.importer import import_folder

            shutil.rmtree(kb.parent, ignore_errors=True)
            ws = Workspace.init(kb, corpus.name, ORGS, settings=settings)
            import_folder(ws, corpus)
            ws.close()
        results.append(bench_corpus(corpus.name, kb, args.queries, args.seed, kinds, **common))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
