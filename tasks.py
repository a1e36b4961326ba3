#!/usr/bin/env python3
"""Set up and run kbapp, or its test suite, on a fresh machine (Python >= 3.11 and git only).

    python3 tasks.py run      # make a virtual environment, install, open the app
    python3 tasks.py test     # make a virtual environment, install, run the whole suite

Standard library only: this script runs before anything is installed. The environment lives
in .venv and is reused while pyproject.toml is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("KBAPP_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"kbapp needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    stamp = VENV / ".kbapp-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing kbapp and its test tools ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True
    )
    stamp.write_text(wanted)


def run_app(args: list[str]) -> int:
    return subprocess.call([str(PYTHON), "-m", "kbapp", *args], cwd=ROOT)


def run_tests(args: list[str]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    steps = [
        ("import contracts", [str(BIN / "lint-imports"), "--no-cache"]),
        ("type check", [str(PYTHON), "-m", "mypy"]),
        ("tests", [str(PYTHON), "-m", "pytest", "-n", "2", "--timeout", "600", *args]),
    ]
    for name, command in steps:
        print(f"== {name}: {' '.join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))}",
              flush=True)
        code = subprocess.call(command, cwd=ROOT, env=env)
        if code:
            print(f"== {name} failed (exit {code})", flush=True)
            return code
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    ensure_venv()
    if sys.argv[1] == "run":
        return run_app(sys.argv[2:])
    return run_tests(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
