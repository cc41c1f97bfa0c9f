"""Settings: defaults, then phalanx.toml, then PHALANX_* variables; bad values are named, not guessed."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from phalanx.config import SETTINGS, Settings
from phalanx.errors import ConfigError
from phalanx.stix import Tlp


def test_every_field_can_be_set() -> None:
    assert {s.field for s in SETTINGS} == {f.name for f in fields(Settings)} - {"home"}


def test_file_then_environment(tmp_path: Path) -> None:
    (tmp_path / "phalanx.toml").write_text('port = 9000\nvalidation = "tolerant"\ndefault_tlp = "green"\n')
    settings = Settings.load(tmp_path, env={"PHALANX_PORT": "9100", "PHALANX_PARSE_WORKERS": "auto"})
    assert (settings.port, settings.validation, settings.default_tlp) == (9100, "tolerant", Tlp.GREEN)
    assert settings.parse_workers == -1 and not settings.strict
    assert settings.database == f"sqlite:///{(tmp_path / 'phalanx.db').resolve()}"


@pytest.mark.parametrize(("toml", "env", "named"), [
    ("colour = 1\n", {}, "unknown setting 'colour'"),
    ("port = [\n", {}, "not valid TOML"),
    ("", {"PHALANX_PORT": "70000"}, "PHALANX_PORT"),
    ("", {"PHALANX_VALIDATION": "lenient"}, "PHALANX_VALIDATION"),
    ("", {"PHALANX_DEFAULT_TLP": "white"}, "PHALANX_DEFAULT_TLP"),
    ("", {"PHALANX_PARSE_WORKERS": "-2"}, "PHALANX_PARSE_WORKERS"),
    ("batch_size = 0\n", {}, "batch_size"),
])
def test_bad_settings_name_the_setting(tmp_path: Path, toml: str, env: dict[str, str], named: str) -> None:
    (tmp_path / "phalanx.toml").write_text(toml)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[")):
        Settings.load(tmp_path, env=env)
