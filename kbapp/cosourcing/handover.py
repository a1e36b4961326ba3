"""Handover of routine work: delegating a procedure from one organisation to the other.

A handover is recorded in the document's own front matter, so both organisations see the same
state after a sync and git history says who recorded each step and when::

    handover:
      from: internal
      to: partner
      started: 2026-09-01
      steps:
        - step: knowledge-transfer
          date: 2026-09-08
          by: ana.ribeiro@tidewater.example
        - step: reviewed
          date: 2026-09-15
          by: j.okafor@kestrel-ms.example
        - step: supervised-run
          date: 2026-10-02
          by: j.okafor@kestrel-ms.example
          ticket: CHG-8890
        - step: signed-off
          date: 2026-10-20
          by: ana.ribeiro@tidewater.example

Steps are done in order: knowledge transfer, the receiving organisation reviewed the document,
it executed the procedure under supervision (date and ticket), the accountable organisation
signed it off. Each step is one commit made through :meth:`Workspace.save`. ``steps`` is a
list so that two people recording steps on both sides of a sync merge by union (the merge
driver never loses a recorded step). Sign-off makes the receiving organisation responsible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kbapp.config import KbConfig
from kbapp.cosourcing import responsibility
from kbapp.documents import model as documents
from kbapp.errors import KbError

if TYPE_CHECKING:
    from kbapp.workspace import Workspace
    from kbapp.workspace_save import SaveResult

FIELD = "handover"


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    #: Whose step it is: "from" (giving), "to" (receiving), "accountable", or "" (anyone).
    who: str
    needs_ticket: bool = False


STEPS: tuple[Step, ...] = (
    Step("knowledge-transfer", "Knowledge transfer done", ""),
    Step("reviewed", "Receiving organisation reviewed the document", "to"),
    Step("supervised-run", "Executed under supervision", "to", needs_ticket=True),
    Step("signed-off", "Signed off by the accountable organisation", "accountable"),
)
STEP_NAMES = tuple(step.name for step in STEPS)


def step_named(name: str) -> Step:
    wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {
        "transfer": "knowledge-transfer",
        "kt": "knowledge-transfer",
        "partner-reviewed": "reviewed",
        "review": "reviewed",
        "supervised": "supervised-run",
        "executed": "supervised-run",
        "signoff": "signed-off",
        "sign-off": "signed-off",
    }
    wanted = aliases.get(wanted, wanted)
    for step in STEPS:
        if step.name == wanted:
            return step
    raise KbError(f"there is no handover step {name!r}; steps: {', '.join(STEP_NAMES)}")


@dataclass(frozen=True)
class StepRecord:
    step: str
    date: dt.date | None
    by: str = ""
    ticket: str = ""
    note: str = ""


@dataclass
class Handover:
    """The handover a document records (see the module docstring)."""

    doc_id: str
    title: str
    path: str
    from_org: str
    to_org: str
    started: dt.date | None
    records: list[StepRecord] = field(default_factory=list)
    accountable: list[str] = field(default_factory=list)

    def done(self, step: str) -> list[StepRecord]:
        return [r for r in self.records if r.step == step]

    @property
    def completed_steps(self) -> list[Step]:
        return [s for s in STEPS if self.done(s.name)]

    @property
    def next_step(self) -> Step | None:
        return next((s for s in STEPS if not self.done(s.name)), None)

    @property
    def complete(self) -> bool:
        return bool(self.done("signed-off"))

    @property
    def progress(self) -> tuple[int, int]:
        return len(self.completed_steps), len(STEPS)

    @property
    def signing_orgs(self) -> list[str]:
        """Who may sign off: the accountable organisation(s), else the giving one."""
        return self.accountable or ([self.from_org] if self.from_org else [])

    @property
    def state(self) -> str:
        if self.complete:
            return "complete"
        step = self.next_step
        done, total = self.progress
        return f"{done}/{total}, next: {step.label.lower()}" if step else "complete"

    def last_activity(self) -> dt.date | None:
        dates = [r.date for r in self.records if r.date] + ([self.started] if self.started else [])
        return max(dates) if dates else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "title": self.title,
            "path": self.path,
            "from": self.from_org,
            "to": self.to_org,
            "started": self.started.isoformat() if self.started else None,
            "complete": self.complete,
            "state": self.state,
            "next_step": self.next_step.name if self.next_step else None,
            "accountable": self.accountable,
            "steps": [
                {
                    "step": s.name,
                    "label": s.label,
                    "records": [
                        {
                            "date": r.date.isoformat() if r.date else None,
                            "by": r.by,
                            "ticket": r.ticket,
                            "note": r.note,
                        }
                        for r in self.done(s.name)
                    ],
                }
                for s in STEPS
            ],
        }


def read(
    meta: Mapping[str, Any], config: KbConfig, *, doc_id: str = "", title: str = "", path: str = ""
) -> Handover | None:
    """The handover in a document's front matter, or None when it has none."""
    value = meta.get(FIELD)
    if not isinstance(value, dict):
        return None
    records = []
    for item in value.get("steps") or []:
        if isinstance(item, dict) and item.get("step"):
            records.append(
                StepRecord(
                    step=str(item["step"]),
                    date=documents.as_date(item.get("date")),
                    by=str(item.get("by") or ""),
                    ticket=str(item.get("ticket") or ""),
                    note=str(item.get("note") or ""),
                )
            )
    return Handover(
        doc_id=doc_id,
        title=title,
        path=path,
        from_org=str(value.get("from") or ""),
        to_org=str(value.get("to") or ""),
        started=documents.as_date(value.get("started")),
        records=records,
        accountable=responsibility.orgs_for(meta, "accountable", config),
    )


