"""Observable extraction (``phalanx.analysis``): STIX patterns, SCOs, observed-data; normal forms; free-text
detection; the correlation keys stored at put time."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from phalanx.analysis import (
    MAX_OBSERVABLES,
    Observable,
    correlation_keys,
    detect,
    keys_of,
    normalize,
    observables,
    pattern_observables,
    references,
)
from phalanx.analysis._observables import _walk
from phalanx.pattern import parse
from phalanx.pattern._ast import Comparison, Constant, ConstantKind, ObjectPath, Observation, Op, Pattern
from phalanx.service import to_row
from phalanx.stix import StixObject, Tlp

MD5 = "D41D8CD98F00B204E9800998ECF8427E"
SHA256 = "4BAC27393BDD9777CE02453256C5577CD02275510B2227F473D03F533924F877"


def keys(pattern: str) -> list[str]:
    return [o.key for o in pattern_observables(pattern)]


# ------------------------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(("pattern", "expected"), [
    ("[ipv4-addr:value = '198.51.100.7']", ["ipv4-addr:198.51.100.7"]),
    ("[ ipv4-addr:value = '198.51.100.0/24' ]", ["ipv4-addr:198.51.100.0/24"]),
    ("[ipv4-addr:value = '198.51.100.7/32']", ["ipv4-addr:198.51.100.7"]),
    ("[ipv6-addr:value = '2001:DB8:0:0:0:0:0:1']", ["ipv6-addr:2001:db8::1"]),
    ("[domain-name:value = 'Evil.EXAMPLE.']", ["domain-name:evil.example"]),
    ("[url:value = 'http://Evil.example/A?b=1']", ["url:http://Evil.example/A?b=1"]),
    ("[email-addr:value = 'Bad@Evil.Example']", ["email-addr:bad@evil.example"]),
    (f"[file:hashes.'SHA-256' = '{SHA256}']", [f"sha256:{SHA256.lower()}"]),
    (f"[file:hashes.sha256 = '{SHA256}']", [f"sha256:{SHA256.lower()}"]),
    (f"[file:hashes.MD5 = '{MD5}']", [f"md5:{MD5.lower()}"]),
    ("[file:hashes.'SHA-1' = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709']",
     ["sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"]),
    (f"[artifact:hashes.'SHA3-256' = '{SHA256}']", [f"sha3-256:{SHA256.lower()}"]),
    ("[file:hashes.SSDEEP = '3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C']", [
        "ssdeep:3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"]),  # not hex: kept as written
    ("[url:value = 'http://x.example/it\\'s']", ["url:http://x.example/it's"]),
    ("[file:name = 'evil.exe']", []),
    ("[x-custom:value = 'a']", []),
])
def test_one_comparison(pattern: str, expected: list[str]) -> None:
    assert keys(pattern) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.8']",
     ["ipv4-addr:198.51.100.7", "ipv4-addr:198.51.100.8"]),
    ("[ipv4-addr:value IN ('198.51.100.7', '10.0.0.1')] AND [domain-name:value = 'a.example']",
     ["ipv4-addr:198.51.100.7", "ipv4-addr:10.0.0.1", "domain-name:a.example"]),
    (f"([url:value = 'http://a.example/'] FOLLOWEDBY [file:hashes.MD5 = '{MD5}']) WITHIN 300 SECONDS",
     ["url:http://a.example/", f"md5:{MD5.lower()}"]),
    ("[ipv4-addr:value = '198.51.100.7'] REPEATS 5 TIMES", ["ipv4-addr:198.51.100.7"]),
    ("[email-message:from_ref.value = 'Bad@Evil.Example' AND email-message:subject = 'hi']",
     ["email-addr:bad@evil.example"]),
    ("[network-traffic:dst_ref.value = '198.51.100.9' OR network-traffic:src_ref.value = 'c2.example']",
     ["ipv4-addr:198.51.100.9", "domain-name:c2.example"]),
    ("[email-message:to_refs[*].value = 'x@y.example']", ["email-addr:x@y.example"]),
    (f"[email-message:body_multipart[*].body_raw_ref.hashes.'SHA-256' = '{SHA256}']", [f"sha256:{SHA256.lower()}"]),
    # only what the pattern asks to equal: not a negation, an inequality, a LIKE, a MATCHES, a subset
    ("[ipv4-addr:value != '198.51.100.7' AND ipv4-addr:value NOT = '198.51.100.8']", []),
    ("[domain-name:value LIKE '%.evil.example' OR domain-name:value MATCHES '^a']", []),
    ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", []),
    ("[ipv4-addr:value = '198.51.100.7'] OR [ipv4-addr:value = '198.51.100.7']", ["ipv4-addr:198.51.100.7"]),
])
def test_compound_patterns(pattern: str, expected: list[str]) -> None:
    assert keys(pattern) == expected


def test_a_pattern_that_does_not_parse_carries_nothing() -> None:
    assert pattern_observables("[ipv4-addr:value = '1.2.3.4' AND") == ()
    assert observables({"type": "indicator", "pattern": "not a pattern", "pattern_type": "stix"}) == ()
    assert observables({"type": "indicator", "pattern": "alert tcp any any", "pattern_type": "snort"}) == ()


@pytest.mark.parametrize("pattern", [
    "[ipv4-addr:value = '198.51.100.7']", "[domain-name:value = 'Evil.example.']", "[url:value = 'http://a/b\\'c']",
    f"[file:hashes.'SHA-256' = '{SHA256}']", f"[file:hashes.MD5 = '{MD5}']", "[ipv6-addr:value = '::FFFF:1']",
    "[x509-certificate:hashes.'SHA-1' = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709']", "[file:name = 'x']",
])
def test_the_quick_path_agrees_with_the_parser(pattern: str) -> None:
    """One comparison is read by a regular expression; the tree the parser builds says the same."""
    assert pattern_observables(pattern) == tuple(dict.fromkeys(_walk(parse(pattern).root)))


def test_a_parsed_tree_can_be_given() -> None:
    tree = Pattern("", Observation(Comparison(ObjectPath("ipv4-addr", ("value",)), Op.IN, (
        Constant(ConstantKind.STRING, "198.51.100.7"), Constant(ConstantKind.INT, 7)))))
    assert pattern_observables(tree) == (Observable("ipv4-addr", "198.51.100.7"),)


def test_at_most_max_observables() -> None:
    values = ", ".join(f"'10.0.{n // 256}.{n % 256}'" for n in range(MAX_OBSERVABLES + 500))
    assert len(pattern_observables(f"[ipv4-addr:value IN ({values})]")) == MAX_OBSERVABLES


# ----------------------------------------------------------------------------------- SCOs, observed-data


def test_scos() -> None:
    assert observables({"type": "ipv4-addr", "value": "198.51.100.7"}) == (Observable("ipv4-addr", "198.51.100.7"),)
    assert observables({"type": "mac-addr", "value": "AA:BB:CC:DD:EE:FF"}) == (
        Observable("mac-addr", "aa:bb:cc:dd:ee:ff"),)
    assert [o.key for o in observables({"type": "file", "name": "x", "hashes": {"MD5": "AA", "SHA-256": "BB"}})] == [
        "md5:aa", "sha256:bb"]
    assert observables({"type": "x509-certificate", "hashes": {"SHA-1": "CC"}}) == (Observable("sha1", "cc"),)
    assert observables({"type": "domain-name", "value": "  "}) == ()
    assert observables({"type": "domain-name", "value": "a." + "b" * 3000}) == ()  # beyond MAX_VALUE
    assert observables({"type": "malware", "name": "x", "value": "198.51.100.7"}) == ()


def test_observed_data_embedded_objects() -> None:
    data = {"type": "observed-data", "objects": {
        "0": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "1": {"type": "file", "hashes": {"MD5": "AA"}},
        "2": {"type": "network-traffic", "dst_ref": "0"},
        "3": "not an object"}}
    assert [o.key for o in observables(data)] == ["ipv4-addr:198.51.100.7", "md5:aa"]
    assert observables({"type": "observed-data", "object_refs": ["ipv4-addr--x"]}) == ()


def test_real_objects_of_the_shipped_examples() -> None:
    """The OASIS examples shipped with phalanx.demo: their indicators and SCOs carry what their patterns say."""
    found: set[str] = set()
    for entry in resources.files("phalanx.demo").iterdir():
        if entry.name.endswith(".json"):
            for obj in json.loads(entry.read_text(encoding="utf-8")).get("objects", []):
                found.update(o.key for o in observables(obj))
    assert {"url:http://x4z9arb.cn/4712/", "ipv4-addr:10.0.0.0", "domain-name:hugesoft.org",
            "md5:001dd76872d80801692ff942308c64e6", "ipv4-addr:223.166.0.0/15",
            "sha256:ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"} <= found


# ----------------------------------------------------------------------------------- normal forms, detection


@pytest.mark.parametrize(("text", "expected"), [
    ("198.51.100.7", "ipv4-addr:198.51.100.7"),
    (" 198.51.100.7\n", "ipv4-addr:198.51.100.7"),
    ("10.0.0.0/8", "ipv4-addr:10.0.0.0/8"),
    ("10.1.2.3/8", "ipv4-addr:10.0.0.0/8"),
    ("2001:0DB8::0001", "ipv6-addr:2001:db8::1"),
    ("2001:db8::/32", "ipv6-addr:2001:db8::/32"),
    ("https://Evil.example/Path", "url:https://Evil.example/Path"),
    ("Bad@Evil.Example", "email-addr:bad@evil.example"),
    ("AA-BB-CC-DD-EE-FF", "mac-addr:aa-bb-cc-dd-ee-ff"),
    ("D41D8CD98F00B204E9800998ECF8427E", "md5:d41d8cd98f00b204e9800998ecf8427e"),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("a" * 128, "sha512:" + "a" * 128),
    ("Evil.Example.", "domain-name:evil.example"),
    ("xn--bcher-kva.example", "domain-name:xn--bcher-kva.example"),
])
def test_detect(text: str, expected: str) -> None:
    found = detect(text)
    assert found is not None and found.key == expected


@pytest.mark.parametrize("text", ["", "   ", "hello world", "1.2.3", "a" * 33, "localhost", "x" * 5000, "@", "a@b"])
def test_detect_refuses_what_is_none_of_these(text: str) -> None:
    assert detect(text) is None


def test_normalize_keeps_what_is_not_an_address_as_written() -> None:
    assert normalize("ipv4-addr", "010.1.1.1") == Observable("ipv4-addr", "010.1.1.1")
    assert normalize("SHA-256", "AB") == Observable("sha256", "ab")
    assert normalize("x-custom-hash", "AB") == Observable("x-custom-hash", "ab")
    assert normalize("url", "   ") is None


# ------------------------------------------------------------------------------- references, correlation keys


def test_references_leave_out_the_creator_and_markings() -> None:
    data = {"type": "report", "created_by_ref": "identity--a", "object_marking_refs": ["marking-definition--m"],
            "object_refs": ["Indicator--X", "malware--y", 7], "sighting_of_ref": "not an id"}
    assert references(data) == (("object_refs", "indicator--x"), ("object_refs", "malware--y"))
    assert keys_of(data) == ("ref:indicator--x", "ref:malware--y")


def stix(data: dict[str, Any]) -> StixObject:
    base = {"spec_version": "2.1", "created": "2024-05-01T12:00:00.000Z", "modified": "2024-05-01T12:00:00.000Z"}
    return StixObject.from_dict({**base, **data} if data["type"] not in ("file", "ipv4-addr") else
                                {"spec_version": "2.1", **data})


def test_correlation_keys_of_stored_objects() -> None:
    ind = stix({"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '198.51.100.7']", "valid_from": "2024-05-01T12:00:00Z"})
    assert to_row(ind).correlation_keys == ("ipv4-addr:198.51.100.7",)
    rel = stix({"type": "relationship", "id": "relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "relationship_type": "indicates", "source_ref": ind.id,
                "target_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"})
    assert to_row(rel).correlation_keys == (f"ref:{ind.id}", "ref:malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    plain = stix({"type": "malware", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "name": "x",
                  "is_family": True, "created_by_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"})
    assert to_row(plain).correlation_keys == ()


def test_parts_marked_beyond_the_objects_level_are_not_indexed() -> None:
    """A file SCO at TLP:GREEN whose hashes are marked TLP:RED: a GREEN reader must not find it by its hash."""
    sco = stix({"type": "file", "id": "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "name": "invoice.exe",
                "hashes": {"SHA-256": SHA256}, "object_marking_refs": [Tlp.GREEN.value],
                "granular_markings": [{"marking_ref": Tlp.RED.value, "selectors": ["hashes"]}]})
    row = to_row(sco)
    assert row.level == Tlp.GREEN.rank and row.top_level == Tlp.RED.rank
    assert row.correlation_keys == ()
    assert correlation_keys(sco, level=Tlp.RED) == (f"sha256:{SHA256.lower()}",)
