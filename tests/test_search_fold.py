"""Unicode folding (one rule for the index and the query) and the notice when no document has
every word of a query, on a real index on disk."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from helpers import write_doc
from search_helpers import front

from kbapp.search import SearchIndex, SearchResponse
from kbapp.search.analysis import WORD_RE, FoldedText, fold, query_words, typed_words
from kbapp.search.snippets import Highlighter
from kbapp.workspace import Workspace

# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("İstanbul", "Istanbul"),
        ("ﬁle ﬂow", "file flow"),  # ligatures from PDFs
        ("ＯＲＡ－００６００", "ORA-00600"),  # full-width
        ("café crème naïve résumé", "cafe creme naive resume"),
        ("cafe\u0301", "cafe"),  # the accent written apart (macOS, some PDFs)
        ("Straße Größe STRAẞE", "Strasse Grosse STRASSE"),
        ("Ærø Łódź Œuvre", "Aero Lodz Oeuvre"),
        ("ΟΔΟΣ", "ΟΔΟσ"),  # (final sigma: lower() and casefold() agree)
        ("x² ½ ™", "x2 1⁄2 TM"),
        ("no\u00a0break", "no break"),
        ("plain ascii stays", "plain ascii stays"),
        ("привет 한국어 हिन्दी", "привет 한국어 हिन्दी"),  # other scripts keep their letters
    ],
)
def test_fold_makes_compatibility_forms_and_accents_plain(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_then_lower_is_case_folding_for_every_character() -> None:
    """After folding, ``str.lower`` (what the analysis applies) gives what ``str.casefold``
    gives, and folding twice is folding once."""
    wrong = []
    for code in range(0x80, sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in ("Cs", "Cn", "Co"):
            continue
        folded = fold(char)
        if folded.lower() != folded.lower().casefold() or fold(folded) != folded:
            wrong.append(f"U+{code:04X}")
    # Cherokee: lower() and casefold() go opposite ways, each consistently
    assert [w for w in wrong if not ("U+13A0" <= w <= "U+13FF" or "U+AB70" <= w <= "U+ABBF")] == []


def test_a_folded_text_maps_back_to_the_original_offsets() -> None:
    text = "in İstanbul, the ﬁle café\u0301 ＯＲＡ－００６００ done"
    folded = FoldedText(text)
    assert folded.text == fold(text)
    for word in ("Istanbul", "file", "cafe", "ORA-00600", "done"):
        start = folded.text.index(word)
        original = text[folded.original(start) : folded.original(start + len(word))]
        assert fold(original) == word
    assert text[folded.original(folded.text.index("cafe")) :].startswith("café\u0301 ")
    assert typed_words("İstanbul ﬁle plain") == {
        "Istanbul": "İstanbul",
        "file": "ﬁle",
        "plain": "plain",
    }


def test_the_query_side_folds_as_the_index_does() -> None:
    assert query_words("İSTANBUL ﬁle Straße") == ["ISTANBUL", "file", "Strasse"]
    fragment = Highlighter({"istanbul", "file"}).fragments("Offices: İstanbul, and the ﬁle.")
    assert fragment == ['Offices: <b class="match">İstanbul</b>, and the <b class="match">ﬁle</b>.']


# --------------------------------------------------------------------------- on an index

FOLDED_DOCS = {
    "sops/istanbul.md": front("kb-0f000001", "Office network in İstanbul", "sop")
    + "The İstanbul office reaches the VPN through its own gateway.\n",
    "known-errors/pdf-paste.md": front("kb-0f000002", "Mount fails after a restore", "known-error")
    + "Pasted from the vendor PDF: the ﬁle system is not clean; run ﬁsck before mounting.\n",
    "known-errors/fullwidth.md": front("kb-0f000003", "Database stops at startup", "known-error")
    + "The alert log shows ＯＲＡ－００６００ right after the listener starts.\n",
    "sops/partner-de.md": front("kb-0f000004", "Größe der Auslagerungsdatei", "sop")
    + "Die Straße zum Rechenzentrum: prüfen Sie die Größe der Datei pagefile.sys.\n",
    "sops/partner-fr.md": front("kb-0f000005", "Réinitialiser le résumé du café", "sop")
    + "Procédure pour le café: redémarrer le service après la mise à jour.\n",
    "sops/plain.md": front("kb-0f000006", "Cafe printer queue in Istanbul", "sop")
    + "Restart the print spooler in the Istanbul cafe.\n",
}


@pytest.fixture
def folded_index(kb: Workspace) -> SearchIndex:
    for relative, text in FOLDED_DOCS.items():
        write_doc(kb, relative, text)
    kb.git.commit(list(FOLDED_DOCS), "Documents written in several ways")
    kb.refresh()
    index = SearchIndex.for_workspace(kb)
    index.catch_up()
    return index


def found(index: SearchIndex, query: str) -> set[str]:
    return {hit.path for hit in index.search(query + " ").hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("istanbul", {"sops/istanbul.md", "sops/plain.md"}),
        ("İSTANBUL", {"sops/istanbul.md", "sops/plain.md"}),
        ("file system", {"known-errors/pdf-paste.md"}),
        ("fsck", {"known-errors/pdf-paste.md"}),
        ("ORA-00600", {"known-errors/fullwidth.md"}),
        ("ora 00600", {"known-errors/fullwidth.md"}),
        ("strasse", {"sops/partner-de.md"}),
        ("grösse", {"sops/partner-de.md"}),
        ("grosse datei", {"sops/partner-de.md"}),
        ("redemarrer", {"sops/partner-fr.md"}),
        ("café", {"sops/partner-fr.md", "sops/plain.md"}),
        ('"resume du cafe"', {"sops/partner-fr.md"}),
    ],
)
def test_folded_forms_find_each_other(
    folded_index: SearchIndex, query: str, expected: set[str]
) -> None:
    assert found(folded_index, query) == expected


def test_snippets_show_the_original_text_with_the_folded_match_marked(
    folded_index: SearchIndex,
) -> None:
    hit = next(h for h in folded_index.search("istanbul gateway ").hits)
    assert hit.path == "sops/istanbul.md"
    assert hit.title == "Office network in İstanbul"
    assert '<b class="match">İstanbul</b>' in hit.snippets[0]
    assert '<b class="match">ﬁle</b>' in folded_index.search("file ").hits[0].snippets[0]
    german = folded_index.search("grosse ").hits[0].snippets[0]
    assert '<b class="match">Größe</b>' in german


def test_the_spelling_vocabulary_holds_folded_words(folded_index: SearchIndex) -> None:
    # "redemarer" is one letter off the folded "redemarrer": corrected, and found
    response = folded_index.search("rédemarer ")
    assert response.suggestion == "redemarrer "
    assert [hit.path for hit in response.hits] == ["sops/partner-fr.md"]


# --------------------------------------------------------------------------- some words only


@pytest.fixture(scope="module")
def index(readonly_search_index: SearchIndex) -> SearchIndex:
    return readonly_search_index


def test_a_query_whose_words_no_document_has_together_says_so(index: SearchIndex) -> None:
    response = index.search("failover xyzzy ")
    assert response.hits and response.some_words_only
    assert response.words == ["failover", "xyzzy"] and response.unmatched_words == ["xyzzy"]
    assert response.some_words_note() == (
        "No document has all of: failover xyzzy; showing those with one of them (xyzzy is in none)."
    )
    data = response.to_dict()
    assert data["some_words_only"] is True and data["unmatched_words"] == ["xyzzy"]

    # every word is somewhere, each in other documents: the hits have one of the three
    apart = index.search("etcd oracle failover ")
    assert apart.some_words_only and apart.unmatched_words == [] and apart.most_words == 1
    assert apart.some_words_note() == (
        "No document has all of: etcd oracle failover; showing those with one of them."
    )
    # two of three words in no document: the hits have the third only, not "most of them"
    alone = index.search("failover xyzzy plugh ")
    assert alone.unmatched_words == ["xyzzy", "plugh"] and alone.most_words == 1
    assert alone.some_words_note() == (
        "No document has all of: failover xyzzy plugh; showing those with one of them "
        "(xyzzy, plugh are in none)."
    )
    # two of three together in a document: most of them
    most = index.search("etcd leader xyzzy ")
    assert most.most_words == 2
    assert most.some_words_note() == (
        "No document has all of: etcd leader xyzzy; showing those with most of them "
        "(xyzzy is in none)."
    )


@pytest.mark.parametrize("query", ["failover postgres ", "failover ", "xyzzy plugh ", ""])
def test_no_notice_when_a_document_has_every_word_or_nothing_is_found(
    index: SearchIndex, query: str
) -> None:
    response = index.search(query)
    assert not response.some_words_only and response.some_words_note() == ""


def test_the_notice_says_the_words_as_typed(folded_index: SearchIndex) -> None:
    response = folded_index.search("İstanbul xyzzy ")
    assert response.some_words_only
    assert response.some_words_note() == (
        "No document has all of: İstanbul xyzzy; showing those with one of them (xyzzy is in none)."
    )


def test_several_knowledge_bases_say_it_only_when_none_has_every_word(
    index: SearchIndex, folded_index: SearchIndex
) -> None:
    from kbapp.search import search_all

    merged: SearchResponse = search_all([index, folded_index], "failover xyzzy ")
    assert merged.some_words_only and merged.unmatched_words == ["xyzzy"]
    # "istanbul gateway" is together in one of them
    assert not search_all([index, folded_index], "istanbul gateway ").some_words_only


#: 한국 decomposed (NFD): six conjoining jamo
KOREA_NFD = "\u1112\u1161\u11ab\u1100\u116e\u11a8"


def test_characters_that_compose_across_the_text_are_marked_where_the_index_found_them(
    kb: Workspace,
) -> None:
    """The index folds a text whole, so a mark written apart composes with the character
    before it (half-width katakana from old systems: ``ｶﾞ`` -> ``ガ``; Hangul
    written decomposed, as macOS writes file names: ``한국`` as six jamo). The snippet's folding must give the same word, or the document
    is found and its snippet shows the word unmarked."""
    texts = {
        "sops/katakana.md": front("kb-0f000011", "Printer setup", "sop")
        + "Read the ｶﾞｲﾄﾞ before the printer is set up.\n",
        "sops/jamo.md": front("kb-0f000012", "Office notes", "sop")
        + f"The {KOREA_NFD} office opens at nine.\n",
    }
    for relative, text in texts.items():
        write_doc(kb, relative, text)
    kb.git.commit(list(texts), "Documents with characters that compose")
    kb.refresh()
    index = SearchIndex.for_workspace(kb)
    index.catch_up()
    for query, path, marked in (
        ("ガイド", "sops/katakana.md", "ｶﾞｲﾄﾞ"),
        ("한국", "sops/jamo.md", KOREA_NFD),
    ):
        hits = index.search(query + " ").hits
        assert [hit.path for hit in hits] == [path]
        assert f'<b class="match">{marked}</b>' in hits[0].snippets[0], hits[0].snippets
    for text in ("ｶﾞｲﾄﾞ and ㅎㅏㄴ, e\u0301 and ᄒ\u1161\u11ab", "ﾞ at the start ｶﾞ"):
        folded = FoldedText(text)
        assert folded.text == fold(text)
        assert set(typed_words(text)) == set(WORD_RE.findall(fold(text)))


def test_a_folded_text_is_the_text_folded_whole_for_random_texts() -> None:
    """FoldedText folds a character (or the few that compose) at a time; the index folds the
    text whole: the two agree, and every word of letters maps back to the original text that
    folds to it."""
    import random

    pieces = [*"ab .-_:\\/", "ﬁ", "ß", "é", "e\u0301", "\u0301", "İ", "ı", "ſ", "가", "ǆ", "½"]
    pieces += ["ｶ", "ﾞ", "ﾟ", "\u1100", "\u1161", "\u11a8", "\u3131", "\u314f", "\u09c7"]
    pieces += ["\u09be", "a\u0328\u0301", "\u0316", "\u3099", "👩\u200d💻", "Æ", "ᾳ", "\u0345"]
    chooser = random.Random(15)
    for _ in range(3000):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randint(1, 30)))
        folded = FoldedText(text)
        assert folded.text == fold(text), repr(text)
        for word in WORD_RE.finditer(folded.text):
            start, end = folded.original(word.start()), folded.original(word.end())
            assert 0 <= start <= end <= len(text)
            if word.group().isalpha():  # (a number may start or end inside "½" -> "1⁄2")
                assert fold(text[start:end]) == word.group(), repr(text)


def test_the_notice_counts_the_words_of_the_first_hits_whatever_the_limit(kb: Workspace) -> None:
    """The window asks for 50 hits, the CLI for 10 (or 3): both say what the first hits
    have. A long article that mentions two of the three words in passing ranks below a dozen
    short ones about one of them; it is among the 50 but does not make the notice say "most
    of them" above a list whose first screen has one word each."""
    docs = {
        f"known-errors/bitlocker-{n:02d}.md": front(
            f"kb-b{n:07d}", f"BitLocker recovery case {n}", "known-error"
        )
        + f"## Symptom\n\nBitLocker asks for the recovery key after firmware update {n}.\n"
        for n in range(12)
    }
    filler = " ".join(f"step{n} checks the cluster configuration value" for n in range(400))
    docs["runbooks/edge-logs.md"] = (
        front("kb-e0000001", "Collecting device logs", "runbook")
        + f"## Steps\n\nThe support package holds bitlocker state. {filler}\n\n"
        "Kubernetes pods are listed at the end.\n"
    )
    docs["runbooks/oracle.md"] = (
        front("kb-o0000001", "Oracle listener restart", "runbook")
        + "## Steps\n\nRestart the Oracle listener.\n"
    )
    for relative, text in docs.items():
        write_doc(kb, relative, text)
    kb.git.commit(list(docs), "Documents")
    kb.refresh()
    index = SearchIndex.for_workspace(kb)
    index.catch_up()

    wide = index.search("bitlocker oracle kubernetes ", limit=50)
    paths = [hit.path for hit in wide.hits]
    assert paths.index("runbooks/edge-logs.md") >= 10  # two of the words, ranked low
    for limit in (50, 10, 3):
        response = index.search("bitlocker oracle kubernetes ", limit=limit)
        assert response.most_words == 1, limit
        assert response.some_words_note() == (
            "No document has all of: bitlocker oracle kubernetes; showing those with one of them."
        )
