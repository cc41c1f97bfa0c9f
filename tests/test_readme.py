"""The README's tour works as written: every `phalanx ...` line of it runs against a fresh demo node."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from phalanx.cli import cli
from tests.support import ROOT, SHARED


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour"):text.index("## Documentation")]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", tour, flags=re.S):
        lines += [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("phalanx ")]
    return lines


def test_the_tour_has_commands() -> None:
    assert len(tour_commands()) >= 8


def test_every_tour_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the tour runs from the project folder
    home = tmp_path / "demo"
    runner = CliRunner()
    assert runner.invoke(cli, ["--home", str(home), "init", "--demo"]).exit_code == 0
    for line in tour_commands():
        args = shlex.split(line)[1:]
        if any(a.startswith("../shared/") for a in args) and not SHARED.exists():
            continue
        if "KEY_ID" in args:
            listing = runner.invoke(cli, ["--home", str(home), "key", "list"]).output
            args[args.index("KEY_ID")] = listing.split()[0]
        args = [str(tmp_path / a) if a.endswith(".json") and a.startswith("intel") else a for a in args]
        result = runner.invoke(cli, ["--home", str(home), *args])
        assert result.exit_code == 0, f"{line}\n{result.output}{result.stderr}"
        if "threat-reports_apt1" in line:
            assert "(0 new)" in result.output  # as the README says: shared already by another member
