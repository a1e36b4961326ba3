"""Incident mode and capture: a recorded session (times frozen by passing ``now``) becomes a
pre-filled post-incident document; runbook verdicts and content gaps become commits."""

from __future__ import annotations

import datetime as dt
import sqlite3

import markdown
import pytest
from helpers import git, write_doc
from lifecycle_helpers import UTC, at, doc_text

from kbapp.documents.lint import lint_workspace
from kbapp.errors import KbError
from kbapp.lifecycle.activity import activity_for
from kbapp.lifecycle.capture import (
    draft_capture,
    draft_for_gap,
    fill_section,
    runbook_needs_fix,
    runbook_was_right,
    save_capture,
    suggest_template,
)
from kbapp.lifecycle.checklist import ChecklistExtension, checklist_steps
from kbapp.lifecycle.incident import format_duration, incidents_for, normalise_ticket
from kbapp.workspace import Workspace

RUNBOOK = """\
## Diagnosis

1. Check the lag: `SELECT now() - pg_last_xact_replay_timestamp();`
2. Check disk IO on the replica
    1. Look at `iostat -x 5`

## Mitigation

- [ ] Restart the WAL receiver
- [x] Page the DBA on-call
- a plain bullet is not a step

```
1. a numbered line in code is not a step
```
"""


def _runbook(kb: Workspace) -> None:
    write_doc(
        kb,
        "runbooks/lag.md",
        doc_text(
            "kb-1a9e0001",
            "Payments DB replica lag",
            org="partner",
            owners=["dba@partner.example"],
            incidents=["INC-100"],
            body=RUNBOOK,
        ),
    )
    write_doc(kb, "runbooks/other.md", doc_text("kb-1a9e0002", "API 5xx", body="1. Look\n"))
    kb.refresh()


def test_checklist_steps_are_ordered_items_and_task_items() -> None:
    steps = checklist_steps(RUNBOOK)
    assert [(s.number, s.section, s.kind, s.depth, s.text) for s in steps] == [
        (
            1,
            "Diagnosis",
            "ordered",
            0,
            "Check the lag: `SELECT now() - pg_last_xact_replay_timestamp();`",
        ),
        (2, "Diagnosis", "ordered", 0, "Check disk IO on the replica"),
        (3, "Diagnosis", "ordered", 1, "Look at `iostat -x 5`"),
        (4, "Mitigation", "task", 0, "Restart the WAL receiver"),
        (5, "Mitigation", "task", 0, "Page the DBA on-call"),
    ]
    assert checklist_steps("# Empty\n\n1. \n\nText\n") == []
    # The extension works on its own, as any markdown.Extension does.
    ext = ChecklistExtension()
    markdown.markdown("1. one\n2. two\n", extensions=[ext])
    assert [s.text for s in ext.steps] == ["one", "two"]


COMMAND_RUNBOOK = """\
## Diagnosis

1. Is it the tunnel or the line? Ping both:

    ```bash
    ping -c 5 203.0.113.40
    ping -c 5 9.9.9.9
    ```

2. Check etcd (`etcdctl` on a master):
   ```
   sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 \\
     --cacert=/etc/ssl/etcd/ca.crt endpoint health
   ```
    1. Nested, with a fence that holds a fence:

        ````markdown
        ```
        inner
        ```
        ````

- [ ] Restart the receiver

        systemctl restart wal-receiver
"""


def test_checklist_keeps_code_blocks_verbatim_and_apart_from_the_text() -> None:
    steps = checklist_steps(COMMAND_RUNBOOK)
    assert [(s.number, s.depth, s.text) for s in steps] == [
        (1, 0, "Is it the tunnel or the line? Ping both:"),
        (2, 0, "Check etcd (`etcdctl` on a master):"),
        (3, 1, "Nested, with a fence that holds a fence:"),
        (4, 0, "Restart the receiver"),
    ]
    assert [(b.lang, b.text) for b in steps[0].code] == [
        ("bash", "ping -c 5 203.0.113.40\nping -c 5 9.9.9.9")
    ]
    assert steps[1].commands == (
        "sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 \\\n"
        "  --cacert=/etc/ssl/etcd/ca.crt endpoint health"
    )
    assert steps[2].code[0].text == "```\ninner\n```"  # a nested list's step has its own
    assert steps[3].commands == "systemctl restart wal-receiver"  # indented code too
    # As Markdown, each block is fenced again so that nothing inside can close it.
    again = checklist_steps("1. " + steps[2].markdown("    "))
    assert again[0].code == steps[2].code and again[0].text == steps[2].text
    from kbapp.documents import mdlines

    fenced = mdlines.fence(steps[2].commands, "markdown")
    assert [kind for _, _, kind in mdlines.lines(fenced)] == [
        "fence",
        "code",
        "code",
        "code",
        "fence",
    ]


