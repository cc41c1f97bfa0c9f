"""Security review of the provenance / transparency-log change (979d351..HEAD): one test per confirmed bug.

Each test was first an ``xfail(strict=True)`` naming the bug; the markers went with the fixes.
"""

from __future__ import annotations

import base64
import copy
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.errors import Error, KeyNotValid, UnknownKey, UnreadableInput
from phalanx.identity import Actor, Role
from phalanx.ledger import EXTENSION_ID, PublicKey, generate_key, key_id_of, sign_object
from phalanx.ledger._bundle import Trust, verify_bundle
from phalanx.ledger._merkle import EMPTY_ROOT
from phalanx.ledger._note import Checkpoint, generate_ed25519, sign_note, signer_from_key
from phalanx.service._delete import Deletion
from phalanx.service._ingest import Ingest
from phalanx.service._provenance import Provenance
from phalanx.service._sequencer import Sequencer
from phalanx.stix import Tlp, now_micros, parse_micros
from phalanx.web import create_app
from tests.support import INDICATOR, World, bundle, make_world


@pytest.fixture
def sql_world(tmp_path: Path) -> Iterator[World]:
    w = make_world(Settings(database_url=f"sqlite:///{tmp_path}/node.db"))
    yield w
    w.node.close()


def _indicator(**extra: Any) -> dict[str, Any]:
    return {**INDICATOR, "id": f"indicator--{uuid.uuid4()}", "object_marking_refs": [Tlp.GREEN.value], **extra}


def _trust(world: World) -> Trust:
    return Trust(world.node.ledger.origin, tuple(world.node.ledger.verifier_keys))


def _outcomes(world: World, *objects: dict[str, Any], **options: Any) -> list[tuple[str, str]]:
    results = world.node.ingest.document(world.contributor, "isac", bundle(*objects), **options)
    return [(r.outcome, r.detail) for r in results]


# -- 1. key publication ----------------------------------------------------------------------------------------


def test_republishing_a_compromised_key_does_not_lift_the_compromise(world: World) -> None:
    node = world.node
    admin = Actor(world.acme.id, Role.ORG_ADMIN)
    key = generate_key(world.acme.id, now=now_micros())
    node.provenance.publish(admin, key.public)
    at = now_micros()
    node.provenance.compromised(admin, key.key_id, at=at)
    with pytest.raises(KeyNotValid, match="published already, with other times"):
        node.provenance.publish(admin, key.public)  # the original record: no compromised_after
    assert node.provenance.key(key.key_id).compromised_after == at


def test_a_key_cannot_be_published_for_an_organization_that_does_not_hold_it(world: World) -> None:
    node = world.node
    acme_key = generate_key(world.acme.id, now=now_micros())  # the private half never leaves ACME
    with pytest.raises(UnreadableInput, match="does not match the key material"):  # the id binds the org
        PublicKey.from_record({**acme_key.public.record(), "org": world.globex.id})
    # Globex can publish ACME's public key under an id of its own, which no ACME signature names.
    squatted = replace(acme_key.public, org=world.globex.id,
                       key_id=key_id_of("ed25519", world.globex.id, acme_key.public.ed25519, None))
    node.provenance.publish(Actor(world.globex.id, Role.ORG_ADMIN), PublicKey.from_record(squatted.record()))
    assert squatted.key_id != acme_key.key_id
    node.provenance.publish(Actor(world.acme.id, Role.ORG_ADMIN), acme_key.public)
    signed = sign_object(_indicator(), acme_key)  # ACME's own signature, no created_by_ref
    assert _outcomes(world, signed) == [("accepted", "added")]
    node.sequencer.run_once()
    proof = node.provenance.bundle(world.reader, node.reader, "isac", signed["id"])
    assert verify_bundle(proof, _trust(world)).signer == world.acme.id


def test_a_published_key_cannot_be_rebound_to_another_organization_by_a_second_process(
        sql_world: World) -> None:
    world = sql_world
    node = world.node
    other_process = Provenance(node.ledger, node.backend.directory, node.settings, now_micros)
    key = generate_key(world.acme.id, now=now_micros())
    with pytest.raises(UnknownKey):
        other_process.key(key.key_id)  # e.g. an object naming the key reached this process first
    node.provenance.publish(Actor(world.acme.id, Role.ORG_ADMIN), key.public)
    with pytest.raises(KeyNotValid, match="another organization"):
        other_process.publish(Actor(world.globex.id, Role.ORG_ADMIN), replace(key.public, org=world.globex.id))
    fresh = Provenance(node.ledger, node.backend.directory, node.settings, now_micros)
    assert fresh.key(key.key_id).org == world.acme.id


def test_a_small_order_ed25519_key_is_refused() -> None:
    identity_point = bytes([1]) + bytes(31)
    record = {"key": key_id_of("ed25519", "identity--9784ecc6-0b4f-4aac-8691-93585b543f4e", identity_point, None),
              "org": "identity--9784ecc6-0b4f-4aac-8691-93585b543f4e", "algorithm": "ed25519",
              "ed25519": base64.b64encode(identity_point).decode(), "not_before": "2026-01-01T00:00:00.000000Z"}
    with pytest.raises(UnreadableInput, match="small-order point"):
        PublicKey.from_record(record)


# -- 2. ingest ---------------------------------------------------------------------------------------------------


