"""Signing and the ledger from the command line: a member signs, the hub logs, anyone verifies offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.ledger import PublicKey
from tests.cli.test_cli import run
from tests.support import INDICATOR, bundle, make_world
from tests.taxii.test_interop import serving


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    home = tmp_path / "hub"
    run(home, "init")
    run(home, "community", "add", "isac", "--title", "Test ISAC")
    run(home, "org", "add", "ACME CERT")
    run(home, "org", "add", "Globex")
    run(home, "community", "join", "isac", "ACME CERT")
    run(home, "community", "join", "isac", "Globex")
    run(home, "collection", "add", "Intel", "--community", "isac")
    return home


def _org_id(home: Path, name: str) -> str:
    return next(o["id"] for o in json.loads(run(home, "org", "list", "--json").output) if o["name"] == name)


def test_sign_import_prove_and_verify_offline(hub: Path, tmp_path: Path) -> None:
    acme = _org_id(hub, "ACME CERT")
    member = tmp_path / "member"
    member.mkdir()
    # On the member's machine: a key (no node needed: the organization is named by its identity id).
    out = run(member, "signing-key", "generate", "--org", acme, "--out", str(member / "acme.key")).output
    assert "acme.key.pub" in out
    assert (member / "acme.key").stat().st_mode & 0o077 == 0
    assert run(member, "signing-key", "generate", "--org", acme, "--out", str(member / "acme.key"),
               ok=False).exit_code != 0  # never overwritten
    source = tmp_path / "intel.json"
    source.write_bytes(bundle({**INDICATOR, "created_by_ref": acme}))
    signed = tmp_path / "signed.json"
    run(member, "sign", str(source), "--key", str(member / "acme.key"), "-o", str(signed))
    # On the hub: publish the public half, import the signed bundle.
    run(hub, "import", str(signed), "--org", "ACME CERT", "--collection", "Intel", ok=False)  # unknown key yet
    assert "published key" in run(hub, "signing-key", "publish", str(member / "acme.key.pub")).output
    assert "1 accepted (1 new)" in run(hub, "import", str(signed), "--org", "ACME CERT", "--collection",
                                       "Intel").output
    checkpoint = run(hub, "ledger", "checkpoint").output
    assert checkpoint.splitlines()[1] == "2"  # the key entry and the object
    run(hub, "ledger", "trust", "-o", str(tmp_path / "trust.json"))
    secret = run(hub, "key", "create", "--org", "Globex", "--role", "reader").output.split("(")[0].strip()
    run(hub, "ledger", "prove", INDICATOR["id"], "--collection", "Intel", "--key", secret,
        "-o", str(tmp_path / "proof.json"))
    # Anywhere: verify with only the bundle and the trust file.
    verified = run(tmp_path, "verify", str(tmp_path / "proof.json"), "--trust", str(tmp_path / "trust.json"),
                   "--json").output
    assert json.loads(verified)["signer"] == acme
    text = run(tmp_path, "verify", str(tmp_path / "proof.json"), "--trust", str(tmp_path / "trust.json")).output
    assert f"signed by {acme}" in text and "entry 1 of 2" in text
    proof = json.loads((tmp_path / "proof.json").read_text())
    proof["object"]["name"] = "something else"
    (tmp_path / "forged.json").write_text(json.dumps(proof))
    refused = run(tmp_path, "verify", str(tmp_path / "forged.json"), "--trust", str(tmp_path / "trust.json"),
                  ok=False)
    assert refused.exit_code == 1 and "changed after the node logged it" in refused.output
    needs_witness = run(tmp_path, "verify", str(tmp_path / "proof.json"), "--trust", str(tmp_path / "trust.json"),
                        "--witnesses", "1", ok=False)
    assert needs_witness.exit_code != 0 and "witnesses" in needs_witness.output


def test_import_sign_custodial_and_key_lifecycle(hub: Path, tmp_path: Path) -> None:
    acme = _org_id(hub, "ACME CERT")
    run(hub, "signing-key", "generate", "--org", "ACME CERT", "--out", str(tmp_path / "k"))
    run(hub, "signing-key", "publish", str(tmp_path / "k"))  # a key file: only its public half is used
    key_id = json.loads((tmp_path / "k.pub").read_text())["key"]
    source = tmp_path / "intel.json"
    source.write_bytes(bundle({**INDICATOR, "created_by_ref": acme}))
    assert "1 accepted" in run(hub, "import", str(source), "--org", "ACME CERT", "--sign", str(tmp_path / "k"),
                               "--collection", "Intel").output
    listed = json.loads(run(hub, "signing-key", "list", "--json").output)
    assert [k["key"] for k in listed] == [key_id]
    run(hub, "signing-key", "compromised", key_id, "--at", "2020-01-01T00:00:00Z")
    assert "compromised from 2020" in run(hub, "signing-key", "list").output
    again = tmp_path / "again.json"
    again.write_bytes(bundle({**INDICATOR, "id": "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
                              "created_by_ref": acme}))
    refused = run(hub, "import", str(again), "--org", "ACME CERT", "--sign", str(tmp_path / "k"), "--collection",
                  "Intel", ok=False)
    assert refused.exit_code == 2 and "compromised" in refused.output + refused.stderr
    assert "custodial key" in run(hub, "signing-key", "custodial", "--org", "Globex").output
    assert "witness key" in run(hub, "ledger", "witness", "list").output


def test_publish_signs_on_the_members_machine_and_sends_over_http(tmp_path: Path) -> None:
    world = make_world(Settings(database_url=f"sqlite:///{tmp_path}/hub.db"))
    try:
        secret, _ = world.node.admin.create_key(world.acme.id, Role.CONTRIBUTOR)
        run(tmp_path, "signing-key", "generate", "--org", world.acme.id, "--out", str(tmp_path / "k"))
        key_id = json.loads((tmp_path / "k.pub").read_text())["key"]
        source = tmp_path / "intel.json"
        source.write_bytes(bundle({**INDICATOR, "created_by_ref": world.acme.id}))
        with serving(world.node) as url:
            refused = run(tmp_path, "publish", str(source), "--url", url, "--collection", "isac", "--key", secret,
                          "--sign", str(tmp_path / "k"), ok=False)
            assert refused.exit_code == 2 and f"no signing key {key_id}" in refused.output
            world.node.provenance.publish(None, PublicKey.from_record(json.loads((tmp_path / "k.pub").read_text())))
            assert "1 accepted, 0 refused" in run(tmp_path, "publish", str(source), "--url", url, "--collection",
                                                  "isac", "--key", secret, "--sign", str(tmp_path / "k")).output
            assert run(tmp_path, "ledger", "checkpoint", "--url", url).output.splitlines()[1] == "2"
            proof = run(tmp_path, "ledger", "prove", INDICATOR["id"], "--collection", "isac", "--key", secret,
                        "--url", url).output
            assert json.loads(proof)["entry"]["signature"]["key"] == key_id
    finally:
        world.node.close()


def test_a_monitor_sees_the_log_grow_and_catches_a_fork(tmp_path: Path) -> None:
    import base64

    from phalanx.ledger._bundle import Trust
    from phalanx.ledger._note import Checkpoint, sign_note

    world = make_world(Settings(database_url=f"sqlite:///{tmp_path}/hub.db"))
    try:
        node = world.node
        trust = tmp_path / "trust.json"
        trust.write_text(json.dumps(Trust(node.ledger.origin, tuple(node.ledger.verifier_keys)).record()))
        state = tmp_path / "seen.txt"
        node.ingest.document(world.contributor, "isac", bundle(INDICATOR))
        node.sequencer.run_once()
        with serving(node) as url:
            args = ("ledger", "verify", "--url", url, "--trust", str(trust), "--state", str(state))
            assert "first checkpoint seen: 1 entries" in run(tmp_path, *args).output
            node.ingest.document(world.contributor, "isac", bundle({**INDICATOR, "id": "indicator--"
                                                                    "0c7b5ef0-9c5a-4c36-9a33-4f6b4c3b2a10"}))
            node.sequencer.run_once()
            assert "consistent: 1 -> 2 entries" in run(tmp_path, *args).output
            # The operator signs another history of the same size for someone else: the monitor has both.
            forged = sign_note(Checkpoint(node.ledger.origin, 2, base64.b64decode(
                "4W7BJuLO4nPeAdhhyMgih1qUSgh5/drGZrgVrVe930I=")).body(), *node.ledger.signers)
            state.write_text(forged)
            caught = run(tmp_path, *args, ok=False)
            assert caught.exit_code == 1 and "INCONSISTENT" in caught.output + caught.stderr
            assert forged in caught.output + caught.stderr
    finally:
        world.node.close()
