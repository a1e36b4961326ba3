"""What a push may claim and where it may write (issue 14, adversarial round 4: A1-A3).

- A1: replace refs (``refs/replace/<id>``) would make every git command read another object in
  place of the one named, so the hook could be shown a clean commit while clones get the pushed
  one. The hook and the client's gateway read objects as they are, and a push may only write
  branches and tags.
- A2: when the server says who pushed, a new commit may not claim another organisation (its
  committer's or author's e-mail, its ``KB-Org`` trailer) than the pusher's; commits already on
  the server (a merge bringing the other side's work) are not new.
- A3: a pusher the server names whose e-mail or user name belongs to no organisation changes
  no protected path; user names are matched as the servers compare them.

Real repositories: a bare shared repository with kbapp's pre-receive hook (``kbapp server-hook
install``), Ana's (internal) and Jo's (partner) kbapp clones, Sam's plain-git clone."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, git

from kbapp.sync import refused, sync
from kbapp.sync.git import Git
from kbapp.workspace import Workspace

LEAK = "export PGPASSWORD=Sup3rS3cretValue9\n"


def run_git(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Plain git with extra environment (what the server tells its hook), not checked."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sam_push(sam: Path, *refspecs: str, **env: str) -> subprocess.CompletedProcess[str]:
    env = env or {"KBAPP_PUSHER_EMAIL": "sam@partner.example"}
    return run_git(sam, "push", "origin", *refspecs, **env)


def commit(clone: Path, files: dict[str, str], message: str, **env: str) -> str:
    for relative, text in files.items():
        target = clone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(clone, "add", "-A", "-f")
    done = run_git(clone, "commit", "-q", "--no-verify", "-m", message, **env)
    assert done.returncode == 0, done.stderr
    return git(clone, "rev-parse", "HEAD")


# ---------------------------------------------------------------------------- A1: refs/replace


def test_a_replace_ref_can_neither_be_pushed_nor_blind_the_hook(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    base = git(sam, "rev-parse", "HEAD")
    evil = commit(sam, {"leak.sh": LEAK}, "routine cleanup")
    control = sam_push(sam, f"{evil}:refs/heads/main")
    assert control.returncode != 0 and "[password-assignment]" in control.stderr
    git(sam, "checkout", "-q", "--detach", base)
    clean = commit(sam, {"notes.txt": "harmless\n"}, "routine cleanup")

    # The push that would swap what the hook reads is refused, with the reason.
    pushed = sam_push(sam, f"{clean}:refs/replace/{evil}")
    assert pushed.returncode != 0, pushed.stderr
    assert f"refs/replace/{evil}" in pushed.stderr and "[ref-namespace]" in pushed.stderr
    assert "read one object in place of another" in pushed.stderr
    assert not git(hooked.remote, "for-each-ref", "refs/replace/")

    # A replace ref already on the server (from before this rule, or written there) changes
    # nothing: the hook reads the pushed commit as it is.
    assert sam_push(sam, f"{clean}:refs/heads/decoy").returncode == 0
    git(hooked.remote, "update-ref", f"refs/replace/{evil}", clean)
    again = sam_push(sam, f"{evil}:refs/heads/main")
    assert again.returncode != 0, again.stderr
    assert "leak.sh:1:" in again.stderr and "[password-assignment]" in again.stderr
    assert git(hooked.remote, "rev-parse", "main") == base


def test_only_branches_and_tags_may_be_pushed(hooked: SharedRepo) -> None:
    sam = hooked.plain_clone()
    head = git(sam, "rev-parse", "HEAD")
    git(sam, "notes", "add", "-m", f"db password: {LEAK}", head)
    for refspec in (
        "refs/notes/commits:refs/notes/commits",
        f"{head}:refs/kbapp/conflicts/x",
        f"{head}:refs/whatever/x",
    ):
        pushed = sam_push(sam, refspec)
        assert pushed.returncode != 0, (refspec, pushed.stderr)
        assert "[ref-namespace]" in pushed.stderr and "only branches" in pushed.stderr
    assert git(hooked.remote, "for-each-ref", "--format=%(refname)") == "refs/heads/main"
    # Branches and tags still go.
    git(sam, "tag", "-a", "-m", "release 1", "v1", head)
    assert sam_push(sam, "v1", f"{head}:refs/heads/scratch").returncode == 0


def test_the_gateway_reads_objects_as_they_are_whatever_replace_refs_say(
    shared: SharedRepo,
) -> None:
    """The client's own pre-push check (and every read) runs through the gateway: a replace
    ref fetched into a clone must not blind it either."""
    ana = shared.ana
    root = ana.root
    real = commit(root, {"leak.sh": LEAK}, "the real one")
    git(root, "reset", "-q", "--hard", "HEAD~1")
    decoy = commit(root, {"notes.txt": "harmless\n"}, "the decoy")
    git(root, "replace", real, decoy)
    assert git(root, "log", "-1", "--format=%s", real) == "the decoy"  # plain git is fooled
    gateway = Git(root)
    assert gateway.out("log", "-1", "--format=%s", real) == "the real one"
    assert gateway.read_blob(f"{real}:leak.sh") == LEAK.encode()
    sync.sync(ana)  # nothing else changes for kbapp


# ---------------------------------------------------------------------------- A2, A3: who pushed

FORGED = {
    "GIT_AUTHOR_NAME": "Ana Int",
    "GIT_AUTHOR_EMAIL": "ana@internal.example",
    "GIT_COMMITTER_NAME": "Ana Int",
    "GIT_COMMITTER_EMAIL": "ana@internal.example",
}
RUNBOOK = "---\ntitle: Reset the replica\n---\n# Reset the replica\n\n{}\n"


def protect_security(shared: SharedRepo) -> None:
    """Ana (internal) protects ``security/`` and publishes a break-glass page there."""
    root = shared.ana.root
    config = root / ".kb/config.toml"
    config.write_text(
        config.read_text()
        + '\n[[policy.protected]]\npaths = ["security/**"]\norgs = ["internal"]\n'
    )
    commit(
        root,
        {"security/breakglass.md": "---\ntitle: Break-glass\n---\nOnly internal changes this.\n"},
        "Protect security/\n\nKB-Org: internal",
    )
    sync.sync(shared.ana)


def test_a_new_commit_may_only_claim_its_pushers_organisation(hooked: SharedRepo) -> None:
    """A2: the server says Sam (partner) pushed; his new commits may not name Ana's
    organisation, however they name it."""
    sam = hooked.plain_clone()
    main = git(hooked.remote, "rev-parse", "main")
    claims = {
        "author and committer": (FORGED, "Create: replica\n\nKB-Org: internal"),
        "author only": (
            {"GIT_AUTHOR_NAME": "Ana Int", "GIT_AUTHOR_EMAIL": "ana@internal.example"},
            "Create: replica",
        ),
        "a trailer as git reads it (any case)": ({}, "Create: replica\n\nkb-org: internal"),
    }
    for name, (env, message) in claims.items():
        git(sam, "reset", "-q", "--hard", "origin/main")
        commit(sam, {"runbooks/replica.md": RUNBOOK.format(name)}, message, **env)
        pushed = sam_push(sam, "HEAD:main")
        assert pushed.returncode != 0, (name, pushed.stderr)
        assert (
            "[pusher-identity]" in pushed.stderr and "claims another organisation" in pushed.stderr
        )
        assert "sam@partner.example (KBAPP_PUSHER_EMAIL)" in pushed.stderr, pushed.stderr
        assert "'internal'" in pushed.stderr and "--reset-author" in pushed.stderr
    assert git(hooked.remote, "rev-parse", "main") == main
    # Under his own name it goes, and the audit says who.
    git(sam, "reset", "-q", "--hard", "origin/main")
    commit(sam, {"runbooks/replica.md": RUNBOOK.format("mine")}, "Create: replica")
    assert sam_push(sam, "HEAD:main").returncode == 0


def test_merges_of_the_other_sides_work_are_not_new_commits(hooked: SharedRepo) -> None:
    """A2 keeps kbapp's own sync merges and the plain-git partner's merges working: the other
    side's commits a merge brings are already on the server."""
    ana, jo = hooked.ana, hooked.jo
    sam = hooked.plain_clone()
    pushers = {"ana": "ana@internal.example", "jo": "jo@partner.example"}

    def kb_sync(who: str) -> None:
        os.environ["KBAPP_PUSHER_EMAIL"] = pushers[who]
        try:
            report = sync.sync(ana if who == "ana" else jo)
        finally:
            del os.environ["KBAPP_PUSHER_EMAIL"]
        assert not report.offline, report.message

    ana.create("runbook", "Ana's runbook")
    kb_sync("ana")
    jo.create("runbook", "Jo's runbook")
    kb_sync("jo")  # a merge of Ana's work, pushed by Jo
    commit(sam, {"runbooks/sams.md": RUNBOOK.format("Sam's")}, "Create: Sam's")
    ana.create("runbook", "Ana's second")
    kb_sync("ana")
    assert run_git(sam, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main").returncode == 0
    pushed = sam_push(sam, "HEAD:main")  # Sam's merge brings Ana's and Jo's commits
    assert pushed.returncode == 0, pushed.stderr
    kb_sync("ana")
    kb_sync("jo")
    heads = {git(root, "rev-parse", "HEAD") for root in (ana.root, jo.root)}
    assert heads == {git(hooked.remote, "rev-parse", "main")}


def test_a_pusher_in_no_organisation_changes_no_protected_path(
    hooked: SharedRepo, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A3: the server names the pusher, but kbapp cannot place them in an organisation (a
    personal address, a domain missing from the config, a user name the map lacks or spells
    otherwise): the commit's own claim no longer counts; protected paths stay closed."""
    protect_security(hooked)
    pushers = tmp_path / "pushers.toml"
    pushers.write_text('[pushers]\nsam = "sam@partner.example"\nana = "ana@internal.example"\n')
    installed = cli("server-hook", "install", hooked.remote, "--force", "--pushers", pushers)
    assert installed.code == 0, installed.err
    sam = hooked.plain_clone()
    main = git(hooked.remote, "rev-parse", "main")
    cases = {
        "GITEA_PUSHER_EMAIL": ("sam.private@gmail.example", "domain is in no organisation"),
        "KBAPP_PUSHER_EMAIL": ("sam@msp-ops.example", "domain is in no organisation"),
        "GL_USERNAME": ("newhire", "maps that user to no e-mail"),
        "REMOTE_USER": ("Sam", "compared exactly"),
    }
    for variable, (value, why) in cases.items():
        git(sam, "reset", "-q", "--hard", "origin/main")
        page = sam / "security/breakglass.md"
        page.write_text(page.read_text() + "tampered by the partner\n")
        commit(sam, {}, "Update: Break-glass", **FORGED)
        pushed = sam_push(sam, "HEAD:main", **{variable: value})
        assert pushed.returncode != 0, (variable, pushed.stderr)
        assert "security/breakglass.md" in pushed.stderr and "[protected-path]" in pushed.stderr
        assert value in pushed.stderr and why in pushed.stderr, pushed.stderr
    assert git(hooked.remote, "rev-parse", "main") == main

    # GitLab compares user names without case: SAM is sam, the partner.
    git(sam, "reset", "-q", "--hard", "origin/main")
    commit(sam, {"runbooks/fine.md": RUNBOOK.format("fine")}, "Create: fine")
    assert sam_push(sam, "HEAD:main", GL_USERNAME="SAM").returncode == 0
    # Ana, mapped, still may.
    root = hooked.ana.root
    git(root, "pull", "-q", "--no-rebase", "origin", "main")
    page = root / "security/breakglass.md"
    page.write_text(page.read_text() + "Updated by internal.\n")
    commit(root, {}, "Update: Break-glass\n\nKB-Org: internal")
    assert run_git(root, "push", "-q", "origin", "HEAD:main", GL_USER="ana").returncode == 0


# ---------------------------------------------------------------------------- A8: submodules


def test_a_submodule_is_refused_and_one_from_before_never_stops_sync(
    shared: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    """A8: a gitlink (mode 160000) where a document was. Without the hook (a repository from
    before it) Ana's sync with an edit of that document keeps her edit and goes on; with the
    hook the push is refused."""
    ana = shared.ana
    path = ana.create("runbook", "DB gitlink").path
    sync.sync(ana)
    sam = shared.plain_clone()
    git(sam, "rm", "-q", path)
    head = git(sam, "rev-parse", "HEAD")
    git(sam, "update-index", "--add", "--cacheinfo", f"160000,{head},{path}")
    git(sam, "commit", "-q", "-m", "turn it into a submodule")
    assert sam_push(sam, "HEAD:main").returncode == 0  # no hook yet
    full = ana.root / path
    full.write_text(full.read_text() + "ANA-EDIT: important step\n")
    ana.commit_pending(path)
    for _ in range(2):  # and again: nothing piles up
        report = sync.sync(ana)
        assert not report.offline, report.message
    assert "ANA-EDIT: important step" in full.read_text()
    assert git(ana.root, "status", "--porcelain") == ""
    assert "ANA-EDIT" in git(shared.remote, "show", f"main:{path}")

    assert cli("server-hook", "install", shared.remote).code == 0
    git(sam, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    git(sam, "rm", "-q", "--cached", path)
    git(sam, "update-index", "--add", "--cacheinfo", f"160000,{head},{path}")
    git(sam, "commit", "-q", "-m", "again")
    pushed = sam_push(sam, "HEAD:main")
    assert pushed.returncode != 0 and "[submodule]" in pushed.stderr, pushed.stderr


# ---------------------------------------------------------------------------- A9: cost per file


def test_many_blobs_are_read_with_one_git_process_exactly_as_one_by_one(tmp_path: Path) -> None:
    """A9: the hook reads a push's files with one ``git cat-file --batch``; names with spaces
    or newlines, binary content, a missing path and a folder read as :meth:`read_blob` does."""
    kb_root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(kb_root))
    files = {
        "a.md": b"# A\n",
        "with space.md": b"x\n\ny\n",
        "new\nline.md": b"z\n",
        "bin.dat": bytes(range(256)) * 3,
        "empty.txt": b"",
        "sub/deep.md": b"\n\n\n",
    }
    for name, data in files.items():
        (kb_root / name).parent.mkdir(parents=True, exist_ok=True)
        (kb_root / name).write_bytes(data)
    git(kb_root, "add", "-A")
    git(kb_root, "commit", "-q", "-m", "files")
    gateway = Git(kb_root)
    specs = [f"HEAD:{name}" for name in files] + ["HEAD:missing.md", "HEAD:sub", "nonsense"]
    assert gateway.read_blobs(specs) == [gateway.read_blob(spec) for spec in specs]
    assert gateway.read_blobs(specs)[: len(files)] == list(files.values())


def test_kbapp_says_what_to_check_when_its_commits_name_another_organisation(
    hooked: SharedRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A2 from kbapp's side: the server says pat (partner) pushes Ana's commits (an identity
    set up wrongly): the sync says so and what to check; nothing is lost."""
    ana = hooked.ana
    ana.create("runbook", "Ana's runbook")
    monkeypatch.setenv("KBAPP_PUSHER_EMAIL", "pat@partner.example")
    with pytest.raises(refused.RefusedError) as caught:
        sync.sync(ana)
    assert {r.rule for r in caught.value.refusals} == {"pusher-identity"}
    assert "e-mail and organisation in kbapp's settings" in str(caught.value)
    monkeypatch.setenv("KBAPP_PUSHER_EMAIL", "ana@internal.example")
    assert sync.sync(ana).pushed


def test_two_kb_org_trailers_are_both_judged(hooked: SharedRepo) -> None:
    """A12: the hook reads every ``KB-Org`` trailer (history and the audit show the first):
    ``KB-Org: internal`` then ``KB-Org: partner`` from a partner is refused, pusher known or
    not."""
    sam = hooked.plain_clone()
    message = "Create: alarm\n\nKB-Org: internal\nKB-Org: partner"
    commit(sam, {"runbooks/alarm.md": RUNBOOK.format("alarm")}, message)
    for env in ({"KBAPP_PUSHER_EMAIL": "sam@partner.example"}, {"KBAPP_PUSHER_EMAIL": ""}):
        pushed = sam_push(sam, "HEAD:main", **env)
        assert pushed.returncode != 0, pushed.stderr
        assert "KB-Org: internal" in pushed.stderr and "[identity]" in pushed.stderr


# ---------------------------------------------------------------------------- A13: reviews


def test_a_review_is_recorded_by_its_reviewer_and_merges_of_reviews_pass(
    hooked: SharedRepo,
) -> None:
    """A13: the partner cannot record "reviewed today by ana@internal.example"; kbapp's own
    reviews, and a merge of two reviews of one document (the later pair kept), go through."""
    from kbapp.lifecycle.review_actions import mark_reviewed

    ana, jo = hooked.ana, hooked.jo
    pushers = {ana: "ana@internal.example", jo: "jo@partner.example"}

    def kb_sync(who: Workspace) -> None:
        os.environ["KBAPP_PUSHER_EMAIL"] = pushers[who]
        try:
            report = sync.sync(who)
        finally:
            del os.environ["KBAPP_PUSHER_EMAIL"]
        assert not report.offline and not report.conflicts, report.message

    path = ana.create("runbook", "Payments failover").path
    doc = ana.load(path)
    kb_sync(ana)
    kb_sync(jo)
    # Both organisations review the same document before syncing: the merge keeps the later.
    mark_reviewed(ana, doc.id, today=dt.date(2026, 11, 2))
    mark_reviewed(jo, doc.id, today=dt.date(2026, 11, 3))
    kb_sync(ana)
    kb_sync(jo)  # Jo's merge: Jo's own review kept, Ana's came from the server
    kb_sync(ana)
    assert ana.load(doc.id).reviewed_by == "jo@partner.example"

    # Sam writes Ana's name on a review she never made.
    sam = hooked.plain_clone()
    target = sam / doc.path
    text = target.read_text()
    forged = text.replace("reviewed_by: jo@partner.example", "reviewed_by: ana@internal.example")
    forged = forged.replace("2026-11-03", "2026-11-30")
    assert forged != text
    commit(sam, {doc.path: forged + "\nSkip step 3.\n"}, "Review: Payments failover")
    pushed = sam_push(sam, "HEAD:main")
    assert pushed.returncode != 0, pushed.stderr
    assert "[review-claim]" in pushed.stderr and "ana@internal.example (internal)" in pushed.stderr
    # Sam's own name on a review of his is fine.
    git(sam, "reset", "-q", "--hard", "origin/main")
    own = text.replace("reviewed_by: jo@partner.example", "reviewed_by: sam@partner.example")
    commit(sam, {doc.path: own.replace("2026-11-03", "2026-11-30")}, "Review: Payments failover")
    assert sam_push(sam, "HEAD:main").returncode == 0


def test_a_review_made_on_one_side_of_a_move_merges_through(hooked: SharedRepo) -> None:
    """The merge of a document one side moved while the other reviewed it carries the review
    to the new name: not a new review (found by the sync simulation, seeds 135 and 147)."""
    from kbapp.lifecycle.review_actions import mark_reviewed

    ana = hooked.ana
    path = ana.create("runbook", "Payments failover").path
    doc_id = ana.load(path).id
    os.environ["KBAPP_PUSHER_EMAIL"] = "ana@internal.example"
    try:
        sync.sync(ana)
        sam = hooked.plain_clone()
        git(sam, "config", "merge.kbapp.driver", sync.driver_command())
        (sam / "moved").mkdir()
        git(sam, "mv", path, "moved/payments-failover.md")
        git(sam, "commit", "-q", "-m", "Move: Payments failover")
        mark_reviewed(ana, doc_id)
        sync.sync(ana)
    finally:
        del os.environ["KBAPP_PUSHER_EMAIL"]
    pulled = run_git(sam, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert pulled.returncode == 0, pulled.stderr
    assert "reviewed_by: ana@internal.example" in (sam / "moved/payments-failover.md").read_text()
    pushed = sam_push(sam, "HEAD:main")
    assert pushed.returncode == 0, pushed.stderr