def test_an_ed25519_block_cannot_carry_an_ml_dsa_field_nobody_checks(world: World) -> None:
    key = generate_key(world.acme.id, now=now_micros())
    world.node.provenance.publish(None, key.public)
    changed = sign_object(_indicator(created_by_ref=world.acme.id), key)
    changed["extensions"][EXTENSION_ID]["ml_dsa_44"] = base64.b64encode(b"not a signature").decode()
    [(outcome, _)] = _outcomes(world, changed)
    assert outcome == "refused"


def test_an_unsigned_object_that_mentions_the_extension_id_is_not_refused(world: World) -> None:
    mention = _indicator(description=f"Phalanx signs objects with {EXTENSION_ID}.")
    assert _outcomes(world, mention) == [("accepted", "added")]


def test_custodial_signing_refuses_one_object_not_the_whole_document() -> None:
    w = make_world(Settings(database_url="memory://", max_depth=100))
    try:
        w.node.provenance.custodial(None, w.acme.id)
        deep: Any = "x"
        for _ in range(70):
            deep = [deep]
        results = w.node.ingest.document(w.contributor, "isac", bundle(_indicator(), _indicator(x_deep=deep)),
                                         tolerant=True)
        assert results[0].outcome == "accepted"
    finally:
        w.node.close()


def test_unknown_key_ids_do_not_grow_the_key_cache_without_bound(world: World) -> None:
    template = sign_object(_indicator(), generate_key(world.acme.id, now=now_micros()))
    objects = []
    for _ in range(5000):
        obj = copy.deepcopy(template)
        obj["id"] = f"indicator--{uuid.uuid4()}"
        obj["extensions"][EXTENSION_ID]["key"] = "phx1-" + secrets.token_hex(16)
        objects.append(obj)
    assert {o for o, _ in _outcomes(world, *objects)} == {"refused"}
    assert len(world.node.provenance._cache) < 5000


# -- 3. the log follows the store --------------------------------------------------------------------------------


def test_a_version_stored_between_the_pre_delete_sync_and_the_delete_is_logged(world: World) -> None:
    node = world.node
    # An ingest that does not wake the sequencer thread, so nothing but the code under test syncs the ledger.
    ingest = Ingest(node.backend.store, node.backend.directory, node.settings, provenance=node.provenance)
    first = _indicator()
    second = {**first, "modified": "2016-04-07T00:00:00.000Z", "name": "second version"}
    assert [r.outcome for r in ingest.document(world.contributor, "isac", bundle(first))] == ["accepted"]

    shared = False

    def logged() -> int:
        nonlocal shared
        cursor = node.ledger.logged()
        if not shared:  # ... and a concurrent share of a new version commits right here.
            shared = True
            assert [r.outcome for r in ingest.document(world.contributor, "isac", bundle(second))] == ["accepted"]
        return cursor

    Deletion(node.backend.store, node.reader, logged=logged).delete(world.contributor, "isac", [first["id"]])
    node.ledger.sync()
    logged = {parse_micros(e["version"]) for _, e, _ in node.ledger.find(first["id"])}
    assert parse_micros(second["modified"]) in logged


# -- 5. witnessing -----------------------------------------------------------------------------------------------


def test_a_checkpoint_signed_for_a_proof_bundle_is_handed_to_the_witnesses(world: World) -> None:
    node = world.node
    submitted: list[int] = []
    sequencer = Sequencer(node.ledger, after_checkpoint=lambda checkpoint: submitted.append(checkpoint.size))
    ingest = Ingest(node.backend.store, node.backend.directory, node.settings, provenance=node.provenance)
    first, second = _indicator(), _indicator()
    ingest.document(world.contributor, "isac", bundle(first))
    sequencer.run_once()
    ingest.document(world.contributor, "isac", bundle(second))
    node.provenance.bundle(world.reader, node.reader, "isac", second["id"])  # a member asks for its proof first
    sequencer.run_once()
    latest = node.ledger.latest()
    assert latest is not None and submitted[-1] == latest.size


# -- 6. robustness -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["1.5", '"x"'])
def test_verify_bundle_raises_only_phalanx_errors_on_a_deeply_nested_object(leaf: str) -> None:
    skey, vkey = generate_ed25519("log.example")
    note = sign_note(Checkpoint("log.example", 1, EMPTY_ROOT).body(), signer_from_key(skey))
    nested = b"[" * 1000 + leaf.encode() + b"]" * 1000
    data = (b'{"type":"phalanx-proof-bundle","version":1,"object":{"x":' + nested
            + b'},"entry":{},"index":0,"proof":[],"checkpoint":' + orjson.dumps(note) + b"}")
    with pytest.raises(Error):
        verify_bundle(orjson.loads(data), Trust("log.example", (vkey,)))


# -- 4. information leaks ----------------------------------------------------------------------------------------


def test_anonymous_callers_cannot_list_the_organizations_and_their_key_incidents(world: World) -> None:
    key = generate_key(world.outsider.id, now=now_micros())
    world.node.provenance.publish(None, key.public)
    world.node.provenance.compromised(None, key.key_id, at=now_micros())
    with TestClient(create_app(world.node), base_url="http://phalanx.test") as client:
        listing = client.get("/api/v1/ledger/keys")
        probe = client.get("/api/v1/ledger/keys", params={"org": "Outsider Inc"})
    assert listing.status_code == 401, listing.text
    assert probe.status_code == 401, probe.text
