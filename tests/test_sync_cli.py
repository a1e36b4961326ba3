"""History, diff, restore and clone, and the sync commands as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import SharedRepo, git

from kbapp.sync import history, sync
from kbapp.workspace import Workspace


def edit(ws: Workspace, path: str, old: str, new: str) -> None:
    doc = ws.load(path)
    doc.body = doc.body.replace(old, new, 1)
    ws.save(doc)


def test_history_follows_renames_and_names_each_organisation(shared: SharedRepo) -> None:
    ana, jo = shared.ana, shared.jo
    created = ana.create("runbook", "Certificate expiry")
    doc_id = ana.load(created.path).id
    sync.sync(ana)
    sync.sync(jo)
    edit(jo, created.path, "## Impact", "## Impact\n\nBrowsers refuse the site.")
    moved = jo.move(doc_id, "runbooks/tls/certificate-expiry.md").path
    sync.sync(jo)
    sync.sync(ana)
    versions = history.history(ana, doc_id)
    assert [v.message for v in versions] == [
        "Move: Certificate expiry",
        "Update: Certificate expiry",
        "Create: Certificate expiry",
    ]
    assert [v.org for v in versions] == ["partner", "partner", "internal"]
    assert [v.path for v in versions] == [moved, created.path, created.path]
    assert versions[-1].author == "Ana Ribeiro"

    first, second = versions[-1].rev, versions[-2].rev
    assert "Browsers refuse" not in history.version_text(ana, doc_id, first)
    patch = history.diff(ana, doc_id, first, second)
    assert "+Browsers refuse the site." in patch and patch.startswith("---")
    assert history.diff(ana, doc_id, second, versions[0].rev) == ""  # the move changed no text

    restored = history.restore(ana, doc_id, first)
    assert restored.path == moved and restored.commit
    assert "Browsers refuse" not in (ana.root / moved).read_text()
    assert len(history.history(ana, doc_id)) == 4  # a new version; nothing rewritten
    assert git(ana.root, "log", "-1", "--format=%s").startswith("Restore: Certificate expiry")


def test_a_deleted_document_can_be_restored_by_path(kb: Workspace) -> None:
    path = kb.create("sop", "Decommissioned").path
    (kb.root / path).unlink()
    kb.git.commit([path], "Delete: Decommissioned")
    versions = history.history(kb, path)
    assert len(versions) == 2
    result = history.restore(kb, path, versions[-1].rev)
    assert (kb.root / path).is_file() and result.commit


def test_cli_sync_status_conflicts_resolve(shared: SharedRepo, cli) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Mail queue").path
    sync.sync(ana)
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nMail is delayed.")
    edit(jo, doc, "## Impact", "## Impact\n\nMail bounces.")
    assert cli("--kb", jo.root, "sync").code == 0

    result = cli("--kb", ana.root, "sync", "--json")
    assert result.code == 3, result.err
    report = json.loads(result.out)
    assert report["conflicts"] == [doc] and report["pushed"]
    assert report["changed_by_others"][0]["org"] == "partner"

    result = cli("--kb", ana.root, "status", "--json")
    assert json.loads(result.out)["conflicts"] == 1

    result = cli("--kb", ana.root, "conflicts")
    assert result.code == 3 and doc in result.out and "Jo Okafor (partner)" in result.out
    listed = json.loads(cli("--kb", ana.root, "conflicts", "--json").out)
    assert "Mail bounces." in listed[0]["theirs"] and "Mail is delayed." in listed[0]["mine"]

    assert cli("--kb", ana.root, "resolve", doc, "--theirs").code == 0
    assert "Mail bounces." in (ana.root / doc).read_text()
    assert cli("--kb", ana.root, "conflicts").code == 0
    result = cli("--kb", ana.root, "sync")
    assert result.code == 0 and "1 document shared with the other organisation" in result.out


def test_cli_resolve_with_an_edited_file_and_errors(
    shared: SharedRepo, cli, tmp_path: Path
) -> None:
    ana, jo = shared.ana, shared.jo
    doc = ana.create("runbook", "Backups").path
    sync.sync(ana)
    sync.sync(jo)
    edit(ana, doc, "## Impact", "## Impact\n\nA")
    edit(jo, doc, "## Impact", "## Impact\n\nB")
    sync.sync(jo)
    sync.sync(ana)
    assert cli("--kb", ana.root, "resolve", "nope.md", "--mine").code == 1
    merged = (ana.root / doc).read_text().replace("\nA\n", "\nA and B\n")
    edited = tmp_path / "edited.md"
    edited.write_text(merged)
    result = cli("--kb", ana.root, "resolve", str(ana.root / doc), "--file", edited)
    assert result.code == 0, result.err
    assert "A and B" in (ana.root / doc).read_text()


def test_cli_history_diff_restore(shared: SharedRepo, cli) -> None:
    ana = shared.ana
    path = ana.create("sop", "Rotate keys").path
    doc_id = ana.load(path).id
    edit(ana, path, "## ", "## Scope\n\nAll keys.\n\n## ")
    versions = json.loads(cli("--kb", ana.root, "history", doc_id, "--json").out)
    assert [v["message"] for v in versions] == ["Update: Rotate keys", "Create: Rotate keys"]
    first = versions[-1]["rev"]
    out = cli("--kb", ana.root, "diff", doc_id, "--from", first, "--to", versions[0]["rev"]).out
    assert "+All keys." in out
    page = cli(
        "--kb", ana.root, "diff", doc_id, "--from", first, "--to", versions[0]["rev"], "--html"
    ).out
    assert "Scope</h2>" in page and "class='added'" in page and "## Scope" not in page
    assert "Ana" in page.split("→")[0]  # the versions' labels: when, who, organisation
    page = cli("--kb", ana.root, "diff", doc_id, "--from", first, "--html", "side-by-side").out
    assert "## Scope" in page and "bgcolor=" in page
    assert cli("--kb", ana.root, "history", path).code == 0
    result = cli("--kb", ana.root, "restore", doc_id, "--rev", first[:8])
    assert result.code == 0 and "restored" in result.out
    assert "All keys." not in (ana.root / path).read_text()
    assert cli("--kb", ana.root, "diff", doc_id, "--from", "nonsense").code == 1


def test_cli_clone_sets_everything_up(shared: SharedRepo, cli, tmp_path: Path) -> None:
    shared.ana.create("runbook", "Cloned runbook")
    sync.sync(shared.ana)
    target = tmp_path / "newcomer"
    result = cli("clone", shared.url, target)
    assert result.code == 0, result.err
    assert "(1 document)" in result.out
    driver = git(target, "config", "--get", "merge.kbapp.driver")
    assert "kbapp.mergedriver" in driver
    assert cli("clone", shared.url, target).code == 1  # not empty: refused, nothing touched
    assert cli("clone", str(tmp_path / "missing.git"), tmp_path / "x").code == 1
    # Nothing of the newcomer's is kept anywhere when a clone cannot reach the repository
    # (it said "your work is kept here and goes out at the next sync").
    offline = cli("clone", "git://127.0.0.1:9/none.git", tmp_path / "y")
    assert offline.code == 1 and "cannot be reached (clone); check its address" in offline.err
    assert "your work is kept" not in offline.err and not (tmp_path / "y").exists()


def test_cli_sync_offline_and_without_remote(kb: Workspace, cli) -> None:
    result = cli("--kb", kb.root, "sync")
    assert result.code == 1 and "no shared repository" in result.err
    git(kb.root, "remote", "add", "origin", "git://127.0.0.1:9/none.git")
    result = cli("--kb", kb.root, "sync")
    assert result.code == 1 and "cannot be reached" in result.err
