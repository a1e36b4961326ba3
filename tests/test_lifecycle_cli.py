"""The lifecycle commands, run in-process as a user types them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from helpers import CliResult, git, write_doc
from lifecycle_helpers import doc_text

from kbapp.workspace import Workspace

Cli = Callable[..., CliResult]
RUNBOOK = "## Mitigation\n\n1. Drain the node\n2. Restart the service\n"


def _setup(kb: Workspace) -> str:
    write_doc(
        kb,
        "runbooks/api.md",
        doc_text(
            "kb-c1100001",
            "Restart the API",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2026-01-01",
            body=RUNBOOK,
        ),
    )
    write_doc(
        kb,
        "sops/vpn.md",
        doc_text(
            "kb-c1100002",
            "Reset a VPN token",
            doc_type="sop",
            owners=["ana@internal.example"],
            body="Use [[kb-c1100001]] when the API is down.\n",
        ),
    )
    kb.save(kb.load("runbooks/api.md"))
    kb.save(kb.load("sops/vpn.md"))
    return str(kb.root)


def test_incident_to_capture_from_the_command_line(kb: Workspace, cli: Cli) -> None:
    root = _setup(kb)
    started = cli(
        "--kb", root, "incident", "start", "inc-555", "--title", "API down", "--system", "api"
    )
    assert started.code == 0 and started.out.startswith("INC-555 started")
    steps = cli("--kb", root, "incident", "steps", "kb-c1100001")
    assert "[ ]  1. Drain the node" in steps.out and "[ ]  2. Restart the service" in steps.out
    assert cli("--kb", root, "incident", "tick", "kb-c1100001", "1", "2").code == 0
    assert cli("--kb", root, "incident", "note", "$", "systemctl", "restart", "api").code == 0
    assert (
        "[x]  2. Restart the service" in cli("--kb", root, "incident", "steps", "kb-c1100001").out
    )
    status = json.loads(cli("--kb", root, "incident", "status", "--json").out)
    assert status["ticket"] == "INC-555" and status["running"] is True
    assert status["runbooks"][0]["ticked"] == [1, 2]
    ended = cli("--kb", root, "incident", "end", "--summary", "restarted")
    assert ended.code == 0 and "kbapp capture --incident INC-555 --from-session" in ended.err
    assert cli("--kb", root, "incident", "note", "late").code == 1  # nothing running

    captured = cli(
        "--kb", root, "capture", "--incident", "INC-555", "--from-session", "--right", "kb-c1100001"
    )
    assert captured.code == 0, captured.err
    path = Path(captured.out.strip())
    text = path.read_text()
    assert "incidents:\n  - INC-555\n" in text and "systemctl restart api" in text
    assert "1. Drain the node (step 1 of [[kb-c1100001]]" in text
    subjects = git(kb.root, "log", "-2", "--format=%s").splitlines()
    assert subjects == ["Used in INC-555: Restart the API", "Capture: API down"]
    listed = json.loads(cli("--kb", root, "incident", "list", "--json").out)
    assert listed[0]["captured_doc"] is not None


def test_review_commands(kb: Workspace, cli: Cli) -> None:
    root = _setup(kb)
    due = cli("--kb", root, "review", "due", "--today", "2026-06-15")
    assert due.code == 0
    assert "kb-c1100001  75 days overdue" in due.out  # runbook: 2026-01-01 + 90
    assert "kb-c1100002  never reviewed" in due.out
    anas = json.loads(
        cli(
            "--kb",
            root,
            "review",
            "due",
            "--owner",
            "ana@internal.example",
            "--json",
            "--today",
            "2026-06-15",
        ).out
    )
    assert [i["id"] for i in anas] == ["kb-c1100002"]  # Ana owns the SOP only
    # "me" is whoever runs it: here git's user.email, runner@internal.example, owns nothing
    assert json.loads(cli("--kb", root, "review", "due", "--owner", "me", "--json").out) == []
    partner = json.loads(
        cli(
            "--kb", root, "review", "due", "--org", "partner", "--json", "--today", "2026-06-15"
        ).out
    )
    assert [i["id"] for i in partner] == ["kb-c1100001"]
    assert cli("--kb", root, "review", "due", "--org", "nobody").code == 1
    assert cli("--kb", root, "review", "due", "--within", "soon").code == 1

    done = cli(
        "--kb", root, "review", "done", "kb-c1100001", "--note", "ok", "--today", "2026-06-15"
    )
    assert done.code == 0 and done.out.startswith("reviewed: runbooks/api.md")
    assert "last_reviewed: 2026-06-15" in (kb.root / "runbooks/api.md").read_text()
    assert "Nothing changed since." in cli("--kb", root, "review", "diff", "kb-c1100001").out
    assert cli("--kb", root, "review", "needs-changes", "kb-c1100002").code == 2  # --note needed
    assert (
        cli(
            "--kb", root, "review", "needs-changes", "kb-c1100002", "--note", "step 2 is wrong"
        ).code
        == 0
    )
    assert git(kb.root, "log", "-1", "--format=%s") == "Needs changes: Reset a VPN token"


def test_retire_feedback_gap_and_report(kb: Workspace, cli: Cli, tmp_path: Path) -> None:
    root = _setup(kb)
    retired = cli("--kb", root, "--yes", "retire", "kb-c1100001", "--reason", "API replaced")
    assert retired.code == 0
    assert (
        "1 document links to it" in retired.err and "kb-c1100002 Reset a VPN token" in retired.err
    )
    assert "status: retired" in (kb.root / "runbooks/api.md").read_text()

    assert (
        cli("--kb", root, "feedback", "kb-c1100002", "--not-helpful", "--comment", "outdated").code
        == 0
    )
    assert cli("--kb", root, "feedback", "kb-c1100002").code == 2  # must say which

    gap = cli("--kb", root, "capture", "--gap", "how to rotate the VPN certificate")
    assert gap.code == 0 and "/sops/how-to-rotate-the-vpn-certificate.md" in gap.out

    html, folder = tmp_path / "out" / "report.html", tmp_path / "csv"
    html.parent.mkdir()
    made = cli("--kb", root, "report", "--html", html, "--csv", folder, "--today", "2026-06-15")
    assert made.code == 0, made.err
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert (folder / "trends.csv").exists() and (folder / "feedback.csv").exists()
    summary = cli("--kb", root, "report", "--today", "2026-06-15")
    assert "3 documents" in summary.out and "1 never reviewed" in summary.out
    data = json.loads(cli("--kb", root, "report", "--json", "--today", "2026-06-15").out)
    assert data["feedback"][0]["not_helpful"] == 1


def test_an_ended_incident_stays_offered_until_dismissed(kb: Workspace, cli: Cli) -> None:
    from kbapp.lifecycle.incident import incidents_for

    root = _setup(kb)
    write_doc(
        kb,
        "runbooks/etcd.md",
        doc_text(
            "kb-c1100003",
            "etcd down",
            body=(
                "1. Check health:\n\n    ```bash\n    etcdctl endpoint health \\\n"
                "      --cluster\n    ```\n"
            ),
        ),
    )
    steps = cli("--kb", root, "incident", "steps", "kb-c1100003").out
    assert "etcdctl endpoint health \\\n" in steps and "  --cluster" in steps  # line for line
    assert cli("--kb", root, "incident", "dismiss").code == 1  # nothing ended yet
    started = cli("--kb", root, "incident", "start")  # no ticket yet
    assert started.code == 0 and started.out.startswith("NO-TICKET-"), started
    cli("--kb", root, "incident", "end")
    assert cli("--kb", root, "incident", "dismiss").code == 0
    cli("--kb", root, "incident", "start", "INC-9")
    cli("--kb", root, "incident", "end")
    incidents = incidents_for(kb)
    assert incidents.waiting_capture() is not None and incidents.waiting_capture().ticket == "INC-9"
    dismissed = cli("--kb", root, "incident", "dismiss")
    assert dismissed.code == 0 and "INC-9 will not be offered" in dismissed.out
    assert incidents.waiting_capture() is None
    status = cli("--kb", root, "incident", "status", "INC-9", "--json").out
    assert json.loads(status)["ticket"] == "INC-9" and "dismiss" not in status  # not a step


def test_nothing_due_says_when_the_next_review_is(kb: Workspace, cli: Cli) -> None:
    """After an import (first reviews scheduled from two weeks on) 'kbapp review due' said
    '0 documents to review' and nothing about when reviews begin."""
    root = _setup(kb)  # the runbook was last reviewed 2026-01-01, the SOP never
    assert cli("--kb", root, "review", "done", "kb-c1100002", "--today", "2026-01-10").code == 0
    quiet = cli("--kb", root, "review", "due", "--today", "2026-01-11")
    assert quiet.code == 0 and quiet.out == ""
    assert quiet.err == (
        "Nothing to review within 14 days; next: Restart the API, due in 80 days (2026-04-01).\n"
    ), quiet.err
