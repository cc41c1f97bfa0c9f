"""The `phalanx` command end to end, on a real SQLite node in a temporary home folder."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from phalanx.cli import cli
from tests.conformance.conftest import postgres_schema
from tests.support import INDICATOR, OASIS, bundle


def run(home: Path, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture
def node_home(tmp_path: Path) -> Path:
    home = tmp_path / "node"
    run(home, "init")
    run(home, "community", "add", "isac", "--title", "Test ISAC")
    run(home, "org", "add", "ACME CERT", "--sector", "energy")
    run(home, "community", "join", "isac", "ACME CERT")
    return home


def test_init_is_repeatable_and_upgrades(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert "Phalanx node in" in run(home, "init").output
    assert (home / "phalanx.db").exists()
    run(home, "init")
    assert "nothing to apply" in run(home, "db", "upgrade").output


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    result = run(tmp_path / "missing", "org", "list", ok=False)
    assert result.exit_code != 0 and "phalanx init" in result.output


def test_directory_commands(node_home: Path) -> None:
    orgs = json.loads(run(node_home, "org", "list", "--json").output)
    assert [o["name"] for o in orgs] == ["ACME CERT"] and orgs[0]["id"].startswith("identity--")
    assert "ACME CERT" in run(node_home, "community", "list").output
    assert "isac" in run(node_home, "collection", "list").output
    created = run(node_home, "key", "create", "--org", "ACME CERT", "--role", "reader", "--label", "siem")
    secret = created.stdout.strip()
    assert secret.startswith("phx_") and "shown once" in created.stderr
    key_id = secret.split("_")[1]
    listing = run(node_home, "key", "list").output
    assert key_id in listing and "active" in listing and secret not in listing
    run(node_home, "key", "revoke", key_id)
    assert "revoked" in run(node_home, "key", "list", "--org", "ACME CERT").output


def test_errors_name_the_cause_and_the_remedy(node_home: Path) -> None:
    result = run(node_home, "community", "join", "isac", "Nobody Inc", ok=False)
    assert result.exit_code == 1
    assert "error:" in result.stderr and "what to do:" in result.stderr
    dup = run(node_home, "org", "add", "acme cert", ok=False)
    assert dup.exit_code == 1 and "error:" in dup.stderr
    bad = run(node_home, "community", "add", "Bad Name!", ok=False)
    assert bad.exit_code == 1 and "lowercase" in bad.stderr


def test_import_export_and_stats(node_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    broken = dict(INDICATOR, id="indicator--0f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa", confidence=101)
    source.write_bytes(bundle(INDICATOR, broken))
    result = run(node_home, "import", "--org", "ACME CERT", str(source), ok=False)
    assert result.exit_code == 2
    assert "1 accepted (1 new), 1 refused" in result.stdout
    assert "confidence" in result.stderr and broken["id"] in result.stderr
    out = tmp_path / "out.json"
    run(node_home, "export", "--type", "indicator", "-o", str(out))
    exported = json.loads(out.read_bytes())
    assert exported["type"] == "bundle"
    assert [o["id"] for o in exported["objects"]] == [INDICATOR["id"]]
    stats = json.loads(run(node_home, "stats", "--json").output)
    assert stats["versions"] == 1 and stats["versions_per_type"] == {"indicator": 1} and stats["organizations"] == 1


def test_import_oasis_examples_and_jsonl(node_home: Path, tmp_path: Path) -> None:
    files = sorted(OASIS.glob("*.json"))
    if not files:
        pytest.skip("needs ../shared/data/stix/oasis-examples")
    result = run(node_home, "import", "--org", "ACME CERT", "--collection", "isac", *map(str, files))
    assert "0 refused" in result.stdout
    lines = tmp_path / "objs.jsonl"
    lines.write_text(json.dumps(INDICATOR) + "\n")
    assert "1 accepted" in run(node_home, "import", "--org", "ACME CERT", str(lines)).stdout


def _commands(group: click.Group, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, [*path, name])
        else:
            found.append([*path, name])
    return found


def test_every_command_has_help(tmp_path: Path) -> None:
    for path in _commands(cli, []):
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3, path


def test_a_node_on_postgresql(tmp_path: Path) -> None:
    with postgres_schema() as url:
        home = tmp_path / "pg-node"
        run(home, "init", "--database", url)
        assert "database_url" in (home / "phalanx.toml").read_text()
        run(home, "community", "add", "isac")
        run(home, "org", "add", "ACME CERT")
        run(home, "community", "join", "isac", "ACME CERT")
        source = tmp_path / "in.json"
        source.write_bytes(bundle(INDICATOR))
        assert "1 accepted (1 new)" in run(home, "import", "--org", "ACME CERT", str(source)).stdout
        stats = json.loads(run(home, "stats", "--json").output)
        assert stats["database"] == "postgresql" and stats["versions"] == 1


def test_users_and_their_keys(node_home: Path) -> None:
    run(node_home, "user", "add", "alice", "--org", "ACME CERT", "--role", "contributor")
    assert "alice" in run(node_home, "user", "list", "--org", "ACME CERT").output
    key = run(node_home, "key", "create", "--user", "alice").stdout.strip()
    assert key.startswith("phx_")
    assert "contributor" in run(node_home, "key", "list").output
    narrower = run(node_home, "key", "create", "--user", "alice", "--role", "reader")
    assert narrower.exit_code == 0
    wider = run(node_home, "key", "create", "--user", "alice", "--role", "admin", ok=False)
    assert wider.exit_code == 1 and "cannot hold a key with role admin" in wider.stderr
    neither = run(node_home, "key", "create", ok=False)
    assert neither.exit_code == 1 and "--org" in neither.stderr


@pytest.mark.parametrize("args", [["org", "add", "bad\udcffname"], ["org", "add", "X", "--sector", "\udcff"]])
def test_names_that_are_not_utf8_are_refused(node_home: Path, args: list[str]) -> None:
    result = run(node_home, *args, ok=False)
    assert result.exit_code == 1 and "error:" in result.stderr


def test_a_file_that_is_not_what_its_name_says(node_home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "feed.jsonl.gz"
    fake.write_bytes(b'{"not": "gzip"}\n')
    result = run(node_home, "import", "--org", "ACME CERT", str(fake), ok=False)
    assert result.exit_code == 1 and "cannot read" in result.stderr and "what to do" in result.stderr


def test_import_on_behalf_of_a_non_member_is_refused(node_home: Path, tmp_path: Path) -> None:
    run(node_home, "org", "add", "Outsider")
    source = tmp_path / "in.json"
    source.write_bytes(bundle(INDICATOR))
    result = run(node_home, "import", "--org", "Outsider", str(source), ok=False)
    assert result.exit_code == 1 and "not a member" in result.stderr


def test_one_bad_file_does_not_stop_the_others(node_home: Path, tmp_path: Path) -> None:
    good, bad, good2 = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "good2.json"
    good.write_bytes(bundle(INDICATOR))
    bad.write_bytes(b'{"type": "bundle", "objects": [')
    good2.write_bytes(bundle(dict(INDICATOR, id="indicator--2a3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa")))
    result = run(node_home, "import", "--org", "ACME CERT", str(good), str(bad), str(good2), ok=False)
    assert result.exit_code == 1
    assert f"error: {bad}: not valid JSON" in result.stderr
    assert f"{good2}: 1 accepted (1 new)" in result.stdout


def test_strict_refusals_of_custom_content_suggest_tolerant(node_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "custom.json"
    source.write_bytes(bundle(dict(INDICATOR, x_acme_score=3)))
    result = run(node_home, "import", "--org", "ACME CERT", str(source), ok=False)
    assert result.exit_code == 2 and "--tolerant" in result.stderr
    assert "1 accepted" in run(node_home, "import", "--tolerant", "--org", "ACME CERT", str(source)).stdout


def test_export_takes_comma_separated_types(node_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(bundle(INDICATOR))
    run(node_home, "import", "--org", "ACME CERT", str(source))
    out = json.loads(run(node_home, "export", "--type", "malware,indicator").stdout)
    assert [o["id"] for o in out["objects"]] == [INDICATOR["id"]]


def test_repeated_revocation_and_duplicate_names_say_what_happened(node_home: Path) -> None:
    key_id = run(node_home, "key", "create", "--org", "ACME CERT").stdout.strip().split("_")[1]
    run(node_home, "key", "revoke", key_id)
    assert "already revoked" in run(node_home, "key", "revoke", key_id).output
    dup = run(node_home, "org", "add", "ACME CERT", ok=False)
    listed = json.loads(run(node_home, "org", "list", "--json").output)[0]["id"]
    assert listed in dup.stderr and "org list" in dup.stderr


def test_serve_on_a_busy_port_says_so_before_claiming_to_serve(node_home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(node_home, "serve", "--port", str(port), ok=False)
    assert result.exit_code == 1
    assert "serving" not in result.stdout and "PHALANX_PORT" in result.stderr


def test_show_refused_zero_lists_every_refusal(node_home: Path, tmp_path: Path) -> None:
    """More than the thousand refusals a summary keeps by default: --show-refused 0 lists them all, and the
    tolerant hint counts them all."""
    lines = [json.dumps(dict(INDICATOR, id=f"indicator--00000000-0000-4000-8000-{n:012d}", x_custom=1))
             for n in range(1203)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(node_home, "import", "--org", "ACME CERT", "--show-refused", "0", str(feed), ok=False)
    assert result.exit_code == 2
    assert result.stderr.count("  refused #") == 1203 and "more refused" not in result.stderr
    assert "1203 of the refusals are custom content" in result.stderr
    short = run(node_home, "import", "--org", "ACME CERT", str(feed), ok=False)
    assert short.stderr.count("  refused #") == 20 and "and 1183 more refused" in short.stderr
    assert "1000 of the first 1000 refusals" in short.stderr


def test_policy_explain_names_the_recipients_and_the_reason(node_home: Path, tmp_path: Path) -> None:
    run(node_home, "org", "add", "Globex")
    run(node_home, "community", "join", "isac", "Globex")
    run(node_home, "org", "add", "Initech")
    run(node_home, "community", "join", "isac", "Initech")
    run(node_home, "user", "add", "alice", "--org", "Initech")
    amber = dict(INDICATOR, object_marking_refs=["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"])
    (tmp_path / "amber.json").write_text(bundle(amber).decode(), encoding="utf-8")
    run(node_home, "import", "--org", "ACME CERT", "--recipients", "Initech", "--people", "alice",
        str(tmp_path / "amber.json"))
    globex = run(node_home, "key", "create", "--org", "Globex", "--role", "reader").stdout.strip()
    text = run(node_home, "policy", "explain", "--key", globex, "--object", INDICATOR["id"]).output
    assert "shared by ACME CERT with Initech, alice (person)" in text
    assert "DOES NOT SEE IT: TLP:AMBER: the sharer listed the recipient organizations, and yours is not one" in text
    report = json.loads(run(node_home, "policy", "explain", "--key", globex, "--object", INDICATOR["id"],
                            "--json").output)
    assert report["versions"][0]["recipients"] == "Initech, alice (person)"
    assert report["versions"][0]["decision"]["allowed"] is False and report["organization"] == "Globex"
