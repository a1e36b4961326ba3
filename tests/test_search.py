"""Search: analysis of identifiers, the query language, ranking, results (real on-disk index)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import write_doc
from search_helpers import front

from kbapp.search import SearchIndex, SearchResponse, analysis
from kbapp.search.analysis import analyze, phrase_terms, query_words, word_terms
from kbapp.search.query import parse_query
from kbapp.search.snippets import Highlighter, readable_text


@pytest.fixture(scope="module")
def index(readonly_search_index: SearchIndex) -> SearchIndex:
    """The read-only tests of this module share one index (tests/conftest.py)."""
    return readonly_search_index


def paths(response: SearchResponse) -> list[str]:
    return [hit.path for hit in response.hits]


def top(index: SearchIndex, query: str) -> str:
    response = index.search(query)
    assert response.hits, f"nothing found for {query!r}"
    return response.hits[0].path


# --------------------------------------------------------------------------- analysis


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ORA-00600", {"ora-00600", "ora", "00600", "ora00600"}),
        ("0x80070005", {"0x80070005", "80070005"}),
        ("HTTP 503", {"http", "503"}),
        ("CVE-2024-3094", {"cve-2024-3094", "cve", "2024", "3094"}),
        ("db01.prod.example.com.", {"db01.prod.example.com", "db01", "prod", "com"}),
        ("/var/log/syslog", {"var/log/syslog", "var", "log", "syslog"}),
        ("kube-apiserver", {"kube-apiserver", "kube", "kubeapiserv"}),
        ("snake_case", {"snake_case", "snake", "case", "snakecas"}),
        ("etcdNoLeader", {"etcdnolead", "etcd", "no", "leader"}),
        ("KubeAPIServerDown", {"kube", "api", "server", "down"}),
    ],
)
def test_identifiers_are_indexed_whole_and_by_parts(text: str, expected: set[str]) -> None:
    assert expected <= set(analyze(text))


def test_an_identifier_with_a_one_letter_part_is_also_indexed_joined() -> None:
    """A user who leaves out the hyphen or slash finds the identifier: the joined form is
    made of all its pieces, one-letter parts and stop words too ("I/O" as io, "Hyper-V" as
    hyperv, "T-SQL", "add-on", "sign-in"). It was made of the parts kept as terms (two letters
    or more, no stop word), so these had no joined form; the joins made before stay.
    Dates, versions and addresses (digits only) and dotted abbreviations ("i.e." would be
    "ie") are not joined."""
    for text, joined in [
        ("I/O", "io"),
        ("Hyper-V", "hyperv"),
        ("T-SQL", "tsql"),
        ("add-on", "addon"),
        ("sign-in", "signin"),
        ("up-to-date", "uptod"),
    ]:
        assert joined in analyze(text), text
        assert analysis._text_entry(text)[0] == analysis._text_entry_reference(text)[0], text
    assert {"kube-apiserver", "kube", "apiserv", "kubeapiserv"} == set(analyze("kube-apiserver"))
    assert "updat" in analyze("up-to-date")  # the join of the parts kept as terms stays
    assert "getaddrinfo" in analyze("GetAddrInfoW")
    for text, whole in [
        ("i.e.", "ie"),
        ("e.g.", "eg"),
        ("U.S.", "us"),
        ("10.0.17763", "10017763"),
        ("3/31/2021", "3312021"),
        ("192.168.1.10", "192168110"),
    ]:
        assert whole not in analyze(text), text


def test_an_identifier_is_found_by_its_joined_form(search_index: SearchIndex) -> None:
    """Typed without the slash or hyphen ("io", "hyperv", "tsql"), an identifier with a
    one-letter part finds the document that writes it with one."""
    ws = search_index.ws
    write_doc(
        ws,
        "troubleshooting/vhd-slow.md",
        front("kb-vhdslow1", "Slow temp disk on Hyper-V guests", "troubleshooting")
        + "The temp disk I/O of the guest drops after a restart. Check it with T-SQL.\n",
    )
    search_index.update(["troubleshooting/vhd-slow.md"])
    for query in ("io ", "hyperv ", "tsql ", "temp disk io ", "hyperv guest "):
        assert paths(search_index.search(query))[:1] == ["troubleshooting/vhd-slow.md"], query


def test_prose_is_stemmed_and_case_folded() -> None:
    assert analyze("The Pods are FAILING repeatedly") == ["pod", "fail", "repeatedli"]
    assert word_terms("Failed") == ["fail"]


def test_query_words_stay_whole_and_phrases_use_parts() -> None:
    assert query_words("ORA-00600 on db01.prod.example.com") == [
        "ORA-00600",
        "db01.prod.example.com",
    ]
    # phrase terms line up with the positions of the parts in the index
    assert phrase_terms("ORA-00600 internal error") == ["ora", "00600", "intern", "error"]


def test_query_parser_reads_every_kind_of_term() -> None:
    parsed = parse_query('disk "no space left" -tmp type:sop tag:"failover" -status:draft orac')
    assert parsed.words == ["disk", "orac"]
    assert parsed.phrases == ["no space left"]
    assert parsed.excluded_words == ["tmp"]
    assert parsed.filters == [("type", "sop"), ("tag", "failover")]
    assert parsed.excluded_filters == [("status", "draft")]
    assert parsed.prefix == "orac"
    assert parse_query("orac ").prefix is None
    assert parse_query("foo:bar").words == ["foo:bar"]  # not a filter: words
    # a short option of a pasted command is not an exclusion
    assert parse_query("df -hi").words == ["df", "-hi"]
    assert parse_query("kubectl get pods -o wide").excluded_words == []


# --------------------------------------------------------------------------- identifiers found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ORA-00600", "known-errors/ora-600.md"),
        ("ora-00600", "known-errors/ora-600.md"),
        ("00600", "known-errors/ora-600.md"),
        ("0x80070005", "troubleshooting/access-denied.md"),
        ("80070005", "troubleshooting/access-denied.md"),
        ("HTTP 503", "runbooks/http-503.md"),
        ("CVE-2024-3094", "known-errors/xz.md"),
        ("cve 3094", "known-errors/xz.md"),
        ("db01.prod.example.com", "known-errors/ora-600.md"),
        ("db01", "known-errors/ora-600.md"),
        ("/var/log/syslog", "known-errors/ora-600.md"),
        ("syslog", "known-errors/ora-600.md"),
        ("kube-apiserver", "runbooks/http-503.md"),
        ("apiserver", "runbooks/http-503.md"),
        ("max_connections", "runbooks/http-503.md"),
        ("max connections", "runbooks/http-503.md"),
        ("etcd no leader", "runbooks/etcd-no-leader.md"),
        ("etcdnoleader", "runbooks/etcd-no-leader.md"),
        ("EtcdNoLeader", "runbooks/etcd-no-leader.md"),
        ("etcdctl", "runbooks/etcd-no-leader.md"),  # inside a code block
    ],
)
def test_identifier_forms_are_found(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query + " ") == expected


# --------------------------------------------------------------------------- query features


def test_documents_with_all_words_come_before_partial_matches(index: SearchIndex) -> None:
    found = paths(index.search("replica latency "))
    # nothing has both words: partial matches are still listed
    assert "runbooks/payments-latency.md" in found
    assert "sops/payments-failover.md" in found
    both = paths(index.search("postgres locks "))
    assert both[0] == "runbooks/payments-latency.md"  # the only one with both words
    assert len(both) > 1


def test_longer_queries_rank_by_how_many_words_a_document_has(index: SearchIndex) -> None:
    # no document has all four words; the one with three of them comes first
    found = paths(index.search("promote replica postgres zeppelin "))
    assert found[0] in ("sops/payments-failover.md", "sops/payments-failover-draft.md")
    assert "runbooks/payments-latency.md" in found  # one word only: still listed, later
    assert found.index("runbooks/payments-latency.md") > 1


def test_quoted_phrase_matches_words_in_order_only(index: SearchIndex) -> None:
    assert paths(index.search('"internal error"')) == ["known-errors/ora-600.md"]
    assert paths(index.search('"error internal"')) == []
    assert paths(index.search('"ORA-00600: internal error"')) == ["known-errors/ora-600.md"]


def test_excluded_words_phrases_and_filters(index: SearchIndex) -> None:
    assert "runbooks/payments-latency.md" in paths(index.search("payments "))
    assert "runbooks/payments-latency.md" not in paths(index.search("payments -latency"))
    assert "sops/payments-failover-draft.md" not in paths(index.search("failover -status:draft"))
    assert paths(index.search('failover -"payments database"')) == ["runbooks/payments-latency.md"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type:sop failover", {"sops/payments-failover.md", "sops/payments-failover-draft.md"}),
        ("tag:postgres", {"sops/payments-failover.md", "sops/payments-failover-draft.md"}),
        (
            "system:payments-db",
            {
                "sops/payments-failover.md",
                "sops/payments-failover-draft.md",
                "known-errors/ora-600.md",
            },
        ),
        ("org:partner", {"sops/payments-failover.md", "known-errors/ora-600.md"}),
        ("status:draft", {"sops/payments-failover-draft.md"}),
        ("id:kb-00000007", {"known-errors/xz.md"}),
        ("type:known-error", {"known-errors/ora-600.md", "known-errors/xz.md"}),
    ],
)
def test_field_filters(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert set(paths(index.search(query))) == expected


def test_last_word_is_a_prefix_while_typing(index: SearchIndex) -> None:
    assert top(index, "etcdnol") == "runbooks/etcd-no-leader.md"
    assert "sops/payments-failover.md" in paths(index.search("failo"))
    finished = index.search("failo ")  # a finished word is not a prefix: a typo then
    assert finished.suggestion is not None
    response = index.search("payments datab")
    assert response.hits[0].path == "sops/payments-failover.md"


def test_typos_are_forgiven_and_corrected(index: SearchIndex) -> None:
    response = index.search("failovr ")
    assert response.suggestion == "failovr ".replace("failovr", "failover")
    assert "sops/payments-failover.md" in paths(response)
    response = index.search("replicaton promote ")
    assert response.suggestion is not None and "replication" in response.suggestion
    assert response.hits[0].path in ("sops/payments-failover.md", "sops/payments-failover-draft.md")
    assert index.search("failover ").suggestion is None


def test_a_contraction_without_its_apostrophe_is_not_a_typo(search_index: SearchIndex) -> None:
    """ "wont"/"doesnt" typed without the apostrophe: as "won't" and "doesn't" are, not words to
    correct ("sql server wont start" was asked "did you mean ... want start?", "doesnt" became
    "doesn", the first half of "doesn't")."""
    ws = search_index.ws
    write_doc(
        ws,
        "sops/agent-start.md",
        front("kb-agent001", "Agent service doesn't start", "sop")
        + "If you want the agent back, restart it. The agent won't start after a password change.\n",
    )
    search_index.update(["sops/agent-start.md"])
    for query in ("agent service wont start ", "agent service doesnt start "):
        response = search_index.search(query)
        assert response.suggestion is None, (query, response.suggestion)
        assert paths(response)[0] == "sops/agent-start.md"


def test_a_piece_of_a_longer_identifier_and_a_pasted_windows_path(
    search_index: SearchIndex,
) -> None:
    """A piece of a path or identifier is found where it stands inside a longer one (it is
    indexed whole and by its parts, not by every run of its parts: "winevt\\Logs" found
    nothing), and the drive letter of a pasted Windows path is no word of the query (the
    "C" of "C:\\Windows\\..." found every "C#" document first)."""
    ws = search_index.ws
    write_doc(
        ws,
        "sops/event-logs.md",
        front("kb-evtlogs1", "Move the event logs", "sop")
        + "The logs are in %SystemRoot%\\System32\\Winevt\\Logs by default.\n",
    )
    write_doc(
        ws,
        "sops/security-log.md",
        front("kb-evtlogs2", "Security log permissions", "sop")
        + "Check the permissions of C:\\Windows\\System32\\winevt\\Logs first.\n",
    )
    write_doc(
        ws,
        "sops/csharp.md",
        front("kb-csharp01", "Create a thread in C#", "sop")
        + "Windows logs from C# with System.Diagnostics.\n",
    )
    search_index.update(["sops/event-logs.md", "sops/security-log.md", "sops/csharp.md"])
    assert set(paths(search_index.search("winevt\\Logs "))) == {
        "sops/event-logs.md",
        "sops/security-log.md",
    }
    assert paths(search_index.search("C:\\Windows\\System32\\winevt\\Logs ")) == [
        "sops/security-log.md"
    ]
    assert paths(search_index.search("C# thread "))[0] == "sops/csharp.md"  # C# is a word


def test_synonyms_from_the_config_work_both_ways(index: SearchIndex) -> None:
    assert "runbooks/restart-deployment.md" in paths(index.search("kubernetes deployment "))
    assert "runbooks/node-not-ready.md" in paths(index.search("k8s node "))
    ws = index.ws
    config = (ws.root / ".kb/config.toml").read_text()
    try:
        (ws.root / ".kb/config.toml").write_text(
            config + "\n[search.synonyms.lb]\n"
            if False
            else config.replace("[search.synonyms]", '[search.synonyms]\nlb = ["load balancer"]')
        )
        ws.reload_config()
        assert top(index, "lb ") == "runbooks/http-503.md"
    finally:
        (ws.root / ".kb/config.toml").write_text(config)
        ws.reload_config()


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "type:",
        "-",
        "(((",
        "AND OR NOT",
        "***",
        'tag:"',
        '-""',
        "kb-",
        ":",
        "\\",
        "a" * 300,
        "status:retired -status:retired",
        "id:",
        "日本語",
    ],
)
def test_unreadable_queries_never_raise(index: SearchIndex, query: str) -> None:
    response = index.search(query)
    assert isinstance(response, SearchResponse)


def test_retired_documents_only_when_asked(index: SearchIndex) -> None:
    assert "sops/old-failover.md" not in paths(index.search("failover "))
    assert paths(index.search("status:retired failover")) == ["sops/old-failover.md"]


# --------------------------------------------------------------------------- ranking and results


def test_published_ranks_above_draft_with_the_same_text(index: SearchIndex) -> None:
    found = paths(index.search("promote replica "))
    assert found.index("sops/payments-failover.md") < found.index("sops/payments-failover-draft.md")


def test_title_and_tags_weigh_more_than_the_body(index: SearchIndex) -> None:
    # "failover" is a tag and in the title of the SOP, only in the body of the latency runbook
    found = paths(index.search("failover "))
    assert found.index("sops/payments-failover.md") < found.index("runbooks/payments-latency.md")
    # the title "HTTP 503 from the load balancer" beats a body mention
    assert top(index, "load balancer") == "runbooks/http-503.md"


def test_hits_carry_fields_review_state_snippets_and_facets(index: SearchIndex) -> None:
    response = index.search("failover ", limit=10, snippets=1)
    first = response.hits[0]
    assert (first.id, first.type, first.status, first.owner_org) == (
        "kb-00000004",
        "sop",
        "published",
        "partner",
    )
    assert first.title == "Fail over the payments database"
    assert first.review_state == "overdue"  # shown, not hidden
    assert first.kb == "Fixture KB" and first.score > 0
    # "failover" is only in its tags: the row shows the text's opening, without Markdown marks
    assert first.snippets == [
        "Steps: Promote the replica, then repoint the payments application. "
        "Postgres replication must be healthy."
    ]
    assert all(hit.snippets == [] for hit in response.hits[1:])  # only the shown ones
    assert response.total == 3
    assert dict(response.facets["type"]) == {"sop": 2, "runbook": 1}
    assert dict(response.facets["tags"])["failover"] == 2
    assert dict(response.facets["systems"])["payments-db"] == 2
    assert dict(response.facets["owner_org"]) == {"partner": 1, "internal": 2}
    assert response.elapsed_ms > 0 and response.indexing is False


def test_snippets_are_escaped_and_highlight_word_forms(index: SearchIndex) -> None:
    response = index.search("leader etcd")
    snippet = response.hits[0].snippets[0]
    assert '<b class="match">leader</b>' in snippet
    assert '<b class="match">etcdNoLeader</b>' in snippet
    ora = index.search("kcbgtcr_13 ").hits[0].snippets[0]
    assert '<b class="match">kcbgtcr_13</b>' in ora
    assert "<script" not in "".join(index.search("installer ").hits[0].snippets)


def test_snippets_read_as_text_not_markdown() -> None:
    body = (
        "# Restart the API\n\n## Steps\n\n1. Check `kubectl get pods` first.\n"
        "   ```bash\n   kubectl -n pay rollout restart deploy/api | tail\n   ```\n"
        "- [x] See [[kb-1234abcd|the failover SOP]] and [[kb-0000beef]].\n"
        "> **Note**: read the [vendor guide](https://example.com/x_(y)) <br/>first.\n\n"
        "| Step | Who |\n|------|:---:|\n| restart | partner |\n"
    )
    text = readable_text(body, title="Restart the API")
    assert " ".join(text.split()) == (
        "Steps: 1. Check kubectl get pods first. kubectl -n pay rollout restart deploy/api | tail "
        "See the failover SOP and kb-0000beef. Note: read the vendor guide first. "
        "Step · Who restart · partner"
    )
    fragment = Highlighter({"restart"}).fragments(text)[0]
    assert '<b class="match">restart</b>' in fragment and "#" not in fragment
    # a heading other than the title stays, as words
    assert " ".join(readable_text("# Other\nbody", title="Restart").split()) == "Other: body"
    # a step's commands indented under "10." are code, their fences go (mdlines' rule)
    step = "10. Restart:\n\n    ```bash\n    systemctl restart api\n    ```\n"
    assert " ".join(readable_text(step).split()) == "10. Restart: systemctl restart api"


def test_a_phrase_is_marked_where_its_words_stand_together() -> None:
    """A phrase's words (quoted, or a synonym of several words: "no space left" for "disk
    full") are marked where they stand together, stop words between them allowed; one of them
    alone is no match ("no leader" was marked for "disk full")."""
    marked = Highlighter({"disk"}, phrases=[("no", "space", "left"), ("out", "disk", "space")])
    text = "The member has no leader. The disk ran out of disk space: no space left on device."

    def words(spans: list[tuple[int, int]]) -> list[str]:
        return [text[s:e] for s, e in spans]

    assert words(marked.matches(text)) == [
        "disk",
        "out",
        "disk",
        "space",
        "no",
        "space",
        "left",
    ]
    assert words(Highlighter((), phrases=[("no", "space", "left")]).matches("no leader")) == []
    fragment = Highlighter((), phrases=[("no", "space", "left")]).fragments(text)[0]
    assert '<b class="match">no</b> <b class="match">space</b>' in fragment


def test_a_quoted_phrase_alone_stops_looking_once_enough_words_are_kept() -> None:
    """A quoted phrase alone marks nothing on its own: its scan ends once its words are kept
    as many times as a phrase's may be (a long text of common words was scanned to its end,
    13 ms a query at 50,000 documents), with the same marks as a scan to the end (a term
    found nowhere makes the highlighter scan on)."""
    text = " ".join(["the disk was checked, then full logs were read."] * 400)
    text += " Finally the disk full alert cleared."
    phrases = [("disk", "full")]
    alone = Highlighter((), phrases=phrases)
    scanning = Highlighter({"zzqxw"}, phrases=phrases)
    for limit in (1, 4, 40):
        assert alone.matches(text, limit) == scanning.matches(text, limit)
    assert alone.fragments(text) == scanning.fragments(text)


@pytest.mark.parametrize("piece", [7, 64, 4096])
def test_the_lower_case_scan_finds_what_the_ignorecase_one_does(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stems are looked for in the text put in lower case, a piece at a time (an
    IGNORECASE pattern tries every alternative at every position: 15 ms for a 60 kB
    article): the same places as the IGNORECASE pattern over the whole text, whatever the
    pieces' size, with letters IGNORECASE folds that lower() does not ("ı", "ſ"), one whose
    lower case is two ("İ"), and stems of one or two letters (whole words only)."""
    import random

    from kbapp.search import snippets

    monkeypatch.setattr(snippets, "_PIECE_CHARS", piece)
    monkeypatch.setattr(snippets, "_MAX_PIECE_CHARS", 4 * piece)
    rng = random.Random(15)
    words = [
        "Disk",
        "DISKS",
        "no",
        "No.",
        "t",
        "don't",
        "Ex",
        "index",
        "İstanbul",
        "ıdle",
        "ſpace",
        "KELVIN",
        "straße",
        "éte",
        "up-to-date",
        "UP",
        "cmd.exe",
        "x",
    ]
    highlighter = Highlighter(
        {"disk", "idl", "space", "date", "kelvin"},
        prefix="cm",
        phrases=[("no", "space"), ("don", "t"), ("up", "to"), ("ex", "x")],
    )
    assert highlighter._lower_pattern is not None
    for _ in range(60):
        text = "".join(
            rng.choice(words) + rng.choice([" ", "", "-", "\n", ", ", "é"]) for _ in range(80)
        )
        expected = [m.span() for m in highlighter._pattern.finditer(text)]  # type: ignore[union-attr]
        assert list(highlighter._candidates(text)) == expected, text


