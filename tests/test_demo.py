"""The bundled demo knowledge base: it builds, lints clean and has history from both orgs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from helpers import CliResult, git

from kbapp.demo import DEMO_PEOPLE, demo_paths, ensure_demo
from kbapp.documents.lint import lint_workspace
from kbapp.lifecycle.review import ReviewState, review_state_of
from kbapp.settings import Settings
from kbapp.workspace import Workspace

DEMO_DAY = dt.date(2026, 11, 23)


def test_demo_builds_lints_clean_and_has_both_organisations_history(tmp_path: Path) -> None:
    root = ensure_demo(tmp_path)
    assert root == demo_paths(tmp_path)[0]
    with Workspace.open(root, Settings()) as ws:
        report = lint_workspace(ws)
        assert report.errors == [], "\n".join(map(str, report.errors))
        assert report.checked >= 25
        entries = ws.catalog.all()
        assert {e.owner_org for e in entries} == {"internal", "partner"}
        assert {"draft", "in-review", "published", "retired"} <= {e.status for e in entries}
        assert {"sop", "runbook", "troubleshooting", "known-error", "post-incident"} <= {
            e.type for e in entries
        }
        # As of the day the demo was written, its reviews are a mix of every state.
        states = {review_state_of(e, ws.config, DEMO_DAY).state for e in entries}
        assert {
            ReviewState.OK,
            ReviewState.DUE,
            ReviewState.OVERDUE,
            ReviewState.NEVER,
            ReviewState.RETIRED,
        } <= states
        assert ws.config.org_names == ["internal", "partner"]
        assert ws.config.org_for_email("j.okafor@kestrel-ms.example") == "partner"
    authors = set(git(root, "log", "--format=%ae").splitlines())
    assert {DEMO_PEOPLE["internal"].email, DEMO_PEOPLE["partner"].email} <= authors
    orgs = set(git(root, "log", "--format=%(trailers:key=KB-Org,valueonly)").split())
    assert orgs == {"internal", "partner"}
    # Sync works without a server: the local bare remote has everything.
    assert git(root, "rev-parse", "HEAD") == git(root, "rev-parse", "origin/main")
    assert git(root, "status", "--porcelain") == ""


def test_ensure_demo_is_idempotent_and_resumes_after_an_interrupted_copy(tmp_path: Path) -> None:
    partial = tmp_path / "demo-kb.partial"
    partial.mkdir()
    (partial / "half-copied.md").write_text("# left over\n")
    root = ensure_demo(tmp_path)
    assert not partial.exists()
    head = git(root, "rev-parse", "HEAD")
    assert ensure_demo(tmp_path) == root
    assert git(root, "rev-parse", "HEAD") == head


def test_demo_command_and_lint_from_the_command_line(cli: Callable[..., CliResult]) -> None:
    result = cli("demo")
    assert result.code == 0, result.err
    root = Path(result.out.strip())
    lint = cli("--kb", root, "lint", "--errors-only")
    assert lint.code == 0, lint.out + lint.err
    found = cli("--kb", root, "list", "--type", "runbook")
    assert "etcdNoLeader" in found.out
    # With no knowledge base configured, the demo becomes the default, as 'kbapp init' does:
    # 'kbapp demo' then 'kbapp search vpn' said "no knowledge base given".
    assert "default knowledge base now" in result.err
    searched = cli("search", "etcd no leader")
    assert searched.code == 0 and "etcdNoLeader" in searched.out, searched.err


def test_demo_shows_the_cosourcing_model(tmp_path: Path) -> None:
    from kbapp.cosourcing import handover, matrix, onboarding

    with Workspace.open(ensure_demo(tmp_path), Settings()) as ws:
        found = {h.doc_id: h for h in handover.handovers(ws)}
        assert {k: (h.progress[0], h.complete) for k, h in found.items()} == {
            "kb-1a4e7c20": (4, True),
            "kb-2b7d9e41": (2, False),
            "kb-92e5f608": (0, False),
        }
        m = matrix.matrix_for(ws)
        assert {g.kind for g in m.gaps} == {"no-runbook", "disagreement", "no-responsible"}
        assert m.cell("etcd", "runbook").responsible == ["partner"]
        path = onboarding.progress(ws, "kb-e8f90a1b")
        assert len(path.items) == 9 and all(item.doc_id for item in path.items)
        assert (
            ws.ticket_linker().url("PRT-4471")
            == "https://portal.kestrel-ms.example/tickets/PRT-4471"
        )
        html = ws.render(ws.load("kb-a43f8019")).html
        assert 'href="https://servicedesk.tidewater.example/change/CHG-8812"' in html


def test_demo_runbook_steps_render_as_one_list_with_their_code(tmp_path: Path) -> None:
    """A code block inside a numbered step stays inside it: the list does not restart after
    it (``<ol start=...>``) and no step turns into a paragraph that starts with its number.
    Python-Markdown nests a fence under ``1.`` only when it is indented by four spaces."""
    import re

    from kbapp.lifecycle.checklist import checklist_steps

    root = ensure_demo(tmp_path)
    with Workspace.open(root, Settings()) as ws:
        ws.refresh()
        with_code_in_steps = 0
        for entry in ws.catalog.all():
            doc = ws.load(entry.path)
            html = ws.render(doc).html
            outside_code = re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
            assert '<ol start="' not in html, entry.path
            assert not re.search(r"(?m)^\d+\. \w", outside_code), entry.path
            if re.search(r"<li>\s*<p>.*?</p>\s*<div class=\"codehilite\"", html):
                with_code_in_steps += 1
        assert with_code_in_steps >= 15
        failover = ws.load("sops/payments-database-failover.md")
        steps = checklist_steps(failover.body)
        assert len(steps) >= 12  # every step a checklist item in incident mode, code or not


def test_the_report_summary_counts_one_of_a_kind_in_the_singular(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """'kbapp report' on the demo said '1 incidents captured'."""
    root = ensure_demo(tmp_path)
    out = cli("--kb", root, "report", "--today", DEMO_DAY.isoformat()).out
    assert "1 incident captured" in out, out
    assert "1 incidents" not in out and "1 reviews" not in out and "1 searches" not in out