def test_ticket_ids() -> None:
    assert normalise_ticket(" inc-20417 ") == "INC-20417"
    assert normalise_ticket("CHG0031337") == "CHG0031337"
    for bad in ("", "two words", "x" * 80):
        with pytest.raises(KbError, match="ticket"):
            normalise_ticket(bad)
    assert format_duration(dt.timedelta(seconds=42)) == "42 s"
    assert format_duration(dt.timedelta(minutes=72)) == "1 h 12 min"
    assert format_duration(dt.timedelta(hours=26, minutes=5)) == "1 d 2 h 05 min"


def test_an_incident_starts_without_a_ticket_under_a_provisional_name(kb: Workspace) -> None:
    """3 a.m., nobody opened a ticket yet: the incident starts anyway (it was refused: "'' is
    not a ticket id"), named by when it started; starting again with no ticket resumes it."""
    incidents = incidents_for(kb)
    incident = incidents.start("", "VPN down for everyone", now=at("2026-06-15 03:04:05"))
    assert incident.ticket == "NO-TICKET-20260615-030405"
    assert normalise_ticket(incident.ticket) == incident.ticket  # a ticket like any other
    assert incidents.start("  ").id == incident.id
    incidents.end(now=at("2026-06-15 03:30"))
    assert incidents.get(incident.ticket).duration() == dt.timedelta(minutes=25, seconds=55)
    with pytest.raises(KbError, match="is not a ticket id"):
        incidents.start("two words")  # a wrong one is still refused


def _record_session(kb: Workspace) -> None:
    """INC-20417, 09:00-10:12 UTC on 2026-06-15: the session every capture test reads."""
    incidents = incidents_for(kb)
    incidents.start(
        "inc-20417",
        "Payments API slow",
        ["payments-db", "payments-api"],
        now=at("2026-06-15 09:00"),
    )
    incidents.record_search("replica lag", 1, now=at("2026-06-15 09:02"))
    incidents.record_search("PaymentsReplicaLagHigh", 0, now=at("2026-06-15 09:03"))
    incidents.record_search("paymentsreplicalaghigh", 0, now=at("2026-06-15 09:03:30"))
    lag = kb.load("kb-1a9e0001")
    incidents.record_open(lag, now=at("2026-06-15 09:04"))
    incidents.tick(lag, 1, now=at("2026-06-15 09:06"))
    incidents.tick(lag, 2, now=at("2026-06-15 09:09"))
    incidents.tick(lag, 2, done=False, now=at("2026-06-15 09:10"))
    incidents.note("Lag is 40 min; a long vacuum on the primary", now=at("2026-06-15 09:15"))
    incidents.note("$ systemctl restart postgresql-wal-receiver", now=at("2026-06-15 09:20"))
    incidents.tick(lag, 4, now=at("2026-06-15 09:21"))
    incidents.end("Restarted the WAL receiver; lag back to 0", now=at("2026-06-15 10:12"))


