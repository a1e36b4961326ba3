"""A push the shared repository's hook refuses never blocks sync for good (issue 14, item 1),
and one document with an out-of-range value never takes the others down (item 4).

Real repositories: a bare shared repository with kbapp's pre-receive hook installed by
``kbapp server-hook install``, Ana's kbapp clone, plain-git commits made in it (as a partner
or a script would, bypassing kbapp's checks)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, SharedRepo, git, write_doc

from kbapp.errors import PolicyError
from kbapp.sync import refused, sync

SECRET = "export PGPASSWORD=s3cr3t-Value9\n"


def plain_commit(root: Path, files: dict[str, str | None], message: str) -> str:
    for relative, text in files.items():
        target = root / relative
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)
    return git(root, "rev-parse", "HEAD")


def remote_head(shared: SharedRepo) -> str:
    return git(shared.remote, "rev-parse", "main")


def test_a_refused_commit_is_named_with_file_line_rule_and_dropped_safely(
    hooked: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    ana = hooked.ana
    before = remote_head(hooked)
    doc_path = ana.create("runbook", "Restart the payments queue").path
    # A script commits a secret in a non-Markdown file next to a good edit, then the user
    # "fixes" the file in a new commit: the hook judges every pushed commit, so that alone
    # never helps.
    plain_commit(
        ana.root,
        {"scripts/env.sh": "#!/bin/sh\n" + SECRET, "notes/ok.txt": "keep me\n"},
        "Add env script",
    )
    plain_commit(
        ana.root,
        {"scripts/env.sh": "#!/bin/sh\nexport PGPASSWORD=$(vault read)\n"},
        "Fix env script",
    )
    with pytest.raises(refused.RefusedError) as caught:
        sync.sync(ana)
    message = str(caught.value)
    assert "scripts/env.sh, line 2" in message and "password-assignment" in message
    assert "kbapp refused --drop" in message
    assert remote_head(hooked) == before  # nothing left the machine

    listed = cli("--kb", ana.root, "refused")
    assert (
        listed.code == 1 and "scripts/env.sh" in listed.out and "password-assignment" in listed.out
    )
    original = git(ana.root, "rev-parse", "HEAD")
    dropped = cli("--kb", ana.root, "refused", "--drop")
    assert dropped.code == 0, dropped.err
    kept = git(ana.root, "for-each-ref", "--format=%(objectname)", "refs/kbapp/kept/").split()
    assert kept == [original]  # every version still reachable
    # The user's final (fixed) version is still on disk, now a change to commit.
    assert "vault read" in (ana.root / "scripts/env.sh").read_text()
    assert not refused.check_unpublished(ana)

    report = sync.sync(ana)
    assert report.pushed, report.message
    published = git(hooked.remote, "log", "--format=%s", "main")
    assert "Add env script" in published and "Restart the payments queue" in published
    assert git(hooked.remote, "show", "main:notes/ok.txt") == "keep me"
    assert "vault read" in git(hooked.remote, "show", "main:scripts/env.sh")
    assert doc_path in git(hooked.remote, "ls-tree", "-r", "--name-only", "main")
    for rev in git(hooked.remote, "rev-list", "main").split():
        assert "s3cr3t-Value9" not in git(hooked.remote, "show", rev)


def test_what_the_hook_refuses_in_a_hand_edit_is_refused_before_committing(
    hooked: SharedRepo,
) -> None:
    ana = hooked.ana
    head = git(ana.root, "rev-parse", "HEAD")
    # Not UTF-8 and not Markdown: kbapp used to commit both, then the hook refused the push.
    (ana.root / "creds.txt").write_bytes(b"caf\xe9 (Latin-1)\n" + SECRET.encode())
    (ana.root / "bad.md").write_text("---\nid: kb-0000bad1\nstatus: finished\n---\n# Bad\n")
    with pytest.raises(sync.SyncError) as caught:
        sync.sync(ana)
    assert "line" in str(caught.value) and "nothing was sent or changed" in str(caught.value)
    assert {"creds.txt", "bad.md"} <= {
        line.split(":")[0] for line in caught.value.details.splitlines()
    }
    assert git(ana.root, "rev-parse", "HEAD") == head


def test_a_save_is_refused_when_the_hook_would_refuse_its_front_matter(hooked: SharedRepo) -> None:
    ana = hooked.ana
    doc = ana.load(ana.create("runbook", "Rotate keys").path)
    doc.set_review(interval_days=10**30)
    with pytest.raises(PolicyError, match=r"out of range|between 1"):
        ana.save(doc)


def test_a_refusal_only_the_server_knows_is_read_from_its_answer(
    hooked: SharedRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = hooked.ana
    config = ana.root / ".kb/config.toml"
    config.write_text(
        config.read_text() + '\n[[policy.protected]]\npaths = ["security/**"]\n'
        'orgs = ["internal"]\n'
    )
    assert sync.sync(ana).pushed
    write_doc(ana, "security/access.md", "---\nid: kb-0000aaa1\ntitle: Access\n---\n# Access\n")
    # The server knows who pushed (and it is not who the commit says): only it can refuse.
    monkeypatch.setenv("KBAPP_PUSHER_EMAIL", "pat@partner.example")
    with pytest.raises(refused.RefusedError) as caught:
        sync.sync(ana)
    found = {(r.path, r.rule) for r in caught.value.refusals}
    assert ("security/access.md", "protected-path") in found
    # ... and the commits claim another organisation than the one the server says pushed
    assert ("(commit)", "pusher-identity") in found
    assert "The shared repository refused your changes" in str(caught.value)


def test_one_document_with_a_huge_integer_never_takes_the_others_down(
    shared: SharedRepo, cli: Callable[..., CliResult]
) -> None:
    sam = shared.plain_clone()
    plain_commit(
        sam,
        {
            "runbooks/huge.md": "---\nid: kb-0000b001\ntitle: Huge\nreview:\n"
            "  interval_days: 99999999999999999999999\n  last_reviewed: 2026-01-01\n"
            "---\n# Huge\n",
            "runbooks/far.md": "---\nid: kb-0000b002\ntitle: Far\nreview:\n"
            "  interval_days: 3650000\n  last_reviewed: 9999-12-01\n---\n# Far\n",
            "runbooks/fine.md": "---\nid: kb-0000b003\ntitle: Fine queue\n---\n# Fine queue\n",
        },
        "Partner docs",
    )
    git(sam, "push", "-q", "origin", "HEAD:main")
    ana = shared.ana
    assert sync.sync(ana).pushed
    lint = cli("--kb", ana.root, "lint")
    assert "runbooks/huge.md" in lint.out + lint.err and "out of range" in lint.out + lint.err
    assert "runbooks/far.md" in lint.out + lint.err
    for argv in (("list",), ("search", "queue"), ("review", "due"), ("report",), ("sync",)):
        result = cli("--kb", ana.root, *argv)
        assert "unexpected error" not in result.err, (argv, result.err)
        assert result.code in (0, 1, 3), (argv, result.err)
    assert "Fine queue" in cli("--kb", ana.root, "search", "queue").out


@pytest.mark.gui
def test_the_window_offers_the_way_out_of_a_refused_sync(qtbot, hooked: SharedRepo) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    from kbapp.ui.window import MainWindow

    ana = hooked.ana
    plain_commit(ana.root, {"scripts/env.sh": SECRET, "notes/ok.txt": "keep me\n"}, "Env")
    ana.settings.fetch_interval_minutes = 0
    window = MainWindow(ana)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=15000)
    window.action("sync.now").trigger()
    qtbot.waitUntil(
        lambda: window.sync.failure_box is not None and window.sync.failure_box.isVisible(),
        timeout=30000,
    )
    box = window.sync.failure_box
    assert "scripts/env.sh, line 1" in box.text()
    take_out = next(b for b in box.buttons() if b.text() == "Take refused content out…")
    take_out.click()
    qtbot.waitUntil(
        lambda: window.sync.drop_box is not None and window.sync.drop_box.isVisible(), timeout=10000
    )
    assert "scripts/env.sh" in window.sync.drop_box.text()
    go = next(b for b in window.sync.drop_box.buttons() if b.text() == "Take out")
    go.click()
    qtbot.waitUntil(lambda: bool(git(ana.root, "for-each-ref", "refs/kbapp/kept/")), timeout=15000)
    window.tasks.wait()
    assert not refused.check_unpublished(ana)
    (ana.root / "scripts/env.sh").write_text("export PGPASSWORD=$(vault read)\n")
    with qtbot.waitSignal(window.sync.synced, timeout=30000) as synced:
        window.action("sync.now").trigger()
    assert synced.args[0].pushed
    assert git(hooked.remote, "show", "main:notes/ok.txt") == "keep me"
    assert isinstance(box, QMessageBox)
    window.tasks.wait()


def test_a_trailer_contradicting_the_committer_is_taken_out(hooked: SharedRepo) -> None:
    ana = hooked.ana
    (ana.root / "notes.txt").write_text("plain note\n")
    git(ana.root, "add", "notes.txt")
    git(ana.root, "commit", "-q", "--no-verify", "-m", "Note\n\nKB-Org: partner")
    with pytest.raises(refused.RefusedError) as caught:
        sync.sync(ana)
    assert caught.value.refusals[0].rule == "identity"
    report = refused.drop_refused(ana)
    assert not report.left_unfixed and report.rewritten == 1
    assert sync.sync(ana).pushed
    assert git(hooked.remote, "show", "main:notes.txt") == "plain note"
    assert "KB-Org: partner" not in git(hooked.remote, "log", "--format=%B", "main")


def test_out_of_range_review_intervals_are_refused_in_the_settings_too(kb) -> None:  # type: ignore[no-untyped-def]
    from kbapp.trust import policy

    text = (kb.root / ".kb/config.toml").read_text()
    assert re.search(r"^runbook = \d+$", text, re.M), text
    for days in ("99999999999999999999999", "0", "40000"):
        data = re.sub(r"^runbook = \d+$", f"runbook = {days}", text, flags=re.M).encode()
        found = policy.check_commit_file(".kb/config.toml", data, kb.config)
        assert [v.rule for v in found] == ["config"], (days, found)
    fine = re.sub(r"^runbook = \d+$", "runbook = 365", text, flags=re.M).encode()
    assert policy.check_commit_file(".kb/config.toml", fine, kb.config) == []


def test_a_partner_changing_the_templates_is_refused_before_committing(
    hooked: SharedRepo,
) -> None:
    """``.kb/templates/`` is the owner's, like ``.kb/config.toml``: the partner's kbapp refuses
    a hand edit there before committing it (naming file and rule), as the hook would."""
    ana, jo = hooked.ana, hooked.jo
    template = "---\ntitle: '{{title}}'\ntype: sop\n---\n# {{title}}\n\nSteps.\n"
    head = git(jo.root, "rev-parse", "HEAD")
    write_doc(jo, ".kb/templates/sop.md", template)
    with pytest.raises(sync.SyncError) as caught:
        sync.sync(jo)
    message = str(caught.value)
    assert ".kb/templates/sop.md" in message and "[protected-path]" in message
    assert "only internal may change" in message and "nothing was sent" in message
    assert git(jo.root, "rev-parse", "HEAD") == head
    (jo.root / ".kb/templates/sop.md").unlink()
    # The owner changes them; the partner then gets them and may not delete them either.
    write_doc(ana, ".kb/templates/sop.md", template)
    assert sync.sync(ana).pushed
    sync.sync(jo)
    assert (jo.root / ".kb/templates/sop.md").read_text() == template
    (jo.root / ".kb/templates/sop.md").unlink()
    with pytest.raises(sync.SyncError, match=r"\.kb/templates/sop\.md.*protected-path"):
        sync.sync(jo)
