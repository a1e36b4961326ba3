"""User settings: typed defaults, only changed keys written, unknown keys kept, env override."""

from __future__ import annotations

import json
from pathlib import Path

from kbapp.settings import Settings, config_dir, data_dir


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
