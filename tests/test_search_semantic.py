"""The meaning re-ranker (kbapp/search/semantic.py, on by default): which queries it touches,
that its tokenizer and vectors are WordLlama's own (compared with ``tokenizers`` and with
``WordLlama.embed`` on real texts), that it re-orders by meaning with the real model, that its
vectors follow the index (built on catch-up, refreshed after a save, reused by content after a
rebuild), and what a search process loads for it (neither WordLlama nor NumPy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CORPORA, REPO_ROOT, write_doc

from kbapp.search import SearchIndex, embedding, semantic
from kbapp.search.semantic import DocumentVectors, looks_like_sentence, rerank
from kbapp.settings import Settings
from kbapp.workspace import Workspace


@pytest.mark.parametrize(
    "query",
    [
        "network drives disappear when I open cmd as administrator",
        "printer jobs are stuck forever in the queue",
        "can't remote desktop into my windows vm in azure anymore",
        # versions and product names are prose too
        "my forms change size when I debug in visual studio 2012",
        "bitlocker prompt never shows up on win7 clients",
        "office 365 users (sp1) cannot sign in anymore",
        "64-bit outlook crashes after the windows 8.1 upgrade",
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
        "azure vm stuck on a blue screen 0x5A at every boot",  # a stop code
        "event 4625 keeps showing up in the log",  # an event id
        "iis returns 403 on every page",  # a status code
        "installing kb5003638 fails on the server",  # a KB number
        "resizing to F72s_v2 fails in azure",  # a size's name
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


# ---------------------------------------------------------------------- the model itself

needs_model = pytest.mark.skipif(
    not semantic.installed(), reason="wordllama (a dependency of kbapp) is not installed"
)

#: Texts a tokenizer gets wrong first: spaces in runs and at the ends, the special tokens,
#: characters outside the vocabulary (byte fallback), a literal byte token, the marker itself.
EDGES = [
    "network drives disappear when I open cmd as administrator",
    "a  b   c",
    "  two leading spaces",
    "two trailing spaces  ",
    "x<s>y </s> z<unk><unk>",
    "",
    " ",
    "h\u00e9llo w\u00f6rld \u65e5\u672c\u8a9e \U0001f600 tab\there\nnew\r\nline",
    "<0x0A> written out",
    "\u2581already marked \u2581\u2581",
    "aaaaaaaa bbbbbbbbbbbb",
    "Get-ADUser -Filter * | Export-Csv C:\\temp\\users.csv",
]


def real_texts(count: int) -> list[str]:
    """Real prose: kbapp's own documentation in pieces of 1,000 characters, and, where the
    shared corpora are at hand, SupportArticles as the index embeds them (title, then the
    start of the text)."""
    texts = []
    for doc in sorted((REPO_ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        texts += [text[at : at + 1000] for at in range(0, len(text), 1000)]
    support = CORPORA / "gautamanand-dot__SupportArticles-docs"
    if support.is_dir():
        files = sorted(support.rglob("*.md"))
        for path in files[:: max(1, len(files) // 300)]:
            text = path.read_text(encoding="utf-8", errors="replace")
            texts.append(semantic.document_text(path.stem.replace("-", " "), text))
    return texts[:count]


@needs_model
def test_the_tokenizer_gives_the_ids_of_tokenizers_itself() -> None:
    from tokenizers import Tokenizer  # WordLlama's dependency: the reference

    files = embedding.package_dir()
    assert files is not None
    reference = Tokenizer.from_file(str(files / embedding.TOKENIZER_FILE))
    ours = embedding.Tokenizer.from_file(files / embedding.TOKENIZER_FILE)
    texts = EDGES + real_texts(400)
    expected = [e.ids for e in reference.encode_batch(texts, add_special_tokens=False)]
    assert [ours.ids(t) for t in texts] == expected  # one text at a time (a query)
    cache: dict[str, list[int]] = {}
    assert [ours.ids(t, cache) for t in texts] == expected  # a batch, chunks cached


@needs_model
def test_the_vectors_are_wordllamas_own(tmp_path: Path) -> None:
    texts = EDGES[:4] + EDGES[5:] + real_texts(300)
    texts = [t for t in texts if t.strip()]  # WordLlama gives NaN for a text without tokens
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    script = (
        "import json, sys, pathlib, wordllama\n"
        "folder = pathlib.Path(sys.argv[1])\n"
        "model = wordllama.WordLlama.load(\n"
        "    cache_dir=pathlib.Path(wordllama.__file__).parent, disable_download=True)\n"
        "texts = json.loads((folder / 'texts.json').read_text(encoding='utf-8'))\n"
        "(folder / 'vectors.json').write_text(json.dumps(\n"
        "    model.embed(texts, norm=True).tolist()), encoding='utf-8')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    expected = json.loads((tmp_path / "vectors.json").read_text(encoding="utf-8"))
    model = embedding.Model.get()
    # one text at a time, in plain Python (a query): the same to float32's precision
    for text, want in zip(texts[:40], expected):
        got = model.vector(text)
        assert max(abs(a - b) for a, b in zip(got, want)) < 1e-6, text[:60]
    # many at once, with NumPy (a rebuild): the same float16 rows as WordLlama's, rounded
    import numpy as np

    rows = np.frombuffer(model.vectors(texts), dtype="<f2").reshape(len(texts), model.dim)
    assert len(texts) > embedding.BULK
    assert np.array_equal(rows, np.array(expected, dtype=np.float32).astype("<f2"))
    # and a few at once, in plain Python: the same rows give or take float16's last digit
    few = np.frombuffer(model.vectors(texts[:5]), dtype="<f2").astype(np.float32)
    assert np.abs(few - rows[:5].reshape(-1).astype(np.float32)).max() < 1e-3


@needs_model
def test_the_tokenizer_is_kept_beside_the_vectors_and_refuses_another_file(
    tmp_path: Path,
) -> None:
    files = embedding.package_dir()
    assert files is not None
    source = files / embedding.TOKENIZER_FILE
    cache = tmp_path / "pieces.json"
    first = embedding.Tokenizer.load(source, cache)
    assert json.loads(cache.read_text(encoding="utf-8"))["pieces"] == first.pieces
    again = embedding.Tokenizer.load(source, cache)  # from the kept pieces
    assert again.ids(EDGES[0]) == first.ids(EDGES[0]) != []
    # a tokenizer file this reading was not written for is refused, not misread
    data = json.loads(source.read_text(encoding="utf-8"))
    data["pre_tokenizer"] = {"type": "Whitespace"}
    changed = tmp_path / "other.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(embedding.ModelFileError):
        embedding.Tokenizer.from_file(changed)
    data["pre_tokenizer"] = None
    data["model"]["merges"] = data["model"]["merges"][::-1]  # the same merges, other ranks
    changed.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(embedding.ModelFileError):
        embedding.Tokenizer.from_file(changed)


# ---------------------------------------------------------------------- in the index

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
    if not semantic.installed():
        pytest.skip("wordllama (a dependency of kbapp) is not installed")
    write_doc(kb, "sops/a-queue.md", _doc("Queue stuck", OFF_TOPIC))
    write_doc(kb, "sops/b-queue.md", _doc("Queue stuck", ON_TOPIC))
    write_doc(kb, "sops/vpn.md", _doc("VPN drops", "The VPN tunnel drops every hour on laptops."))
    return kb


def _paths(index: SearchIndex, query: str, semantic: bool) -> list[str]:
    index.ws.settings.semantic_search = semantic
    return [hit.path for hit in index.search(query, 10, snippets=0).hits]


def _vectors(kb: Workspace) -> dict[str, str]:
    """Path -> text key of the vectors beside the index."""
    line = (kb.data_dir / "semantic" / semantic.VECTORS_FILE).read_bytes().split(b"\n", 1)[0]
    meta = json.loads(line)
    return dict(zip(meta["paths"], meta["keys"]))


def test_it_is_on_by_default() -> None:
    assert Settings().semantic_search is True


def test_a_sentence_is_re_ordered_by_meaning(meaning_kb: Workspace) -> None:
    assert meaning_kb.settings.semantic_search  # the default
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()  # builds the vectors beside the index
    assert sorted(_vectors(meaning_kb)) == ["sops/a-queue.md", "sops/b-queue.md", "sops/vpn.md"]
    # words alone: the shorter text first; meaning: the one about the print spooler
    assert _paths(index, QUERY, semantic=False)[:2] == ["sops/a-queue.md", "sops/b-queue.md"]
    assert _paths(index, QUERY, semantic=True)[:2] == ["sops/b-queue.md", "sops/a-queue.md"]
    # keywords and a pasted message (held word for word) keep the lexical order
    for query in ("queue stuck", "Printer jobs stuck in the queue forever"):
        assert _paths(index, query, semantic=True) == _paths(index, query, semantic=False)


def test_vectors_follow_saves_and_rebuilds(meaning_kb: Workspace) -> None:
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()
    keys = _vectors(meaning_kb)
    # a save re-indexes the document; its vector is refreshed at once
    write_doc(
        meaning_kb, "sops/vpn.md", _doc("VPN drops", "The tunnel drops when the laptop sleeps.")
    )
    index.update(["sops/vpn.md"])
    after = _vectors(meaning_kb)
    assert after["sops/vpn.md"] != keys["sops/vpn.md"]
    assert after["sops/a-queue.md"] == keys["sops/a-queue.md"]
    # a removed document loses its vector
    (meaning_kb.root / "sops" / "vpn.md").unlink()
    index.update(["sops/vpn.md"])
    assert "sops/vpn.md" not in _vectors(meaning_kb)
    # a rebuild embeds nothing whose text did not change
    ranker = index._semantic_ranker()
    assert ranker is not None
    with index._ix.reader() as reader:
        assert ranker.build(reader, everything=True) == 0


#: A process that runs ``kbapp search`` and says which heavy modules it loaded.
SEARCH_PROCESS = (
    "import sys\n"
    "from kbapp.cli import main\n"
    "main(['--kb', sys.argv[1], 'search', sys.argv[2]])\n"
    "print('LOADED', [m for m in ('wordllama', 'numpy', 'tokenizers', 'pydantic',"
    " 'kbapp.search.semantic') if m in sys.modules])\n"
)


def _search_process(root: Path, query: str, config: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_PROCESS, str(root), query],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KBAPP_CONFIG_DIR": str(config)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_a_search_process_re_ranks_without_wordllama_or_numpy(
    meaning_kb: Workspace, tmp_path: Path
) -> None:
    SearchIndex.for_workspace(meaning_kb).catch_up()
    root: Path = meaning_kb.root
    meaning_kb.close()
    lines = _search_process(root, QUERY, tmp_path / "config")
    assert lines[-1] == "LOADED ['kbapp.search.semantic']"
    shown = [line for line in lines if "sops/" in line]
    assert "b-queue" in shown[0] and "a-queue" in shown[1]


def test_a_search_with_the_setting_off_never_imports_it(
    meaning_kb: Workspace, tmp_path: Path
) -> None:
    SearchIndex.for_workspace(meaning_kb).catch_up()
    root: Path = meaning_kb.root
    meaning_kb.close()
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"semantic_search": False}))
    lines = _search_process(root, QUERY, config)
    assert lines[-1] == "LOADED []"
    shown = [line for line in lines if "sops/" in line]
    assert "a-queue" in shown[0]  # words alone


def test_a_save_in_another_process_refreshes_the_vector_without_wordllama(
    meaning_kb: Workspace,
) -> None:
    SearchIndex.for_workspace(meaning_kb).catch_up()
    root = meaning_kb.root
    before = _vectors(meaning_kb)
    meaning_kb.close()
    write_doc(
        Workspace(root, meaning_kb.settings),
        "sops/vpn.md",
        _doc("VPN drops", "The tunnel drops when the laptop sleeps."),
    )
    script = (
        "import sys\n"
        "from kbapp.search import SearchIndex\n"
        "from kbapp.settings import Settings\n"
        "from kbapp.workspace import Workspace\n"
        "ws = Workspace.open(sys.argv[1], Settings(user_name='A', user_email='a@internal.example'))\n"
        "index = SearchIndex.for_workspace(ws)\n"
        "index.update(['sops/vpn.md'])\n"
        "print('LOADED', [m for m in ('wordllama', 'numpy') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"
    after = _vectors(Workspace(root, meaning_kb.settings))
    assert after["sops/vpn.md"] != before["sops/vpn.md"]
    assert after["sops/a-queue.md"] == before["sops/a-queue.md"]


@needs_model
def test_vectors_written_by_another_process_are_read_again(tmp_path: Path) -> None:
    window = DocumentVectors(tmp_path / "semantic")
    assert not window.ready()
    terminal = DocumentVectors(tmp_path / "semantic")  # `kbapp index` beside the window
    assert terminal.replace({"a.md": "disk full", "b.md": "vpn drops"}, complete=True) == 2
    assert window.count() == 2
    # the same texts again (a rebuild of unchanged files): the file is not written again
    written = tmp_path / "semantic" / semantic.VECTORS_FILE
    before = (written.stat().st_ino, written.stat().st_mtime_ns, written.read_bytes())
    assert terminal.replace({"a.md": "disk full", "b.md": "vpn drops"}, complete=True) == 0
    assert (written.stat().st_ino, written.stat().st_mtime_ns, written.read_bytes()) == before
    # the tokenizer's pieces are kept beside every set of vectors, also when the model was
    # loaded for another knowledge base: a search there does not read the model's file
    pieces = json.loads((tmp_path / "semantic" / semantic.PIECES_FILE).read_text("utf-8"))
    assert pieces["pieces"] == embedding.Model.get().tokenizer.pieces
    vector = window.model().vector("the disk is full")
    near, far = window.similarities(vector, ["a.md", "b.md"])
    assert near is not None and far is not None and near > far
    assert window.similarities(vector, ["c.md"]) == [None]
    assert terminal.replace({"b.md": None}) == 0
    assert window.count() == 1
    # a document moved (or copied) with its text keeps the vector: nothing embedded
    assert terminal.replace({"a.md": None, "moved/a.md": "disk full"}) == 0
    assert window.similarities(vector, ["moved/a.md", "a.md"]) == [near, None]
    # half written or damaged: no vectors, no error
    file = tmp_path / "semantic" / semantic.VECTORS_FILE
    file.write_bytes(file.read_bytes()[:-7])
    assert not window.ready()
    file.write_bytes(b"{not json")
    assert not window.ready()


def test_vectors_that_cannot_be_saved_leave_search_by_words_and_the_index_alone(
    meaning_kb: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    # a file where the vectors' folder belongs: nothing can be written there
    (meaning_kb.data_dir / semantic.DIRECTORY).write_text("not a folder", encoding="utf-8")
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()
    assert "search by meaning is off" in caplog.text
    assert index.state.ready and not index.state.indexing
    assert _paths(index, QUERY, semantic=True) == _paths(index, QUERY, semantic=False)
    assert "damaged" not in caplog.text


def _described(title: str, description: str, body: str) -> str:
    return f"---\ntitle: {title}\ndescription: {description}\ntype: sop\n---\n\n{body}\n"


def test_a_documents_vector_holds_its_summary(meaning_kb: Workspace) -> None:
    """The front matter's description (its author's words for what it is about) is embedded
    with the title and the opening text: changing it alone changes the vector."""
    body = "Open the console and restart the service named below."
    write_doc(meaning_kb, "sops/spool.md", _described("Queue stuck", "Printer jobs pile up", body))
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()
    before = _vectors(meaning_kb)
    ranker = index._semantic_ranker()
    assert ranker is not None
    with index._ix.reader() as reader:
        texts = semantic.document_texts(reader, ["sops/spool.md", "sops/vpn.md"])
    assert texts["sops/spool.md"] == f"Queue stuck.\nPrinter jobs pile up\n{body}"
    assert before["sops/spool.md"] == semantic._key(texts["sops/spool.md"] or "")
    # a document without one: its title and text, as before
    assert (texts["sops/vpn.md"] or "").startswith("VPN drops.\n")
    write_doc(meaning_kb, "sops/spool.md", _described("Queue stuck", "Mail queue backs up", body))
    index.update(["sops/spool.md"])
    after = _vectors(meaning_kb)
    assert after["sops/spool.md"] != before["sops/spool.md"]
    assert after["sops/vpn.md"] == before["sops/vpn.md"]


def test_vectors_of_another_recipe_are_made_again(meaning_kb: Workspace) -> None:
    index = SearchIndex.for_workspace(meaning_kb)
    index.catch_up()
    file = meaning_kb.data_dir / semantic.DIRECTORY / semantic.VECTORS_FILE
    line, _, rows = file.read_bytes().partition(b"\n")
    meta = json.loads(line)
    assert meta["recipe"] == semantic.RECIPE
    # the file of a version that embedded the title and the text only (no recipe recorded)
    del meta["recipe"]
    file.write_bytes(json.dumps(meta).encode("utf-8") + b"\n" + rows)
    vectors = DocumentVectors(file.parent)
    assert not vectors.ready()  # never compared with
    assert _paths(index, QUERY, semantic=True) == _paths(index, QUERY, semantic=False)
    meaning_kb.settings.semantic_search = True
    ranker = index._semantic_ranker()
    assert ranker is not None
    with index._ix.reader() as reader:
        assert ranker.build(reader) == 3  # all made again, by the recipe of today
    assert vectors.ready() and json.loads(file.read_bytes().partition(b"\n")[0])["recipe"] == 2
    assert _paths(index, QUERY, semantic=True)[:2] == ["sops/b-queue.md", "sops/a-queue.md"]
