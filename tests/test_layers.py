"""The core never imports Qt (STYLE.md): every module outside kbapp.ui imports and the CLI runs
in a process where PySide6 cannot be imported at all; import-linter checks the static graph.
The core is portable: it imports where ``fcntl`` does not exist (Windows)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

BLOCKER = r'''
import sys, importlib.abc, pkgutil, importlib

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
import kbapp
names = [m.name for m in pkgutil.walk_packages(kbapp.__path__, "kbapp.")
         if not m.name.startswith("kbapp.ui") and m.name != "kbapp.__main__"]
for name in names:
    importlib.import_module(name)
from kbapp.cli import main
code = main(["templates", "--json"])
assert code == 0, code
assert not [m for m in sys.modules if m.startswith(("PySide6", "shiboken6"))]
print("imported", len(names), "core modules without Qt")
'''


def test_core_runs_without_qt(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "core modules without Qt" in result.stdout


NO_FCNTL = r'''
import sys, importlib.abc, pkgutil, importlib

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "fcntl":
            raise ImportError("fcntl does not exist on Windows")
        return None

sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, Block())
import kbapp
names = [m.name for m in pkgutil.walk_packages(kbapp.__path__, "kbapp.")
         if not m.name.startswith("kbapp.ui") and m.name != "kbapp.__main__"]
for name in names:
    importlib.import_module(name)
assert "fcntl" not in sys.modules
print("imported", len(names), "core modules without fcntl")
'''


def test_core_imports_without_fcntl(tmp_path: Path) -> None:
    """Windows has no ``fcntl``: the writer locks go through filelock, nothing imports it."""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", NO_FCNTL], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "core modules without fcntl" in result.stdout


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
