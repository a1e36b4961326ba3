"""Quoted phrases on a real on-disk index: matched on each field's term sequence (the column
the index keeps beside the postings), after saves, merges and in worker-built segments."""

from __future__ import annotations

import random
import re

import pytest
from helpers import write_doc
from search_helpers import front

from kbapp.search import SearchIndex
from kbapp.search.analysis import term_sequence
from kbapp.workspace import Workspace


def paths(index: SearchIndex, query: str) -> set[str]:
    return {hit.path for hit in index.search(query, limit=200).hits}


@pytest.fixture
def index(populated_kb: Workspace) -> SearchIndex:
    kb = populated_kb
    write_doc(kb, "runbooks/disk-full.md", front("kb-000000d1", "Disk full on the mail relay",
                                                 "runbook", tags=("storage",))
              + "## Symptoms\n\nThe queue grows. The disk is full. Restart the service after "
                "cleanup.\n\n```shell\ndf -h /var/spool/postfix\nsystemctl restart postfix\n```\n")
    found = SearchIndex.for_workspace(kb)
    found.catch_up()
    return found


def test_phrase_found_in_order_and_not_reversed_or_apart(index: SearchIndex) -> None:
    assert paths(index, '"queue grows"') == {"runbooks/disk-full.md"}
    assert paths(index, '"grows queue"') == set()
    # both words are in the document, but not next to each other
    assert paths(index, '"queue cleanup"') == set()
    # stop words are not in the sequence: "the disk is full" is the phrase "disk full"
    assert paths(index, '"the disk is full"') == {"runbooks/disk-full.md"}
    # stemmed like the words: "grow" finds "grows"
    assert paths(index, '"queue grow"') == {"runbooks/disk-full.md"}
    # a phrase of three terms
    assert paths(index, '"full restart service"') == {"runbooks/disk-full.md"}
    assert paths(index, '"full restart postfix"') == set()


def test_phrase_runs_across_a_sentence_but_not_across_fields(index: SearchIndex) -> None:
    # punctuation is not in the sequence (as in Lucene and FTS5): "full. Restart"
    assert paths(index, '"full restart"') == {"runbooks/disk-full.md"}
    # the prose and the shell block are different fields; inside the block a phrase works
    assert paths(index, '"cleanup df"') == set()
    assert paths(index, '"systemctl restart postfix"') == {"runbooks/disk-full.md"}
    # the title is a field of its own too, and its phrases are found
    assert paths(index, '"mail relay"') == {"runbooks/disk-full.md"}
    assert paths(index, '"relay symptoms"') == set()


def test_phrases_of_identifiers_use_their_parts(index: SearchIndex) -> None:
    assert paths(index, '"ORA-00600 internal error"') == {"known-errors/ora-600.md"}
    assert paths(index, '"etcd no leader"') == {"runbooks/etcd-no-leader.md"}
    assert paths(index, '"etcdNoLeader fires"') == {"runbooks/etcd-no-leader.md"}
    # a hex code is found with or without its 0x
    assert paths(index, '"0x80070005 access"') == {"troubleshooting/access-denied.md"}
    assert paths(index, '"80070005 access"') == {"troubleshooting/access-denied.md"}
    assert paths(index, '"kube-apiserver returns HTTP 503"') == {"runbooks/http-503.md"}


def test_saves_keep_phrases_right(index: SearchIndex) -> None:
    ws = index.ws
    doc = ws.load("kb-000000d1")
    doc.body = doc.body.replace("The queue grows.", "The mail backlog grows.")
    ws.save(doc)
    assert paths(index, '"queue grows"') == set()
    assert paths(index, '"backlog grows"') == {"runbooks/disk-full.md"}
    # many saves: Whoosh merges the small segments; the phrase is still found once
    for number in range(12):
        doc = ws.load("kb-000000d1")
        doc.body += f"\nNote {number}: wombat count {number}.\n"
        ws.save(doc)
    response = index.search('"backlog grows"')
    assert [hit.path for hit in response.hits] == ["runbooks/disk-full.md"]
    assert response.total == 1
    assert paths(index, '"wombat count"') == {"runbooks/disk-full.md"}
    (ws.root / doc.path).unlink()
    index.update([doc.path])
    assert paths(index, '"backlog grows"') == set()


VOCABULARY = ["alpha", "bravo", "delta", "kilo", "lima", "oscar"]


def _random_text(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 6)):
        sentences.append(" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 7))))
    return ". ".join(sentences) + ".\n"


def _expected(texts: dict[str, str], phrase: list[str]) -> set[str]:
    """Documents whose body has the words in a row (punctuation ignored), found naively."""
    out = set()
    for path, text in texts.items():
        words = re.findall(r"[a-z]+", text)
        if any(words[i:i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1)):
            out.add(path)
    return out


@pytest.mark.parametrize("workers", [False, True])
def test_phrases_agree_with_a_naive_scan_after_updates(
    kb: Workspace, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """Many documents sharing a small vocabulary (every pair of words is common): phrase
    results equal a plain scan of the texts, for a build in one or several segments and
    after edits and deletions."""
    import kbapp.search.index as index_module

    if workers:
        monkeypatch.setattr(index_module, "PARALLEL_FROM", 5)
    rng = random.Random(3)
    texts: dict[str, str] = {}
    for number in range(40):
        path = f"notes/n{number:02d}.md"
        texts[path] = _random_text(rng)
        write_doc(kb, path, front(f"kb-1{number:07x}", f"Note {number}", "runbook") + texts[path])
    index = SearchIndex.for_workspace(kb)
    index.rebuild()
    phrases = [[a, b] for a in VOCABULARY for b in VOCABULARY]
    phrases += [[rng.choice(VOCABULARY) for _ in range(3)] for _ in range(15)]

    def check() -> None:
        for phrase in phrases:
            found = paths(index, '"' + " ".join(phrase) + '"')
            assert found == _expected(texts, phrase), phrase

    check()
    for round_number in range(3):
        changed = rng.sample(sorted(texts), 5)
        for path in changed:
            texts[path] = _random_text(rng)
            write_doc(kb, path, front(f"kb-1{int(path[7:9]):07x}", f"Note {path}", "runbook")
                      + texts[path])
        gone = sorted(texts)[round_number]
        (kb.root / gone).unlink()
        del texts[gone]
        index.update([*changed, gone])
        check()


def test_term_sequence_is_what_phrases_look_for() -> None:
    assert term_sequence("The disk is full. Restart it!") == " disk full restart "
    assert term_sequence("ORA-00600 in etcdNoLeader") == " ora 00600 etcd no leader "
    assert term_sequence("0x80070005") == " 80070005 "
    assert term_sequence("") == "  "