def test_incident_session_is_recorded_and_survives_a_restart(kb: Workspace) -> None:
    _runbook(kb)
    incidents = incidents_for(kb)
    assert incidents.active() is None
    incident = incidents.start("INC-1", "Disk full", now=at("2026-06-15 08:00"))
    assert incidents.start("inc-1").id == incident.id  # Ctrl+I again resumes it
    with pytest.raises(KbError, match="INC-1 is still running"):
        incidents.start("INC-2")
    seen: list[str] = []
    incidents.changed.connect(lambda inc: seen.append(inc.ticket))
    incidents.note("first note", now=at("2026-06-15 08:01"))
    incidents.tick(kb.load("kb-1a9e0001"), 5, now=at("2026-06-15 08:02"))
    assert seen == ["INC-1", "INC-1"]
    with pytest.raises(KbError, match="has 5 steps; there is no step 6"):
        incidents.tick(kb.load("kb-1a9e0001"), 6)
    with pytest.raises(KbError, match="a note needs some text"):
        incidents.note("   ")

    kb.close()  # the window is closed, the machine restarts...
    reopened = Workspace.open(kb.root, kb.settings)
    try:
        again = incidents_for(reopened)
        running = again.active()
        assert running is not None and running.ticket == "INC-1"
        assert running.started_at == at("2026-06-15 08:00")
        session = again.session()
        assert [(e.kind, e.text) for e in session.timeline] == [
            ("start", "Disk full"),
            ("note", "first note"),
            ("tick", "Page the DBA on-call"),
        ]
        assert session.ticked_steps("kb-1a9e0001") == {5}
        again.end(now=at("2026-06-15 08:30"))
        assert again.active() is None
        assert again.get("inc-1").duration() == dt.timedelta(minutes=30)
        with pytest.raises(KbError, match="no incident is running"):
            again.note("too late")
    finally:
        reopened.close()
    # Nothing of it was committed: it lives in .git/kbapp/activity.sqlite only.
    assert git(kb.root, "status", "--porcelain", "--untracked-files=no") == ""
    assert "Disk full" not in git(kb.root, "log", "--all", "--format=%B")


def test_session_timeline_and_runbooks_used(kb: Workspace) -> None:
    _runbook(kb)
    _record_session(kb)
    session = incidents_for(kb).session(incidents_for(kb).get("INC-20417"))
    assert [e.kind for e in session.timeline] == [
        "start",
        "search",
        "search",
        "search",
        "open",
        "tick",
        "tick",
        "untick",
        "note",
        "note",
        "tick",
        "end",
    ]
    [use] = session.runbooks
    assert (use.doc_id, use.opens) == ("kb-1a9e0001", 1)
    assert sorted(use.ticked) == [1, 4]  # step 2 was unticked again
    assert session.failed_searches == ["PaymentsReplicaLagHigh"]


def test_capture_is_prefilled_from_the_recorded_session(kb: Workspace) -> None:
    _runbook(kb)
    _record_session(kb)
    draft = draft_capture(
        kb, "INC-20417", from_session=True, tz=UTC, verdicts={"kb-1a9e0001": "needs-fix"}
    )
    doc = draft.document
    assert doc.title == "Payments API slow"
    assert doc.type == "post-incident" and doc.status == "draft"
    assert doc.incidents == ["INC-20417"]
    assert doc.systems == ["payments-db", "payments-api"]
    assert doc.related == ["kb-1a9e0001"]
    assert doc.path == "post-incidents/payments-api-slow.md"
    body = doc.body
    assert (
        "INC-20417: Payments API slow — started 2026-06-15 09:00 UTC, resolved 10:12 "
        "(1 h 12 min).\n\nRestarted the WAL receiver; lag back to 0"
    ) in body
    assert "Systems: payments-db, payments-api" in body
    resolution = body.split("## Resolution")[1].split("## ")[0]
    assert (
        "1. Check the lag: `SELECT now() - pg_last_xact_replay_timestamp();` "
        "(step 1 of [[kb-1a9e0001]], 09:06)\n"
        "2. Restart the WAL receiver (step 4 of [[kb-1a9e0001]], 09:21)" in resolution
    )
    assert "\n1. \n" not in resolution  # the template's empty item was replaced
    assert "```\nsystemctl restart postgresql-wal-receiver\n```" in body
    timeline = body.split("## Timeline")[1].split("## ")[0]
    assert timeline.strip().splitlines()[1:] == [
        "",
        "Times are UTC, starting 2026-06-15.",
        "",
        "- **09:00** Incident started: Payments API slow",
        "- **09:02** Searched “replica lag” (1 results)",
        "- **09:03** Searched “PaymentsReplicaLagHigh” (nothing found)",
        "- **09:03** Searched “paymentsreplicalaghigh” (nothing found)",
        "- **09:04** Opened [[kb-1a9e0001]]",
        "- **09:06** Done: Check the lag: `SELECT now() - pg_last_xact_replay_timestamp();` "
        "(step 1 of [[kb-1a9e0001]])",
        "- **09:09** Done: Check disk IO on the replica (step 2 of [[kb-1a9e0001]])",
        "- **09:10** Undone: Check disk IO on the replica (step 2 of [[kb-1a9e0001]])",
        "- **09:15** Note: Lag is 40 min; a long vacuum on the primary",
        "- **09:20** Note: $ systemctl restart postgresql-wal-receiver",
        "- **09:21** Done: Restart the WAL receiver (step 4 of [[kb-1a9e0001]])",
        "- **10:12** Resolved: Restarted the WAL receiver; lag back to 0",
    ]
    assert "<!-- Timestamped steps and notes" in timeline.splitlines()[2]  # guidance kept
    follow_up = body.split("## Follow-up")[1].split("## ")[0]
    assert "- [ ] Fix [[kb-1a9e0001]] (Payments DB replica lag)" in follow_up
    assert "- [ ] Nothing was found for “PaymentsReplicaLagHigh”: write it down?" in follow_up
    links = body.split("## Links")[1]
    assert (
        "- Ticket: INC-20417\n- [[kb-1a9e0001]] Payments DB replica lag, 2 steps ticked, "
        "needs a fix" in links
    )

    result = save_capture(kb, draft)
    assert git(kb.root, "log", "-1", "--format=%s") == "Capture: Payments API slow"
    assert incidents_for(kb).get("INC-20417").captured_doc == doc.id
    report = lint_workspace(kb, [result.path])
    assert not report.errors  # a draft whose links all resolve


