"""``tasks.py run`` checks Qt's system libraries before opening the window: the libraries
``ldd`` cannot find and the exact apt/dnf command that installs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tasks

#: ``ldd`` on PySide6's libqxcb.so on a Debian desktop with libxcb-cursor0 but without
#: libxcb-icccm4 and libxcb-keysyms1 (issue 12: Qt's own message named libxcb-cursor0).
LDD_WITHOUT_ICCCM_AND_KEYSYMS = """\
\tlinux-vdso.so.1 (0x00007ffd4b3f2000)
\tlibQt6XcbQpa.so.6 => /home/ana/kbapp/.venv/lib/python3.11/site-packages/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f5a1c2e0000)
\tlibQt6Gui.so.6 => /home/ana/kbapp/.venv/lib/python3.11/site-packages/PySide6/Qt/plugins/platforms/../../lib/libQt6Gui.so.6 (0x00007f5a1b600000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f5a1c2d4000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f5a1c2cd000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f5a1c2c5000)
\tlibxcb-image.so.0 => /lib/x86_64-linux-gnu/libxcb-image.so.0 (0x00007f5a1c2bf000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5a1b41f000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f5a1c31a000)
"""


def test_the_missing_xcb_libraries_give_the_exact_install_line() -> None:
    missing = tasks.missing_libraries(LDD_WITHOUT_ICCCM_AND_KEYSYMS)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    commands = tasks.install_commands(missing)
    assert commands["apt"] == "sudo apt install libxcb-icccm4 libxcb-keysyms1"
    assert commands["dnf"] == "sudo dnf install xcb-util-keysyms xcb-util-wm"


def test_debian_package_names_follow_debian_rules_beyond_the_table() -> None:
    assert tasks.apt_package("libxcb-xinerama.so.0") == "libxcb-xinerama0"
    assert tasks.apt_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert tasks.apt_package("libxcb-present.so.0") == "libxcb-present0"  # not in the table
    assert tasks.apt_package("libfoo2.so.1") == "libfoo2-1"
    assert (
        tasks.install_commands(["libxcb-present.so.0"])["dnf"]
        == "sudo dnf install 'libxcb-present.so.0()(64bit)'"
    )


def test_the_package_manager_comes_from_os_release() -> None:
    assert tasks.package_manager("ID=ubuntu\nID_LIKE=debian\n") == "apt"
    assert tasks.package_manager('ID="linuxmint"\nID_LIKE="ubuntu debian"\n') == "apt"
    assert tasks.package_manager("ID=fedora\n") == "dnf"
    assert tasks.package_manager('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == "dnf"
    assert tasks.package_manager("ID=arch\n") == ""


def _known_libraries() -> str:
    """What the dynamic linker knows (``ldconfig -p``); ldconfig lives in /sbin, which a
    user's PATH may leave out."""
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if Path(p).exists()), None
    )
    if ldconfig is None:
        pytest.skip("ldconfig is not on this machine")
    return subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=False).stdout


def _pyside_plugins() -> Path:
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "plugins"


@pytest.mark.skipif(not shutil.which("ldd"), reason="ldd is not installed (not Linux)")
def test_real_ldd_output_of_a_qt_plugin_with_a_missing_library() -> None:
    """A real plugin whose library is not on this machine (Qt's MySQL driver without the
    MySQL client library), and the real xcb plugin, through the real ldd."""
    plugin = _pyside_plugins() / "sqldrivers" / "libqsqlmysql.so"
    known = _known_libraries()
    mysql_present = "libmysqlclient.so.21" in known
    if not plugin.is_file() or mysql_present:
        pytest.skip("no Qt plugin with a missing library on this machine")
    output = subprocess.run(
        ["ldd", str(plugin)], capture_output=True, text=True, check=False
    ).stdout
    missing = tasks.missing_libraries(output)
    assert "libmysqlclient.so.21" in missing
    assert not any(lib.startswith(("libc.so", "libQt6Core")) for lib in missing)
    assert tasks.install_commands(missing)["apt"].startswith("sudo apt install ")

    xcb = _pyside_plugins() / "platforms" / "libqxcb.so"
    output = subprocess.run(["ldd", str(xcb)], capture_output=True, text=True, check=False).stdout
    for lib in tasks.missing_libraries(output):  # whatever is missing here is really absent
        assert lib not in known


def test_no_display_is_said_before_qt_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is for Linux desktops")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert "needs a desktop session" in tasks.qt_platform_problem()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert tasks.qt_platform_problem() == ""


@pytest.mark.slow
def test_fast_leaves_out_the_slow_tests(tmp_path: Path) -> None:
    """``tasks.py test --fast``: pytest with the arguments it gets collects no test marked slow."""
    assert tasks.pytest_args(["-x"])[-1] == "-x" and "not slow" not in tasks.pytest_args(["-x"])
    target = str(Path(tasks.ROOT) / "tests" / "test_packaging.py")
    collected = {}
    for fast in (False, True):
        args = tasks.pytest_args(["--fast", target] if fast else [target])
        assert "--fast" not in args
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *args,
                "-n",
                "0",
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            capture_output=True,
            text=True,
            cwd=tasks.ROOT,
            timeout=120,
        )
        collected[fast] = {line for line in done.stdout.splitlines() if "::" in line}
    slow = "tests/test_packaging.py::test_the_wheel_has_no_symlinks_and_carries_the_package_data"
    assert slow in collected[False] and slow not in collected[True]
    assert collected[True] and collected[True] < collected[False]
