#!/usr/bin/env python3
"""Screenshots of incident mode, the review queue and the dashboard for the README.

    QT_QPA_PLATFORM=offscreen python scripts/lifecycle_screenshots.py [docs/img]

Builds a small knowledge base in a temporary folder with a year of history from both
organisations and a recorded incident, then grabs each view. When the window's own
``scripts/screenshots.py`` exists, it calls :func:`shoot` to add these to its set.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QHBoxLayout,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kbapp.lifecycle.activity import activity_for  # noqa: E402
from kbapp.lifecycle.incident import incidents_for  # noqa: E402
from kbapp.settings import Settings  # noqa: E402
from kbapp.ui.dashboard import DashboardView  # noqa: E402
from kbapp.ui.incident import IncidentMode  # noqa: E402
from kbapp.ui.review_queue import ReviewQueueView  # noqa: E402
from kbapp.workspace import Workspace  # noqa: E402

TODAY = dt.date.today()
UTC = dt.UTC
PEOPLE = {
    "internal": ("Ana Ribeiro", "ana.ribeiro@tidewater.example"),
    "partner": ("Jo Okafor", "j.okafor@kestrel-ms.example"),
}

LAG_BODY = """\
Alert **PaymentsReplicaLagHigh** fires when the read replica is more than 5 minutes behind.

## Meaning

Reports and the payments API's read paths see stale data.

## Diagnosis

1. Check the lag: `SELECT now() - pg_last_xact_replay_timestamp();`
2. Look for a long-running vacuum or index build on the primary
3. Check disk IO on the replica: `iostat -x 5`

## Mitigation

- [ ] Pause the nightly report jobs
- [ ] Restart the WAL receiver: `systemctl restart postgresql-wal-receiver`
- [ ] If lag keeps growing after 15 minutes, fail reads over to the primary

## Escalation