def test_capture_copies_the_commands_of_the_steps_ticked_verbatim(kb: Workspace) -> None:
    from kbapp.documents.render import render_markdown

    write_doc(
        kb, "runbooks/vpn.md", doc_text("kb-1a9e0003", "VPN tunnel down", body=COMMAND_RUNBOOK)
    )
    kb.refresh()
    incidents = incidents_for(kb)
    incidents.start("INC-5", "VPN down", now=at("2026-06-15 09:00"))
    runbook = kb.load("kb-1a9e0003")
    incidents.record_open(runbook, now=at("2026-06-15 09:01"))
    incidents.tick(runbook, 1, now=at("2026-06-15 09:02"))
    incidents.tick(runbook, 2, now=at("2026-06-15 09:03"))
    incidents.note("$ ip xfrm state flush", now=at("2026-06-15 09:04"))
    incidents.end("Tunnel back", now=at("2026-06-15 09:10"))
    body = draft_capture(kb, "INC-5", from_session=True, tz=UTC).document.body
    resolution = body.split("## Resolution")[1].split("## ")[0]
    assert "ping -c 5 203.0.113.40 ping -c 5 9.9.9.9" not in body
    assert (
        "1. Is it the tunnel or the line? Ping both: (step 1 of [[kb-1a9e0003]], 09:02)\n\n"
        "    ```bash\n    ping -c 5 203.0.113.40\n    ping -c 5 9.9.9.9\n    ```\n\n"
        "2. Check etcd"
    ) in resolution
    # What a reader of the capture gets: the same blocks, line for line.
    blocks = render_markdown(body).code_blocks
    assert "ping -c 5 203.0.113.40\nping -c 5 9.9.9.9" in blocks
    assert checklist_steps(COMMAND_RUNBOOK)[1].commands in blocks
    assert "ip xfrm state flush" in blocks


def test_capture_without_session_and_ticket_links(kb: Workspace) -> None:
    (kb.root / ".kb/config.toml").write_text(
        (kb.root / ".kb/config.toml").read_text()
        + '\n[[tickets]]\npattern = "INC-\\\\d+"\nurl = "https://itsm.example/incident/{id}"\n'
    )
    kb.reload_config()
    with pytest.raises(KbError, match="no incident session INC-7"):
        draft_capture(kb, "INC-7", from_session=True)
    draft = draft_capture(kb, "inc-7", from_session=False, title="Mail queue stuck")
    assert draft.document.incidents == ["INC-7"] and draft.session is None
    assert "- Ticket: [INC-7](https://itsm.example/incident/INC-7)" in draft.document.body
    assert draft_capture(kb, "INC-8", from_session=False).document.title == "Incident INC-8"


