#!/usr/bin/env python3
"""Set up and run kbapp, or its test suite, on a fresh machine (Python >= 3.11 and git only).

    python3 tasks.py run      # make a virtual environment, install the app, open it
    python3 tasks.py test     # the same plus the test tools (the "test" extra), run the suite
    python3 tasks.py test --fast   # ... without the tests marked slow (corpora, simulations, wheel)

Standard library only: this script runs before anything is installed. The environment lives
in .venv and is reused while pyproject.toml is unchanged. On Linux, ``run`` first checks that
Qt's xcb platform plugin can load its system libraries and, when it cannot, prints the exact
``apt``/``dnf`` command for the missing ones (Qt's own message names the wrong package).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("KBAPP_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv(with_tests: bool) -> None:
    """Make .venv and install kbapp in it: the app's dependencies only, or with the test extra."""
    if sys.version_info < (3, 11):
        sys.exit(f"kbapp needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    stamp = VENV / ".kbapp-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed = stamp.read_text().split() if stamp.exists() else []
    if PYTHON.exists() and installed[:1] == [wanted] and (not with_tests or "test" in installed):
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(
        "Installing kbapp and its test tools ..." if with_tests else "Installing kbapp ...",
        flush=True,
    )
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    # the tests run with the optional extras too, so that what they add is tested for real
    target = f"{ROOT}[test,semantic]" if with_tests else str(ROOT)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", target], check=True)
    stamp.write_text(wanted + (" test" if with_tests else ""))
    if not with_tests:
        print(
            f"kbapp is installed: {BIN / 'kbapp'} (the window and the command line). To have "
            f"it on your PATH: add {BIN} to PATH, or install it for your user with "
            "'pipx install .'",
            flush=True,
        )


# --------------------------------------------------------------------------- Qt's system libraries

#: System packages that provide the libraries Qt's xcb platform plugin links to.
APT_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
DNF_PACKAGES = {
    "libxcb-cursor.so.0": "xcb-util-cursor",
    "libxcb-icccm.so.4": "xcb-util-wm",
    "libxcb-keysyms.so.1": "xcb-util-keysyms",
    "libxcb-image.so.0": "xcb-util-image",
    "libxcb-render-util.so.0": "xcb-util-renderutil",
    "libxcb-util.so.1": "xcb-util",
    "libX11-xcb.so.1": "libX11-xcb",
    "libX11.so.6": "libX11",
    "libxkbcommon.so.0": "libxkbcommon",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11",
    "libGL.so.1": "libglvnd-glx",
    "libEGL.so.1": "libglvnd-egl",
    "libOpenGL.so.0": "libglvnd-opengl",
    "libfontconfig.so.1": "fontconfig",
    "libfreetype.so.6": "freetype",
    "libdbus-1.so.3": "dbus-libs",
    "libglib-2.0.so.0": "glib2",
    "libgthread-2.0.so.0": "glib2",
    "libSM.so.6": "libSM",
    "libICE.so.6": "libICE",
}


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` could not find ("libxcb-icccm.so.4 => not found"), in order."""
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def apt_package(soname: str) -> str:
    """Debian's package for a library: the table, else Debian's naming rule (the soname's
    name, lower case, then its version, with a dash when the name ends in a digit)."""
    if soname in APT_PACKAGES:
        return APT_PACKAGES[soname]
    name, _, version = soname.partition(".so.")
    name = name.lower()
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def install_commands(missing: list[str]) -> dict[str, str]:
    """The command that installs the packages holding ``missing``, for apt and for dnf (which
    also takes a library's soname as what to install)."""
    apt = sorted({apt_package(lib) for lib in missing})
    dnf = sorted({DNF_PACKAGES.get(lib, f"'{lib}()(64bit)'") for lib in missing})
    return {"apt": "sudo apt install " + " ".join(apt), "dnf": "sudo dnf install " + " ".join(dnf)}


def package_manager(os_release: str) -> str:
    """ "apt", "dnf" or "" from the text of /etc/os-release."""
    ids = " ".join(re.findall(r"^(?:ID|ID_LIKE)=\"?([^\"\n]*)", os_release, flags=re.MULTILINE))
    if re.search(r"\b(debian|ubuntu)\b", ids):
        return "apt"
    if re.search(r"\b(fedora|rhel|centos)\b", ids):
        return "dnf"
    return ""


def qt_platform_problem() -> str:
    """Why Qt's window cannot open on this Linux desktop (one paragraph), or "" when it can
    or we cannot tell. Checks the xcb plugin with ``ldd``, as Qt would load it."""
    if not sys.platform.startswith("linux"):
        return ""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return ""
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return ""
        return (
            "kbapp's window needs a desktop session, and there is none here (DISPLAY is not "
            f"set). The command line works without one: {BIN / 'kbapp'} --help"
        )
    if not shutil.which("ldd"):
        return ""
    folder = subprocess.run(
        [str(PYTHON), "-c", "import PySide6, os; print(os.path.dirname(PySide6.__file__))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not folder or not plugin.is_file():
        return ""
    done = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False)
    missing = missing_libraries(done.stdout + done.stderr)
    if not missing:
        return ""
    try:
        manager = package_manager(Path("/etc/os-release").read_text())
    except OSError:
        manager = ""
    commands = install_commands(missing)
    lines = (
        [commands[manager]]
        if manager
        else [commands["apt"] + "   (Debian, Ubuntu)", commands["dnf"] + "   (Fedora, RHEL)"]
    )
    return (
        "Qt cannot open kbapp's window: these system libraries are missing: "
        + ", ".join(missing)
        + ".\nInstall them with:\n\n    "
        + "\n    ".join(lines)
        + "\n"
    )


def run_app(args: list[str]) -> int:
    problem = qt_platform_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        if not os.environ.get("WAYLAND_DISPLAY"):  # on Wayland Qt may not need xcb at all
            return 1
    # The README's first command shows the demo when no knowledge base is configured yet
    # (Ctrl+O in it lists the rest: clone the shared one, open, create); 'kbapp' on its own
    # shows the start screen then.
    return subprocess.call([str(PYTHON), "-m", "kbapp", "--demo-when-none", *args], cwd=ROOT)


def ensure_ssh_server() -> None:
    """The SSH credential tests need sshd and ssh; on CI (root, apt) install them when missing,
    elsewhere those tests skip with the reason."""
    if shutil.which("sshd") or Path("/usr/sbin/sshd").exists():
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return
    print("Installing openssh-server and openssh-client for the SSH tests ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "openssh-server", "openssh-client"]
    if subprocess.call(install, env=env, stdout=subprocess.DEVNULL) != 0:
        subprocess.call(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
        subprocess.call(install, env=env, stdout=subprocess.DEVNULL)


def pytest_args(args: list[str]) -> list[str]:
    """pytest's arguments for ``tasks.py test ARGS``: ``--fast`` leaves out the tests marked
    ``slow`` (the corpora, the sync simulation, the wheel build), the rest goes to pytest."""
    if "--fast" not in args:
        return ["-n", "2", "--timeout", "600", *args]
    return ["-n", "2", "--timeout", "600", "-m", "not slow", *(a for a in args if a != "--fast")]


def run_tests(args: list[str]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    steps = [
        ("lint", [str(BIN / "ruff"), "check", "."]),
        ("format", [str(BIN / "ruff"), "format", "--check", "."]),
        ("import contracts", [str(BIN / "lint-imports"), "--no-cache"]),
        ("type check", [str(PYTHON), "-m", "mypy"]),
        ("tests", [str(PYTHON), "-m", "pytest", *pytest_args(args)]),
    ]
    for name, command in steps:
        print(
            f"== {name}: {' '.join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))}",
            flush=True,
        )
        code = subprocess.call(command, cwd=ROOT, env=env)
        if code:
            print(f"== {name} failed (exit {code})", flush=True)
            return code
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        ensure_venv(with_tests=False)
        return run_app(sys.argv[2:])
    ensure_venv(with_tests=True)
    ensure_ssh_server()
    return run_tests(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
