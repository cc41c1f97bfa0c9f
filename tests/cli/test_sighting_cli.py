"""`phalanx sighting add` and `show`, on a real SQLite node: locally (--org, --key) and against a running hub
(--url, --key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phalanx.cli import cli
from phalanx.config import Settings
from phalanx.service import Node
from tests.streams.server import served
from tests.support import INDICATOR, bundle


def run(home: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "node"
    run(home, "init")
    run(home, "community", "add", "isac", "--title", "Test ISAC")
    for name in ("ACME CERT", "Globex", "Initech", "Umbrella"):
        run(home, "org", "add", name)
        run(home, "community", "join", "isac", name)
    (home / "indicator.json").write_bytes(bundle(INDICATOR))
    run(home, "import", str(home / "indicator.json"), "--org", "ACME CERT")
    return home


def test_add_and_show_on_the_node_in_home(home: Path) -> None:
    added = run(home, "sighting", "add", str(INDICATOR["id"]), "--org", "Globex", "--count", "3",
                "--first-seen", "2026-01-02T03:04:05Z")
    assert added.stdout.startswith("sighting--") and "(added)" in added.stdout
    run(home, "sighting", "add", str(INDICATOR["id"]), "--org", "Initech", "--false-positive", "--anonymous")
    run(home, "sighting", "add", str(INDICATOR["id"]), "--org", "Umbrella", "--expired")
    mine = run(home, "sighting", "show", str(INDICATOR["id"]), "--org", "Globex").stdout
    assert "seen by fewer than 3 organizations" in mine and "yours: seen 3 times in 1 sightings" in mine
    operator = json.loads(run(home, "sighting", "show", str(INDICATOR["id"]), "--json").stdout)
    assert [(o["seen"]["organizations"], o["false_positive"]["organizations"], o["expired"]["organizations"])
            for o in operator] == [(1, 1, 1)]
    refused = run(home, "sighting", "add", "indicator--00000000-0000-4000-8000-000000000000", "--org", "Globex",
                  code=1)
    assert "no object" in refused.output
    usage = run(home, "sighting", "add", str(INDICATOR["id"]), code=2)
    assert "--org" in usage.output


def test_add_and_show_against_a_hub(home: Path) -> None:
    secret = run(home, "key", "create", "--org", "Globex", "--role", "contributor").stdout.strip()
    node = Node.open(Settings.load(home))
    try:
        with served(node) as url:
            added = run(home, "sighting", "add", str(INDICATOR["id"]), "--url", url, "--key", secret, "--anonymous",
                        "--count", "2")
            shown = run(home, "sighting", "show", str(INDICATOR["id"]), "--url", url, "--key", secret).stdout
            refused = run(home, "sighting", "add", "indicator--00000000-0000-4000-8000-000000000000", "--url",
                          url, "--key", secret, code=1)
    finally:
        node.close()
    sighting_id = added.stdout.split()[0]
    with Node.open(Settings.load(home)) as again:
        stored = json.loads(again.backend.store.get(sighting_id).canonical)
    assert stored["x_phalanx_anonymous"] is True and "created_by_ref" not in stored and stored["count"] == 2
    assert "yours: seen 2 times in 1 sightings" in shown
    assert "no object" in refused.output
