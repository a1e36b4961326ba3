"""User settings: typed defaults, only changed keys written, unknown keys kept, env override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import git, run_kbapp

from kbapp.settings import Settings, choose_kb, config_dir, data_dir, enclosing_kb
from kbapp.workspace import Workspace


def test_environment_overrides_locations(_fresh_settings: Path) -> None:
    assert config_dir() == _fresh_settings / "config"
    assert data_dir() == _fresh_settings / "data"


def test_only_changed_keys_are_written_and_unknown_keys_kept() -> None:
    path = config_dir() / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"from_a_newer_kbapp": 1, "zoom": 100}))
    settings = Settings.load()
    settings.user_email = "ana@internal.example"
    settings.save()
    saved = json.loads(path.read_text())
    assert saved == {"from_a_newer_kbapp": 1, "user_email": "ana@internal.example", "version": 1}


def test_broken_or_mistyped_settings_fall_back_to_defaults() -> None:
    path = config_dir() / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert Settings.load().zoom == 100
    path.write_text(json.dumps({"zoom": "huge", "theme": "dark"}))
    loaded = Settings.load()
    assert loaded.zoom == 100 and loaded.theme == "dark"


def test_remember_kb_keeps_most_recent_first(tmp_path: Path) -> None:
    settings = Settings()
    settings.remember_kb(tmp_path / "a")
    settings.remember_kb(tmp_path / "b")
    settings.remember_kb(tmp_path / "a")
    assert settings.knowledge_bases == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert settings.default_kb == str(tmp_path / "a")


def test_the_knowledge_base_is_the_one_the_current_folder_is_in(
    kb: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like git: a command run in a folder of a knowledge base works on that one, not on the
    default of the settings ("kbapp search" in a clone of the demo searched another one);
    --kb and $KBAPP_KB still win, and a folder outside any, or in another repository, is
    no knowledge base."""
    monkeypatch.delenv("KBAPP_KB", raising=False)
    inside = kb.root / "runbooks"
    inside.mkdir(exist_ok=True)
    other = tmp_path / "other"
    other.mkdir()
    settings = Settings(default_kb=str(other))
    assert enclosing_kb(inside) == kb.root.resolve()
    assert choose_kb(None, settings, here=inside) == kb.root.resolve()
    assert choose_kb(str(other), settings, here=inside) == other
    monkeypatch.setenv("KBAPP_KB", str(other))
    assert choose_kb(None, settings, here=inside) == other
    monkeypatch.delenv("KBAPP_KB")
    assert choose_kb(None, settings, here=tmp_path) == other  # not in one: the default
    plain = tmp_path / "plain"
    git(plain.parent, "init", "-q", str(plain))
    assert enclosing_kb(plain) is None and choose_kb(None, Settings(), here=plain) is None
    # the command line, in a real process started in the folder
    kb.create("runbook", "Reset the VPN gateway")
    found = run_kbapp("search", "vpn gateway", "--only-this", cwd=inside)
    assert found.returncode == 0, found.stderr
    assert "Reset the VPN gateway" in found.stdout
