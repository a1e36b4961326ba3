"""A full build keeps the front matter its workers read for the next one
(kbapp.search.frontstore): the next build's index is the same, a block is read again when
the store is of another version, damaged or not of the expected shape (real SupportArticles,
real worker processes and indexes on disk)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from test_search_build import SUPPORT, _contents
from test_search_wordstore import _build, _paths

from kbapp.documents import frontmatter
from kbapp.documents import model as documents
from kbapp.search import frontstore


def test_a_build_with_stored_front_matter_is_the_build_without(
    corpora: Path, tmp_path: Path
) -> None:
    root = corpora / SUPPORT
    paths = _paths(root, 80)
    words = tmp_path / "words"
    first = _build(tmp_path / "ix1", root, paths, words)  # nothing stored yet
    stored = [frontstore.load(words, share) for share in (0, 1)]
    assert all(stored) and not set(stored[0]) & set(stored[1])  # each worker its share's
    made = {path: path.stat().st_mtime_ns for path in words.glob("front-*")}
    again = _build(tmp_path / "ix2", root, paths, words)  # every block stored
    assert {path: path.stat().st_mtime_ns for path in words.glob("front-*")} == made
    more = sorted({*paths, *_paths(root, 40, start=7)})  # documents whose blocks are not
    grown = _build(tmp_path / "ix3", root, more, words)
    unstored = _build(tmp_path / "ix4", root, more, None)
    plain = _build(tmp_path / "ix5", root, paths, None)
    assert first == again == plain
    assert grown == unstored
    assert sum(map(len, (frontstore.load(words, s) for s in (0, 1)))) > sum(map(len, stored))


def _retitled(words: Path, key: str) -> None:
    """Every block worker 0 stored given the title "Madeuptitle", under ``key``."""
    entries = frontstore.load(words, 0)
    assert entries
    changed = {}
    for text, result in entries.items():
        meta, lines = pickle.loads(result)
        changed[text] = pickle.dumps(({**meta, "title": "Madeuptitle"}, lines))
    frontstore.save(words, 0, changed, key)


def _has_made_up_title(directory: Path) -> bool:
    return any(term == b"madeuptitl" for (_field, term) in _contents(directory)["terms"])


def test_stored_front_matter_is_used_only_by_its_version(corpora: Path, tmp_path: Path) -> None:
    root = corpora / SUPPORT
    paths = _paths(root, 12)
    words = tmp_path / "words"
    _build(tmp_path / "ix0", root, paths, words)
    # a block stored under this version is taken as it is (so the store is what is read)
    _retitled(words, frontstore.version())
    _build(tmp_path / "ix1", root, paths, words)
    assert _has_made_up_title(tmp_path / "ix1")
    # the same file under another version is ignored, and replaced
    _retitled(words, "1-00000000")
    _build(tmp_path / "ix2", root, paths, words)
    assert not _has_made_up_title(tmp_path / "ix2")
    assert frontstore.load(words, 0)


def test_the_version_follows_the_front_matter_code_and_pyyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    current = frontstore.version()
    assert current
    changed = tmp_path / "frontmatter.py"
    changed.write_bytes(Path(frontmatter.__file__).read_bytes() + b"\n# changed\n")
    with monkeypatch.context() as patched:
        patched.setattr(frontmatter, "__file__", str(changed))
        assert frontstore.version() not in ("", current)
    assert frontstore.version() == current
    monkeypatch.setattr(yaml, "__version__", "99.0")
    assert frontstore.version() not in ("", current)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a pickle",
        pickle.dumps({"block": b"no version"}),
        pickle.dumps(("key",)),
        pickle.dumps(("key", "digest", b"payload")),  # a digest that is not the payload's
        pickle.dumps(("key", frontstore._digest(b"junk"), b"junk")),  # the payload no pickle
        pickle.dumps(("key", frontstore._digest(p := pickle.dumps([1])), p)),  # not a dict
        pickle.dumps(("key", frontstore._digest(p := pickle.dumps({"a": "b"})), p)),  # not bytes
    ],
)
def test_a_damaged_store_is_ignored(tmp_path: Path, content: bytes) -> None:
    (tmp_path / frontstore.FILE.format(0)).write_bytes(content)
    assert frontstore.load(tmp_path, 0, "key") == {}
    entries = {"---\ntitle: A\n": pickle.dumps(({"title": "A"}, {"title": 2}))}
    frontstore.save(tmp_path, 0, entries, "key")
    assert frontstore.load(tmp_path, 0, "key") == entries
    full = tmp_path / frontstore.FILE.format(0)
    data = full.read_bytes()
    full.write_bytes(data[:-5])  # cut short
    assert frontstore.load(tmp_path, 0, "key") == {}
    at = data.index(b"title: A")
    full.write_bytes(data[:at] + b"title: B" + data[at + 8 :])  # one byte changed
    assert frontstore.load(tmp_path, 0, "key") == {}
    assert frontstore.load(tmp_path, 1, "key") == {}  # none stored


def test_the_reader_gives_what_parse_block_gives(corpora: Path) -> None:
    """What a worker reads through the store: the values and lines of every block as
    ``parse_block`` makes them, each document its own copy, and an unreadable block's error
    (found again, never kept)."""
    root = corpora / SUPPORT
    blocks = []
    for path in _paths(root, 60):
        block = frontmatter.find_block((root / path).read_text(encoding="utf-8-sig"))
        if block is not None:
            blocks.append(block)
    assert len(blocks) > 40
    first = frontstore.FrontMatterReader({})
    results = [first(block) for block in blocks]
    assert results == [frontmatter.parse_block(block) for block in blocks]
    assert first.fresh == len(first.met) and first.changed()
    again = frontstore.FrontMatterReader(dict(first.met))
    for block, expected in zip(blocks, results, strict=True):
        found = again(block)
        assert found == expected and found[0] is not expected[0]
        assert [type(v) for v in found[0].values()] == [type(v) for v in expected[0].values()]
    assert again.fresh == 0 and not again.changed()
    assert again(blocks[0])[0] is not again(blocks[0])[0]  # a block met twice: two copies
    broken = frontmatter.Block("---", "title: [unclosed\n", "", 0)
    for _ in range(2):
        with pytest.raises(frontmatter.FrontMatterError):
            again(broken)
    assert "---\ntitle: [unclosed\n" not in again.met
    # and a document parsed through it is the document parsed without it
    data = (root / _paths(root, 1)[0]).read_bytes()
    through = documents.parse(data, "x.md", read_only=True, read_front=again)
    plain = documents.parse(data, "x.md", read_only=True)
    assert (through.meta, through.body, through.title) == (plain.meta, plain.body, plain.title)