def of_document(doc: documents.Document, config: KbConfig) -> Handover | None:
    return read(doc.meta, config, doc_id=doc.id, title=doc.title, path=doc.path)


def handovers(
    workspace: Workspace, *, include_complete: bool = True, refresh: bool = True
) -> list[Handover]:
    """Every handover in the knowledge base (from the catalog), unfinished ones first.
    ``refresh=False`` trusts the catalog as it is (a view reacting to a change of it)."""
    if refresh:
        workspace.refresh()
    out = []
    for entry in workspace.catalog.summaries(("path", "doc_id", "title", "status", "meta")):
        if entry.status == "retired":
            continue
        found = read(
            entry.meta or {},
            workspace.config,
            doc_id=entry.doc_id,
            title=entry.title,
            path=entry.path,
        )
        if found is not None and (include_complete or not found.complete):
            out.append(found)
    out.sort(key=lambda h: (h.complete, -h.progress[0], h.title.casefold()))
    return out


# --------------------------------------------------------------------------- recording


def start(
    workspace: Workspace,
    ref: str,
    to_org: str,
    *,
    from_org: str | None = None,
    today: dt.date | None = None,
    restart: bool = False,
) -> SaveResult:
    """Start handing the document's procedure over to ``to_org`` (one commit)."""
    config = workspace.config
    doc = workspace.load(ref)
    current = of_document(doc, config)
    if current is not None and not current.complete and not restart:
        raise KbError(
            f"{doc.title} already has a handover in progress ({current.from_org} → "
            f"{current.to_org}, {current.state}); use --restart to begin again"
        )
    if from_org is None:
        responsible = responsibility.orgs_for(doc.meta, "responsible", config)
        from_org = responsible[0] if len(responsible) == 1 else doc.owner_org
    _known_org(config, to_org, "to")
    _known_org(config, from_org, "from")
    if from_org == to_org:
        raise KbError(f"a handover goes from one organisation to another, not {to_org} to itself")
    doc.set(
        FIELD, {"from": from_org, "to": to_org, "started": today or dt.date.today(), "steps": []}
    )
    return workspace.save(doc, message=f"Handover started: {doc.title} ({from_org} → {to_org})")


def record_step(
    workspace: Workspace,
    ref: str,
    step_name: str,
    *,
    date: dt.date | None = None,
    ticket: str = "",
    note: str = "",
    today: dt.date | None = None,
) -> SaveResult:
    """Record that a handover step was done, by the current user (one commit)."""
    config = workspace.config
    doc = workspace.load(ref)
    current = of_document(doc, config)
    if current is None:
        raise KbError(f"{doc.title} has no handover; start one with 'kbapp handover start'")
    step = step_named(step_name)
    if current.done(step.name):
        first = current.done(step.name)[0]
        raise KbError(
            f"'{step.label}' is already recorded for {doc.title} "
            f"({first.date or 'no date'}, {first.by or 'unknown'})"
        )
    missing = [s for s in STEPS[: STEPS.index(step)] if not current.done(s.name)]
    if missing:
        raise KbError(f"record '{missing[0].label}' first (handover steps are done in order)")
    allowed = {
        "from": [current.from_org],
        "to": [current.to_org],
        "accountable": current.signing_orgs,
    }.get(step.who)
    identity = workspace.require_identity(organisation=allowed is not None)
    if allowed is not None and identity.org not in allowed:
        raise KbError(
            f"'{step.label}' is recorded by {' or '.join(allowed)}; "
            f"your organisation is {identity.org}"
        )
    ticket = ticket.strip()
    if step.needs_ticket and not ticket:
        raise KbError(f"'{step.label}' needs the ticket it was done under (--ticket)")
    record: dict[str, Any] = {
        "step": step.name,
        "date": date or today or dt.date.today(),
        "by": identity.email or identity.name,
    }
    if ticket:
        record["ticket"] = ticket
    if note.strip():
        record["note"] = " ".join(note.split())
    value = dict(doc.meta.get(FIELD) or {})
    value["steps"] = [*list(value.get("steps") or []), record]
    doc.set(FIELD, value)
    if step.name == "signed-off":
        _make_responsible(doc, config, current.from_org, current.to_org)
    return workspace.save(doc, message=f"Handover: {step.label.lower()}: {doc.title}")


