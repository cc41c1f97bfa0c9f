"""validate(): unit tests per rule family, the two modes, real feeds, speed-critical shapes and robustness."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.errors import Violation
from phalanx.stix._ids import deterministic_id
from phalanx.stix._tlp import Tlp, tlp_marking_definition
from phalanx.stix._validate import RULES, validate

BASES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent / "broken" / "valid-bases.json").read_text(encoding="utf-8")
)
ATTACK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "attack" / "attack-stix-data"
EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "stix" / "oasis-examples"


def base(name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(BASES[name])
    obj.update(changes)
    return obj


def errors(obj: Any, strict: bool = True) -> list[tuple[str, str]]:
    return [(v.path, v.rule) for v in validate(obj, strict=strict) if v.severity == "error"]


def warnings(obj: Any, strict: bool = True) -> list[tuple[str, str]]:
    return [(v.path, v.rule) for v in validate(obj, strict=strict) if v.severity == "warning"]


# --- common properties -----------------------------------------------------------------------------------


def test_violation_names_object_path_rule_and_says_what_is_expected() -> None:
    [v] = validate(base("indicator", confidence=101), strict=True)
    assert isinstance(v, Violation)
    assert (v.object_id, v.path, v.rule, v.severity) == (BASES["indicator"]["id"], "confidence",
                                                         "confidence-range", "error")
    assert "0..100" in v.message


def test_bad_id_gives_empty_object_id() -> None:
    [v] = validate(base("malware", id="malware--nope"), strict=True)
    assert (v.object_id, v.rule) == ("", "identifier-format")


@pytest.mark.parametrize("value", ["2016-04-06T20:03:00.000Z", "2016-04-06T20:03:00.123456789Z",
                                   "2016-12-31T23:59:60.000Z", "2000-02-29T00:00:00.000Z"])
def test_created_timestamps_accepted(value: str) -> None:
    assert errors(base("malware", created=value, modified="2017-01-01T00:00:00.000Z")) == []


@pytest.mark.parametrize("value", ["2016-04-06T20:03:00.00Z", "2016-04-06T20:03:00Z"])
def test_created_needs_milliseconds(value: str) -> None:
    assert errors(base("malware", created=value)) == [("created", "timestamp-precision")]


@pytest.mark.parametrize("value", ["2016-04-06T20:03:00.000z", "2016-04-06T20:03:00.000Z\n", "1900-02-29T00:00:00Z",
                                   "\u0662\u0660\u0661\u0666-04-06T20:03:00Z", "2016-04-06T20:03:61Z", 20160406, None])
def test_bad_timestamps(value: Any) -> None:
    assert errors(base("indicator", valid_from=value)) == [("valid_from", "timestamp-format")]


def test_created_before_modified_compares_instants_not_text() -> None:
    # equal instants with different precision are fine; a later created is not
    assert errors(base("malware", created="2016-05-07T11:22:30.000Z", modified="2016-05-07T11:22:30.000000Z")) == []
    assert errors(base("malware", created="2016-05-07T11:22:30.001Z", modified="2016-05-07T11:22:30.0009Z")) == [
        ("modified", "created-before-modified")]


def test_scos_may_omit_spec_version_sdos_may_not() -> None:
    mac = base("mac")
    del mac["spec_version"]
    assert errors(mac) == []
    mal = base("malware")
    del mal["spec_version"]
    assert errors(mal) == [("spec_version", "spec-version")]


def test_uppercase_uuid_is_a_warning() -> None:
    obj = base("malware")
    obj["id"] = obj["id"].upper().replace("MALWARE", "malware")
    assert errors(obj) == []
    assert ("id", "identifier-case") in warnings(obj)


def test_non_uuid4_sdo_id_is_a_warning() -> None:
    obj = base("malware", id="malware--6ba7b810-9dad-51d1-80b4-00c04fd430c8")
    assert errors(obj) == [] and warnings(obj) == [("id", "uuid-version")]


def test_not_a_dict_is_refused_without_raising() -> None:
    for thing in (None, [], "indicator", 3):
        assert [v.rule for v in validate(thing, strict=True)] == ["property-type"]  # type: ignore[arg-type]


# --- granular markings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ["description", "kill_chain_phases.[0].phase_name", "external_references.[1]",
                                      "external_references.[0].external_id", "labels.[0]", "id"])
def test_selectors_that_resolve(selector: str) -> None:
    obj = base("indicator")
    obj["granular_markings"][0]["selectors"] = [selector]
    assert errors(obj) == []


@pytest.mark.parametrize("selector", ["descriptions", "labels.[1]", "labels.0", "labels.[x]", "description.[0]",
                                      "kill_chain_phases.phase_name", ""])
def test_selectors_that_do_not_resolve(selector: str) -> None:
    obj = base("indicator")
    obj["granular_markings"][0]["selectors"] = ["description", selector]
    assert errors(obj) == [("granular_markings[0].selectors[1]", "granular-selector")]


def test_granular_marking_by_language() -> None:
    obj = base("indicator")
    obj["granular_markings"].append({"lang": "de", "selectors": ["name"]})
    assert errors(obj) == []
    obj["granular_markings"][1]["marking_ref"] = BASES["md_statement"]["id"]
    assert errors(obj) == [("granular_markings[1]", "granular-marking")]


# --- vocabularies and enumerations -------------------------------------------------------------------------


def test_open_vocabulary_value_is_a_warning_in_both_modes() -> None:
    obj = base("indicator", indicator_types=["malicious-activity", "spicy"])
    for strict in (True, False):
        assert errors(obj, strict) == []
        assert warnings(obj, strict) == [("indicator_types[1]", "open-vocab")]


def test_enum_value_is_an_error_in_both_modes() -> None:
    for strict in (True, False):
        assert errors(base("opinion", opinion="Agree"), strict) == [("opinion", "enum-value")]


def test_hash_algorithm_spelling_warns_with_the_right_name() -> None:
    obj = base("file", hashes={"sha256": "a" * 64})
    obj["id"] = deterministic_id(obj)
    [v] = [v for v in validate(obj, strict=True) if v.rule == "open-vocab"]
    assert v.path == "hashes.sha256" and "'SHA-256'" in v.message


@pytest.mark.parametrize(("algorithm", "value"), [("MD5", "0" * 31), ("SHA-1", "g" * 40), ("SHA-512", "a" * 64),
                                                  ("SHA3-256", "a" * 65)])
def test_hash_values_match_their_algorithm(algorithm: str, value: str) -> None:
    obj = base("file", hashes={algorithm: value})
    obj["id"] = deterministic_id(obj)
    assert errors(obj) == [(f"hashes.{algorithm}", "hash-value")]


# --- extensions and custom content ----------------------------------------------------------------------


def test_custom_property_strict_vs_tolerant() -> None:
    obj = base("indicator", x_acme_score=5, acme_score=6)
    assert errors(obj, True) == [("x_acme_score", "custom-property"), ("acme_score", "custom-property")]
    assert errors(obj, False) == []
    assert warnings(obj, False) == [("acme_score", "custom-property")]


def test_custom_properties_declared_by_toplevel_extension_pass_strict() -> None:
    obj = base("with_ext", rank=5)
    ext = next(iter(obj["extensions"]))
    obj["extensions"][ext] = {"extension_type": "toplevel-property-extension"}
    assert errors(obj) == []


def test_custom_type_strict_vs_tolerant_and_new_sdo_extension() -> None:
    obj = base("malware", type="x-acme-widget", id="x-acme-widget--" + BASES["malware"]["id"].split("--")[1])
    assert errors(obj, True) == [("type", "custom-type")]
    assert errors(obj, False) == [] and warnings(obj, False) == [("type", "custom-type")]
    obj["extensions"] = {next(iter(BASES["with_ext"]["extensions"])): {"extension_type": "new-sdo"}}
    assert errors(obj, True) == []


def test_custom_ref_property_must_hold_identifiers() -> None:
    obj = base("indicator", x_acme_owner_ref="alice")
    assert ("x_acme_owner_ref", "identifier-format") in errors(obj, True)
    assert errors(obj, False) == [] and warnings(obj, False) == [("x_acme_owner_ref", "identifier-format")]


def test_tlp_marking_definitions_from_tlp_module_are_valid() -> None:
    for level in Tlp:
        assert validate(tlp_marking_definition(level), strict=True) == []


def test_predefined_sco_extension_contents_are_checked() -> None:
    obj = base("nt")
    obj["extensions"]["http-request-ext"] = {"request_method": "get"}
    obj["id"] = deterministic_id(obj)
    assert errors(obj) == [("extensions.http-request-ext.request_value", "required-property")]


# --- SCO ids --------------------------------------------------------------------------------------------


def test_sco_with_non_deterministic_id_is_warned() -> None:
    obj = base("ipv4", id="ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd")
    assert errors(obj) == []
    assert warnings(obj) == [("id", "deterministic-id")]


# --- real content -------------------------------------------------------------------------------------------


def _objects(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["objects"] if doc.get("type") == "bundle" else [doc]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="OASIS examples not present")
def test_every_oasis_example_object_is_accepted_in_strict_mode() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        for obj in _objects(path):
            assert errors(obj, True) == [], (path.name, obj.get("id"))


@pytest.mark.parametrize("name", ["ics-attack-18.1.json", "mobile-attack-17.1.json"])
def test_attack_is_accepted_tolerant_and_refused_strict_for_precise_reasons(name: str) -> None:
    path = ATTACK / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    strict_rules: set[str] = set()
    for obj in _objects(path):
        assert errors(obj, False) == [], obj.get("id")
        strict_rules |= {rule for _, rule in errors(obj, True)}
    # ATT&CK carries x-mitre-* object types, x_mitre_* properties, relationships to x-mitre-* objects and (ICS)
    # an x_mitre_data_source_ref that is an empty string.
    assert strict_rules <= {"custom-type", "custom-property", "reference-type", "identifier-format"}
    assert {"custom-type", "custom-property", "reference-type"} <= strict_rules


# --- robustness -------------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(BASES)), key=st.text(max_size=20) | st.sampled_from(
    ["type", "id", "created", "modified", "extensions", "granular_markings", "external_references",
     "kill_chain_phases", "object_refs", "hashes", "values", "body_multipart", "pattern", "definition",
     "contents", "x_foo_ref", "x_foo_bin"]), value=_json, strict=st.booleans())
def test_any_property_value_never_crashes(name: str, key: str, value: Any, strict: bool) -> None:
    obj = base(name)
    obj[key] = value
    for v in validate(obj, strict=strict):
        assert v.rule in RULES and v.rule != "validator-bug", str(v)


@settings(max_examples=200, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["type", "id", "spec_version", "created", "modified", "name",
                                            "is_family", "value", "extensions"]), _json),
       type_=st.sampled_from(["malware", "file", "marking-definition", "x-foo", "relationship"]))
def test_random_objects_never_crash(obj: dict[str, Any], type_: str) -> None:
    obj.setdefault("type", type_)
    for v in validate(obj, strict=True):
        assert v.rule in RULES and v.rule != "validator-bug", str(v)


def test_every_rule_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "stix-validation.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule}` |" in text, rule


# --- regressions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [True, False])
def test_year_0000_is_not_a_timestamp(strict: bool) -> None:
    assert errors(base("indicator", valid_from="0000-01-01T00:00:00Z"), strict) == [("valid_from", "timestamp-format")]
    assert errors(base("malware", created="0000-01-01T00:00:00.000Z"), strict) == [("created", "timestamp-format")]
    assert errors(base("indicator", valid_from="0001-01-01T00:00:00Z"), strict) == []


@pytest.mark.parametrize("strict", [True, False])
def test_a_bundle_is_not_an_object_of_a_bundle(strict: bool) -> None:
    inner = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [base("malware")]}
    assert errors(inner, strict) == [("type", "reserved-type")]


def test_non_json_number_in_an_id_contributing_property_is_reported_not_a_crash() -> None:
    for value in (float("inf"), float("nan")):
        assert errors(base("nt", extensions=value), strict=False) == [("extensions", "property-type")]
        file = base("file_plain")
        file["name"] = value
        assert errors(file) == [("name", "property-type")]
