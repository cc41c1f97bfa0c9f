"""Signed contributions through the service layer: ingest verifies, the log records, bundles prove (every backend)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from phalanx.config import Settings
from phalanx.errors import KeyNotValid, NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.ledger import EXTENSION_ID, generate_key, read_signature, sign_object
from phalanx.ledger._bundle import Trust, verify_bundle
from phalanx.stix import Tlp, now_micros
from phalanx.store import Query
from tests.support import INDICATOR, World, bundle, make_world


def _indicator(world: World, **extra: Any) -> dict[str, Any]:
    return {**INDICATOR, "id": f"indicator--{uuid.uuid4()}", "created_by_ref": world.acme.id,
            "object_marking_refs": [Tlp.GREEN.value], **extra}


def _trust(world: World) -> Trust:
    return Trust(world.node.ledger.origin, tuple(world.node.ledger.verifier_keys))


def _share(world: World, *objects: dict[str, Any]) -> list[str]:
    return [r.detail for r in world.node.ingest.document(world.contributor, "isac", bundle(*objects))]


def test_signed_objects_are_verified_logged_and_provable(world: World) -> None:
    node = world.node
    key = generate_key(world.acme.id, now=now_micros())
    node.provenance.publish(None, key.public)
    good = sign_object(_indicator(world), key)
    tampered = {**sign_object(_indicator(world), key), "name": "changed after signing"}
    stranger = sign_object(_indicator(world), generate_key(world.acme.id, now=now_micros()))
    impostor = sign_object(_indicator(world, created_by_ref=world.globex.id), key)
    assert _share(world, good, tampered, stranger, impostor) == [
        "added",
        f"signature: the Ed25519 signature does not verify with key {key.key_id}",
        f"signature: no signing key {stranger['extensions'][EXTENSION_ID]['key']} is published on this node",
        f"signature: {impostor['id']} names {world.globex.id} as its creator but is signed with a key of "
        f"{world.acme.id}",
    ]
    node.sequencer.run_once()
    (index, entry, _), = node.ledger.find(good["id"])
    assert entry["signature"] == {k: v for k, v in good["extensions"][EXTENSION_ID].items()
                                  if k != "extension_type"}
    for refused in (tampered, stranger, impostor):
        assert node.ledger.find(refused["id"]) == []  # refused objects never reach the log
    proof = node.provenance.bundle(world.reader, node.reader, "isac", good["id"])
    verified = verify_bundle(proof, _trust(world))
    assert (verified.object_id, verified.signer, verified.key_id, verified.index) == (
        good["id"], world.acme.id, key.key_id, index)


def test_unsigned_objects_follow_the_hub_setting(world: World, tmp_path: Path) -> None:
    assert _share(world, _indicator(world)) == ["added"]
    strict = make_world(Settings(database_url=f"sqlite:///{tmp_path}/strict.db", require_signatures=True))
    try:
        details = [r.detail for r in strict.node.ingest.document(strict.contributor, "isac",
                                                                bundle(_indicator(strict)))]
        assert details[0].startswith("unsigned: this node accepts only signed objects")
        # A custodial key (the organization opted in) signs on the member's behalf.
        custodial = strict.node.provenance.custodial(None, strict.acme.id)
        obj = _indicator(strict)
        assert [r.detail for r in strict.node.ingest.document(strict.contributor, "isac", bundle(obj))] == ["added"]
        stored = strict.node.backend.store.get(obj["id"])
        signature = read_signature(orjson.loads(stored.canonical))
        assert signature is not None and signature.key_id == custodial.key_id
        # The hub never signs for another creator: an object naming Globex stays unsigned (and is refused).
        foreign = _indicator(strict, created_by_ref=strict.globex.id)
        (result,) = strict.node.ingest.document(strict.contributor, "isac", bundle(foreign))
        assert result.detail.startswith("unsigned")
    finally:
        strict.node.close()


def test_rotation_and_compromise(world: World) -> None:
    node = world.node
    old = generate_key(world.acme.id, now=now_micros())
    node.provenance.publish(None, old.public)
    before = sign_object(_indicator(world), old)
    assert _share(world, before) == ["added"]
    new = generate_key(world.acme.id, now=now_micros())
    node.provenance.publish(None, new.public)
    node.provenance.retire(None, old.key_id)
    assert _share(world, sign_object(_indicator(world), new)) == ["added"]
    assert _share(world, sign_object(_indicator(world), old))[0].startswith(f"signature: key {old.key_id} expired")
    # Reported compromised from now: what the log accepted before still verifies, anything later is refused.
    node.provenance.compromised(None, new.key_id, at=now_micros())
    assert "compromised" in _share(world, sign_object(_indicator(world), new))[0]
    node.sequencer.run_once()
    for obj in (before,):
        verify_bundle(node.provenance.bundle(world.reader, node.reader, "isac", obj["id"]), _trust(world))
    # A compromise dated before an acceptance makes that acceptance's bundle fail, offline too.
    node.provenance.compromised(None, old.key_id, at=1)
    node.sequencer.run_once()
    with pytest.raises(KeyNotValid, match="compromised"):
        verify_bundle(node.provenance.bundle(world.reader, node.reader, "isac", before["id"]), _trust(world))
    listed = {k.key_id: k for k in node.provenance.keys(world.acme.id)}
    assert listed[old.key_id].compromised_after == 1 and listed[old.key_id].not_after is not None
    assert [e["kind"] for _, e, _ in node.ledger.find(old.key_id)] == ["key", "key", "key"]  # every change logged


def test_only_an_organizations_admins_publish_its_keys(world: World) -> None:
    node = world.node
    key = generate_key(world.acme.id, now=now_micros()).public
    for actor in (Actor(world.acme.id, Role.CONTRIBUTOR), Actor(world.globex.id, Role.ORG_ADMIN)):
        with pytest.raises(PermissionDenied):
            node.provenance.publish(actor, key)
    node.provenance.publish(Actor(world.acme.id, Role.ORG_ADMIN), key)
    with pytest.raises(PermissionDenied):
        node.provenance.compromised(Actor(world.globex.id, Role.ORG_ADMIN), key.key_id, at=1)
    with pytest.raises(KeyNotValid, match="another organization"):
        node.provenance.publish(None, replace(key, org=world.globex.id))


def test_a_version_deleted_at_once_is_logged_all_the_same(world: World) -> None:
    node = world.node
    obj = _indicator(world)
    assert _share(world, obj) == ["added"]
    node.deletion.delete(world.contributor, "isac", [obj["id"]])
    assert node.backend.store.versions(obj["id"]) == []
    assert [e["id"] for _, e, _ in node.ledger.find(obj["id"])] == [obj["id"]]


def test_a_reader_gets_no_proof_of_what_it_may_not_see(world: World) -> None:
    node = world.node
    red = _indicator(world, object_marking_refs=[Tlp.RED.value])
    assert _share(world, red) == ["added"]
    node.sequencer.run_once()
    assert not node.reader.page(world.reader, Query(collection="isac", ids=(red["id"],))).items
    absent = f"indicator--{uuid.uuid4()}"
    with pytest.raises(NotFound) as hidden:
        node.provenance.bundle(world.reader, node.reader, "isac", red["id"])
    with pytest.raises(NotFound) as missing:
        node.provenance.bundle(world.reader, node.reader, "isac", absent)
    assert hidden.value.message.replace(red["id"], "X") == missing.value.message.replace(absent, "X")


def test_a_copy_with_parts_removed_goes_without_the_signature(world: World) -> None:
    node = world.node
    key = generate_key(world.acme.id, now=now_micros())
    node.provenance.publish(None, key.public)
    obj = sign_object(_indicator(world, description="from our own incident",
                                 granular_markings=[{"marking_ref": Tlp.RED.value, "selectors": ["description"]}]),
                      key)
    assert _share(world, obj) == ["added"]
    (whole,) = node.reader.page(world.contributor, Query(collection="isac", ids=(obj["id"],))).items
    (copy,) = node.reader.page(world.reader, Query(collection="isac", ids=(obj["id"],))).items
    assert read_signature(orjson.loads(whole.canonical)) is not None
    served = orjson.loads(copy.canonical)
    assert "description" not in served and read_signature(served) is None
    with pytest.raises(PermissionDenied, match="parts removed"):
        node.provenance.bundle(world.reader, node.reader, "isac", obj["id"])
    verify_bundle(node.provenance.bundle(world.contributor, node.reader, "isac", obj["id"]), _trust(world))
