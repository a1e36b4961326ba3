"""Who does what: the small RACI and the escalation path a document declares.

Front matter (all optional; lists one item per line so that merges stay clean)::

    responsible:            # who executes the procedure: organisations or people
      - partner
    accountable:            # who answers for it (one organisation, ideally)
      - internal
    consulted:
      - dba@tidewater.example
    informed:
      - internal
    escalation:             # ordered: first contact first
      - org: partner
        contact: Kestrel DBA on-call
        phone: "+44 20 7946 0123"
        hours: 24x7
      - org: internal
        contact: dba@tidewater.example
        hours: Mon-Fri 08:00-18:00

An item of a RACI list is an organisation's name (``partner``) or a person's e-mail address,
which belongs to the organisation whose domain it has. :func:`check` is what lint reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kbapp.config import KbConfig
from kbapp.documents.schema import RACI_FIELDS

ESCALATION_FIELD = "escalation"
#: Document types that are procedures someone executes: they should name who does.
PROCEDURE_TYPES = ("runbook", "sop")


@dataclass(frozen=True)
class Party:
    """One item of a RACI list: an organisation or a person (with the organisation they are in)."""

    text: str
    org: str  # "" when neither a known organisation nor a known domain

    @property
    def is_person(self) -> bool:
        return "@" in self.text


@dataclass(frozen=True)
class Contact:
    """One step of an escalation path."""

    org: str
    contact: str
    hours: str = ""
    phone: str = ""
    rotation: str = ""

    def describe(self) -> str:
        who = self.contact or self.rotation
        extra = ", ".join(part for part in (self.phone, self.hours) if part)
        return f"{self.org}: {who}" + (f" ({extra})" if extra else "")


def _items(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if item is not None and str(item).strip()]
    return [str(value).strip()]


def party(text: str, config: KbConfig) -> Party:
    if "@" in text:
        return Party(text, config.org_for_email(text))
    return Party(text, text if text in config.org_names else "")


def parties(meta: Mapping[str, Any], role: str, config: KbConfig) -> list[Party]:
    """The parties a document names for ``role`` (one of :data:`RACI_FIELDS`)."""
    return [party(item, config) for item in _items(meta.get(role))]


def orgs_for(meta: Mapping[str, Any], role: str, config: KbConfig) -> list[str]:
    """The organisations behind ``role``, in order, without repeats."""
    out: list[str] = []
    for item in parties(meta, role, config):
        if item.org and item.org not in out:
            out.append(item.org)
    return out


def escalation(meta: Mapping[str, Any]) -> list[Contact]:
    """The escalation path as written (items that are not maps are skipped; lint names them)."""
    value = meta.get(ESCALATION_FIELD)
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append(
                Contact(
                    org=str(item.get("org") or ""),
                    contact=str(item.get("contact") or ""),
                    hours=str(item.get("hours") or ""),
                    phone=str(item.get("phone") or ""),
                    rotation=str(item.get("rotation") or ""),
                )
            )
    return out


def check(
    meta: Mapping[str, Any],
    config: KbConfig,
    problem: Callable[..., None],
    error: str = "error",
    warning: str = "warning",
) -> None:
    """Report RACI and escalation problems through ``problem(severity, code, message, field)``."""
    known = config.org_names
    for role in RACI_FIELDS:
        value = meta.get(role)
        if value is None:
            continue
        if not isinstance(value, (list, str)):
            problem(error, "invalid-value", "write a list of organisations or people", role)
            continue
        for index, item in enumerate(parties(meta, role, config)):
            where = f"{role}[{index}]" if isinstance(value, list) else role
            if item.org or not known:
                continue
            if item.is_person:
                problem(
                    warning,
                    "unknown-org",
                    f"{item.text} is not at a domain of any organisation ({', '.join(known)})",
                    where,
                )
            else:
                problem(
                    error,
                    "unknown-org",
                    f"{item.text!r} is not an organisation of this knowledge base "
                    f"({', '.join(known)}); give an organisation or an e-mail address",
                    where,
                )
    accountable = orgs_for(meta, "accountable", config)
    if len(accountable) > 1:
        problem(
            warning,
            "raci",
            "more than one organisation is accountable "
            f"({', '.join(accountable)}); name the one that answers for it",
            "accountable",
        )

    value = meta.get(ESCALATION_FIELD)
    if value is None:
        return
    if not isinstance(value, list):
        problem(
            error,
            "invalid-value",
            "escalation is a list of contacts: '- org: ...' with contact and hours",
            ESCALATION_FIELD,
        )
        return
    for index, item in enumerate(value):
        where = f"{ESCALATION_FIELD}[{index}]"
        if not isinstance(item, dict):
            problem(
                error,
                "invalid-value",
                "each escalation step needs org, contact (or rotation) and hours",
                where,
            )
            continue
        org = item.get("org")
        if not org:
            problem(
                error, "missing-field", "which organisation this contact belongs to (org)", where
            )
        elif known and org not in known:
            problem(
                error,
                "unknown-org",
                f"{org!r} is not an organisation of this knowledge base ({', '.join(known)})",
                where,
            )
        if not item.get("contact") and not item.get("rotation"):
            problem(error, "missing-field", "give a contact or an on-call rotation", where)
        if not item.get("hours"):
            problem(
                warning,
                "missing-field",
                "say which hours this contact covers (e.g. 24x7, Mon-Fri 08:00-18:00)",
                where,
            )
