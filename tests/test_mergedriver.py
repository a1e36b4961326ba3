"""The front-matter-aware merge: fields by meaning, body by git's three-way merge, no markers in
the candidates, and the driver as git itself runs it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from helpers import git

from kbapp.documents import model as documents
from kbapp.sync.mergedriver import merge, merge_lists, merge_meta
from kbapp.trust.policy import conflict_marker_line

BASE = """\
---
id: kb-3f9c2a1e
title: Fail over the payments database
type: sop
status: published  # keep this comment
owner_org: partner
owners:
  - dba-oncall@partner.example
tags:
  - failover
  - postgres
review:
  interval_days: 90
  last_reviewed: 2026-01-10
  reviewed_by: ana@internal.example
---
# Fail over the payments database

## Prerequisites

Check replication lag.

## Steps

1. Stop writes.
2. Promote the replica.
3. Point the app at the new primary.

## Verification

Run the smoke test.
"""


def edit(text: str, *pairs: tuple[str, str]) -> bytes:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode()


def meta_of(data: bytes) -> dict:
    return documents.parse(data, "x.md").meta


def test_one_sided_changes_take_that_side() -> None:
    mine = edit(BASE, ("Check replication lag.", "Check replication lag on both replicas."))
    theirs = edit(BASE, ("interval_days: 90", "interval_days: 60"))
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.clean
    text = result.text.decode()
    assert "both replicas" in text and "interval_days: 60" in text
    assert "# keep this comment" in text  # mine's block is patched, not rewritten
    assert result.mine == result.theirs == result.text


def test_lists_are_united_in_order_and_removals_are_kept() -> None:
    mine = edit(BASE, ("  - postgres\n", "  - postgres\n  - payments\n"))
    theirs = edit(BASE, ("  - failover\n", ""), ("  - postgres\n", "  - postgres\n  - dr\n"))
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.clean, result.conflicts
    assert meta_of(result.text)["tags"] == ["postgres", "payments", "dr"]
    assert merge_lists(["a", "b"], ["a", "b", "c"], ["b", "d"]) == ["b", "c", "d"]
    assert merge_lists([], [{"step": 1}], [{"step": 1}, {"step": 2}]) == [{"step": 1}, {"step": 2}]


def test_later_review_wins_with_its_reviewer() -> None:
    mine = edit(
        BASE,
        ("last_reviewed: 2026-01-10", "last_reviewed: 2026-03-01"),
        ("reviewed_by: ana@internal.example", "reviewed_by: jo@partner.example"),
    )
    theirs = edit(
        BASE,
        ("last_reviewed: 2026-01-10", "last_reviewed: 2026-04-02"),
        ("reviewed_by: ana@internal.example", "reviewed_by: li@internal.example"),
    )
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.clean, result.conflicts
    review = meta_of(result.text)["review"]
    assert str(review["last_reviewed"]) == "2026-04-02"
    assert review["reviewed_by"] == "li@internal.example"


def test_status_takes_the_more_conservative_value() -> None:
    mine = edit(BASE, ("status: published", "status: draft"))
    theirs = edit(BASE, ("status: published", "status: in-review"))
    assert meta_of(merge(BASE.encode(), mine, theirs, "a.md").text)["status"] == "draft"
    retired = edit(BASE, ("status: published", "status: retired"))
    assert meta_of(merge(BASE.encode(), mine, retired, "a.md").text)["status"] == "retired"


def test_a_scalar_changed_on_both_sides_is_a_field_conflict_with_clean_candidates() -> None:
    mine = edit(
        BASE,
        ("owner_org: partner", "owner_org: internal"),
        ("Run the smoke test.", "Run the smoke test twice."),
    )
    theirs = edit(BASE, ("owner_org: partner", "owner_org: shared-ops"))
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.conflicts == ["owner_org"]
    assert meta_of(result.mine)["owner_org"] == "internal"
    assert meta_of(result.theirs)["owner_org"] == "shared-ops"
    # the non-conflicting body change is in both candidates
    assert b"smoke test twice" in result.mine and b"smoke test twice" in result.theirs
    for candidate in (result.mine, result.theirs):
        assert conflict_marker_line(candidate.decode()) is None
    marked = result.text.decode()
    assert conflict_marker_line(marked) is not None
    block = marked[marked.index("<<<<<<<") : marked.index(">>>>>>>")]
    assert "owner_org: internal" in block and "owner_org: shared-ops" in block
    assert "title:" not in block  # only the conflicting field is inside the markers


def test_same_line_edited_on_both_sides_is_a_body_conflict() -> None:
    mine = edit(
        BASE,
        ("2. Promote the replica.", "2. Promote the replica with pg_ctl promote."),
        ("tags:\n", "tags:\n  - critical\n"),
    )
    theirs = edit(
        BASE, ("2. Promote the replica.", "2. Promote the replica (patronictl failover).")
    )
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.conflicts == ["body"]
    assert b"pg_ctl promote" in result.mine and b"patronictl" not in result.mine
    assert b"patronictl" in result.theirs and b"pg_ctl" not in result.theirs
    assert meta_of(result.theirs)["tags"][0] == "critical"  # clean parts of both merged
    assert conflict_marker_line(result.text.decode()) is not None


def test_different_sections_merge_cleanly() -> None:
    mine = edit(BASE, ("Check replication lag.", "Check replication lag (< 1 s)."))
    theirs = edit(BASE, ("Run the smoke test.", "Run the smoke test and watch errors."))
    result = merge(BASE.encode(), mine, theirs, "sop.md")
    assert result.clean
    assert b"(< 1 s)" in result.text and b"watch errors" in result.text


def test_added_on_both_sides_and_files_without_front_matter() -> None:
    result = merge(None, b"# A\n\none\n", b"# A\n\none\n", "a.md")
    assert result.clean and result.text == b"# A\n\none\n"
    result = merge(b"# A\n\nx\n", b"# A\n\ny\n", b"# A\n\nz\n", "a.md")
    assert result.conflicts == ["body"]
    # theirs gained front matter (a kbapp save) while mine edited the body by hand
    theirs = b"---\nid: kb-00000001\ntitle: A\n---\n# A\n\nx\n"
    result = merge(b"# A\n\nx\n", b"# A\n\nx and more\n", theirs, "a.md")
    assert result.clean
    assert meta_of(result.text)["id"] == "kb-00000001" and b"x and more" in result.text


def test_broken_yaml_and_binary_fall_back_without_losing_either_side() -> None:
    broken = BASE.replace("tags:\n", "tags: [unclosed\n")
    result = merge(
        BASE.encode(), broken.encode(), edit(BASE, ("status: published", "status: draft")), "a.md"
    )
    assert isinstance(result.text, bytes)  # a line merge, no crash
    result = merge(b"\0a", b"\0b", b"\0c", "img.md")
    assert result.conflicts == ["binary"] and result.mine == b"\0b" and result.theirs == b"\0c"


def test_merge_meta_symmetry_for_lists() -> None:
    base = {"tags": ["a"]}
    one, _, _ = merge_meta(base, {"tags": ["a", "b"]}, {"tags": ["a", "c"]})
    two, _, _ = merge_meta(base, {"tags": ["a", "c"]}, {"tags": ["a", "b"]})
    assert set(one["tags"]) == set(two["tags"]) == {"a", "b", "c"}


def _driver_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "plain"
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".gitattributes").write_text("*.md merge=kbapp\n")
    (repo / "sop.md").write_text(BASE)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    driver = f"{shlex.quote(sys.executable)} -m kbapp merge-driver %O %A %B %P"
    git(repo, "config", "merge.kbapp.driver", driver)
    git(repo, "config", "merge.kbapp.name", "kbapp")
    return repo


def test_git_runs_the_driver_for_a_partner_on_plain_git(tmp_path: Path) -> None:
    repo = _driver_repo(tmp_path)
    git(repo, "switch", "-qc", "other")
    (repo / "sop.md").write_bytes(edit(BASE, ("  - postgres\n", "  - postgres\n  - dr\n")))
    git(repo, "commit", "-qam", "theirs")
    git(repo, "switch", "-q", "main")
    (repo / "sop.md").write_bytes(edit(BASE, ("  - postgres\n", "  - postgres\n  - payments\n")))
    git(repo, "commit", "-qam", "mine")
    git(repo, "merge", "-q", "--no-edit", "other")  # git's text merge would conflict here
    assert meta_of((repo / "sop.md").read_bytes())["tags"] == [
        "failover",
        "postgres",
        "payments",
        "dr",
    ]


def test_driver_leaves_markers_and_a_conflict_for_git(tmp_path: Path) -> None:
    import subprocess

    repo = _driver_repo(tmp_path)
    git(repo, "switch", "-qc", "other")
    (repo / "sop.md").write_bytes(edit(BASE, ("Stop writes.", "Stop writes now.")))
    git(repo, "commit", "-qam", "theirs")
    git(repo, "switch", "-q", "main")
    (repo / "sop.md").write_bytes(edit(BASE, ("Stop writes.", "Stop all writes.")))
    git(repo, "commit", "-qam", "mine")
    done = subprocess.run(
        ["git", "merge", "--no-edit", "other"], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "sop.md" in git(repo, "diff", "--name-only", "--diff-filter=U")
    assert conflict_marker_line((repo / "sop.md").read_text()) is not None
