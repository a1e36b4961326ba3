"""The optional meaning re-ranker (kbapp/search/semantic.py, ``kbapp[semantic]``): which
queries it touches, that it re-orders by meaning with the real model, that its vectors follow
the index (built on catch-up, refreshed after a save, reused by content after a rebuild), and
that a search without it never imports it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_doc

from kbapp.search import SearchIndex
from kbapp.search.semantic import DocumentVectors, looks_like_sentence, rerank
from kbapp.workspace import Workspace


@pytest.mark.parametrize(
    "query",
    [
        "network drives disappear when I open cmd as administrator",
        "printer jobs are stuck forever in the queue",
        "can't remote desktop into my windows vm in azure anymore",
    ],
)
def test_sentences_are_re_ranked(query: str) -> None:
    assert looks_like_sentence(query)


@pytest.mark.parametrize(
    "query",
    [
        "etcd no leader",  # keywords
        "SQL Server error 1069",  # an error code
        "0x80090016 log analytics agent",
        "Get-ADGroupMember returns nothing at all",  # a cmdlet
        "kbapp search type:sop disk full now",  # a filter
        '"no space left" on the device',  # a phrase
        "logs fill /var/log on every node",  # a path
        "etcdNoLeader fires after the upgrade",  # an alert name
    ],
)
def test_keywords_codes_and_identifiers_are_not(query: str) -> None:
    assert not looks_like_sentence(query)


def test_the_blend_moves_the_closer_meaning_up_and_keeps_ties_in_order() -> None:
    ranked = [(1, 10.0), (2, 9.0), (3, 9.0)]
    moved = rerank(ranked, ["a", "b", "c"], [0.2, 0.5, 0.5])
    assert [d for d, _ in moved] == [2, 3, 1]
    # no vectors: the lexical order
    assert rerank(ranked, ["a", "b", "c"], [None, None, None]) == ranked


# ---------------------------------------------------------------------- with the model

OFF_TOPIC = (
    "Printer jobs stuck in the queue forever. The cafeteria serves lunch at noon on weekdays."
)
ON_TOPIC = (
    "Printer jobs stuck in the queue forever. The print spooler service holds the documents "
    "and must be restarted."
)
QUERY = "printer jobs are stuck forever in the queue"


def _doc(title: str, body: str) -> str:
    return f"---\ntitle: {title}\ntype: sop\n---\n\n{body}\n"


@pytest.fixture
def meaning_kb(kb: Workspace) -> Workspace:
    pytest.importorskip("wordllama", reason="the semantic extra is not installed")
    write_doc(kb, "sops/a-queue.md", _doc("Queue stuck", OFF_TOPIC))
    write_doc(kb, "sops/b-queue.md", _doc("Queue stuck", ON_TOPIC))
    write_doc(kb, "sops/vpn.md", _doc("VPN drops", "The VPN tunnel drops every hour on laptops."))
    return kb


def _paths(index: SearchIndex, query: str, semantic: bool) -> list[str]:
    index.ws.settings.semantic_search = semantic
    return [hit.path for hit in index.search(query, 10, snippets=0).hits]


def _vectors(kb: Workspace) -> dict[str, object]:
    found: dict[str, object] = json.loads(
        (kb.data_dir / "semantic" / "documents.json").read_text(encoding="utf-8")
    )
    return found


def test_a_sentence_is_re_ordered_by_meaning(meaning_kb: Workspace) -> None:
    meaning_kb.settings.semantic_search = True
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()  # builds the vectors beside the index
    assert sorted(_vectors(meaning_kb)["paths"]) == [  # type: ignore[call-overload]
        "sops/a-queue.md",
        "sops/b-queue.md",
        "sops/vpn.md",
    ]
    # words alone: the shorter text first; meaning: the one about the print spooler
    assert _paths(index, QUERY, semantic=False)[:2] == ["sops/a-queue.md", "sops/b-queue.md"]
    assert _paths(index, QUERY, semantic=True)[:2] == ["sops/b-queue.md", "sops/a-queue.md"]
    # keywords and a pasted message (held word for word) keep the lexical order
    for query in ("queue stuck", "Printer jobs stuck in the queue forever"):
        assert _paths(index, query, semantic=True) == _paths(index, query, semantic=False)


def test_vectors_follow_saves_and_rebuilds(meaning_kb: Workspace) -> None:
    meaning_kb.settings.semantic_search = True
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()
    keys = dict(zip(_vectors(meaning_kb)["paths"], _vectors(meaning_kb)["keys"]))  # type: ignore[call-overload]
    # a save re-indexes the document; its vector is refreshed (the model is loaded by now)
    write_doc(
        meaning_kb, "sops/vpn.md", _doc("VPN drops", "The tunnel drops when the laptop sleeps.")
    )
    index.update(["sops/vpn.md"])
    after = dict(zip(_vectors(meaning_kb)["paths"], _vectors(meaning_kb)["keys"]))  # type: ignore[call-overload]
    assert after["sops/vpn.md"] != keys["sops/vpn.md"]
    assert after["sops/a-queue.md"] == keys["sops/a-queue.md"]
    # a removed document loses its vector
    (meaning_kb.root / "sops" / "vpn.md").unlink()
    index.update(["sops/vpn.md"])
    assert "sops/vpn.md" not in _vectors(meaning_kb)["paths"]  # type: ignore[operator]
    # a rebuild embeds nothing whose text did not change
    from kbapp.search import semantic

    ranker = index._semantic_ranker()
    assert ranker is not None
    with index._ix.reader() as reader:
        assert ranker.build(reader, everything=True) == 0
    assert semantic.Model.is_loaded()


def test_a_save_in_a_process_without_the_model_marks_the_vector_stale(
    meaning_kb: Workspace, settings: object
) -> None:
    meaning_kb.settings.semantic_search = True
    SearchIndex.for_workspace(meaning_kb).catch_up()
    root = meaning_kb.root
    meaning_kb.close()
    write_doc(
        Workspace(root, meaning_kb.settings),
        "sops/vpn.md",
        _doc("VPN drops", "The tunnel drops when the laptop sleeps."),
    )
    # another process (no model loaded) re-indexes the change: the vector is marked stale
    script = (
        "import sys\n"
        "from kbapp.search import SearchIndex\n"
        "from kbapp.settings import Settings\n"
        "from kbapp.workspace import Workspace\n"
        "ws = Workspace.open(sys.argv[1], Settings(user_name='A', user_email='a@internal.example',"
        " semantic_search=True))\n"
        "index = SearchIndex.for_workspace(ws)\n"
        "index.update(['sops/vpn.md'])\n"
        "print('LOADED', 'wordllama' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED False"
    assert _vectors(Workspace(root, meaning_kb.settings))["stale"] == ["sops/vpn.md"]


def test_a_search_without_the_setting_never_imports_the_model(meaning_kb: Workspace) -> None:
    SearchIndex.for_workspace(meaning_kb).catch_up()
    root: Path = meaning_kb.root
    meaning_kb.close()
    script = (
        "import sys\n"
        "from kbapp.cli import main\n"
        "main(['--kb', sys.argv[1], 'search', sys.argv[2]])\n"
        "print('LOADED', [m for m in ('wordllama', 'numpy', 'kbapp.search.semantic')"
        " if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root), QUERY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "sops/a-queue.md" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_vectors_written_by_another_process_are_read_again(tmp_path: Path) -> None:
    pytest.importorskip("wordllama", reason="the semantic extra is not installed")
    window = DocumentVectors(tmp_path / "semantic")
    assert not window.ready()
    terminal = DocumentVectors(tmp_path / "semantic")  # `kbapp index` beside the window
    assert terminal.replace({"a.md": "disk full", "b.md": "vpn drops"}, complete=True) == 2
    assert window.count() == 2
    terminal.mark_stale(["a.md"])
    assert window.stale() == {"a.md"}
    (tmp_path / "semantic" / "vectors.npy").unlink()  # half gone: no vectors, no error
    (tmp_path / "semantic" / "documents.json").write_text("{}", encoding="utf-8")
    assert not window.ready()