Partner DBA on-call (24x7), then the internal payments team.
"""

DOCS = [
    # path, id, title, type, org, owners, months ago created, months ago reviewed
    (
        "runbooks/payments-replica-lag.md",
        "kb-5ca1ab1e",
        "Payments DB replica lag",
        "runbook",
        "partner",
        ["dba-oncall@kestrel-ms.example"],
        11,
        4,
    ),
    (
        "runbooks/api-5xx.md",
        "kb-a1b2c3d4",
        "Payments API high 5xx rate",
        "runbook",
        "internal",
        ["ana.ribeiro@tidewater.example"],
        10,
        1,
    ),
    (
        "sops/vpn-token.md",
        "kb-0badf00d",
        "Reset a user's VPN token",
        "sop",
        "internal",
        ["servicedesk@tidewater.example"],
        9,
        None,
    ),
    (
        "sops/patch-window.md",
        "kb-feedface",
        "Monthly patch window",
        "sop",
        "partner",
        ["j.okafor@kestrel-ms.example"],
        8,
        7,
    ),
    (
        "troubleshooting/mail-queue.md",
        "kb-c0ffee00",
        "Outbound mail stuck in queue",
        "troubleshooting",
        "partner",
        ["j.okafor@kestrel-ms.example"],
        7,
        5,
    ),
    (
        "known-errors/printer-driver.md",
        "kb-decafbad",
        "Printer driver crashes spooler",
        "known-error",
        "internal",
        [],
        6,
        None,
    ),
    (
        "runbooks/cert-expiry.md",
        "kb-beefcafe",
        "TLS certificate about to expire",
        "runbook",
        "internal",
        ["ana.ribeiro@tidewater.example", "j.okafor@kestrel-ms.example"],
        5,
        2,
    ),
    (
        "sops/onboard-laptop.md",
        "kb-ab12cd34",
        "Onboard a laptop",
        "sop",
        "internal",
        ["servicedesk@tidewater.example"],
        3,
        1,
    ),
]


def _months_ago(months: int, day: int = 12) -> dt.date:
    year, month = TODAY.year, TODAY.month - months
    while month <= 0:
        year, month = year - 1, month + 12
    return dt.date(year, month, min(day, 28))


def _text(
    doc_id: str,
    title: str,
    doc_type: str,
    org: str,
    owners: list[str],
    reviewed: dt.date | None,
    body: str,
) -> str:
    lines = [
        "---",
        f"id: {doc_id}",
        f"title: {title}",
        f"type: {doc_type}",
        "status: published",
        f"owner_org: {org}",
    ]
    if owners:
        lines += ["owners:"] + [f"  - {o}" for o in owners]
    if reviewed:
        lines += ["review:", f"  last_reviewed: {reviewed.isoformat()}"]
    return "\n".join(lines) + f"\n---\n# {title}\n\n{body}"


def _commit(root: Path, when: dt.date, org: str, message: str, files: dict[str, str]) -> None:
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content, encoding="utf-8")
    name, email = PEOPLE[org]
    stamp = f"{when.isoformat()}T10:00:00+00:00"
    env = dict(
        os.environ,
        GIT_AUTHOR_DATE=stamp,
        GIT_COMMITTER_DATE=stamp,
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    subprocess.run(["git", "add", "--", *files], cwd=root, check=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", f"{message}\n\nKB-Org: {org}"], cwd=root, check=True, env=env
    )


def build_demo(folder: Path) -> Workspace:
    ws = Workspace.init(
        folder / "kb",
        "Tidewater & Kestrel ops KB",
        ["internal", "partner"],
        settings=Settings(user_name=PEOPLE["internal"][0], user_email=PEOPLE["internal"][1]),
        domains={"internal": ["tidewater.example"], "partner": ["kestrel-ms.example"]},
    )
    for path, doc_id, title, doc_type, org, owners, created, reviewed in DOCS:
        body = LAG_BODY if doc_id == "kb-5ca1ab1e" else "1. First step\n2. Second step\n"
        if doc_id == "kb-ab12cd34":
            body += "\nSee also [[kb-00000000]].\n"  # a broken link for the report
        _commit(
            ws.root,
            _months_ago(created),
            org,
            f"Create: {title}",
            {path: _text(doc_id, title, doc_type, org, owners, None, body)},
        )
        if reviewed is not None:
            _commit(
                ws.root,
                _months_ago(reviewed, 3),
                "partner" if org == "partner" else "internal",
                f"Review: {title}",
                {path: _text(doc_id, title, doc_type, org, owners, _months_ago(reviewed, 3), body)},
            )
    ws.refresh()
    store = activity_for(ws)
    now = dt.datetime.now(UTC)
    for hours, query, hits in [
        (50, "replica lag", 2),
        (49, "PaymentsReplicaLagHigh", 1),
        (30, "ORA-00060 deadlock", 0),
        (29, "ora-00060", 0),
        (20, "split tunnel vpn", 0),
        (10, "cert expiry", 1),
    ]:
        store.record_search(query, hits, at=now - dt.timedelta(hours=hours))
    for hours, doc_id in [
        (48, "kb-5ca1ab1e"),
        (47, "kb-5ca1ab1e"),
        (12, "kb-a1b2c3d4"),
        (9, "kb-beefcafe"),
    ]:
        store.record_open(doc_id, at=now - dt.timedelta(hours=hours))
    store.record_feedback("kb-5ca1ab1e", True, at=now - dt.timedelta(hours=46))
    return ws


def _incident_window(ws: Workspace) -> QWidget:
    incidents = incidents_for(ws)
    start = dt.datetime.now(UTC) - dt.timedelta(minutes=23, seconds=41)
    incidents.start(
        "INC-20417",
        "Payments API slow for EU customers",
        ["payments-db", "payments-api"],
        now=start,
    )
    lag = ws.load("kb-5ca1ab1e")
    mode = IncidentMode(incidents)
    incidents.record_search("payments slow", 4, now=start + dt.timedelta(minutes=1))
    incidents.record_search("eu replica stale reads", 0, now=start + dt.timedelta(minutes=2))
    incidents.record_open(lag, now=start + dt.timedelta(minutes=3))
    incidents.tick(lag, 1, now=start + dt.timedelta(minutes=5))
    incidents.tick(lag, 2, now=start + dt.timedelta(minutes=9))
    incidents.note(
        "Lag is 41 min; autovacuum on payments.ledger since 08:10",
        now=start + dt.timedelta(minutes=11),
    )
    incidents.tick(lag, 4, now=start + dt.timedelta(minutes=14))
    mode.panel.show_document(lag)
    reader = QTextBrowser()
    reader.setHtml(ws.render(lag).html)
    window = QWidget()
    window.resize(1200, 720)
    layout = QVBoxLayout(window)
    layout.addWidget(mode.banner)
    splitter = QSplitter()
    splitter.addWidget(reader)
    splitter.addWidget(mode.panel)
    splitter.setSizes([700, 480])
    layout.addWidget(splitter, 1)
    window._mode = mode  # type: ignore[attr-defined]  # keep it alive
    return window


def shoot(out: Path) -> list[Path]:
    """Make the three screenshots in ``out``; returns the files."""
    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as temp:
        ws = build_demo(Path(temp))
        try:
            views: list[tuple[str, QWidget]] = [("incident-mode.png", _incident_window(ws))]
            queue = ReviewQueueView(ws)
            queue.horizon_combo.setCurrentIndex(1)
            queue.select("kb-5ca1ab1e")
            queue.resize(1200, 720)
            views.append(("review-queue.png", queue))
            dashboard = DashboardView(ws)
            dashboard.refresh()
            dashboard.resize(1200, 900)
            views.append(("dashboard.png", dashboard))
            for name, widget in views:
                wrapper = QWidget()
                box = QHBoxLayout(wrapper)
                box.setContentsMargins(0, 0, 0, 0)
                box.addWidget(widget)
                wrapper.resize(widget.size())
                wrapper.show()
                app.processEvents()
                path = out / name
                wrapper.grab().save(str(path))
                made.append(path)
                wrapper.close()
        finally:
            ws.close()
    return made


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"
    for made_path in shoot(target):
        print(made_path)