def _make_responsible(doc: documents.Document, config: KbConfig, old: str, new: str) -> None:
    items = [
        item for item in responsibility.parties(doc.meta, "responsible", config) if item.org != old
    ]
    texts = [item.text for item in items]
    if new not in [item.org for item in items]:
        texts.append(new)
    doc.set("responsible", texts)


def _known_org(config: KbConfig, org: str, what: str) -> None:
    if not org:
        raise KbError(f"say which organisation the handover goes {what} (--{what})")
    if config.org_names and org not in config.org_names:
        raise KbError(
            f"{org!r} is not an organisation of this knowledge base ({', '.join(config.org_names)})"
        )


# --------------------------------------------------------------------------- lint


def check(
    meta: Mapping[str, Any],
    config: KbConfig,
    problem: Callable[..., None],
    error: str = "error",
    warning: str = "warning",
) -> None:
    value = meta.get(FIELD)
    if value is None:
        return
    if not isinstance(value, dict):
        problem(error, "invalid-value", "handover holds from, to, started and steps", FIELD)
        return
    known = config.org_names
    for key in ("from", "to"):
        org = value.get(key)
        if not org:
            problem(
                error,
                "missing-field",
                f"which organisation the handover goes {key}",
                f"{FIELD}.{key}",
            )
        elif known and org not in known:
            problem(
                error,
                "unknown-org",
                f"{org!r} is not an organisation of this knowledge base ({', '.join(known)})",
                f"{FIELD}.{key}",
            )
    if value.get("from") and value.get("from") == value.get("to"):
        problem(
            error,
            "invalid-value",
            "a handover goes from one organisation to another",
            f"{FIELD}.to",
        )
    if value.get("started") is not None and documents.as_date(value.get("started")) is None:
        problem(error, "invalid-value", "not a date (YYYY-MM-DD)", f"{FIELD}.started")
    steps = value.get("steps")
    if steps is None:
        return
    if not isinstance(steps, list):
        problem(
            error, "invalid-value", "steps is a list, one '- step: ...' per step", f"{FIELD}.steps"
        )
        return
    seen: list[str] = []
    for index, item in enumerate(steps):
        where = f"{FIELD}.steps[{index}]"
        if not isinstance(item, dict) or item.get("step") not in STEP_NAMES:
            problem(
                error,
                "invalid-value",
                f"each step is '- step: NAME' with NAME one of {', '.join(STEP_NAMES)}",
                where,
            )
            continue
        name = str(item["step"])
        if documents.as_date(item.get("date")) is None:
            problem(error, "invalid-value", "a recorded step needs its date (YYYY-MM-DD)", where)
        if step_named(name).needs_ticket and not item.get("ticket"):
            problem(error, "missing-field", "executed under supervision: give the ticket", where)
        earlier = STEP_NAMES[: STEP_NAMES.index(name)]
        skipped = [s for s in earlier if s not in seen]
        if skipped and name not in seen:
            problem(warning, "handover-order", f"{name} recorded before {skipped[0]}", where)
        seen.append(name)
    handover = read(meta, config)
    if handover is not None:
        for record in handover.done("signed-off"):
            signer = config.org_for_email(record.by) if "@" in record.by else ""
            if signer and handover.signing_orgs and signer not in handover.signing_orgs:
                problem(
                    warning,
                    "raci",
                    f"signed off by {record.by} ({signer}), not by the "
                    f"accountable organisation ({', '.join(handover.signing_orgs)})",
                    FIELD,
                )


def describe(handovers_: Iterable[Handover]) -> list[tuple[str, str, str, str, str]]:
    """Rows for a table: id, from → to, progress, next step or 'complete', title."""
    rows = []
    for h in handovers_:
        done, total = h.progress
        nxt = "complete" if h.complete else (h.next_step.name if h.next_step else "")
        rows.append((h.doc_id, f"{h.from_org} → {h.to_org}", f"{done}/{total}", nxt, h.title))
    return rows
