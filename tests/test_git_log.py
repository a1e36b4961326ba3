"""The one ``git log`` parser (kbapp.sync.git.Git.log) and the one commit -> organisation rule
(kbapp.config.KbConfig.commit_org), on a real repository."""

from __future__ import annotations

from helpers import git, write_doc

from kbapp.workspace import Workspace


def test_log_parses_files_renames_trailers_and_odd_names(kb: Workspace) -> None:
    first = kb.git.log()
    assert first and first[-1].files  # Workspace.init's commit, with .kb/config.toml
    write_doc(kb, 'a b/it\'s "odd".md', "# Odd\n")
    write_doc(kb, "plain.md", "# Plain\n")
    git(kb.root, "add", "-A")
    git(
        kb.root,
        "-c",
        "user.email=pat@partner.example",
        "commit",
        "-q",
        "-m",
        "Add two",
        "-m",
        "Details.\n\nKB-Org: internal",
    )
    git(kb.root, "mv", "plain.md", "moved.md")
    git(kb.root, "commit", "-q", "--allow-empty-message", "-m", "")
    git(kb.root, "commit", "-q", "--allow-empty", "-m", "Nothing\n\nline two")
    newest, moved, added = kb.git.log()[:3]
    assert newest.subject == "Nothing" and newest.files == () and "line two" in newest.body
    assert [(f.status, f.path, f.old_path) for f in moved.files] == [("R", "moved.md", "plain.md")]
    assert moved.subject == ""
    assert {f.path for f in added.files} == {'a b/it\'s "odd".md', "plain.md"}
    assert added.email == "pat@partner.example" and added.org_trailer == "internal"
    # the rule: the trailer wins over the e-mail domain; without one, the domain decides
    assert kb.config.commit_org(added.org_trailer, added.email) == "internal"
    assert kb.config.commit_org("", added.email) == "partner"
    assert kb.config.commit_org("", "someone@elsewhere.example") == ""
    # following one document across its rename; a range; a revision git does not know
    followed = kb.git.log(paths=["moved.md"], follow=True)
    assert [c.path for c in followed] == ["moved.md", "plain.md"]
    assert [c.rev for c in kb.git.log(f"{added.rev}..HEAD")] == [newest.rev, moved.rev]
    assert kb.git.log("no-such-branch") == []
    assert len(kb.git.log(limit=2)) == 2


def test_log_with_patch_gives_each_files_added_and_removed_lines(kb: Workspace) -> None:
    write_doc(kb, "a.md", "---\nstatus: draft\n---\n# A\n\n+++ not a header\n")
    b_text = "# B\n\n" + "".join(f"Step {n}.\n" for n in range(8))
    write_doc(kb, "b.md", b_text)
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "-m", "Add")
    write_doc(kb, "a.md", "---\nstatus: retired\n---\n# A\n\n+++ still not a header\n")
    write_doc(kb, "b.md", b_text + "More \x1e text\n")
    git(kb.root, "mv", "b.md", "c.md")
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "-m", "Change")
    changed, added = kb.git.log(paths=["*.md"], patch=True, limit=2)
    by_path = {f.path: f for f in changed.files}
    assert by_path["a.md"].status == "M"
    assert by_path["a.md"].added == ("status: retired", "+++ still not a header")
    assert by_path["a.md"].removed == ("status: draft", "+++ not a header")
    assert by_path["c.md"].status == "R" and by_path["c.md"].old_path == "b.md"
    assert by_path["c.md"].added == ("More \x1e text",)
    assert by_path["c.md"].removed == ()
    assert {f.path for f in added.files} == {"a.md", "b.md"}
    assert added.subject == "Add" and changed.subject == "Change"
    # only changed and renamed files, without the added ones' text
    assert [c.rev for c in kb.git.log(paths=["*.md"], diff_filter="MR", patch=True)][:1] == [
        changed.rev
    ]
    newest_addition = kb.git.log(paths=["*.md"], diff_filter="A", limit=1)[0]
    assert newest_addition.rev == added.rev
    assert [f.status for f in newest_addition.files] == ["A", "A"]
