"""``kbapp search`` and ``kbapp index`` on a real knowledge base."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from helpers import CliResult, run_kbapp
from search_helpers import DOCS, populate

from kbapp.workspace import Workspace

Cli = Callable[..., CliResult]


def test_search_prints_results_with_snippets(kb: Workspace, cli: Cli) -> None:
    populate(kb)
    result = cli("--kb", kb.root, "search", "etcd no leader")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("kb-00000001  etcdNoLeader  (runbook, published, internal)")
    assert "runbooks/etcd-no-leader.md" in result.out
    assert "[leader]" in result.out  # the match, marked for a terminal
    assert "found in" in result.err


def test_search_json_has_results_facets_and_suggestion(kb: Workspace, cli: Cli) -> None:
    populate(kb)
    result = cli("--kb", kb.root, "search", "failovr", "--json", "--limit", "2")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["suggestion"] == "failover"
    assert len(data["results"]) == 2
    hit = data["results"][0]
    assert set(hit) >= {
        "id",
        "path",
        "title",
        "type",
        "status",
        "owner_org",
        "review_state",
        "score",
        "snippets",
    }
    assert hit["path"] == "sops/payments-failover.md" and hit["review_state"] == "overdue"
    assert {"type", "owner_org", "tags", "systems"} <= set(data["facets"])
    assert data["total"] >= 3


def test_batch_answers_one_json_line_per_query(kb: Workspace, cli: Cli, tmp_path: Path) -> None:
    populate(kb)
    queries = tmp_path / "queries.txt"
    queries.write_text("ORA-00600\n\n# a comment\nkube-apiserver 503\nnothing-matches-this\n")
    result = cli("--kb", kb.root, "search", "--batch", queries, "--json")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [line["query"] for line in lines] == [
        "ORA-00600",
        "kube-apiserver 503",
        "nothing-matches-this",
    ]
    assert lines[0]["results"][0]["id"] == "kb-00000002"
    assert lines[1]["results"][0]["path"] == "runbooks/http-503.md"
    assert lines[2]["results"] == [] and all("elapsed_ms" in line for line in lines)


def test_search_usage_errors(kb: Workspace, cli: Cli) -> None:
    assert cli("--kb", kb.root, "search").code == 1
    assert cli("--kb", kb.root, "search", "x", "--limit", "0").code == 1
    assert cli("--kb", kb.root, "search", "x", "--batch", "/nonexistent/file").code == 1


def test_index_command_catches_up_and_rebuilds(kb: Workspace, cli: Cli) -> None:
    populate(kb)
    first = cli("--kb", kb.root, "index")
    assert first.code == 0 and f"Indexed {len(DOCS)}" in first.out
    again = cli("--kb", kb.root, "index")
    assert "up to date" in again.out
    rebuilt = cli("--kb", kb.root, "index", "--rebuild")
    assert rebuilt.code == 0 and f"Indexed {len(DOCS)} documents" in rebuilt.out


def test_search_in_a_real_process(kb: Workspace) -> None:
    populate(kb)
    done = run_kbapp("--kb", str(kb.root), "search", "CVE-2024-3094", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["path"] == "known-errors/xz.md"


def test_search_says_when_no_document_has_every_word(kb: Workspace, cli: Cli) -> None:
    populate(kb)
    result = cli("--kb", kb.root, "search", "failover xyzzy")
    assert result.code == 0, result.err
    assert (
        "No document has all of: failover xyzzy; showing those with one of them "
        "(xyzzy is in none)." in result.out.splitlines()
    )
    assert "sops/payments-failover.md" in result.out
    data = json.loads(cli("--kb", kb.root, "search", "failover xyzzy", "--json").out)
    assert data["some_words_only"] is True and data["unmatched_words"] == ["xyzzy"]
    together = cli("--kb", kb.root, "search", "failover postgres")
    assert "No document has all" not in together.out
