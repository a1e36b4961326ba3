"""Several knowledge bases at once (the shared one and an internal-only one): the setting that
lists those searched together, ``kbapp search`` across them, and ``kbapp move-to-kb`` (target
commit first, so a crash leaves the document in both, never in neither)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import INTERNAL_DOC, PLAIN_DOC, CliResult, TwoKbs, commit_all, git, write_doc

from kbapp import knowledge_bases
from kbapp.errors import KbError, PolicyError
from kbapp.settings import Settings
from kbapp.workspace import Workspace

Cli = Callable[..., CliResult]


def subjects(ws: Workspace, count: int = 1) -> list[str]:
    return git(ws.root, "log", f"-{count}", "--format=%s").splitlines()


def tracked(ws: Workspace) -> set[str]:
    return set(git(ws.root, "ls-files", "*.md").splitlines())


# --------------------------------------------------------------------------- the setting


def test_searched_together_is_changed_by_kbapp_settings_and_kept(
    cli: Cli, two: TwoKbs, tmp_path: Path
) -> None:
    added = cli("settings", "also_search", "--add", two.internal.root / "runbooks")
    assert added.code == 0, added.err
    assert str(two.internal.root) in added.out  # the knowledge base's root, not the subfolder
    assert Settings.load().also_search == [str(two.internal.root)]
    assert cli("settings", "also_search", "--add", two.internal.root).code == 0  # once only
    assert cli("settings", "also_search").out.splitlines() == [str(two.internal.root)]

    refused = cli("settings", "also_search", "--add", tmp_path / "nowhere")
    assert refused.code == 1 and "does not exist" in refused.err
    assert Settings.load().also_search == [str(two.internal.root)]

    assert cli("settings", "also_search", "--remove", two.internal.root).code == 0
    assert Settings.load().also_search == []
    again = cli("settings", "also_search", "--remove", two.internal.root)
    assert again.code == 1 and "is not searched together" in again.err


def test_other_knowledge_bases_open_and_broken_ones_are_skipped_with_a_reason(
    two: TwoKbs, settings: Settings, tmp_path: Path
) -> None:
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    settings.also_search = [
        str(two.shared.root),
        str(two.internal.root),
        str(two.internal.root),
        str(tmp_path / "gone"),
        str(plain),
    ]
    others = knowledge_bases.open_others(settings, two.shared.root)
    try:
        assert [ws.config.name for ws in others.workspaces] == ["Internal KB"]  # not itself
        assert [path for path, _ in others.skipped] == [str(tmp_path / "gone"), str(plain)]
        assert (
            others.warnings[0]
            == f"Not searching {tmp_path / 'gone'}: {tmp_path / 'gone'} does not exist"
        )
        assert "is not a git repository" in others.warnings[1]
        assert all("\n" not in w for w in others.warnings)
        assert others.by_root(two.internal.root) is others.workspaces[0]
    finally:
        others.close()


# --------------------------------------------------------------------------- kbapp search


def test_kbapp_search_covers_the_others_and_says_where_each_result_is(
    cli: Cli, two: TwoKbs, tmp_path: Path
) -> None:
    assert cli("settings", "also_search", "--add", two.internal.root).code == 0
    result = cli("--kb", two.shared.root, "search", "failover payments", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    where = {(r["kb"], r["kb_path"], r["path"]) for r in data["results"]}
    assert where == {
        ("Shared KB", str(two.shared.root), "sops/payments-failover.md"),
        ("Internal KB", str(two.internal.root), "runbooks/failover-secret-site.md"),
    }
    assert data["knowledge_bases"] == [
        {"name": "Shared KB", "path": str(two.shared.root)},
        {"name": "Internal KB", "path": str(two.internal.root)},
    ]
    assert data["skipped"] == []

    human = cli("--kb", two.shared.root, "search", "failover payments")
    assert f"runbooks/failover-secret-site.md  (in Internal KB, {two.internal.root})" in human.out
    assert f"sops/payments-failover.md  (in Shared KB, {two.shared.root})" in human.out

    only = json.loads(
        cli("--kb", two.shared.root, "search", "failover payments", "--json", "--only-this").out
    )
    assert {r["kb"] for r in only["results"]} == {"Shared KB"}
    assert only["knowledge_bases"] == [{"name": "Shared KB", "path": str(two.shared.root)}]
    alone = cli("--kb", two.shared.root, "search", "failover payments", "--only-this")
    assert "(in " not in alone.out  # one knowledge base: nothing to tell apart

    queries = tmp_path / "queries.txt"
    queries.write_text("failover payments\nsecret site\n")
    batch = cli("--kb", two.shared.root, "search", "--batch", queries, "--json")
    assert batch.code == 0, batch.err
    lines = [json.loads(line) for line in batch.out.splitlines()]
    assert {r["kb"] for r in lines[0]["results"]} == {"Shared KB", "Internal KB"}
    assert [r["id"] for r in lines[1]["results"]] == ["kb-1a7e0001"]
    plain = cli("--kb", two.shared.root, "search", "--batch", queries)
    assert plain.out.splitlines()[1].startswith("secret site\t1\t")


def test_kbapp_search_skips_a_missing_knowledge_base_with_one_line(
    cli: Cli, two: TwoKbs, tmp_path: Path
) -> None:
    settings = Settings.load()
    settings.also_search = [str(tmp_path / "moved-away"), str(two.internal.root)]
    settings.save()
    result = cli("--kb", two.shared.root, "search", "failover", "--json")
    assert result.code == 0
    gone = tmp_path / "moved-away"
    assert result.err.strip().splitlines() == [
        f"kbapp: warning: Not searching {gone}: {gone} does not exist"
    ]
    data = json.loads(result.out)
    assert {r["kb"] for r in data["results"]} == {"Shared KB", "Internal KB"}
    assert data["skipped"] == [
        {
            "path": str(tmp_path / "moved-away"),
            "reason": f"{tmp_path / 'moved-away'} does not exist",
        }
    ]


# --------------------------------------------------------------------------- moving


def test_move_to_kb_commits_in_the_target_then_removes_from_the_source(
    cli: Cli, two: TwoKbs
) -> None:
    result = cli("--kb", two.internal.root, "move-to-kb", "kb-0de00001", "--to", two.shared.root)
    assert result.code == 0, result.err
    assert result.out.strip() == str(two.shared.root / "runbooks/rotate-certificates.md")
    assert "Moved “Rotate the checkout certificates” from Internal KB to Shared KB" in result.err
    moved = (two.shared.root / "runbooks/rotate-certificates.md").read_text()
    assert moved == PLAIN_DOC  # byte for byte, id kept
    assert subjects(two.shared) == ["Move in: Rotate the checkout certificates (from Internal KB)"]
    assert subjects(two.internal) == ["Move out: Rotate the checkout certificates (to Shared KB)"]
    assert "runbooks/rotate-certificates.md" not in tracked(two.internal)
    assert not (two.internal.root / "runbooks/rotate-certificates.md").exists()
    assert git(two.internal.root, "status", "--porcelain") == ""
    assert git(two.shared.root, "status", "--porcelain") == ""
    two.shared.refresh()
    assert [e.path for e in two.shared.catalog.by_id("kb-0de00001")] == [
        "runbooks/rotate-certificates.md"
    ]


def test_move_to_kb_names_the_documents_whose_links_no_longer_reach_it(
    cli: Cli, two: TwoKbs
) -> None:
    write_doc(
        two.internal,
        "sops/checkout-release.md",
        "---\nid: kb-0de00002\ntitle: Release checkout\ntype: sop\nstatus: published\n"
        "---\n# Release checkout\n\nFirst renew the certificates: [[kb-0de00001]].\n",
    )
    commit_all(two.internal)
    result = cli("--kb", two.internal.root, "move-to-kb", "kb-0de00001", "--to", two.shared.root)
    assert result.code == 0, result.err
    assert "1 document in Internal KB linked to it and no longer reaches it: Release checkout" in (
        result.err
    )
    # and for tools
    write_doc(
        two.shared,
        "sops/uses-failover.md",
        "---\nid: kb-0de00003\ntitle: Uses failover\n---\nSee [[kb-5a4ed001]].\n",
    )
    commit_all(two.shared)
    moved = knowledge_bases.move_to_kb(two.shared, "kb-5a4ed001", two.internal)
    assert moved.to_dict()["linked_from"] == ["Uses failover"]


def test_move_to_kb_takes_a_free_path_and_a_new_id_when_both_are_taken(
    cli: Cli, two: TwoKbs
) -> None:
    taken = PLAIN_DOC.replace("Rotate the checkout certificates", "Something else")
    write_doc(two.shared, "runbooks/rotate-certificates.md", taken)
    commit_all(two.shared)
    result = cli(
        "--kb",
        two.internal.root,
        "move-to-kb",
        "runbooks/rotate-certificates.md",
        "--to",
        two.shared.root,
    )
    assert result.code == 0, result.err
    assert result.out.strip() == str(two.shared.root / "runbooks/rotate-certificates-2.md")
    text = (two.shared.root / "runbooks/rotate-certificates-2.md").read_text()
    new_id = text.split("id: ", 1)[1].split("\n", 1)[0]
    assert new_id != "kb-0de00001" and new_id.startswith("kb-")
    assert text == PLAIN_DOC.replace("kb-0de00001", new_id)  # nothing else changed
    assert (two.shared.root / "runbooks/rotate-certificates.md").read_text() == taken
    assert (
        "runbooks/rotate-certificates.md was taken there, so it is "
        "runbooks/rotate-certificates-2.md."
    ) in result.err
    assert f"Its id kb-0de00001 was taken there, so it is now {new_id}" in result.err


def test_an_internal_document_never_moves_into_a_shared_knowledge_base(
    cli: Cli, two: TwoKbs
) -> None:
    before = (
        git(two.shared.root, "rev-parse", "HEAD"),
        git(two.internal.root, "rev-parse", "HEAD"),
    )
    result = cli("--kb", two.internal.root, "move-to-kb", "kb-1a7e0001", "--to", two.shared.root)
    assert result.code == 1
    assert "this document is marked 'internal' and this knowledge base is shared" in result.err
    assert (
        git(two.shared.root, "rev-parse", "HEAD"),
        git(two.internal.root, "rev-parse", "HEAD"),
    ) == before
    assert not (two.shared.root / "runbooks/failover-secret-site.md").exists()
    assert (two.internal.root / "runbooks/failover-secret-site.md").read_text() == INTERNAL_DOC
    with pytest.raises(PolicyError):
        knowledge_bases.move_to_kb(two.internal, "kb-1a7e0001", two.shared)


def test_move_to_kb_refuses_a_target_with_conflicts_waiting(two: TwoKbs) -> None:
    from kbapp.sync import conflicts

    conflicts.record(
        two.shared,
        "sops/payments-failover.md",
        base=b"a\n",
        mine=b"b\n",
        theirs=b"c\n",
        theirs_merged=b"c\n",
        fields=["body"],
    )
    with pytest.raises(KbError, match="Shared KB has conflicts waiting to be resolved"):
        knowledge_bases.move_to_kb(two.internal, "kb-0de00001", two.shared)
    assert (two.internal.root / "runbooks/rotate-certificates.md").exists()
    assert not (two.shared.root / "runbooks/rotate-certificates.md").exists()
    with pytest.raises(KbError, match="already in Internal KB"):
        knowledge_bases.move_to_kb(two.internal, "kb-0de00001", two.internal)


@pytest.mark.parametrize("point", knowledge_bases.MOVE_CHECKPOINTS)
def test_a_move_killed_between_its_commits_leaves_the_document_in_both_never_in_neither(
    two: TwoKbs, settings: Settings, point: str
) -> None:
    env = {**os.environ, "KBAPP_SYNC_CRASH_AT": point}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kbapp",
            "--kb",
            str(two.internal.root),
            "move-to-kb",
            "kb-0de00001",
            "--to",
            str(two.shared.root),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.wait(timeout=120) == -signal.SIGKILL

    path = "runbooks/rotate-certificates.md"
    # The target's commit is made before anything is taken from the source.
    assert path in tracked(two.shared)
    assert git(two.shared.root, "show", f"HEAD:{path}") + "\n" == PLAIN_DOC
    assert path in tracked(two.internal)  # the source's removal is not committed yet
    two.internal.close()
    source = Workspace.open(two.internal.root, settings)  # the next start
    try:
        if point == "move-committed-in-target":
            assert (source.root / path).read_text() == PLAIN_DOC  # in both: nothing lost
            assert subjects(source) == ["add"]
        else:  # the removal was under way: the next start finishes it
            assert not (source.root / path).exists()
            assert path not in tracked(source)
            assert subjects(source)[0].startswith("Move out: Rotate the checkout certificates")
        assert git(source.root, "status", "--porcelain") == ""
    finally:
        source.close()
