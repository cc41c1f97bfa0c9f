"""The ledger's HTTP API in-process over ASGI: checkpoints, consistency proofs, the trust file, signing keys, the
extension-definition of the signature block, and offline proof bundles (who gets one, and that it verifies)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from stix2validator import ValidationOptions, validate_instance

from phalanx.identity import Role
from phalanx.ledger import EXTENSION_DEFINITION, EXTENSION_ID, PHALANX_IDENTITY, generate_key, key_id_of, sign_object
from phalanx.ledger._bundle import Trust, verify_bundle, verify_checkpoint
from phalanx.ledger._merkle import verify_consistency
from phalanx.ledger._note import generate_ed25519
from phalanx.stix import StixObject, Tlp, now_micros, tlp_marking_definition
from phalanx.web import create_app
from tests.support import INDICATOR, World, bundle

CHECKPOINT = "/api/v1/ledger/checkpoint"
CONSISTENCY = "/api/v1/ledger/consistency"
TRUST = "/api/v1/ledger/trust"
KEYS = "/api/v1/ledger/keys"
EXTENSION = "/api/v1/ledger/extension-definition"
STRICT = ValidationOptions(version="2.1", strict=True)


def proof_url(object_id: str, collection: str = "isac") -> str:
    return f"/api/v1/collections/{collection}/objects/{object_id}/proof"


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a handler that crashes is answered 500, as a real server would, and the test
    # sees that status instead of the exception.
    with TestClient(create_app(world.node), base_url="http://phalanx.test", raise_server_exceptions=False) as c:
        yield c


def key_for(world: World, org_id: str | None, role: Role = Role.READER) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(org_id, role)
    return {"Authorization": f"Bearer {secret}"}


def indicator(n: int, **changes: Any) -> dict[str, Any]:
    return dict(INDICATOR, id=f"indicator--{n:08x}-0cce-4b0c-8b5e-0c1f9a55d6aa",
                description=f"indicator number {n}", **changes)


def share(world: World, *objects: dict[str, Any]) -> list[str]:
    results = world.node.ingest.document(world.contributor, "isac", bundle(*objects))
    assert [r.outcome for r in results] == ["accepted"] * len(objects), [r.detail for r in results]
    return [str(o["id"]) for o in objects]


def trust_of(client: TestClient, quorum: int = 0) -> Trust:
    record = client.get(TRUST).json()
    record["quorum"] = quorum
    return Trust.from_record(record)


def assert_json_error(response: Any, status: int | None = None) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["title"] and body["description"] and body["hint"]
    return body


# -- checkpoint and trust ---------------------------------------------------------------------------------------


def test_the_checkpoint_is_public_text_that_verifies_with_the_trust_file(world: World, client: TestClient) -> None:
    share(world, *(indicator(i) for i in range(3)))
    world.node.ledger.sync()
    response = client.get(CHECKPOINT)  # no Authorization header
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    checkpoint, witnesses = verify_checkpoint(response.text, trust_of(client))
    assert checkpoint.origin == world.node.ledger.origin
    assert checkpoint.size >= 3 and witnesses == ()
    assert checkpoint.root == world.node.ledger.root(checkpoint.size)


def test_the_checkpoint_of_an_empty_log_is_signed_on_demand(client: TestClient, world: World) -> None:
    assert world.node.ledger.latest() is None
    checkpoint, _ = verify_checkpoint(client.get(CHECKPOINT).text, trust_of(client))
    assert checkpoint.size == 0


def test_the_trust_file_names_the_log_keys_the_witnesses_and_the_nodes_witness_key(world: World,
                                                                                   client: TestClient) -> None:
    _, witness_vkey = generate_ed25519("witness.example/w1", cosignature=True)
    world.node.backend.ledger.set_witness("w1", "http://127.0.0.1:9/witness", witness_vkey)
    response = client.get(TRUST)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    record = response.json()
    assert record["type"] == "phalanx-trust"
    assert record["origin"] == world.node.ledger.origin
    assert record["log_keys"] == world.node.ledger.verifier_keys
    assert record["witness_keys"] == [witness_vkey]
    assert record["witness_key"] == world.node.ledger.witness_key
    assert Trust.from_record(record) == Trust(world.node.ledger.origin, tuple(world.node.ledger.verifier_keys),
                                              (witness_vkey,), record["quorum"])


@pytest.mark.parametrize("url", [CHECKPOINT + "?size=1", TRUST + "?x=1", EXTENSION + "?v=2"])
def test_public_ledger_endpoints_refuse_unknown_parameters(client: TestClient, url: str) -> None:
    assert_json_error(client.get(url), 400)


# -- consistency -----------------------------------------------------------------------------------------------


def test_consistency_proofs_verify_between_any_two_sizes(world: World, client: TestClient) -> None:
    share(world, *(indicator(i) for i in range(3)))
    world.node.ledger.sync()
    share(world, *(indicator(i) for i in range(3, 8)))
    world.node.ledger.sync()
    size = world.node.ledger.size()
    assert size == 8
    for old, new in [(0, 8), (3, 8), (1, 5), (4, 4), (7, 8), (0, 0)]:
        response = client.get(CONSISTENCY, params={"old": str(old), "new": str(new)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["old"], body["new"]) == (old, new)
        proof = [base64.b64decode(h) for h in body["proof"]]
        verify_consistency(old, new, world.node.ledger.root(old), world.node.ledger.root(new), proof)


@pytest.mark.parametrize("params", [
    {}, {"old": "1"}, {"new": "2"},  # missing
    {"old": "-1", "new": "2"}, {"old": "1", "new": "-2"},  # negative
    {"old": "01", "new": "2"}, {"old": "1", "new": "02"}, {"old": "00", "new": "2"},  # leading zeros
    {"old": "+1", "new": "2"}, {"old": " 1", "new": "2"}, {"old": "1.0", "new": "2"}, {"old": "0x1", "new": "2"},
    {"old": "", "new": "2"}, {"old": "one", "new": "2"},
    {"old": "2", "new": "1"},  # old > new
    {"old": "1", "new": "3"}, {"old": "3", "new": "3"},  # beyond the size (2)
    {"old": "1", "new": "99999999999999999999"}, {"old": "1", "new": "100000000000000000000"},  # 20, 21 digits
    {"old": "1", "new": "2", "other": "x"},
])
def test_bad_consistency_parameters_get_4xx_with_a_json_error(world: World, client: TestClient,
                                                              params: dict[str, str]) -> None:
    share(world, indicator(0), indicator(1))
    world.node.ledger.sync()
    assert world.node.ledger.size() == 2
    assert_json_error(client.get(CONSISTENCY, params=params))


@pytest.mark.parametrize("old", ["²", "①", "\u0661"])
def test_non_ascii_digits_in_a_size_get_400(world: World, client: TestClient, old: str) -> None:
    share(world, indicator(0), indicator(1))
    world.node.ledger.sync()
    assert_json_error(client.get(CONSISTENCY, params={"old": old, "new": "2"}), 400)


# -- signing keys ------------------------------------------------------------------------------------------------


def test_keys_are_listed_to_members_and_published_by_org_admins(world: World, client: TestClient) -> None:
    member = key_for(world, world.globex.id)
    assert_json_error(client.get(KEYS), 401)  # which organizations there are is not for anonymous callers
    assert client.get(KEYS, headers=member).json() == {"keys": []}
    key = generate_key(world.acme.id, now=now_micros()).public
    response = client.post(KEYS, json=key.record(), headers=key_for(world, world.acme.id, Role.ORG_ADMIN))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["key"] == key.record()
    # The key is logged: its entry is in the tree at the index answered.
    entry = world.node.ledger.entry(body["ledger_index"])
    assert entry["kind"] == "key" and entry["key"] == key.key_id
    assert client.get(KEYS, headers=member).json() == {"keys": [key.record()]}
    assert client.get(KEYS, headers=member, params={"org": world.acme.id}).json() == {"keys": [key.record()]}
    assert client.get(KEYS, headers=member, params={"org": world.globex.id}).json() == {"keys": []}
    nobody = "identity--00000000-0000-4000-8000-000000000000"
    assert_json_error(client.get(KEYS, headers=member, params={"org": nobody}), 404)


def test_a_node_admin_publishes_keys_for_any_organization(world: World, client: TestClient) -> None:
    key = generate_key(world.globex.id, now=now_micros()).public
    response = client.post(KEYS, json=key.record(), headers=key_for(world, world.acme.id, Role.ADMIN))
    assert response.status_code == 201, response.text
    listed = client.get(KEYS, headers=key_for(world, world.globex.id), params={"org": world.globex.id}).json()
    assert [k["key"] for k in listed["keys"]] == [key.key_id]


@pytest.mark.parametrize(("who", "role"), [("acme", Role.CONTRIBUTOR), ("acme", Role.READER),
                                           ("globex", Role.ORG_ADMIN), ("outsider", Role.ORG_ADMIN)])
def test_only_admins_of_the_organization_publish_its_keys(world: World, client: TestClient, who: str,
                                                          role: Role) -> None:
    org = {"acme": world.acme, "globex": world.globex, "outsider": world.outsider}[who]
    key = generate_key(world.acme.id, now=now_micros()).public
    response = client.post(KEYS, json=key.record(), headers=key_for(world, org.id, role))
    assert_json_error(response, 403)
    assert client.get(KEYS, headers=key_for(world, world.globex.id)).json() == {"keys": []}
    assert world.node.ledger.size() == 0


def test_publishing_needs_an_api_key(world: World, client: TestClient) -> None:
    key = generate_key(world.acme.id, now=now_micros()).public
    assert_json_error(client.post(KEYS, json=key.record()), 401)


def test_a_record_whose_key_id_does_not_match_its_material_is_refused(world: World, client: TestClient) -> None:
    record = generate_key(world.acme.id, now=now_micros()).public.record()
    other = generate_key(world.acme.id, now=now_micros()).public.record()
    headers = key_for(world, world.acme.id, Role.ORG_ADMIN)
    body = assert_json_error(client.post(KEYS, json=dict(record, key=other["key"]), headers=headers), 400)
    assert "does not match" in body["description"]
    assert_json_error(client.post(KEYS, json=dict(record, ed25519=other["ed25519"]), headers=headers), 400)
    assert_json_error(client.post(KEYS, content=b"{not json", headers=headers), 400)
    assert_json_error(client.post(KEYS, json=[record], headers=headers), 400)
    assert client.get(KEYS, headers=key_for(world, world.globex.id)).json() == {"keys": []}


def test_a_key_published_for_one_organization_cannot_be_claimed_by_another(world: World,
                                                                           client: TestClient) -> None:
    key = generate_key(world.acme.id, now=now_micros()).public
    admin = key_for(world, world.acme.id, Role.ORG_ADMIN)
    assert client.post(KEYS, json=key.record(), headers=admin).status_code == 201
    claimed = dict(key.record(), org=world.globex.id)  # the key id binds the organization too
    for headers in (key_for(world, world.globex.id, Role.ORG_ADMIN), key_for(world, world.globex.id, Role.ADMIN)):
        body = assert_json_error(client.post(KEYS, json=claimed, headers=headers), 400)
        assert "does not match" in body["description"]
    listed = client.get(KEYS, headers=key_for(world, world.globex.id)).json()["keys"]
    assert [k["org"] for k in listed] == [world.acme.id]
    nobody = "identity--00000000-0000-4000-8000-000000000000"
    unknown = dict(key.record(), org=nobody, key=key_id_of(key.algorithm, nobody, key.ed25519, None))
    assert_json_error(client.post(KEYS, json=unknown, headers=key_for(world, world.acme.id, Role.ADMIN)), 404)


def test_retire_and_compromised(world: World, client: TestClient) -> None:
    key = generate_key(world.acme.id, now=now_micros()).public
    admin = key_for(world, world.acme.id, Role.ORG_ADMIN)
    assert client.post(KEYS, json=key.record(), headers=admin).status_code == 201
    url = f"{KEYS}/{key.key_id}"
    # Others may not.
    for headers in (key_for(world, world.globex.id, Role.ORG_ADMIN), key_for(world, world.acme.id, Role.CONTRIBUTOR)):
        assert_json_error(client.post(f"{url}/retire", json={}, headers=headers), 403)
        assert_json_error(client.post(f"{url}/compromised", json={"at": "2030-01-01T00:00:00Z"}, headers=headers),
                          403)
    assert_json_error(client.post(f"{url}/retire", json={}), 401)
    # 'at' is required to report a compromise, and must be a timestamp.
    assert_json_error(client.post(f"{url}/compromised", json={}, headers=admin), 400)
    assert_json_error(client.post(f"{url}/compromised", json={"at": 5}, headers=admin), 400)
    assert_json_error(client.post(f"{url}/compromised", json={"at": "yesterday"}, headers=admin), 400)
    unchanged = client.get(KEYS, headers=key_for(world, world.globex.id)).json()["keys"]
    assert unchanged == [key.record()]
    # The organization's admin may.
    response = client.post(f"{url}/compromised", json={"at": "2030-01-01T00:00:00Z"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["key"]["compromised_after"].startswith("2030-01-01T00:00:00")
    response = client.post(f"{url}/retire", json={"at": "2031-01-01T00:00:00Z"}, headers=admin)
    assert response.status_code == 200, response.text
    record = response.json()["key"]
    assert record["not_after"].startswith("2031-01-01T00:00:00")
    assert record["compromised_after"].startswith("2030-01-01T00:00:00")
    assert client.get(KEYS, headers=key_for(world, world.globex.id)).json()["keys"] == [record]
    # Each change is logged as a new entry of the key.
    assert [e["kind"] for _, e, _ in world.node.ledger.find(key.key_id)] == ["key", "key", "key"]
    # An unknown key: refused, nothing logged.
    size = world.node.ledger.size()
    assert_json_error(client.post(f"{KEYS}/phx1-{'0' * 32}/retire", json={}, headers=admin))
    assert world.node.ledger.size() == size


# -- the extension-definition and signed objects -----------------------------------------------------------------


def test_the_extension_definition_is_valid_stix(client: TestClient) -> None:
    response = client.get(EXTENSION)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["type"] == "bundle"
    assert document["objects"] == [PHALANX_IDENTITY, EXTENSION_DEFINITION]
    (definition,) = [o for o in document["objects"] if o["type"] == "extension-definition"]
    assert definition["id"] == EXTENSION_ID and definition["extension_types"] == ["property-extension"]
    for obj in document["objects"]:
        StixObject.from_dict(obj)  # the project's own validator
        result = validate_instance(obj, STRICT)  # the OASIS validator
        assert result.is_valid, [str(e) for e in result.errors]
        assert not result.warnings, [str(w) for w in result.warnings]
    result = validate_instance(document, STRICT)
    assert result.is_valid, [str(e) for e in result.errors]


def test_a_signed_object_is_valid_stix_and_its_proof_names_the_signer(world: World, client: TestClient) -> None:
    private = generate_key(world.acme.id, now=now_micros() - 1_000_000)
    world.node.provenance.publish(None, private.public)
    signed = sign_object(indicator(7, created_by_ref=world.acme.id), private)
    assert signed["extensions"][EXTENSION_ID]["extension_type"] == "property-extension"
    result = validate_instance(signed, STRICT)
    assert result.is_valid, [str(e) for e in result.errors]
    share(world, signed)
    reader = key_for(world, world.globex.id)
    served = client.get("/api/v1/collections/isac/objects", params={"id": signed["id"]}, headers=reader).json()
    (obj,) = served["objects"]
    assert obj == signed  # carried unchanged
    result = validate_instance(obj, STRICT)
    assert result.is_valid, [str(e) for e in result.errors]
    response = client.get(proof_url(signed["id"]), headers=reader)
    assert response.status_code == 200, response.text
    verified = verify_bundle(response.json(), trust_of(client))
    assert (verified.signer, verified.key_id) == (world.acme.id, private.key_id)


# -- proof bundles -----------------------------------------------------------------------------------------------


def test_a_member_gets_a_bundle_that_verifies_offline(world: World, client: TestClient) -> None:
    ids = share(world, *(indicator(i) for i in range(5)))
    reader = key_for(world, world.globex.id)
    trust = trust_of(client)
    response = client.get(proof_url(ids[2]), headers=reader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    bundle_ = response.json()
    verified = verify_bundle(bundle_, trust)
    assert verified.object_id == ids[2] and verified.signer is None
    assert verified.origin == world.node.ledger.origin and verified.size >= 5
    # A pure function of the bundle: it still verifies after a trip through a file.
    assert verify_bundle(json.loads(json.dumps(bundle_)), trust) == verified
    # By version, too.
    response = client.get(proof_url(ids[2]), params={"version": INDICATOR["modified"]}, headers=reader)
    assert response.status_code == 200 and verify_bundle(response.json(), trust).object_id == ids[2]


def test_a_changed_bundle_does_not_verify(world: World, client: TestClient) -> None:
    (object_id,) = share(world, indicator(1))
    bundle_ = client.get(proof_url(object_id), headers=key_for(world, world.globex.id)).json()
    trust = trust_of(client)
    verify_bundle(bundle_, trust)
    changed = json.loads(json.dumps(bundle_))
    changed["object"]["name"] = "something else"
    with pytest.raises(Exception, match="changed after the node logged it"):
        verify_bundle(changed, trust)


def test_readers_outside_the_audience_get_the_404_of_an_object_that_does_not_exist(world: World,
                                                                                    client: TestClient) -> None:
    red = indicator(2, object_marking_refs=[Tlp.RED.value])
    results = world.node.ingest.document(world.contributor, "isac", bundle(indicator(1), red,
                                                                           tlp_marking_definition(Tlp.RED)))
    assert {r.outcome for r in results} == {"accepted"}
    missing = "indicator--0badc0de-0cce-4b0c-8b5e-0c1f9a55d6aa"
    member, outsider = key_for(world, world.globex.id), key_for(world, world.outsider.id)

    def answer(object_id: str, headers: dict[str, str], **params: str) -> tuple[int, dict[str, Any]]:
        response = client.get(proof_url(object_id), params=params, headers=headers)
        body = json.loads(response.text.replace(object_id, "ID"))
        return response.status_code, body

    # TLP:RED naming no recipient: only its contributor gets the proof.
    assert client.get(proof_url(red["id"]), headers=key_for(world, world.acme.id)).status_code == 200
    assert answer(red["id"], member) == answer(missing, member)
    assert answer(red["id"], member)[0] == 404
    # An organization outside the community: 404 for what exists and for what does not.
    assert answer(indicator(1)["id"], outsider) == answer(missing, outsider)
    assert answer(indicator(1)["id"], outsider)[0] == 404
    assert answer(red["id"], outsider) == answer(missing, outsider)
    # A version that does not exist: the same 404.
    assert answer(indicator(1)["id"], member, version="2001-01-01T00:00:00Z") == answer(
        missing, member, version="2001-01-01T00:00:00Z")
    # A collection that does not exist, and no key at all.
    assert_json_error(client.get(proof_url(indicator(1)["id"], "nope"), headers=member), 404)
    assert_json_error(client.get(proof_url(indicator(1)["id"])), 401)
    assert_json_error(client.get(proof_url(indicator(1)["id"]), params={"version": "later"}, headers=member), 400)
