"""Deterministic SCO ids (checked against the stix2 library), TLP 2.0 objects, and STIX timestamps."""

from __future__ import annotations

import uuid

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from phalanx.stix import (
    Tlp,
    deterministic_id,
    format_micros,
    is_identifier,
    marking_ids,
    parse_micros,
    tlp_marking_definition,
    tlp_of,
)


@pytest.mark.parametrize(
    "sco",
    [
        stix2.IPv4Address(value="198.51.100.3"),
        stix2.IPv6Address(value="2001:db8::1"),
        stix2.DomainName(value="exämple.com"),
        stix2.URL(value="https://example.com/a?b='c'"),
        stix2.EmailAddress(value="jdoe@example.com", display_name="John"),
        stix2.File(name="a.exe", hashes={"SHA-256": "a" * 64, "MD5": "b" * 32}),
        stix2.File(hashes={"SHA-512": "c" * 128}),
        stix2.Software(name="Word", vendor="Microsoft", version="2002",
                       cpe="cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*"),
        stix2.UserAccount(account_type="unix", user_id="1001", account_login="jdoe"),
        stix2.Mutex(name="__CLEANSWEEP__"),
        stix2.AutonomousSystem(number=15139),
        stix2.WindowsRegistryKey(key="hkey_local_machine\\system\\foo"),
        stix2.NetworkTraffic(src_ref="ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53", protocols=["tcp"], src_port=80),
    ],
    ids=lambda sco: sco.type,
)
def test_deterministic_id_matches_the_stix2_library(sco: stix2.base._STIXBase) -> None:
    assert deterministic_id(dict(sco)) == sco.id


def test_types_without_contributing_properties_have_no_deterministic_id() -> None:
    assert deterministic_id({"type": "process", "pid": 4}) is None
    assert deterministic_id({"type": "ipv4-addr"}) is None
    assert deterministic_id({"type": "x-custom", "value": "1"}) is None


def test_tlp_definitions_carry_the_oasis_ids_and_content() -> None:
    assert Tlp.AMBER_STRICT.value == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    red = tlp_marking_definition(Tlp.RED)
    assert red["id"] == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    assert red["name"] == "TLP:RED"
    assert red["created"] == "2022-10-01T00:00:00.000Z"
    assert red["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"] == {
        "extension_type": "property-extension", "tlp_2_0": "red"}
    assert [level.label for level in Tlp] == ["clear", "green", "amber", "amber+strict", "red"]
    for level in Tlp:
        assert uuid.UUID(level.value.split("--")[1]).version == 4


def test_tlp_parse_and_most_restrictive() -> None:
    assert Tlp.parse("TLP:AMBER+STRICT") is Tlp.AMBER_STRICT
    assert Tlp.parse("amber_strict") is Tlp.AMBER_STRICT
    with pytest.raises(ValueError, match=r"not a TLP 2\.0 level"):
        Tlp.parse("white")
    assert tlp_of([Tlp.GREEN.value, "marking-definition--x", Tlp.RED.value]) is Tlp.RED


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2016-04-06T20:03:48.000Z", 1459973028000000),
        ("2016-04-06T20:03:48.123456789Z", 1459973028123456),
        ("2016-04-06T20:03:48.1Z", 1459973028100000),
        ("1969-12-31T23:59:59.999Z", -1000),
    ],
)
def test_timestamps(text: str, micros: int) -> None:
    assert parse_micros(text) == micros


@pytest.mark.parametrize(
    "text",
    ["2016-04-06T20:03:48", "2016-04-06 20:03:48Z", "2016-04-06T20:03:48+00:00", "2016-02-30T00:00:00Z",
     "2016-04-06T24:00:00Z", "2016-04-06T20:60:00Z", "", "2016-04-06T20:03:48.Z"],
)
def test_bad_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_micros(text)


def test_format_round_trips() -> None:
    assert format_micros(1459973028123456) == "2016-04-06T20:03:48.123456Z"
    assert parse_micros(format_micros(1459973028123456)) == 1459973028123456


@pytest.mark.parametrize("text", ["2016-01-01T00:00:00Z\n", "\u0662\u0660\u0661\u0666-01-01T00:00:00Z"])
def test_timestamps_refuse_trailing_newlines_and_non_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError):
        parse_micros(text)


def test_identifiers_are_matched_whole() -> None:
    good = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    assert is_identifier(good, "indicator")
    assert not is_identifier(good + "\n")
    assert not is_identifier(good, "malware")


def test_tlp1_markings_count_as_their_tlp2_levels() -> None:
    assert tlp_of(["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]) is Tlp.RED
    assert tlp_of(["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]) is Tlp.CLEAR
    assert marking_ids([Tlp.RED]) == ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp.RED.value)


@given(st.integers(min_value=-62135596800 * 10**6, max_value=253402300799999999))
def test_every_timestamp_formats_and_parses_back(micros: int) -> None:
    """Years 0001-9999, before and after 1970: four-digit years, microseconds, and the same instant back."""
    from phalanx.stix._timestamps import TIMESTAMP_RE

    text = format_micros(micros)
    assert TIMESTAMP_RE.fullmatch(text) and parse_micros(text) == micros
