"""The README's tour works as written: every `phalanx ...` line of it runs against a fresh demo node."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from phalanx.cli import cli
from tests.support import ROOT, SHARED


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour"):text.index("## Three nodes, in real time")]
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
            # a key of another organization than the one $KEY stands for (the tour goes on using $KEY)
            args[args.index("KEY_ID")] = next(line.split()[0] for line in listing.splitlines()
                                              if "Contoso" not in line)
        if "$KEY" in args:  # "take a key from .phalanx/demo-keys.txt": a member that is not the RED object's source
            keys = (home / "demo-keys.txt").read_text(encoding="utf-8")
            args[args.index("$KEY")] = re.findall(r"Contoso Water Utility\s+reader\s+(phx_\S+)", keys)[0]
        # Files the tour writes go to the test's folder, not the project's.
        args = [str(tmp_path / a) if "/" not in a and a.endswith((".json", ".key", ".pub")) else a for a in args]
        result = runner.invoke(cli, ["--home", str(home), *args])
        assert result.exit_code == 0, f"{line}\n{result.output}{result.stderr}"
        if "threat-reports_apt1" in line:
            assert "(0 new)" in result.output  # as the README says: shared already by another member
        if "policy explain" in line and "threat-actor--" in line:
            assert "DOES NOT SEE IT: TLP:RED" in result.output  # as the README says: not for Contoso
        if "policy explain" in line and "indicator--" in line:
            assert "removed from its copy: description" in result.output
        if line.startswith("phalanx verify"):
            assert "verified: indicator--6f0c2b1e" in result.output and "signed by identity--" in result.output


def test_the_readme_taxii_client_example_runs_against_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    """The taxii2-client snippet of the tour, as written, against a demo node served over real HTTP."""
    from phalanx.config import Settings
    from phalanx.demo import load_demo
    from phalanx.service import Node
    from tests.taxii.test_interop import serving

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "taxii2client" in b]
    node = Node.open(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/demo.db"), upgrade=True)
    try:
        keys, _ = load_demo(node)
        with serving(node) as url:
            code = snippet.replace("http://127.0.0.1:8800", url)
            assert 'KEY = "phx_..."' in code  # the reader pastes a key there; so does the test
            exec(compile(code.replace('KEY = "phx_..."', f'KEY = "{keys[0].key}"'), "README.md", "exec"), {})
    finally:
        node.close()
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) > 10 and all(line.startswith("indicator--") and "[" in line for line in printed)


def tour_curls() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour"):text.index("## Three nodes, in real time")]
    found = []
    for block in re.findall(r"```sh\n(.*?)```", tour, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("curl "):
                found.append(command.split("  #")[0].strip())
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_every_tour_curl_runs_against_the_demo(tmp_path: Path) -> None:
    """Each curl line of the tour, as written (with the demo's key), against a demo node over real HTTP: it
    succeeds and answers JSON."""
    from phalanx.config import Settings
    from phalanx.demo import load_demo
    from phalanx.service import Node
    from tests.taxii.test_interop import serving

    commands = tour_curls()
    assert len(commands) >= 6
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    taxii = re.search(r"^T='(.*)'$", text, flags=re.M)
    assert taxii is not None
    node = Node.open(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/demo.db"), upgrade=True)
    try:
        keys, _ = load_demo(node)
        with serving(node) as url:
            env = {**os.environ, "KEY": keys[0].key, "T": taxii.group(1)}
            for command in commands:
                line = command.replace("http://127.0.0.1:8800", url).replace("curl ", "curl --fail -sS ", 1)
                result = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True,
                                        timeout=30, check=False)
                assert result.returncode == 0, (command, result.stderr)
                json.loads(result.stdout)
    finally:
        node.close()
