"""Signing keys and signed objects: what a signature covers, hybrid keys, rotation and compromise."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from phalanx.errors import InvalidSignature, KeyNotValid, UnreadableInput
from phalanx.ledger import (
    EXTENSION_DEFINITION,
    EXTENSION_ID,
    HAVE_MLDSA,
    PHALANX_IDENTITY,
    PrivateKey,
    PublicKey,
    generate_key,
    read_signature,
    sign_object,
    signed_message,
)
from phalanx.stix import StixObject, canonical, parse_micros

ORG = "identity--9784ecc6-0b4f-4aac-8691-93585b543f4e"
NOW = parse_micros("2026-01-01T00:00:00Z")
DAY = 86_400_000_000


def indicator(**extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "created_by_ref": ORG, **extra}


def check(obj: dict[str, Any], key: PublicKey) -> None:
    signature = read_signature(obj)
    assert signature is not None
    assert signature.key_id == key.key_id
    key.verify(signature.message, signature.ed25519, signature.ml_dsa_44)


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return generate_key(ORG, now=NOW)


def test_a_signature_covers_everything_but_its_block(key: PrivateKey) -> None:
    obj = indicator(object_marking_refs=["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
                    extensions={"extension-definition--3d0e3d43-9a09-4a2b-8b0e-5d2b4f4b8c4a": {
                        "extension_type": "property-extension", "rank": 3}})
    signed = sign_object(obj, key)
    check(signed, key.public)
    assert signed_message(signed) == canonical(obj)  # the other extension stays under the signature
    assert set(signed["extensions"]) == {EXTENSION_ID, "extension-definition--3d0e3d43-9a09-4a2b-8b0e-5d2b4f4b8c4a"}
    for name, value in [("id", f"indicator--{uuid.uuid4()}"), ("modified", "2026-01-02T00:00:00.000Z"),
                        ("created_by_ref", "identity--00000000-0000-4000-8000-000000000000"),
                        ("object_marking_refs", ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"])]:
        changed = {**signed, name: value}
        with pytest.raises(InvalidSignature):
            check(changed, key.public)
    other = copy.deepcopy(signed)
    other["extensions"]["extension-definition--3d0e3d43-9a09-4a2b-8b0e-5d2b4f4b8c4a"]["rank"] = 4
    with pytest.raises(InvalidSignature):
        check(other, key.public)
    # Signing again replaces the block (it is never signed itself), and Ed25519 is deterministic.
    assert sign_object(signed, key) == signed


def test_an_object_without_extensions_gets_none_back_when_unsigned(key: PrivateKey) -> None:
    obj = indicator()
    signed = sign_object(obj, key)
    assert signed_message(signed) == canonical(obj)
    assert read_signature(obj) is None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_bit_flipped_in_a_signed_object_is_caught(key: PrivateKey, data: st.DataObject) -> None:
    signed = sign_object(indicator(name="phishing domain", labels=["malicious-activity"]), key)
    text = bytearray(orjson.dumps(signed))
    position = data.draw(st.integers(0, len(text) - 1))
    text[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        changed = orjson.loads(bytes(text))
    except orjson.JSONDecodeError:
        return  # no longer JSON: nothing to verify
    with pytest.raises(InvalidSignature):
        signature = read_signature(changed)
        if signature is None:
            raise InvalidSignature("the block is gone")
        PublicKey.from_record(key.public.record()).verify(signature.message, signature.ed25519,
                                                          signature.ml_dsa_44)
        if signature.key_id != key.key_id:
            raise InvalidSignature("another key")


@pytest.mark.skipif(not HAVE_MLDSA, reason="this cryptography build has no ML-DSA")
def test_a_hybrid_key_needs_both_signatures() -> None:
    hybrid = generate_key(ORG, now=NOW, hybrid=True)
    signed = sign_object(indicator(), hybrid)
    block = signed["extensions"][EXTENSION_ID]
    assert set(block) == {"extension_type", "key", "ed25519", "ml_dsa_44"}
    check(signed, hybrid.public)
    without = copy.deepcopy(signed)
    del without["extensions"][EXTENSION_ID]["ml_dsa_44"]
    with pytest.raises(InvalidSignature, match="ML-DSA-44 signature is missing"):
        check(without, hybrid.public)
    forged = copy.deepcopy(signed)  # a valid Ed25519 signature with someone else's ML-DSA one
    forged["extensions"][EXTENSION_ID]["ml_dsa_44"] = sign_object(
        indicator(), generate_key(ORG, now=NOW, hybrid=True))["extensions"][EXTENSION_ID]["ml_dsa_44"]
    with pytest.raises(InvalidSignature, match="ML-DSA-44"):
        check(forged, hybrid.public)
    assert PrivateKey.from_file(hybrid.to_file()) == hybrid


def test_key_files_and_records_round_trip_and_refuse_tampering(key: PrivateKey) -> None:
    assert PrivateKey.from_file(key.to_file()) == key
    assert PublicKey.from_record(key.public.record()) == key.public
    record = key.public.record()
    with pytest.raises(UnreadableInput, match="does not match the key material"):
        PublicKey.from_record({**record, "ed25519": generate_key(ORG, now=NOW).public.record()["ed25519"]})
    with pytest.raises(UnreadableInput, match="needs 'org'"):
        PublicKey.from_record({k: v for k, v in record.items() if k != "org"})
    with pytest.raises(UnreadableInput, match="unknown key algorithm"):
        PublicKey.from_record({**record, "algorithm": "rsa"})
    mixed = orjson.loads(key.to_file())
    mixed["ed25519_private"] = orjson.loads(generate_key(ORG, now=NOW).to_file())["ed25519_private"]
    with pytest.raises(UnreadableInput, match="does not match the public key"):
        PrivateKey.from_file(orjson.dumps(mixed))
    with pytest.raises(UnreadableInput, match="not a Phalanx key file"):
        PrivateKey.from_file(b"{}")


def test_validity_rotation_and_compromise() -> None:
    key = generate_key(ORG, now=NOW, days=30).public
    key.check_time(NOW)
    key.check_time(NOW + 29 * DAY)
    with pytest.raises(KeyNotValid, match="valid from"):
        key.check_time(NOW - 1)
    with pytest.raises(KeyNotValid, match="expired"):
        key.check_time(NOW + 30 * DAY)
    compromised = PublicKey(**{**{f: getattr(key, f) for f in key.__slots__},  # type: ignore[attr-defined]
                               "compromised_after": NOW + 10 * DAY})
    compromised.check_time(NOW + 10 * DAY - 1)  # made before: still verifies
    with pytest.raises(KeyNotValid, match="compromised"):
        compromised.check_time(NOW + 10 * DAY)


def test_the_extension_definition_and_a_signed_object_are_valid_stix(key: PrivateKey) -> None:
    options = ValidationOptions(version="2.1", strict=True)
    signed = sign_object(indicator(name="C2 address", description="Seen in a phishing campaign."), key)
    for obj in (EXTENSION_DEFINITION, PHALANX_IDENTITY, signed):
        result = validate_instance(obj, options)
        assert result.is_valid, [str(e) for e in result.errors]
        StixObject.from_dict(obj)  # and our own strict validation


def test_small_order_and_non_canonical_ed25519_keys_are_weak() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from phalanx.ledger._ed25519 import P, _add, _decode, is_weak

    order = 2**252 + 27742317777372353535851937790883648493  # L, RFC 8032 section 5.1
    torsion = set()
    for y in range(2, 24):  # points of the whole curve; [L]P is the part of P of small order
        point = _decode(y.to_bytes(32, "little"))
        if point is None:
            continue
        result, addend, n = None, point, order
        while n:
            if n & 1:
                result = addend if result is None else _add(result, addend)
            addend, n = _add(addend, addend), n >> 1
        assert result is not None
        x, y_, z, _ = result
        zi = pow(z, P - 2, P)
        xa, ya = x * zi % P, y_ * zi % P
        torsion.add((ya | ((xa & 1) << 255)).to_bytes(32, "little"))
    assert len(torsion) >= 4  # several distinct small-order points were found
    assert all(is_weak(encoded) for encoded in torsion)
    assert is_weak(bytes(32)) and is_weak((P - 1).to_bytes(32, "little")) and is_weak((P + 1).to_bytes(32, "little"))
    assert not any(is_weak(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()) for _ in range(50))
