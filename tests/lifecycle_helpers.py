"""Builders for lifecycle tests: documents with given review fields, and backdated commits made
with plain git (as a partner without kbapp would), so that history-based figures are known."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """``"2026-06-15 09:30"`` as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def doc_text(
    doc_id: str,
    title: str,
    *,
    doc_type: str = "runbook",
    status: str = "published",
    org: str = "internal",
    owners: Iterable[str] = (),
    last_reviewed: str | None = None,
    interval: int | None = None,
    incidents: Iterable[str] = (),
    related: Iterable[str] = (),
    body: str = "",
) -> str:
    lines = [
        "---",
        f"id: {doc_id}",
        f"title: {title}",
        f"type: {doc_type}",
        f"status: {status}",
        f"owner_org: {org}",
    ]
    for name, values in (("owners", owners), ("incidents", incidents), ("related", related)):
        values = list(values)
        if values:
            lines.append(f"{name}:")
            lines += [f"  - {v}" for v in values]
    if last_reviewed or interval:
        lines.append("review:")
        if interval:
            lines.append(f"  interval_days: {interval}")
        if last_reviewed:
            lines.append(f"  last_reviewed: {last_reviewed}")
    lines.append("---")
    text = "\n".join(lines) + f"\n# {title}\n\n"
    return text + (body or "Some text.\n")


def commit_at(
    root: Path,
    when: str,
    message: str,
    files: dict[str, str],
    *,
    email: str = "ana@internal.example",
    name: str = "Ana Ribeiro",
    org: str | None = None,
) -> str:
    """Write ``files`` and commit them with author and committer date ``when`` (YYYY-MM-DD)."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    stamp = f"{when}T12:00:00+00:00"
    env = dict(
        os.environ,
        GIT_AUTHOR_DATE=stamp,
        GIT_COMMITTER_DATE=stamp,
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    full = message + (f"\n\nKB-Org: {org}\n" if org else "\n")
    subprocess.run(["git", "add", "--", *files], cwd=root, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", full], cwd=root, check=True, capture_output=True, env=env
    )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