def test_runbook_right_adds_the_incident_and_needs_fix_gives_the_notes(kb: Workspace) -> None:
    _runbook(kb)
    _record_session(kb)
    result = runbook_was_right(kb, "kb-1a9e0001", "INC-20417")
    assert result is not None
    assert kb.load("kb-1a9e0001").incidents == ["INC-100", "INC-20417"]
    assert git(kb.root, "log", "-1", "--format=%s") == "Used in INC-20417: Payments DB replica lag"
    assert runbook_was_right(kb, "kb-1a9e0001", "INC-20417") is None  # already listed
    assert kb.catalog.by_id("kb-1a9e0001")[0].incidents == ["INC-100", "INC-20417"]

    doc, notes = runbook_needs_fix(kb, "kb-1a9e0002", "INC-20417")
    assert doc.id == "kb-1a9e0002"
    assert "Lag is 40 min; a long vacuum on the primary" in notes
    verdicts = {
        u.doc_id: u.verdict
        for u in incidents_for(kb).session(incidents_for(kb).get("INC-20417")).runbooks
    }
    assert verdicts == {"kb-1a9e0001": "right", "kb-1a9e0002": "needs-fix"}


@pytest.mark.parametrize(
    ("query", "running", "template"),
    [
        ("PaymentsApiHigh5xxRate", False, "runbook"),
        ("ORA-00060 deadlock detected", False, "troubleshooting"),
        ("connection refused on port 5432", False, "troubleshooting"),
        ("how to rotate the VPN certificate", False, "sop"),
        ("renew wildcard cert", True, "sop"),
        ("payments slow at night", True, "runbook"),
        ("payments slow at night", False, "troubleshooting"),
    ],
)
def test_suggested_template_for_a_search_that_found_nothing(
    query: str, running: bool, template: str
) -> None:
    assert suggest_template(query, incident_running=running) == template


def test_a_content_gap_becomes_a_draft_in_one_step(kb: Workspace) -> None:
    incidents_for(kb).start("INC-9", "VPN down", ["vpn"], now=at("2026-06-15 09:00"))
    doc = draft_for_gap(kb, "  PaymentsReplicaLagHigh ", today=dt.date(2026, 6, 15))
    assert (doc.type, doc.status, doc.title) == ("runbook", "draft", "PaymentsReplicaLagHigh")
    assert doc.systems == ["vpn"] and doc.incidents == ["INC-9"]
    assert "a search for “PaymentsReplicaLagHigh” found nothing during INC-9" in doc.body
    kb.save(doc, verb="Create")
    assert git(kb.root, "log", "-1", "--format=%s") == "Create: PaymentsReplicaLagHigh"


def test_fill_section_adds_missing_sections_and_keeps_guidance() -> None:
    body = "# T\n\n## Cause\n\n<!-- why -->\n\n## Links\n"
    filled = fill_section(body, "Cause", "A full disk.")
    assert filled == "# T\n\n## Cause\n\n<!-- why -->\n\nA full disk.\n\n## Links\n"
    assert fill_section(body, "Timeline", "- 09:00 x").endswith(
        "## Links\n\n## Timeline\n\n- 09:00 x\n"
    )


def test_usage_is_recorded_outside_incidents_too(kb: Workspace) -> None:
    _runbook(kb)
    incidents = incidents_for(kb)
    incidents.record_search("vpn", 0, now=at("2026-06-01 10:00"))
    incidents.record_open(kb.load("kb-1a9e0002"), now=at("2026-06-01 10:01"))
    store = activity_for(kb)
    assert [s.incident_id for s in store.searches()] == [None]
    assert store.open_counts() == {"kb-1a9e0002": 1}
    with sqlite3.connect(kb.data_dir / "activity.sqlite") as conn:
        assert conn.execute("SELECT query, hits FROM searches").fetchall() == [("vpn", 0)]
