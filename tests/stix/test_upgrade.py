"""Tolerant mode lifts STIX 2.0 objects to 2.1; strict mode refuses them."""

from __future__ import annotations

import gzip
import json

import pytest

from phalanx.config import Settings
from phalanx.errors import InvalidSTIX
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.stix import Mode, Refused, StixObject, deterministic_id, parse_document
from tests.support import shared_data

MALWARE_20 = {
    "type": "malware",
    "id": "malware--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
    "created": "2017-05-31T21:32:40.801Z",
    "modified": "2017-05-31T21:32:40.801Z",
    "name": "Comnie",
    "labels": ["malware"],
}


def test_tolerant_mode_upgrades_a_20_object_and_says_so() -> None:
    obj = StixObject.from_dict(dict(MALWARE_20), mode=Mode.TOLERANT)
    props = obj.properties()
    assert obj.spec_version == "2.1" and props["spec_version"] == "2.1" and props["is_family"] is True
    assert [w.rule for w in obj.warnings] == ["upgraded-from-2.0"]
    assert "is_family true" in obj.warnings[0].message


def test_strict_mode_refuses_20_objects() -> None:
    [result] = parse_document(json.dumps(MALWARE_20).encode(), mode=Mode.STRICT)
    assert isinstance(result, Refused)
    assert "spec_version" in result.error.message


def test_21_objects_and_scos_are_left_alone() -> None:
    sco = {"type": "ipv4-addr", "value": "198.51.100.3"}
    sco["id"] = str(deterministic_id(sco))
    obj = StixObject.from_dict(sco, mode=Mode.TOLERANT)
    assert obj.warnings == () and "spec_version" not in obj.properties()


def test_enterprise_attack_in_stix_20_imports_whole_in_tolerant_mode() -> None:
    path = shared_data("attack", "mitre-cti-attack-18.1-stix20", "enterprise-attack-18.1.json.gz")
    data = gzip.decompress(path.read_bytes())
    with Node.open(Settings(database_url="memory://"), upgrade=True) as node:
        node.admin.add_community("attack")
        org = node.admin.add_organization("MITRE")
        node.admin.join("attack", org.id)
        results = node.ingest.document(Actor(org.id, Role.CONTRIBUTOR), "attack", data, tolerant=True)
        refused = [r for r in results if r.outcome == "refused"]
        assert not refused, refused[:3]
        assert len(results) == 24_771
        assert node.backend.store.stats().versions == 24_771


def test_a_bundle_id_that_is_not_an_identifier_only_matters_in_strict_mode() -> None:
    data = json.dumps({"type": "bundle", "id": "bundle--not-a-uuid", "objects": [MALWARE_20]}).encode()
    [result] = parse_document(data, mode=Mode.TOLERANT)
    assert isinstance(result, StixObject)
    with pytest.raises(InvalidSTIX) as refused:
        parse_document(data, mode=Mode.STRICT)
    assert refused.value.violations[0].rule == "identifier-format"
