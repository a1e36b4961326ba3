"""The wheel as a user installs it: real files, no symlinks, the templates and resources inside."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO_ROOT


def test_the_package_holds_no_symlinks() -> None:
    links = [
        p.relative_to(REPO_ROOT).as_posix()
        for folder in ("kbapp", "templates", "resources")
        for p in (REPO_ROOT / folder).rglob("*")
        if p.is_symlink()
    ]
    assert links == []


@pytest.mark.slow
def test_the_wheel_has_no_symlinks_and_carries_the_package_data(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("kbapp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        # a symlink in a zip is an entry whose Unix mode says S_IFLNK
        assert [i.filename for i in infos if stat.S_ISLNK(i.external_attr >> 16)] == []
        templates = sorted(p.name for p in (REPO_ROOT / "templates").glob("*.md"))
        assert len(templates) >= 5
        assert {f"kbapp/templates/{name}" for name in templates} <= names
        for resource in (
            "kbapp/resources/ui/reader.css",
            "kbapp/resources/report/health.html.j2",
            "kbapp/resources/demo-kb/.kb/config.toml",
        ):
            assert resource in names
        # the files are the files, not a link's target path
        assert (
            archive.read("kbapp/templates/sop.md")
            == (REPO_ROOT / "templates" / "sop.md").read_bytes()
        )
