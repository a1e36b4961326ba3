"""Sync between two organisations with real repositories: a bare shared repository and kbapp
clones in tmp_path (and, for the key scenarios, the same over git:// from a real git daemon)."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SharedRepo, git, write_doc

from kbapp.errors import PolicyError, SyncError
from kbapp.sync import conflicts, sync
from kbapp.trust.policy import conflict_marker_line
from kbapp.workspace import Workspace

BOTH = pytest.mark.parametrize("transport", ["file", "daemon"])


def edit(ws: Workspace, path: str, old: str, new: str) -> None:
    doc = ws.load(path)
    assert old in doc.body, old
    doc.body = doc.body.replace(old, new, 1)
    ws.save(doc)


def set_field(ws: Workspace, path: str, key: str, value: object) -> None:
    doc = ws.load(path)
    doc.set(key, value)
    ws.save(doc)


def tree(ws: Workspace) -> str:
    return git(ws.root, "rev-parse", "HEAD^{tree}")


def assert_no_marker_in_history(repo: Path) -> None:
    for rev in git(repo, "rev-list", "--all").split():
        listing = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
        for path in listing:
            if path.endswith(".md"):
                text = git(repo, "show", f"{rev}:{path}")
                assert conflict_marker_line(text) is None, (rev, path)


def converge(*workspaces: Workspace) -> None:
    for _ in range(2):
        for ws in workspaces:
            report = sync.sync(ws)
            assert report.pushed, report.message


@BOTH
def test_edits_to_different_documents_reach_the_other_side(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    created = ana.create("runbook", "Disk full on db01")
    report = sync.sync(ana)
    assert report.pushed and [c.path for c in report.published] == [created.path]
    assert report.published[0].org == "internal"

    report = sync.sync(jo)
    assert [c.path for c in report.changed_by_others] == [created.path]
    change = report.changed_by_others[0]
    assert (change.title, change.author, change.org) == (
        "Disk full on db01",
        "Ana Ribeiro",
        "internal",
    )
    assert created.path in report.changed_paths
    assert jo.catalog.get(created.path) is not None  # the catalog was refreshed

    edit(jo, created.path, "## Meaning", "## Meaning\n\nThe volume is above 90 %.")
    other = jo.create("sop", "Rotate the TLS certificate")
    ana.create("troubleshooting", "Slow login")
    sync.sync(jo)
    report = sync.sync(ana)
    assert {c.path for c in report.changed_by_others} == {created.path, other.path}
    assert {c.org for c in report.changed_by_others} == {"partner"}
    assert report.pushed and not report.conflicts
    sync.sync(jo)
    assert tree(ana) == tree(jo) == git(shared.remote, "rev-parse", "main^{tree}")
    assert "KB-Org: internal" in git(ana.root, "log", "-1", "--format=%B")


@BOTH
def test_same_line_conflict_keeps_syncing_and_never_commits_markers(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Payments API 5xx").path
    sync.sync(ana)
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nCheckout fails for every customer.")
    edit(jo, doc, "## Impact", "## Impact\n\nAbout 3 % of payments fail.")
    set_field(jo, doc, "tags", ["payments"])
    unrelated = jo.create("sop", "Restart the payments API").path
    sync.sync(jo)

    report = sync.sync(ana)
    assert report.conflicts == [doc]
    assert report.pushed  # the conflict did not block the rest
    assert (ana.root / unrelated).is_file()
    text = (ana.root / doc).read_text()
    assert "every customer" in text and "3 %" not in text  # provisional: mine
    assert "payments" in text  # theirs' tag merged in anyway
    waiting = conflicts.list_conflicts(ana)
    assert [c.path for c in waiting] == [doc]
    conflict = waiting[0]
    assert conflict.fields == ["body"]
    assert conflict.their_org == "partner" and conflict.their_author == "Jo Okafor"
    assert "3 %" in conflict.theirs and "every customer" not in conflict.theirs
    assert "Checkout fails" not in conflict.base and "3 %" not in conflict.base
    assert sync.status(ana).conflicts == 1

    # what the window shows to decide: the merge by meaning proposed, the differences marked
    [proposal] = conflicts.proposals(ana)
    assert (proposal.path, proposal.conflicting) == (doc, ["body"])
    assert "every customer" in proposal.merged and "3 %" in proposal.merged
    assert "payments" in proposal.merged  # what merged cleanly is in already
    assert "Line " in (conflicts.unresolved(proposal.merged) or "")
    assert conflicts.unresolved(conflict.theirs) is None
    mine_lines, theirs_lines = proposal.mine.split("\n"), proposal.theirs.split("\n")
    assert any("every customer" in mine_lines[n] for n in proposal.mine_changed)
    assert any("3 %" in theirs_lines[n] for n in proposal.theirs_changed)
    assert not any("3 %" in mine_lines[n] for n in range(len(mine_lines)))
    first = proposal.merged.split("\n")[proposal.first_line]
    assert first.startswith(("<<<<<<<", "=======", ">>>>>>>")), first

    conflicts.resolve(ana, doc, text=conflict.theirs)
    assert conflicts.list_conflicts(ana) == []
    assert "Resolve: Payments API 5xx" in git(ana.root, "log", "-1", "--format=%s")
    converge(ana, jo)
    assert "3 %" in (jo.root / doc).read_text()
    assert tree(ana) == tree(jo)
    assert_no_marker_in_history(shared.remote)


def test_front_matter_changed_on_both_sides_merges_by_meaning(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("sop", "Fail over the payments database", tags=["failover"]).path
    sync.sync(ana)
    sync.sync(jo)
    set_field(ana, doc, "tags", ["failover", "postgres"])
    ana_doc = ana.load(doc)
    ana_doc.set_review(last_reviewed=dt.date(2026, 3, 1), reviewed_by="ana@internal.example")
    ana.save(ana_doc, verb="Review")
    set_field(jo, doc, "tags", ["failover", "payments-db"])
    jo_doc = jo.load(doc)
    jo_doc.set_review(last_reviewed=dt.date(2026, 4, 2), reviewed_by="jo@partner.example")
    jo_doc.set("status", "in-review")
    jo.save(jo_doc, verb="Review")
    sync.sync(jo)
    report = sync.sync(ana)
    assert report.conflicts == []
    merged = ana.load(doc)
    assert merged.tags == ["failover", "postgres", "payments-db"]
    assert str(merged.last_reviewed) == "2026-04-02" and merged.reviewed_by == "jo@partner.example"
    assert merged.status == "in-review"
    converge(ana, jo)
    assert tree(ana) == tree(jo)


def test_delete_versus_edit_keeps_the_edit_and_asks(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Old VPN gateway").path
    sync.sync(ana)
    sync.sync(jo)
    (jo.root / doc).unlink()
    jo.git.commit([doc], "Delete: Old VPN gateway")
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nRemote staff cannot connect.")
    report = sync.sync(ana)
    assert report.conflicts == [doc]
    assert "Remote staff" in (ana.root / doc).read_text()  # the edit is kept
    conflict = conflicts.get(ana, doc)
    assert conflict is not None and conflict.theirs_deleted and not conflict.mine_deleted
    # the partner was right: remove it
    conflicts.resolve(ana, doc, text=None)
    converge(ana, jo)
    assert not (ana.root / doc).exists() and not (jo.root / doc).exists()
    assert "Remote staff" in git(shared.remote, "log", "--all", "-p", "--", doc)  # still in history


def test_edit_versus_my_deletion_keeps_their_edit_until_i_confirm(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Legacy proxy").path
    sync.sync(ana)
    sync.sync(jo)
    edit(jo, doc, "## Impact", "## Impact\n\nStill used by the payroll system.")
    sync.sync(jo)
    (ana.root / doc).unlink()
    ana.git.commit([doc], "Delete: Legacy proxy")
    report = sync.sync(ana)
    assert report.conflicts == [doc]
    assert "payroll" in (ana.root / doc).read_text()  # their edit is not thrown away
    conflict = conflicts.get(ana, doc)
    assert conflict is not None and conflict.mine_deleted and "payroll" in conflict.theirs
    conflicts.resolve(ana, doc, text=None)  # --mine: the deletion stands
    converge(ana, jo)
    assert not (jo.root / doc).exists()


def test_rename_on_one_side_and_edit_on_the_other(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Queue backlog").path
    sync.sync(ana)
    sync.sync(jo)
    moved = jo.move(doc, "runbooks/messaging/queue-backlog.md").path
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nOrders are delayed.")
    report = sync.sync(ana)
    assert not report.conflicts
    assert not (ana.root / doc).exists()
    assert "Orders are delayed" in (ana.root / moved).read_text()
    assert doc in report.changed_paths and moved in report.changed_paths
    assert ana.catalog.get(doc) is None and ana.catalog.get(moved) is not None


def test_partner_on_plain_git_takes_part(shared: SharedRepo) -> None:
    ana = shared.ana
    doc = ana.create("sop", "Patch the hypervisors", tags=["patching"]).path
    sync.sync(ana)
    sam = shared.plain_clone()
    # the partner documents how to use the merge driver on plain git (docs/sync.md)
    git(sam, "config", "merge.kbapp.driver", sync.driver_command())
    text = (sam / doc).read_text().replace("  - patching\n", "  - patching\n  - vmware\n")
    (sam / doc).write_text(text)
    git(sam, "commit", "-qam", "Add a tag")
    git(sam, "push", "-q")
    set_field(ana, doc, "tags", ["patching", "esxi"])
    report = sync.sync(ana)
    assert not report.conflicts
    assert ana.load(doc).tags == ["patching", "esxi", "vmware"]
    assert report.changed_by_others[0].author == "Sam Plain"
    assert report.changed_by_others[0].org == "partner"  # from the e-mail domain
    git(sam, "pull", "-q", "--no-rebase")
    assert "esxi" in (sam / doc).read_text()


@BOTH
def test_rejected_push_is_retried(shared: SharedRepo) -> None:
    """The partner pushes while Ana's sync is between its fetch and its push."""
    ana, jo = shared.ana, shared.jo
    jo.create("sop", "Partner procedure")
    ana.create("sop", "Internal procedure")
    hook = ana.git.git_dir / "hooks" / "pre-push"
    flag = shared.tmp / "raced"
    hook.write_text(
        "#!/bin/sh\n"
        f"if [ ! -e '{flag}' ]; then touch '{flag}'; "
        f"cd '{jo.root}' && env -u GIT_DIR -u GIT_INDEX_FILE -u GIT_WORK_TREE git push -q origin main >&2; fi\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    report = sync.sync(ana)
    assert flag.exists()
    assert report.pushed, report.message
    assert {c.title for c in report.changed_by_others} == {"Partner procedure"}
    assert git(shared.remote, "rev-parse", "main") == git(ana.root, "rev-parse", "HEAD")


def test_offline_keeps_work_and_the_next_sync_sends_it(shared: SharedRepo) -> None:
    from helpers import free_port

    ana = shared.ana
    doc = ana.create("runbook", "Written on a plane").path
    git(ana.root, "remote", "set-url", "origin", f"git://127.0.0.1:{free_port()}/kb.git")
    report = sync.sync(ana)
    assert report.offline and not report.pushed
    assert "cannot be reached" in report.message and report.details
    assert sync.status(ana).offline
    assert git(ana.root, "status", "--porcelain") == ""
    assert "Written on a plane" in git(ana.root, "log", "-1", "--format=%s")
    git(ana.root, "remote", "set-url", "origin", shared.url)
    report = sync.sync(ana)
    assert report.pushed and [c.path for c in report.published] == [doc]
    assert not sync.status(ana).offline and sync.status(ana).last_sync is not None


class _Refuse(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="kb"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/kb.git"
    server.shutdown()
    server.server_close()


def test_refused_credentials_give_one_sentence_and_keep_work(
    shared: SharedRepo, refusing_server: str
) -> None:
    ana = shared.ana
    ana.create("runbook", "Kept")
    head = git(ana.root, "rev-parse", "HEAD")
    git(ana.root, "remote", "set-url", "origin", refusing_server)
    with pytest.raises(SyncError) as info:
        sync.sync(ana)
    assert "refused your credentials" in str(info.value)
    assert info.value.details  # git's own words
    assert git(ana.root, "rev-parse", "HEAD") == head


def test_unrelated_history_is_refused_clearly(shared: SharedRepo, tmp_path: Path) -> None:
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    stranger = tmp_path / "stranger"
    git(tmp_path, "init", "-q", str(stranger))
    (stranger / "x.md").write_text("# X\n")
    git(stranger, "add", ".")
    git(stranger, "commit", "-qm", "x")
    git(stranger, "push", "-q", str(other), "HEAD:main")
    ana = shared.ana
    head = git(ana.root, "rev-parse", "HEAD")
    git(ana.root, "remote", "set-url", "origin", str(other))
    with pytest.raises(SyncError, match="unrelated"):
        sync.sync(ana)
    assert git(ana.root, "rev-parse", "HEAD") == head and not (ana.root / "x.md").exists()


def test_detached_head_is_refused_clearly(shared: SharedRepo) -> None:
    ana = shared.ana
    git(ana.root, "checkout", "-q", "--detach")
    with pytest.raises(SyncError, match="detached HEAD"):
        sync.sync(ana)


def test_hand_edits_are_committed_but_markers_stop_the_sync(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Hand edited").path
    sync.sync(ana)
    path = ana.root / doc
    path.write_text(path.read_text() + "\nAdded in vim.\n")
    report = sync.sync(ana)
    assert report.pushed and [c.path for c in report.published] == [doc]
    assert git(ana.root, "log", "-1", "--format=%s") == "Update: Hand edited"
    broken = path.read_text() + "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> other\n"
    path.write_text(broken)
    with pytest.raises(SyncError, match="cannot be committed") as info:
        sync.sync(ana)
    assert "conflict marker" in str(info.value)
    assert path.read_text() == broken  # untouched
    sync.sync(jo)
    assert "Added in vim." in (jo.root / doc).read_text()


def test_policy_still_guards_resolve(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Guarded").path
    sync.sync(ana)
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nA")
    edit(jo, doc, "## Impact", "## Impact\n\nB")
    sync.sync(jo)
    assert sync.sync(ana).conflicts == [doc]
    with pytest.raises(PolicyError):
        conflicts.resolve(ana, doc, text="<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n")
    assert conflicts.list_conflicts(ana)  # still waiting


def test_status_counts_without_the_network(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    jo.create("sop", "One")
    jo.create("sop", "Two")
    sync.sync(jo)
    ana.create("sop", "Three")
    (ana.root / "scratch.md").write_text("# Scratch\n")
    sync.fetch(ana)
    status = sync.status(ana)
    assert (status.ahead, status.behind, status.local_changes) == (1, 2, 1)
    assert status.branch == "main" and status.remote == shared.url
    assert sync.fetch(ana).incoming == 2


def test_old_backups_are_pruned(shared: SharedRepo) -> None:
    ana = shared.ana
    head = git(ana.root, "rev-parse", "HEAD")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).strftime("%Y%m%dT%H%M%S%fZ")
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).strftime("%Y%m%dT%H%M%S%fZ")
    git(ana.root, "update-ref", f"refs/kbapp/backup/{old}-before-merge", head)
    git(ana.root, "update-ref", f"refs/kbapp/backup/{recent}-before-merge", head)
    sync.sync(ana)
    names = [name for name, _ in sync.backups(ana.git)]
    assert names == [f"refs/kbapp/backup/{recent}-before-merge"]


def test_opening_repairs_a_stale_lock_and_a_half_done_merge(shared: SharedRepo, settings) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Crashed").path
    sync.sync(ana)
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nA")
    edit(jo, doc, "## Impact", "## Impact\n\nB")
    sync.sync(jo)
    git(ana.root, "fetch", "-q")
    head = git(ana.root, "rev-parse", "HEAD")
    # what a sync killed in the middle of its merge leaves behind
    os.system(
        f"cd '{ana.root}' && git -c merge.kbapp.driver=false merge -q --no-commit origin/main >/dev/null 2>&1"
    )
    assert (ana.git.git_dir / "MERGE_HEAD").exists()
    (ana.git.git_dir / "index.lock").write_text("")
    os.utime(ana.git.git_dir / "index.lock", (0, 0))
    (ana.root / ".merge_file_Ab12Cd").write_text("<<<<<<< mine\nA\n=======\nB\n>>>>>>> theirs\n")
    ana.close()
    reopened = Workspace.open(ana.root, settings)
    shared.opened.append(reopened)
    assert any("index.lock" in r and ".merge_file_Ab12Cd" in r for r in reopened.repairs)
    assert any("unfinished merge" in r for r in reopened.repairs)
    assert not (ana.git.git_dir / "MERGE_HEAD").exists()
    assert git(ana.root, "rev-parse", "HEAD") == head
    assert git(ana.root, "status", "--porcelain") == ""
    assert any("unfinished-merge" in name for name, _ in sync.backups(reopened.git))
    report = sync.sync(reopened)
    assert report.pushed and report.conflicts == [doc]


def test_rename_onto_a_path_the_other_side_added_commits_no_markers(shared: SharedRepo) -> None:
    """rename/add: git's own stage for the path is a two-way merge with markers; kbapp takes
    each side's real file instead."""
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Renamed here").path
    sync.sync(ana)
    sync.sync(jo)
    ana.move(doc, "moved/target.md")
    sync.sync(ana)
    write_doc(jo, "moved/target.md", "---\ntitle: Added there\n---\n# Added there\n\nOther text.\n")
    jo.git.commit(["moved/target.md"], "Create: Added there")
    report = sync.sync(jo)
    assert report.pushed
    for ws in (ana, jo):
        sync.sync(ws)
    for path in conflicts.conflict_paths(jo):
        assert conflict_marker_line((jo.root / path).read_text()) is None
        conflicts.resolve(jo, path, text=conflicts.get(jo, path).theirs or None)  # type: ignore[union-attr]
    converge(jo, ana)
    assert tree(ana) == tree(jo)
    assert_no_marker_in_history(shared.remote)
