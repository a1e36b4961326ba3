"""Search under hostile input and crashes (the search work from issue 3, checked here):

- the query parser and ``SearchIndex.search`` never raise, whatever is typed (hypothesis);
- SIGKILL while the index commits: the next start has an index that finds every saved document;
- several knowledge bases searched at once, each hit naming its knowledge base.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_helpers import populate

from kbapp.search import SearchIndex, search_all
from kbapp.search.query import parse_query
from kbapp.settings import Settings
from kbapp.workspace import Workspace

EXAMPLES = int(os.environ.get("KBAPP_FUZZ_EXAMPLES", "150"))

_query_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(['"', "-", ":", "type:", "-tag:", "org:", "status:retired", "*", "?",
                              "(", ")", "AND", "OR", "NOT", "\\", "~", "^2", "[", "]", "{", "}",
                              "etcd", "payments", "fail", "0x80070005", "ORA-00600", " ", "\t",
                              "é", "\x00", "kb-00000001", "path:/", "*:*", "title:"]),
             max_size=12).map("".join),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(_query_text)
def test_query_parser_never_raises(text: str) -> None:
    parsed = parse_query(text)
    assert isinstance(parsed.words, list) and isinstance(parsed.filters, list)


@pytest.fixture
def index(search_index: SearchIndex) -> SearchIndex:
    return search_index


@settings(max_examples=max(30, EXAMPLES // 3), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(_query_text)
def test_search_never_raises_on_a_real_index(index: SearchIndex, text: str) -> None:
    response = index.search(text, limit=5)
    assert response.total >= len(response.hits)
    assert not response.indexing  # a bad query is not taken for a damaged index


INDEX_LOOP = textwrap.dedent(
    """
    import sys
    from kbapp.search import SearchIndex
    from kbapp.settings import Settings
    from kbapp.workspace import Workspace

    ws = Workspace.open(sys.argv[1], Settings(user_name="Kill", user_email="kill@internal.example"))
    index = SearchIndex.for_workspace(ws)
    index.catch_up()
    print("ready", flush=True)
    i = int(sys.argv[2])
    while True:
        path = f"runbooks/word-{i % 3}.md"
        doc = ws.load(path)
        doc.body = f"# Word\\n\\nmarker{i}x\\n"
        ws.save(doc)          # the save announces the change; the index commits it
        index.catch_up()
        print(f"indexed {path} {i}", flush=True)
        i += 1
    """
)


def test_sigkill_during_index_commits_leaves_an_index_that_finds_everything(
    kb: Workspace, settings: Settings
) -> None:
    (kb.root / "runbooks").mkdir()
    for n in range(3):
        (kb.root / f"runbooks/word-{n}.md").write_text(f"---\nid: kb-0000aaa{n}\ntitle: Word {n}\n"
                                                       f"type: runbook\n---\n# Word\n\nstart{n}x\n")
    subprocess.run(["git", "add", "-A"], cwd=kb.root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "words"], cwd=kb.root, check=True)
    kb.close()
    rng = random.Random(5)
    counter, kills = 0, 5
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", INDEX_LOOP, str(kb.root), str(counter)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.1, 0.8))
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        counter = max([int(line.split()[2]) for line in out.splitlines() if line.startswith("indexed")],
                      default=counter) + 2
        ws = Workspace.open(kb.root, settings)
        index = SearchIndex.for_workspace(ws)
        index.catch_up()
        for n in range(3):
            path = f"runbooks/word-{n}.md"
            marker = (ws.root / path).read_text().split("\n")[-2]  # what is on disk now
            assert [h.path for h in index.search(marker + " ").hits] == [path], (marker, path)
        ws.close()


def test_several_knowledge_bases_are_searched_at_once_and_each_hit_names_its_kb(
    tmp_path: Path, settings: Settings
) -> None:
    shared = Workspace.init(tmp_path / "shared", "Shared KB", ["internal", "partner"], settings=settings)
    internal = Workspace.init(tmp_path / "internal", "Internal KB", ["internal"],
                              sensitivity="internal", settings=settings)
    try:
        populate(shared)
        (internal.root / "runbooks").mkdir()
        (internal.root / "runbooks/failover-secret-site.md").write_text(
            "---\nid: kb-0000cafe\ntitle: Fail over to the secret site\ntype: runbook\n"
            "sensitivity: internal\n---\n# Failover\n\nOur own failover steps for payments.\n")
        subprocess.run(["git", "add", "-A"], cwd=internal.root, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "internal"], cwd=internal.root, check=True)
        indexes = [SearchIndex.for_workspace(ws) for ws in (shared, internal)]
        for index in indexes:
            index.catch_up()
        response = search_all(indexes, "failover payments")
        by_kb = {(hit.kb, hit.path) for hit in response.hits}
        assert ("Internal KB", "runbooks/failover-secret-site.md") in by_kb
        assert ("Shared KB", "sops/payments-failover.md") in by_kb
        assert {hit.kb for hit in response.hits} == {"Shared KB", "Internal KB"}
        assert response.total == sum(index.search("failover payments").total for index in indexes)
        assert [h.score for h in response.hits] == sorted((h.score for h in response.hits), reverse=True)
        odd = search_all(indexes, '"unclosed -: type:')  # never raises for what is typed
        assert odd.total >= len(odd.hits)
    finally:
        shared.close()
        internal.close()
