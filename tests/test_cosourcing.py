"""The co-sourcing model: RACI and escalation (parse, lint), the responsibility matrix and its
gaps on a fixture KB with known answers, handovers recorded through commits and synced between
two clones, ticket links, onboarding paths, and the merge of the new fields by meaning."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, git, write_doc

from kbapp.config import CONFIG_PATH, update_config_text
from kbapp.cosourcing import handover, matrix, onboarding, responsibility
from kbapp.documents import model as documents
from kbapp.documents.lint import lint_workspace
from kbapp.errors import KbError
from kbapp.settings import Settings
from kbapp.sync.mergedriver import merge
from kbapp.workspace import Workspace

TICKETS = """
[[tickets]]
pattern = "INC-\\\\d+"
url = "https://desk.internal.example/incident/{id}"
org = "internal"

[[tickets]]
pattern = "PRT-\\\\d+"
url = "https://portal.partner.example/t/{id}"
org = "partner"
"""


def doc_text(
    doc_id: str,
    title: str,
    doc_type: str = "runbook",
    *,
    status: str = "published",
    org: str = "internal",
    systems: tuple[str, ...] = ("payments-db",),
    extra: str = "",
    body: str = "",
) -> str:
    system_lines = "".join(f"  - {s}\n" for s in systems)
    return (
        f"---\nid: {doc_id}\ntitle: {title}\ntype: {doc_type}\nstatus: {status}\n"
        f"owner_org: {org}\nowners:\n  - someone@{org}.example\nsystems:\n{system_lines}"
        f"{extra}---\n# {title}\n\n{body}"
    )


def _codes(kb: Workspace, path: str) -> dict[str, tuple[str, int, str]]:
    report = lint_workspace(kb, [path])
    return {p.code + ":" + p.field: (p.severity, p.line, p.message) for p in report.problems}


# --------------------------------------------------------------------------- RACI and escalation


def test_raci_and_escalation_are_parsed_with_people_mapped_to_their_organisation(
    kb: Workspace,
) -> None:
    meta = documents.parse(
        doc_text(
            "kb-10000001",
            "Fail over",
            extra="responsible:\n  - partner\naccountable: internal\n"
            "consulted:\n  - dba@internal.example\n  - ops@partner.example\n"
            "escalation:\n  - org: partner\n    contact: Partner DBA on-call\n    phone: '+1 555 0100'\n"
            "    hours: 24x7\n  - org: internal\n    rotation: internal-dba\n    hours: Mon-Fri 08-18\n",
        ).encode(),
        "x.md",
    ).meta
    config = kb.config
    assert responsibility.orgs_for(meta, "responsible", config) == ["partner"]
    assert responsibility.orgs_for(meta, "accountable", config) == ["internal"]
    assert responsibility.orgs_for(meta, "consulted", config) == ["internal", "partner"]
    assert [p.is_person for p in responsibility.parties(meta, "consulted", config)] == [True, True]
    path = responsibility.escalation(meta)
    assert [c.org for c in path] == ["partner", "internal"]
    assert path[0].describe() == "partner: Partner DBA on-call (+1 555 0100, 24x7)"
    assert path[1].describe() == "internal: internal-dba (Mon-Fri 08-18)"


def test_lint_names_unknown_organisations_in_raci_and_escalation(kb: Workspace) -> None:
    write_doc(
        kb,
        "r.md",
        doc_text(
            "kb-10000002",
            "Bad RACI",
            extra="responsible:\n  - partner\n  - acme\naccountable:\n  - internal\n  - partner\n"
            "informed:\n  - someone@elsewhere.example\nconsulted: [internal]\n"
            "escalation:\n  - org: vendor\n    contact: Vendor support\n    hours: 24x7\n"
            "  - org: internal\n  - just a string\n",
            body="## Meaning\n\nx\n",
        ),
    )
    codes = _codes(kb, "r.md")
    severity, line, message = codes["unknown-org:responsible[1]"]
    assert severity == "error" and line == 13 and "'acme' is not an organisation" in message
    assert codes["raci:accountable"][0] == "warning"
    assert codes["unknown-org:informed[0]"][0] == "warning"
    assert codes["flow-list:consulted"][0] == "warning"
    assert codes["unknown-org:escalation[0]"][:2] == ("error", 21)
    second = {
        (p.severity, p.message)
        for p in lint_workspace(kb, ["r.md"]).problems
        if p.field == "escalation[1]"
    }
    assert second == {
        ("error", "give a contact or an on-call rotation"),
        ("warning", "say which hours this contact covers (e.g. 24x7, Mon-Fri 08:00-18:00)"),
    }
    assert codes["invalid-value:escalation[2]"][0] == "error"
    assert "unknown-org:responsible[0]" not in codes


def test_a_valid_raci_and_escalation_lint_clean(kb: Workspace) -> None:
    write_doc(
        kb,
        "ok.md",
        doc_text(
            "kb-10000003",
            "Good RACI",
            "sop",
            status="draft",
            extra="responsible:\n  - partner\naccountable:\n  - internal\n"
            "informed:\n  - ana@internal.example\n"
            "escalation:\n  - org: partner\n    contact: NOC\n    hours: 24x7\n",
        ),
    )
    assert [str(p) for p in lint_workspace(kb, ["ok.md"]).problems] == []


def test_templates_carry_raci_and_escalation_filled_with_the_writers_organisation(
    kb: Workspace,
) -> None:
    doc = kb.draft_from_template("runbook", "etcdNoLeader", systems=["kubernetes"])
    assert doc.meta["responsible"] == ["internal"] and doc.meta["accountable"] == ["internal"]
    assert doc.meta["escalation"] == [
        {"org": "internal", "contact": "ana@internal.example", "hours": ""}
    ]
    assert "consulted" not in doc.meta  # empty lists are not written
    text = documents.serialise(doc).decode()
    assert text.index("responsible:") < text.index("escalation:") < text.index("template:")
    kb.save(doc)
    codes = _codes(kb, doc.path)
    assert codes["missing-field:escalation[0]"][0] == "warning"  # hours still to fill in
    assert not [c for c in codes if c.startswith(("unknown-org", "invalid-value"))]
    known_error = kb.draft_from_template("known-error", "Something")
    assert "responsible" not in known_error.meta and "escalation" not in known_error.meta


# --------------------------------------------------------------------------- the matrix


@pytest.fixture
def matrix_kb(kb: Workspace) -> Workspace:
    """Known answers: see test_matrix_cells_and_gaps_on_a_fixture_kb."""
    R, A = "responsible:\n  - {}\n", "accountable:\n  - internal\n"
    write_doc(
        kb, "a.md", doc_text("kb-20000001", "DB failover", "sop", extra=R.format("partner") + A)
    )
    write_doc(
        kb, "b.md", doc_text("kb-20000002", "DB disk full", "runbook", extra=R.format("partner"))
    )
    write_doc(
        kb,
        "c.md",
        doc_text("kb-20000003", "DB replication lag", "runbook", extra=R.format("internal")),
    )  # disagrees with b
    write_doc(kb, "d.md", doc_text("kb-20000004", "VPN down", "runbook", systems=("vpn",)))
    write_doc(
        kb,
        "e.md",
        doc_text(
            "kb-20000005",
            "Patch Windows",
            "sop",
            systems=("windows", "vpn"),
            extra=R.format("j@partner.example"),
        ),
    )
    write_doc(
        kb,
        "f.md",
        doc_text(
            "kb-20000006",
            "Windows runbook draft",
            "runbook",
            status="draft",
            systems=("windows",),
            extra=R.format("partner"),
        ),
    )
    write_doc(
        kb,
        "g.md",
        doc_text(
            "kb-20000007",
            "Old ERP runbook",
            "runbook",
            status="retired",
            systems=("erp",),
            extra=R.format("partner"),
        ),
    )
    write_doc(kb, "h.md", doc_text("kb-20000008", "ERP error", "known-error", systems=("erp",)))
    write_doc(
        kb,
        "i.md",
        doc_text(
            "kb-20000010",
            "DB access",
            "sop",  # overlaps a: no gap
            extra="responsible:\n  - internal\n  - partner\n",
        ),
    )
    return kb


def test_matrix_cells_and_gaps_on_a_fixture_kb(matrix_kb: Workspace) -> None:
    m = matrix.matrix_for(matrix_kb)
    assert m.systems == ["erp", "payments-db", "vpn", "windows"]
    assert m.types == ["runbook", "sop", "known-error"]
    cell = m.cell("payments-db", "runbook")
    assert [d.doc_id for d in cell.docs] == ["kb-20000002", "kb-20000003"]
    assert cell.responsible == ["partner", "internal"] and cell.disagrees
    assert m.cell("payments-db", "sop").responsible == ["internal", "partner"]
    assert not m.cell("payments-db", "sop").disagrees
    assert m.cell("vpn", "sop").responsible == ["partner"]  # a person counts for their org
    assert m.cell("erp", "runbook").docs == []  # retired documents are left out
    assert matrix.cell_text(m.cell("payments-db", "sop")) == "internal/partner (2)"
    assert matrix.cell_text(m.cell("vpn", "runbook")) == "nobody named (1)"
    gaps = {(g.kind, g.system, g.doc_type): g for g in m.gaps}
    assert set(gaps) == {
        ("no-runbook", "erp", "runbook"),
        ("no-runbook", "windows", "runbook"),
        ("disagreement", "payments-db", "runbook"),
        ("no-responsible", "vpn", "runbook"),
    }
    assert (
        "only drafts: Windows runbook draft" in gaps[("no-runbook", "windows", "runbook")].message
    )
    assert [d.doc_id for d in gaps[("no-responsible", "vpn", "runbook")].docs] == ["kb-20000004"]
    assert m.gaps[0].kind == "no-runbook" and m.gaps[-1].kind == "no-responsible"


def test_matrix_command_writes_html_and_csv(
    matrix_kb: Workspace, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    write_doc(
        matrix_kb,
        "x.md",
        doc_text(
            "kb-20000009",
            "<script>alert(1)</script>",
            "runbook",
            systems=("=cmd|calc",),
            extra="responsible:\n  - partner\n",
        ),
    )
    html_file, csv_file = tmp_path / "out" / "m.html", tmp_path / "m.csv"
    result = cli("--kb", matrix_kb.root, "matrix", "--html", html_file, "--csv", csv_file)
    assert result.code == 0, result.err
    page = html_file.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'class="gap"' in page and "disagree on who is responsible" in page
    rows = csv_file.read_text().splitlines()
    assert rows[0] == "system,type,responsible,documents,gaps"
    assert any(r.startswith("'=cmd|calc,runbook,partner,") for r in rows)
    assert any(r.startswith("payments-db,runbook,partner internal,") for r in rows)
    text = cli("--kb", matrix_kb.root, "matrix")
    assert text.code == 0 and "no-runbook: erp has no published runbook" in text.out
    assert "SYSTEM" in text.out.splitlines()[0]
    gaps = cli("--kb", matrix_kb.root, "matrix", "--gaps")
    assert gaps.code == 1 and "SYSTEM" not in gaps.out


# --------------------------------------------------------------------------- handovers


def _handover_doc(kb: Workspace) -> str:
    path = "sops/failover.md"
    write_doc(
        kb,
        path,
        doc_text(
            "kb-30000001",
            "Fail over",
            "sop",
            extra="responsible:\n  - internal\naccountable:\n  - internal\n",
        ),
    )
    kb.git.commit([path], "Create: Fail over")
    return path


def _as(kb: Workspace, name: str, email: str) -> Workspace:
    return Workspace.open(kb.root, Settings(user_name=name, user_email=email))


def test_a_handover_goes_through_its_steps_in_commits(kb: Workspace) -> None:
    path = _handover_doc(kb)
    day = dt.date(2026, 9, 1)
    handover.start(kb, "kb-30000001", "partner", today=day)
    with pytest.raises(KbError, match="already has a handover in progress"):
        handover.start(kb, "kb-30000001", "partner")
    with pytest.raises(KbError, match="record 'Knowledge transfer done' first"):
        handover.record_step(kb, path, "reviewed")
    handover.record_step(kb, path, "knowledge-transfer", today=day + dt.timedelta(days=7))
    with pytest.raises(KbError, match="recorded by partner; your organisation is internal"):
        handover.record_step(kb, path, "reviewed")
    with _as(kb, "Jo", "jo@partner.example") as partner:
        handover.record_step(partner, path, "partner-reviewed", today=day + dt.timedelta(days=14))
        with pytest.raises(KbError, match="needs the ticket"):
            handover.record_step(partner, path, "supervised-run")
        handover.record_step(
            partner,
            path,
            "supervised-run",
            date=dt.date(2026, 10, 2),
            ticket="CHG-8890",
            note="ran   it with Ana watching",
        )
        with pytest.raises(KbError, match="recorded by internal; your organisation is partner"):
            handover.record_step(partner, path, "signed-off")
    state = handover.of_document(kb.load(path), kb.config)
    assert state is not None and state.progress == (3, 4) and not state.complete
    assert state.state == "3/4, next: signed off by the accountable organisation"
    handover.record_step(kb, path, "signed-off", today=dt.date(2026, 10, 20))
    with pytest.raises(KbError, match="already recorded"):
        handover.record_step(kb, path, "signed-off")

    doc = kb.load(path)
    state = handover.of_document(doc, kb.config)
    assert state is not None and state.complete and state.state == "complete"
    assert doc.meta["responsible"] == ["partner"]  # sign-off hands execution over
    assert doc.meta["handover"]["steps"][2] == {
        "step": "supervised-run",
        "date": dt.date(2026, 10, 2),
        "by": "jo@partner.example",
        "ticket": "CHG-8890",
        "note": "ran it with Ana watching",
    }
    log = git(kb.root, "log", "--format=%ae %s", "--", path).splitlines()
    assert log == [
        "ana@internal.example Handover: signed off by the accountable organisation: Fail over",
        "jo@partner.example Handover: executed under supervision: Fail over",
        "jo@partner.example Handover: receiving organisation reviewed the document: Fail over",
        "ana@internal.example Handover: knowledge transfer done: Fail over",
        "ana@internal.example Handover started: Fail over (internal → partner)",
        "ana@internal.example Create: Fail over",
    ]
    assert [str(p) for p in lint_workspace(kb, [path]).problems] == []
    assert [h.doc_id for h in handover.handovers(kb)] == ["kb-30000001"]
    assert handover.handovers(kb, include_complete=False) == []


def test_lint_checks_a_hand_written_handover(kb: Workspace) -> None:
    write_doc(
        kb,
        "h.md",
        doc_text(
            "kb-30000002",
            "Hand-written",
            "sop",
            status="draft",
            extra="accountable:\n  - internal\nhandover:\n  from: internal\n  to: vendor\n"
            "  started: soon\n  steps:\n    - step: supervised-run\n      date: 2026-10-02\n"
            "    - step: signed-off\n      date: 2026-10-03\n      by: jo@partner.example\n"
            "    - step: celebrate\n",
        ),
    )
    codes = _codes(kb, "h.md")
    assert codes["unknown-org:handover.to"][0] == "error"
    assert codes["invalid-value:handover.started"][0] == "error"
    assert codes["missing-field:handover.steps[0]"][0] == "error"  # no ticket
    assert codes["handover-order:handover.steps[0]"][0] == "warning"
    assert codes["invalid-value:handover.steps[2]"][0] == "error"
    assert "not by the accountable organisation (internal)" in codes["raci:handover"][2]


def _driver(repo: Path) -> None:
    git(
        repo,
        "config",
        "merge.kbapp.driver",
        f"{shlex.quote(sys.executable)} -m kbapp merge-driver %O %A %B %P",
    )


def test_handover_steps_recorded_in_two_clones_are_both_kept_after_sync(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    origin = Workspace.init(
        tmp_path / "origin",
        "KB",
        ["internal", "partner"],
        settings=Settings(user_name="Ana", user_email="ana@internal.example"),
        domains={"internal": ["internal.example"], "partner": ["partner.example"]},
    )
    _handover_doc(origin)
    handover.start(origin, "kb-30000001", "partner", today=dt.date(2026, 9, 1))
    handover.record_step(origin, "kb-30000001", "knowledge-transfer", today=dt.date(2026, 9, 8))
    origin.close()
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "origin"), str(remote))
    clones = {}
    for name, email in (("ana", "ana@internal.example"), ("jo", "jo@partner.example")):
        git(tmp_path, "clone", "-q", str(remote), name)
        _driver(tmp_path / name)
        clones[name] = Workspace.open(tmp_path / name, Settings(user_name=name, user_email=email))
    ana, jo = clones["ana"], clones["jo"]
    # Jo records the review while Ana, offline, adds who is informed: both survive the merge.
    handover.record_step(jo, "kb-30000001", "reviewed", today=dt.date(2026, 9, 15))
    doc = ana.load("kb-30000001")
    doc.set("informed", ["partner"])
    ana.save(doc)
    git(jo.root, "push", "-q", "origin", "main")
    git(ana.root, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    git(ana.root, "push", "-q", "origin", "main")
    git(jo.root, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    for ws in (ana, jo):
        ws.refresh()
        state = handover.of_document(ws.load("kb-30000001"), ws.config)
        assert state is not None and [s.name for s in state.completed_steps] == [
            "knowledge-transfer",
            "reviewed",
        ]
        assert ws.load("kb-30000001").meta["informed"] == ["partner"]
        ws.close()


def test_merge_keeps_handover_steps_recorded_on_both_sides_and_unites_raci() -> None:
    base = doc_text(
        "kb-30000003",
        "Fail over",
        "sop",
        extra=(
            "responsible:\n  - internal\nconsulted:\n  - internal\n"
            "handover:\n  from: internal\n  to: partner\n  started: 2026-09-01\n  steps:\n"
            "    - step: knowledge-transfer\n      date: 2026-09-08\n      by: ana@internal.example\n"
        ),
    )
    mine = base.replace(
        "consulted:\n  - internal\n", "consulted:\n  - internal\n  - dba@internal.example\n"
    ).replace(
        "      by: ana@internal.example\n",
        "      by: ana@internal.example\n    - step: reviewed\n      date: 2026-09-15\n"
        "      by: jo@partner.example\n",
    )
    theirs = base.replace(
        "consulted:\n  - internal\n", "consulted:\n  - internal\n  - partner\n"
    ).replace(
        "      by: ana@internal.example\n",
        "      by: ana@internal.example\n    - step: reviewed\n      date: 2026-09-16\n"
        "      by: kim@partner.example\n",
    )
    result = merge(base.encode(), mine.encode(), theirs.encode(), "sops/failover.md")
    assert result.clean and result.text == result.mine == result.theirs
    meta = documents.parse(result.text, "x.md").meta
    assert meta["consulted"] == ["internal", "dba@internal.example", "partner"]
    assert [(s["step"], s["by"]) for s in meta["handover"]["steps"]] == [
        ("knowledge-transfer", "ana@internal.example"),
        ("reviewed", "jo@partner.example"),
        ("reviewed", "kim@partner.example"),
    ]


def test_merge_of_a_handover_started_on_both_sides_keeps_the_earlier_start() -> None:
    base = doc_text("kb-30000004", "Fail over", "sop")
    started = (
        "handover:\n  from: internal\n  to: partner\n  started: {}\n  steps:\n"
        "    - step: knowledge-transfer\n      date: {}\n      by: {}\n"
    )
    mine = base.replace(
        "---\n# ", started.format("2026-09-03", "2026-09-03", "a@internal.example") + "---\n# ", 1
    )
    theirs = base.replace(
        "---\n# ", started.format("2026-09-01", "2026-09-02", "b@internal.example") + "---\n# ", 1
    )
    result = merge(base.encode(), mine.encode(), theirs.encode(), "x.md")
    assert result.clean, result.conflicts
    value = documents.parse(result.text, "x.md").meta["handover"]
    assert value["started"] == dt.date(2026, 9, 1)
    assert [s["by"] for s in value["steps"]] == ["a@internal.example", "b@internal.example"]


# --------------------------------------------------------------------------- tickets


def _with_tickets(kb: Workspace) -> None:
    path = kb.root / CONFIG_PATH
    path.write_text(path.read_text() + TICKETS)
    kb.reload_config()


def test_ticket_ids_render_as_links_to_their_organisations_system(kb: Workspace) -> None:
    _with_tickets(kb)
    write_doc(
        kb,
        "t.md",
        doc_text(
            "kb-40000001",
            "Tickets",
            body=(
                "Seen in INC-20417 and PRT-4471; not `INC-1`, not [INC-2](https://x.example), "
                "not XINC-3.\n\n```\nINC-4\n```\n"
            ),
        ),
    )
    html = kb.render(kb.load("t.md")).html
    assert (
        '<a class="ticket" href="https://desk.internal.example/incident/INC-20417" title="internal"'
    ) in html
    assert 'href="https://portal.partner.example/t/PRT-4471"' in html
    assert "<code>INC-1</code>" in html and html.count('class="ticket"') == 2
    linker = kb.ticket_linker()
    assert (
        linker.url("PRT-9") == "https://portal.partner.example/t/PRT-9"
        and linker.url("X-1") is None
    )
    snippet = linker.link_html('cause of <b class="match">INC-20417</b> was &lt;INC-5&gt;')
    assert (
        '<b class="match"><a class="ticket" href="https://desk.internal.example/incident/INC-20417"'
        in snippet
    )
    assert '&lt;<a class="ticket" href="https://desk.internal.example/incident/INC-5"' in snippet


def test_without_ticket_systems_nothing_is_linked(kb: Workspace) -> None:
    write_doc(kb, "t.md", doc_text("kb-40000002", "Tickets", body="INC-20417\n"))
    assert 'class="ticket"' not in kb.render(kb.load("t.md")).html


# --------------------------------------------------------------------------- onboarding


def test_onboarding_reading_list_with_local_read_tracking(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    write_doc(kb, "a.md", doc_text("kb-50000001", "Fail over the database", "sop"))
    write_doc(kb, "b.md", doc_text("kb-50000002", "etcdNoLeader"))
    doc = kb.draft_from_template("onboarding", "Night on-call for payments")
    doc.body = doc.body.replace(
        "## Reading list\n",
        "## Reading list\n\n"
        "1. [[kb-50000001]]: before your first shift\n"
        "2. [the etcd runbook](../b.md)\n"
        "3. Shadow a night shift with [[kb-50000001|the DBA]]\n",
        1,
    )
    kb.save(doc)
    before = git(kb.root, "status", "--porcelain"), git(kb.root, "rev-parse", "HEAD")
    state = onboarding.progress(kb, doc.id)
    assert [(i.number, i.doc_id, i.text) for i in state.items] == [
        (1, "kb-50000001", "Fail over the database: before your first shift"),
        (2, "kb-50000002", "the etcd runbook"),
        (3, "kb-50000001", "Shadow a night shift with the DBA"),
    ]
    state = onboarding.mark(kb, doc.id, "kb-50000002")
    assert state.done == 1 and state.next_item is not None and state.next_item.number == 1
    result = cli("--kb", kb.root, "onboarding", doc.id, "--read", "1")
    assert result.code == 0 and "[x] 1. Fail over the database" in result.out
    # Items 1 and 3 link to the same document: reading it once ticks both.
    assert "3 of 3 read" in result.out and "[x] 3. Shadow" in result.out
    assert cli("--kb", kb.root, "onboarding", doc.id, "--unread", "2").out.count("[x]") == 2
    assert cli("--kb", kb.root, "onboarding", doc.id, "--read", "9").code == 1
    # Reading is local: nothing written to the tree, nothing committed.
    assert (git(kb.root, "status", "--porcelain"), git(kb.root, "rev-parse", "HEAD")) == before


# --------------------------------------------------------------------------- CLI


def test_handover_commands(kb: Workspace, cli: Callable[..., CliResult]) -> None:
    _handover_doc(kb)
    root = kb.root
    started = cli("--kb", root, "handover", "start", "kb-30000001", "--to", "partner")
    assert started.code == 0, started.err
    step = cli(
        "--kb",
        root,
        "handover",
        "step",
        "kb-30000001",
        "knowledge-transfer",
        "--date",
        "2026-09-08",
    )
    assert (
        step.code == 0
        and step.out.strip() == "1/4, next: receiving organisation reviewed the document"
    )
    wrong = cli("--kb", root, "handover", "step", "kb-30000001", "reviewed")
    assert wrong.code == 1 and "recorded by partner" in wrong.err
    bad = cli("--kb", root, "handover", "step", "kb-30000001", "dance")
    assert bad.code == 1 and "no handover step 'dance'" in bad.err
    status = cli("--kb", root, "handover", "status", "kb-30000001")
    assert "[x] Knowledge transfer done: 2026-09-08 (runner@internal.example)" in status.out
    assert "[ ] Executed under supervision" in status.out
    listing = cli("--kb", root, "handover", "status")
    assert "kb-30000001  internal → partner  1/4   reviewed" in listing.out
    assert '"next_step": "reviewed"' in cli("--kb", root, "handover", "status", "--json").out


def test_config_tickets_round_trip_through_update_config_text(kb: Workspace) -> None:
    text = update_config_text((kb.root / CONFIG_PATH).read_text() + TICKETS, {"name": "Renamed"})
    assert 'pattern = "INC-\\\\d+"' in text


def test_health_report_has_a_handover_section_with_ticket_links(
    kb: Workspace, tmp_path: Path
) -> None:
    from kbapp.lifecycle.report import build_report, render_html, write_csv

    _with_tickets(kb)
    path = _handover_doc(kb)
    handover.start(kb, path, "partner", today=dt.date(2026, 9, 1))
    handover.record_step(kb, path, "knowledge-transfer", today=dt.date(2026, 9, 8))
    with _as(kb, "Jo", "jo@partner.example") as partner:
        handover.record_step(partner, path, "reviewed", today=dt.date(2026, 9, 9))
        handover.record_step(
            partner, path, "supervised-run", ticket="INC-20417", date=dt.date(2026, 9, 10)
        )
    report = build_report(kb, today=dt.date(2026, 9, 30))
    [row] = report.handovers
    assert (row.doc.doc_id, row.from_org, row.to_org, row.done, row.total, row.complete) == (
        "kb-30000001",
        "internal",
        "partner",
        3,
        4,
        False,
    )
    assert row.next_step == "Signed off by the accountable organisation" and row.idle_days == 20
    assert report.handovers_open == [row]
    page = render_html(report)
    section = page[page.index('<section id="handovers">') : page.index('<section id="gaps">')]
    assert "internal → partner" in section and "3/4" in section
    assert (
        '<a class="ticket" href="https://desk.internal.example/incident/INC-20417">INC-20417</a>'
        in section
    )
    assert "handovers in progress" in page
    written = {p.name: p for p in write_csv(report, tmp_path / "csv")}
    lines = written["handovers.csv"].read_text().splitlines()
    assert lines[1].startswith("kb-30000001,Fail over,internal,partner,2026-09-01,3,4,")


def test_ticket_ids_are_searched_as_identifiers(kb: Workspace) -> None:
    from helpers import git, write_doc
    from search_helpers import front

    from kbapp.search import SearchIndex

    write_doc(
        kb,
        "post-incident/vpn.md",
        front(
            "kb-0000a001",
            "Site-to-site VPN outage",
            "post-incident",
            extra="incidents:\n  - PRT-4471",
        )
        + "The tunnel dropped after ISP maintenance.\n",
    )
    write_doc(
        kb,
        "runbooks/vpn.md",
        front("kb-0000a002", "VPN tunnel down", "runbook")
        + "Seen in INC-20417 and PRT-4471; restart the tunnel.\n",
    )
    write_doc(
        kb,
        "runbooks/other.md",
        front("kb-0000a003", "Disk full", "runbook")
        + "Ticket INC-20418 was about a disk, 4471 bytes left.\n",
    )
    git(kb.root, "add", "-A")
    git(kb.root, "commit", "-q", "-m", "tickets")
    index = SearchIndex.for_workspace(kb)
    index.catch_up()

    def found(query: str) -> list[str]:
        return [hit.id for hit in index.search(query).hits]

    # the whole id, in any case, with or without its dash; the front matter counts
    assert found("PRT-4471")[:2] == ["kb-0000a001", "kb-0000a002"]
    assert found("prt4471")[:2] == ["kb-0000a001", "kb-0000a002"]
    assert found("INC-20417") == ["kb-0000a002"]  # not INC-20418
    hit = index.search("INC-20417").hits[0]
    assert '<b class="match">INC-20417</b>' in hit.snippets[0]
