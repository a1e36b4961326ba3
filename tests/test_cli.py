"""The command line: each command of the core issue, and one clear message for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import git, run_kbapp, write_doc

from kbapp.workspace import Workspace


def test_init_new_list_show_lint_round(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    kb = tmp_path / "kb"
    result = cli(
        "init", kb, "--name", "Ops KB", "--org", "internal=internal.example", "--org", "partner"
    )
    assert result.code == 0 and result.out.strip() == str(kb)
    result = cli(
        "--kb",
        kb,
        "new",
        "--type",
        "troubleshooting",
        "--title",
        "Payments API returns HTTP 503",
        "--system",
        "payments-api",
    )
    assert result.code == 0
    created = Path(result.out.strip())
    assert created == kb / "troubleshooting/payments-api-returns-http-503.md" and created.is_file()
    assert git(kb, "log", "-1", "--format=%s") == "Create: Payments API returns HTTP 503"

    listed = json.loads(cli("--kb", kb, "list", "--type", "troubleshooting", "--json").out)
    assert [d["title"] for d in listed] == ["Payments API returns HTTP 503"]
    assert cli("--kb", kb, "list", "--status", "published", "--json").out.strip() == "[]"
    doc_id = listed[0]["id"]

    shown = cli("--kb", kb, "show", doc_id)
    assert (
        shown.code == 0
        and "Payments API returns HTTP 503" in shown.out
        and "payments-api" in shown.out
    )
    html = cli("--kb", kb, "show", doc_id, "--html").out
    assert '<h2 id="symptoms">Symptoms</h2>' in html and "<!--" not in html
    assert cli("--kb", kb, "show", str(created), "--raw").out == created.read_text()

    lint = cli("--kb", kb, "lint", "--json")
    assert lint.code == 0  # a fresh draft has warnings only
    assert json.loads(lint.out)["warnings"] > 0


def test_kb_from_environment(kb: Workspace, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KBAPP_KB", str(kb.root))
    assert cli("list").code == 0


def test_lint_exits_1_on_errors_and_names_the_line(kb: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    write_doc(kb, "bad.md", "---\nid: kb-12345678\ntitle: Bad\ntype: recipe\nstatus: draft\n---\n")
    result = cli("--kb", kb.root, "lint")
    assert result.code == 1
    assert "bad.md:4: error: type: unknown type 'recipe'" in result.out


def test_import_reports_what_was_guessed(kb: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "export"
    (src / "alerts").mkdir(parents=True)
    (src / "alerts/DiskFull.md").write_text(
        "# DiskFull\n## Meaning\nx\n## Impact\ny\n## Mitigation\nz\n"
    )
    (src / "howto.md").write_text(
        "---\ntitle: Reset a password\ntags: accounts, sso\n---\n## Symptoms\n## Resolution\n"
    )
    (src / "logo.md").write_bytes(b"\x89PNG\x00\x00")
    result = cli("--kb", kb.root, "import", src, "--into", "imported")
    assert result.code == 0
    assert "Imported 2 documents" in result.out
    assert "runbook" in result.out and "headings Meaning, Impact, Mitigation" in result.out
    assert "logo.md: is a binary file" in result.out
    data = json.loads(cli("--kb", kb.root, "list", "--json").out)
    howto = next(d for d in data if d["title"] == "Reset a password")
    assert howto["tags"] == ["accounts", "sso"] and howto["type"] == "troubleshooting"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", ["list"], "no knowledge base given"),
        ("missing", ["list"], "does not exist"),
        ("plain", ["list"], "is not a git repository; run 'kbapp init"),
        ("kb", ["show", "kb-00000000"], "no document has the id kb-00000000"),
        ("kb", ["new", "--type", "recipe", "--title", "x"], "there is no template called 'recipe'"),
        ("kb", ["new", "--type", "sop", "--title", "  "], "a new document needs a title"),
        ("kb", ["show", "binary.md"], "binary.md: is a binary file"),
        ("kb", ["show", "huge.md", "--html"], "huge.md: file is 50 MB"),
        ("kb", ["import", "/nonexistent/folder"], "/nonexistent/folder is not a folder"),
        ("kb", ["settings", "colour", "blue"], "there is no setting 'colour'"),
    ],
)
def test_bad_input_gives_one_clear_message(
    tmp_path: Path, settings, cli, setup: str, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    prefix: list[str] = []
    if setup == "missing":
        prefix = ["--kb", str(tmp_path / "nope")]
    elif setup == "plain":
        (tmp_path / "plain").mkdir()
        prefix = ["--kb", str(tmp_path / "plain")]
    elif setup == "kb":
        ws = Workspace.init(tmp_path / "kb", "KB", ["internal"], settings=settings)
        (ws.root / "binary.md").write_bytes(b"\x00\x01\x02")
        with (ws.root / "huge.md").open("wb") as handle:
            handle.truncate(50 * 1024 * 1024)
        prefix = ["--kb", str(ws.root)]
    result = cli(*prefix, *args)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err and result.err.count("\n") <= 3


def test_broken_yaml_is_shown_with_a_warning_not_a_crash(kb: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    write_doc(kb, "broken.md", "---\ntitle: [unclosed\n---\n# Still readable\n")
    result = cli("--kb", kb.root, "show", "broken.md")
    assert result.code == 0 and "Still readable" in result.out and "not valid YAML" in result.out


def test_settings_round_trip(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("settings", "user_email", "jo@partner.example").code == 0
    assert cli("settings", "user_email").out.strip() == "jo@partner.example"
    assert cli("settings", "zoom", "big").code == 1


def test_help_documents_every_command() -> None:
    result = run_kbapp("--help")
    assert result.returncode == 0
    for command in (
        "init",
        "new",
        "import",
        "list",
        "show",
        "lint",
        "templates",
        "demo",
        "settings",
    ):
        assert command in result.stdout


def test_usage_errors_exit_2() -> None:
    result = run_kbapp("list", "--no-such-option")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_an_unknown_command_is_one_sentence_with_the_nearest_one(kb: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    """'kbapp health' printed argparse's usage and all 37 commands on five lines; the window
    calls the report 'Knowledge base health' (Ctrl+Shift+H), so 'health' is the report."""
    health = cli("--kb", kb.root, "health")
    assert health.code == 0 and "documents" in health.out, health.err
    typo = cli("--kb", kb.root, "reveiw", "due")
    assert typo.code == 2 and typo.out == ""
    assert typo.err == (
        "kbapp: there is no command 'reveiw'; did you mean 'review'? "
        "('kbapp --help' lists them all)\n"
    )
    nothing = cli("xyzzy")
    assert nothing.code == 2
    assert nothing.err == "kbapp: there is no command 'xyzzy' ('kbapp --help' lists them all)\n"


def test_list_with_a_value_no_document_can_have_says_so(kb: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    """'kbapp list --type sops' answered '0 documents', as if the knowledge base had no SOP."""
    typo = cli("--kb", kb.root, "list", "--type", "sops")
    assert typo.code == 1 and typo.out == ""
    assert (
        typo.err.startswith("kbapp: there is no type 'sops'; the types are ") and "sop," in typo.err
    )
    status = cli("--kb", kb.root, "list", "--status", "publish")
    assert status.code == 1 and "draft, in-review, published, retired" in status.err
    org = cli("--kb", kb.root, "list", "--org", "nobody")
    assert org.code == 1 and "is not an organisation of this knowledge base" in org.err
    none = cli("--kb", kb.root, "list", "--type", "sop")  # a real type, no document of it
    assert none.code == 0 and none.err.strip() == "0 documents"


def test_show_says_an_imported_articles_title_once(kb: Workspace, cli, corpora: Path) -> None:  # type: ignore[no-untyped-def]
    """SupportArticles repeat their title as the body's first heading, often with quotes or
    another case ('"Access is denied" error' under 'Access is denied error'): shown once, and
    the file keeps its heading."""
    src = (
        corpora
        / "gautamanand-dot__SupportArticles-docs/support/sql/database-engine/startup-shutdown"
    )
    assert cli("--kb", kb.root, "import", src, "--into", "support").code == 0
    path = "support/event-id-7000-access-denied.md"
    shown = cli("--kb", kb.root, "show", path)
    assert shown.code == 0
    assert shown.out.count("error and SQL Server doesn't start") == 1
    assert "Applies to:" in shown.out
    assert '# "Access is denied" error' in (kb.root / path).read_text(encoding="utf-8")
    assert "# " in cli("--kb", kb.root, "show", path, "--raw").out


def test_show_prints_a_different_heading_once_and_lists_the_title_as_the_reader_does(
    kb: Workspace,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    """An article whose body's heading says more than its title ("Troubleshoot AD FS issues"
    over "AD FS troubleshooting") printed both, the title underlined and the heading as
    Markdown under it; the reader shows the heading and a quiet "Listed as" row."""
    write_doc(
        kb,
        "support/adfs.md",
        "---\nid: kb-0c000001\ntitle: AD FS troubleshooting\ntype: troubleshooting\n---\n\n"
        "# Troubleshoot AD FS issues in Windows Server\n\nStart with the event log.\n",
    )
    shown = cli("--kb", kb.root, "show", "support/adfs.md")
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[:2] == ["Troubleshoot AD FS issues in Windows Server", "=" * 43]
    assert "listed as: AD FS troubleshooting" in shown.out
    assert shown.out.count("Troubleshoot AD FS issues") == 1 and "# " not in shown.out
    assert "Start with the event log." in shown.out
