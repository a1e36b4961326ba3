"""Periodic reviews: states and their boundaries, the queue, and the actions that move a
document between states (each one commit), with dates frozen by passing ``today``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, git, write_doc
from lifecycle_helpers import doc_text

from kbapp.errors import KbError
from kbapp.lifecycle.review import (
    ReviewInfo,
    ReviewState,
    parse_within,
    review_info,
    review_queue,
)
from kbapp.lifecycle.review_actions import (
    changes_since_review,
    linking_documents,
    mark_reviewed,
    needs_changes,
    retire,
    review_detail,
)
from kbapp.settings import Settings
from kbapp.workspace import Workspace

TODAY = dt.date(2026, 6, 15)


def _info(
    kb: Workspace,
    last: str | None,
    *,
    doc_type: str = "runbook",
    status: str = "published",
    interval: int | None = None,
    today: dt.date = TODAY,
) -> tuple[ReviewState, int | None]:
    info = review_info(
        doc_type=doc_type,
        status=status,
        last_reviewed=dt.date.fromisoformat(last) if last else None,
        interval_days=interval,
        config=kb.config,
        today=today,
    )
    return info.state, info.days_left


@pytest.mark.parametrize(
    ("last", "expected", "days_left"),
    [
        ("2026-06-01", ReviewState.OK, 76),  # due 2026-08-30
        ("2026-04-01", ReviewState.OK, 15),  # due 2026-06-30: one day outside "soon"
        ("2026-03-31", ReviewState.DUE, 14),  # due 2026-06-29: first day of "due soon"
        ("2026-03-17", ReviewState.DUE, 0),  # due today
        ("2026-03-16", ReviewState.OVERDUE, -1),  # due yesterday
        ("2025-01-01", ReviewState.OVERDUE, -440),
        (None, ReviewState.NEVER, None),
    ],
)
def test_review_state_boundaries_for_a_runbook(
    kb: Workspace, last: str | None, expected: ReviewState, days_left: int | None
) -> None:
    # Runbooks default to 90 days in a new knowledge base's config.
    assert kb.config.review_interval("runbook") == 90
    assert _info(kb, last) == (expected, days_left)


def test_document_interval_wins_over_type_default_and_retired_is_never_due(kb: Workspace) -> None:
    assert _info(kb, "2026-03-01", interval=30)[0] is ReviewState.OVERDUE
    assert _info(kb, "2026-03-01", interval=365)[0] is ReviewState.OK
    assert _info(kb, "2026-03-01", doc_type="sop")[0] is ReviewState.OK  # 180 days
    assert _info(kb, "2020-01-01", status="retired")[0] is ReviewState.RETIRED
    assert _info(kb, None, status="retired")[0] is ReviewState.RETIRED


def test_how_far_from_due_is_said_in_words_not_as_a_signed_number() -> None:
    # The queue's column showed "-3555" for an article imported with a 2016 review date.
    def when(state: ReviewState, days: int | None) -> str:
        return ReviewInfo(state, None, None, 90, days).when()

    assert when(ReviewState.OVERDUE, -3555) == "3,555 days overdue"
    assert when(ReviewState.OVERDUE, -1) == "1 day overdue"
    assert when(ReviewState.DUE, 0) == "due today"
    assert when(ReviewState.DUE, 1) == "due in 1 day"
    assert when(ReviewState.OK, 120) == "due in 120 days"
    assert when(ReviewState.NEVER, None) == "never reviewed"
    assert when(ReviewState.RETIRED, None) == "retired: no reviews"


def test_the_same_document_moves_through_the_states_as_days_pass(kb: Workspace) -> None:
    states = [
        _info(kb, "2026-01-01", today=day)[0]
        for day in (
            dt.date(2026, 1, 1),
            dt.date(2026, 3, 18),
            dt.date(2026, 4, 1),
            dt.date(2026, 4, 2),
        )
    ]
    assert states == [ReviewState.OK, ReviewState.DUE, ReviewState.DUE, ReviewState.OVERDUE]


def test_parse_within() -> None:
    assert [parse_within(t) for t in ("30d", "6w", "3m", "10", " 2W ")] == [30, 42, 90, 10, 14]
    with pytest.raises(KbError, match="30d"):
        parse_within("soon")


def _queue_kb(kb: Workspace) -> None:
    write_doc(
        kb,
        "a.md",
        doc_text(
            "kb-0000000a",
            "Alpha",
            org="internal",
            owners=["ana@internal.example"],
            last_reviewed="2026-03-01",
        ),
    )
    write_doc(
        kb,
        "b.md",
        doc_text(
            "kb-0000000b",
            "Bravo",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2026-03-25",
        ),
    )
    write_doc(kb, "c.md", doc_text("kb-0000000c", "Charlie", org="partner", owners=[]))
    write_doc(
        kb,
        "d.md",
        doc_text(
            "kb-0000000d",
            "Delta",
            org="internal",
            owners=["ana@internal.example", "jo@partner.example"],
            last_reviewed="2026-04-01",
        ),
    )  # due 06-30: 15 days
    write_doc(kb, "e.md", doc_text("kb-0000000e", "Echo", status="draft"))
    write_doc(
        kb, "f.md", doc_text("kb-0000000f", "Foxtrot", status="retired", last_reviewed="2020-01-01")
    )
    write_doc(
        kb,
        "g.md",
        doc_text(
            "kb-00000001",
            "Golf",
            status="in-review",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2026-02-01",
        ),
    )
    kb.refresh()


def test_queue_is_ordered_by_urgency_and_filtered(kb: Workspace) -> None:
    _queue_kb(kb)
    entries = kb.catalog.all()
    queue = review_queue(entries, kb.config, today=TODAY)
    # overdue (longest first), never reviewed, due soon; drafts, retired and ok left out
    assert [(i.title, i.state.value, i.info.days_left) for i in queue] == [
        ("Golf", "overdue", -44),
        ("Alpha", "overdue", -16),
        ("Charlie", "never", None),
        ("Bravo", "due", 8),
    ]
    assert [i.title for i in review_queue(entries, kb.config, today=TODAY, org="partner")] == [
        "Golf",
        "Charlie",
        "Bravo",
    ]
    assert [
        i.title for i in review_queue(entries, kb.config, today=TODAY, owner="JO@partner.example")
    ] == ["Golf", "Bravo"]
    assert [i.title for i in review_queue(entries, kb.config, today=TODAY, within_days=30)][
        -1
    ] == "Delta"
    everything = review_queue(entries, kb.config, today=TODAY, include_ok=True)
    assert {i.title for i in everything} == {"Alpha", "Bravo", "Charlie", "Delta", "Golf"}


def test_mark_reviewed_sets_fields_publishes_and_commits(kb: Workspace) -> None:
    _queue_kb(kb)
    result = mark_reviewed(kb, "kb-00000001", note="Checked every step against prod.", today=TODAY)
    doc = kb.load("kb-00000001")
    assert doc.last_reviewed == TODAY
    assert doc.reviewed_by == "ana@internal.example"
    assert doc.status == "published"  # it was in review: reviewing it publishes it again
    assert "  last_reviewed: 2026-06-15\n" in (kb.root / "g.md").read_text()
    message = git(kb.root, "log", "-1", "--format=%B")
    assert message.startswith("Review: Golf\n\nChecked every step against prod.")
    assert "KB-Org: internal" in message
    assert result.commit == git(kb.root, "rev-parse", "HEAD")
    assert "g.md" not in git(kb.root, "status", "--porcelain")  # committed, nothing left over
    queue = review_queue(kb.catalog.all(), kb.config, today=TODAY)
    assert "Golf" not in [i.title for i in queue]  # the catalog saw the save


def test_needs_changes_and_retire_transitions(kb: Workspace) -> None:
    _queue_kb(kb)
    with pytest.raises(KbError, match="needs to change"):
        needs_changes(kb, "kb-0000000a", note="  ")
    needs_changes(kb, "kb-0000000a", note="Step 3 uses the old VPN host.")
    assert kb.load("kb-0000000a").status == "in-review"
    assert git(kb.root, "log", "-1", "--format=%B").startswith(
        "Needs changes: Alpha\n\nStep 3 uses the old VPN host."
    )
    # still in the queue (in review and overdue) until someone marks it reviewed
    assert "Alpha" in [i.title for i in review_queue(kb.catalog.all(), kb.config, today=TODAY)]

    with pytest.raises(KbError, match="why"):
        retire(kb, "kb-0000000a", reason="")
    retire(
        kb,
        "kb-0000000a",
        reason="Replaced by the new VPN runbook.",
        replaced_by="kb-0000000b",
        today=TODAY,
    )
    doc = kb.load("kb-0000000a")
    assert doc.status == "retired"
    assert doc.body.startswith(
        "# Alpha\n\n> [!WARNING]\n> Retired on 2026-06-15: Replaced by the new VPN runbook. "
        "Use [[kb-0000000b]] instead.\n"
    )
    assert git(kb.root, "log", "-1", "--format=%s") == "Retire: Alpha"
    assert "Alpha" not in [i.title for i in review_queue(kb.catalog.all(), kb.config, today=TODAY)]
    with pytest.raises(KbError, match="not reviewed"):
        mark_reviewed(kb, "kb-0000000a", today=TODAY)
    with pytest.raises(KbError, match="already retired"):
        retire(kb, "kb-0000000a", reason="again")


def test_retire_warns_about_documents_linking_to_it(kb: Workspace) -> None:
    write_doc(kb, "target.md", doc_text("kb-0000aaaa", "VPN reset"))
    write_doc(kb, "wiki.md", doc_text("kb-0000bbbb", "By id", body="See [[kb-0000aaaa]].\n"))
    write_doc(kb, "title.md", doc_text("kb-0000cccc", "By title", body="See [[VPN reset]].\n"))
    write_doc(kb, "sub/path.md", doc_text("kb-0000dddd", "By path", body="[x](../target.md)\n"))
    write_doc(kb, "rel.md", doc_text("kb-0000eeee", "Related", related=["kb-0000aaaa"]))
    write_doc(kb, "none.md", doc_text("kb-0000ffff", "Unrelated", body="[[kb-0000bbbb]]\n"))
    write_doc(
        kb,
        "old.md",
        doc_text("kb-00001111", "Retired one", status="retired", body="[[kb-0000aaaa]]\n"),
    )
    linked = linking_documents(kb, "kb-0000aaaa")
    assert sorted(e.title for e in linked) == ["By id", "By path", "By title", "Related"]


def test_changes_since_review_diff_from_the_reviewing_commit(kb: Workspace) -> None:
    write_doc(
        kb,
        "r.md",
        doc_text(
            "kb-00002222",
            "Restart the API",
            owners=["a@internal.example"],
            body="1. Drain\n2. Restart\n",
        ),
    )
    kb.save(kb.load("r.md"))
    assert changes_since_review(kb, "r.md").reviewed_in is None  # never reviewed
    reviewed = mark_reviewed(kb, "r.md", today=TODAY)
    unchanged = changes_since_review(kb, "r.md")
    assert unchanged.reviewed_in is not None and unchanged.reviewed_in.rev == reviewed.commit
    assert not unchanged.changed and unchanged.commits == []

    doc = kb.load("r.md")
    doc.body = doc.body.replace("2. Restart\n", "2. Restart\n3. Check the health endpoint\n")
    kb.save(doc)
    kb.move("r.md", "runbooks/restart-api.md")  # a rename since the review is followed
    changes = changes_since_review(kb, "kb-00002222")
    assert changes.reviewed_in.rev == reviewed.commit  # type: ignore[union-attr]
    assert [c.subject for c in changes.commits] == [
        "Move: Restart the API",
        "Update: Restart the API",
    ]
    assert "+3. Check the health endpoint" in changes.diff
    assert "-2. Restart" not in changes.diff

    # what the review queue's detail pane shows: the changes since, rendered and marked
    kb.refresh()
    item = next(
        i
        for i in review_queue(kb.catalog.all(), kb.config, today=TODAY + dt.timedelta(days=400))
        if i.path == "runbooks/restart-api.md"
    )
    detail = review_detail(kb, item)
    assert detail.changed and detail.path == "runbooks/restart-api.md"
    assert detail.title_html.startswith("<b>Restart the API</b>: last reviewed ")
    assert "by Ana Ribeiro" in detail.title_html and "2 changes since" in detail.title_html
    assert "class='added'" in detail.body_html and "Check the health endpoint" in detail.body_html
    assert "Reviewed 2026-" in detail.body_html  # the label of the reviewed version


def test_a_partner_hand_edit_of_last_reviewed_counts_as_the_review(kb: Workspace) -> None:
    write_doc(kb, "h.md", doc_text("kb-00003333", "Hand", last_reviewed="2026-01-01"))
    kb.save(kb.load("h.md"))
    text = (kb.root / "h.md").read_text().replace("2026-01-01", "2026-05-05")
    (kb.root / "h.md").write_text(text)
    git(kb.root, "commit", "-qam", "reviewed by hand")
    (kb.root / "h.md").write_text(text + "more\n")
    git(kb.root, "commit", "-qam", "later edit")
    changes = changes_since_review(kb, "h.md")
    assert changes.reviewed_in is not None and changes.reviewed_in.subject == "reviewed by hand"
    assert [c.subject for c in changes.commits] == ["later edit"]


def test_review_commit_reaches_the_other_clone_through_a_bare_remote(
    kb: Workspace, tmp_path: Path
) -> None:
    write_doc(
        kb,
        "s.md",
        doc_text(
            "kb-00004444",
            "Shared SOP",
            doc_type="sop",
            org="partner",
            owners=["jo@partner.example"],
            last_reviewed="2025-10-01",
        ),
    )
    kb.save(kb.load("s.md"))
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(kb.root, "remote", "add", "origin", str(remote))
    git(kb.root, "push", "-q", "-u", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "partner"))
    partner = Workspace.open(
        tmp_path / "partner", Settings(user_name="Jo Okafor", user_email="jo@partner.example")
    )
    try:
        partner.refresh()
        before = review_queue(partner.catalog.all(), partner.config, today=TODAY, include_ok=True)
        assert [i.state for i in before] == [ReviewState.OVERDUE]  # sop: 180 days

        mark_reviewed(partner, "kb-00004444", note="Still right.", today=TODAY)
        _sync(partner)
        _sync(kb)
        doc = kb.load("kb-00004444")
        assert doc.last_reviewed == TODAY and doc.reviewed_by == "jo@partner.example"
        assert (
            git(kb.root, "log", "-1", "--format=%s%n%(trailers:key=KB-Org,valueonly)")
            == "Review: Shared SOP\npartner"
        )
        kb.refresh()
        after = review_queue(kb.catalog.all(), kb.config, today=TODAY, include_ok=True)
        assert [i.state for i in after] == [ReviewState.OK]
    finally:
        partner.close()


def _sync(workspace: Workspace) -> None:
    """Exchange commits with the remote: kbapp's sync when this checkout has it."""
    try:
        from kbapp.sync.sync import sync
    except ImportError:
        git(workspace.root, "pull", "-q", "--rebase", "origin", "main")
        git(workspace.root, "push", "-q", "origin", "main")
    else:
        sync(workspace)


def test_an_imported_review_date_is_not_reported_as_a_review_today(
    kb: Workspace, cli: Callable[..., CliResult]
) -> None:
    """An import commits documents whose front matter says they were last reviewed years
    ago: the detail pane and 'review diff' said 'last reviewed <the import's date> by <who
    imported>' beside a due date in 2017."""
    write_doc(kb, "mdt.md", doc_text("kb-00005555", "Troubleshoot MDT", last_reviewed="2016-09-09"))
    imported = kb.save(kb.load("mdt.md"), message="Import: 1 document")
    kb.refresh()
    item = next(i for i in review_queue(kb.catalog.all(), kb.config) if i.path == "mdt.md")
    heading = review_detail(kb, item).title_html
    assert "last reviewed 2016-09-09" in heading
    assert f"{dt.date.today():%Y-%m-%d}" not in heading.split("recorded")[0]
    assert imported.commit is not None and imported.commit[:8] in heading
    out = cli("--kb", kb.root, "review", "diff", "kb-00005555").out
    assert out.startswith("Last reviewed 2016-09-09"), out