@pytest.mark.parametrize("piece", [40, 300, 16384])
def test_a_long_text_is_folded_only_as_far_as_its_matches(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text that is not ASCII is folded (as the index folds it) a piece at a time, until
    the scan for the query's terms stops well inside the piece: the same matches as the whole
    text folded, wherever the pieces end (folding a 500 kB article whole cost 15 ms a
    search, its first matches in its first kilobytes)."""
    import random

    from kbapp.search import snippets
    from kbapp.search.analysis import FoldedText

    monkeypatch.setattr(snippets, "_FOLD_PIECE_CHARS", piece)
    rng = random.Random(16)
    words = [
        "Café",
        "İstanbul",
        "ﬁle",
        "disk",
        "Disk-full",
        "no",
        "space",
        "left",
        "naïve",
        "e\u0301t\u00e9",
        "word",
        "other",
        "x" * 30,
        "déjà",
        "files",
    ]
    for terms, phrases in [({"disk", "file", "istanbul"}, []), (set(), [("no", "space", "left")])]:
        highlighter = Highlighter(terms, phrases=phrases)
        for _ in range(30):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 400)))
            for limit in (1, 3, 12):
                folded = FoldedText(text)
                whole, _stopped = highlighter._matches(folded.text, limit)
                expected = [(folded.original(a), folded.original(b)) for a, b in whole]
                assert highlighter.matches(text, limit) == expected, (limit, text)


def test_a_fragment_shows_little_before_its_match() -> None:
    """A result row may show one line of a fragment: the match must be in it ("Meaning: More
    than 2 % of requests to" was all the demo's best hit for "payments 503" showed)."""
    text = (
        "Meaning: More than 2 % of requests to api.payments.tidewater.example returned a 5xx "
        "status over five minutes, most of the time a 503 Service Unavailable from the ingress."
    )
    fragment = Highlighter({"payment"}).fragments(text)[0]
    plain = re.sub(r"<[^>]+>", "", fragment)
    assert plain.index("api.payments") <= 25, plain


def test_the_first_fragment_is_the_one_showing_most_of_the_query() -> None:
    """A result row shows its first fragment: for "payments 503" the demo's runbook showed
    "...of requests to api.[payments].tidewater.example", the first match, while a later
    line holds both words. The fragments that follow add words not shown yet."""
    text = (
        "Meaning: More than 2 % of requests to api.payments.tidewater.example returned a 5xx "
        "status over five minutes, as the ingress counts them. "
        + "Filler words here. " * 12
        + "Who sends the 503, the ingress or the payments API? Look at the ingress log first. "
        + "Filler words here. " * 12
        + "Escalate to the payments team."
    )
    marked = Highlighter({"payment", "503"}).fragments(text)
    plain = [re.sub(r"<[^>]+>", "", fragment) for fragment in marked]
    assert "503" in plain[0] and "payments API" in plain[0], plain
    # one word of the query: the fragments keep the text's order
    single = [re.sub(r"<[^>]+>", "", f) for f in Highlighter({"payment"}).fragments(text)]
    assert "api.payments" in single[0] and "payments API" in single[1], single


def test_a_first_fragment_begins_where_its_first_line_holds_the_query(
    search_index: SearchIndex,
) -> None:
    """A result row shows the first line of the first fragment (about 52 characters in a
    1366x768 window): the fragment begins where that line holds the most of the query's
    terms, the rarer first (in the demo "payments 503" showed a PromQL line with
    "payments-api" in the row and its "503" only further on). Trimmed with an ellipsis,
    the matched words marked."""
    ws = search_index.ws
    write_doc(
        ws,
        "runbooks/payments-5xx.md",
        front("kb-pay5xx01", "Payments API high 5xx rate", "runbook")
        + "# Payments API high 5xx rate\n\n## Meaning\n\n"
        "More than 2 % of requests to `api.payments.example` returned a 5xx status over five\n"
        'minutes (`sum(rate(http_requests_total{service="payments-api",code=~"5.."}[5m])) /\n'
        'sum(rate(http_requests_total{service="payments-api"}[5m])) > 0.02`). Most of the time '
        "the code is\n503 Service Unavailable, sent by the ingress when no pod is ready.\n\n"
        "## Impact\n\nCard payments fail for customers; the shop says to try again later.\n",
    )
    search_index.update(["runbooks/payments-5xx.md"])
    for query in ("payments 503", "payments 503 "):  # as typed, and a finished word
        hit = next(h for h in search_index.search(query).hits if h.path.endswith("5xx.md"))
        first = hit.snippets[0]
        plain = re.sub(r"<[^>]+>", "", first)
        assert plain.startswith("…") and "503" in plain[:53], plain
        assert '<b class="match">503</b>' in first
        # the query's other word is still shown
        assert any('<b class="match">payments' in f for f in hit.snippets), hit.snippets


def test_search_marks_a_synonym_phrase_only_where_it_stands_whole(
    search_index: SearchIndex,
) -> None:
    """Through the index: "disk full" finds a text saying "no space left" (a shipped synonym)
    and marks those words there; a text where "no" stands alone gets no mark on it."""
    ws = search_index.ws
    write_doc(
        ws,
        "sops/etcd-leader.md",
        front("kb-etcd0001", "etcd member without a leader", "sop")
        + "The member reports it has no leader for a minute. Check the disk: when its disk"
        " is full, writes stall.\n",
    )
    write_doc(
        ws,
        "sops/pg-space.md",
        front("kb-pgsp0001", "Postgres writes fail", "sop")
        + "Writes fail with no space left on device on the data volume.\n",
    )
    search_index.update(["sops/etcd-leader.md", "sops/pg-space.md"])
    hits = {hit.path: " ".join(hit.snippets) for hit in search_index.search("disk full").hits}
    assert '<b class="match">no</b> <b class="match">space</b>' in hits["sops/pg-space.md"]
    etcd = hits["sops/etcd-leader.md"]
    assert '<b class="match">full</b>' in etcd and '<b class="match">no</b>' not in etcd
    # the words typed are marked one by one too ("the disk:" alone)
    assert 'the <b class="match">disk</b>:' in etcd, etcd


def test_limit_and_snippet_count(index: SearchIndex) -> None:
    response = index.search("payments ", limit=2, snippets=0)
    assert len(response.hits) == 2 and response.total >= 3
    assert all(not hit.snippets for hit in response.hits)


def test_empty_query_is_empty(index: SearchIndex, tmp_path: Path) -> None:
    response = index.search("   ")
    assert response.hits == [] and response.total == 0
