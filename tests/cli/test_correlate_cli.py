"""`phalanx correlate` and `phalanx db reindex`, on a real SQLite node in a temporary home folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phalanx.cli import cli
from tests.support import INDICATOR, bundle

SHA256 = "4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"
SCO = {"type": "file", "spec_version": "2.1", "id": "file--00000000-0000-5000-8000-000000000001",
       "name": "invoice.exe", "hashes": {"SHA-256": SHA256.upper()}}


def run(home: Path, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture
def node_home(tmp_path: Path) -> Path:
    """ACME shares the Poison Ivy indicator (a SHA-256 in its pattern); Globex the file with that hash."""
    home = tmp_path / "node"
    run(home, "init")
    run(home, "community", "add", "isac", "--title", "Test ISAC")
    for name in ("ACME CERT", "Globex"):
        run(home, "org", "add", name)
        run(home, "community", "join", "isac", name)
    (tmp_path / "acme.json").write_bytes(bundle(INDICATOR))
    (tmp_path / "globex.json").write_bytes(bundle(SCO))
    run(home, "import", "--org", "ACME CERT", str(tmp_path / "acme.json"))
    run(home, "import", "--org", "Globex", str(tmp_path / "globex.json"))
    return home


def test_correlate_a_value(node_home: Path) -> None:
    out = run(node_home, "correlate", SHA256.upper()).output
    assert out.splitlines()[0].startswith(f"sha256 {SHA256}: reported by 1 organization (1 indicator), first by "
                                          "ACME CERT at ")
    assert f"{SCO['id']}  (an observation)" in out
    assert INDICATOR["id"] in out and SCO["id"] in out
    answer = json.loads(run(node_home, "correlate", SHA256, "--json", "--org", "Globex").output)
    assert answer["reported_by"] == 1 and answer["first"]["name"] == "ACME CERT" and len(answer["objects"]) == 2
    nobody = run(node_home, "correlate", "198.51.100.7").output
    assert nobody.strip() == "ipv4-addr 198.51.100.7: reported by nobody you may read"


def test_correlate_an_object_and_its_neighbourhood(node_home: Path) -> None:
    out = run(node_home, "correlate", "--object", str(INDICATOR["id"])).output
    assert out.splitlines()[0] == f"{INDICATOR['id']}: 1 observable" and SCO["id"] in out
    graph = json.loads(run(node_home, "correlate", "--neighbourhood", str(INDICATOR["id"]), "--json").output)
    assert {n["id"] for n in graph["nodes"]} == {INDICATOR["id"], SCO["id"]}
    assert [e["reason"] for e in graph["edges"]] == [f"shares sha256 {SHA256}"]
    text = run(node_home, "correlate", "--neighbourhood", str(INDICATOR["id"])).output
    assert f"shares sha256 {SHA256}" in text


def test_correlate_errors_say_what_to_do(node_home: Path) -> None:
    result = run(node_home, "correlate", "what is this", ok=False)
    assert result.exit_code == 1 and "cannot tell what" in result.stderr and "what to do" in result.stderr
    missing = run(node_home, "correlate", "--object", "indicator--00000000-0000-4000-8000-00000000ffff", ok=False)
    assert missing.exit_code == 1 and "no object" in missing.stderr
    both = run(node_home, "correlate", "--object", "--neighbourhood", "x", ok=False)
    assert both.exit_code == 2


def test_db_reindex(node_home: Path) -> None:
    assert run(node_home, "db", "reindex").output.strip() == "reindexed 2 versions"
    assert "reported by 1 organization" in run(node_home, "correlate", SHA256).output
