"""Plain helpers for tests (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kbapp.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPORA = REPO_ROOT.parent / "shared" / "corpora"


def write_doc(workspace: Workspace, relative: str, text: str) -> Path:
    path = workspace.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> str:
    """Plain git, as a partner without kbapp would run it."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_kbapp(*argv: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m kbapp ARGS`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "kbapp", *argv], cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )
