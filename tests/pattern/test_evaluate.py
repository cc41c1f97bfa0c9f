"""The evaluator's own cases: the observations' shapes, errors by cause, the deliberate difference from the
reference (IPv6), and the search shortcuts that must not change an answer. The reference's semantics as such are
held by test_reference_vectors.py and test_differential.py."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from phalanx.errors import InvalidObservation, InvalidPattern
from phalanx.pattern import (
    Comparison,
    Constant,
    ConstantKind,
    MatchDetails,
    ObjectPath,
    Observation,
    Observations,
    Op,
    Pattern,
    Qualified,
    Repeats,
    Within,
    _bindings,
    compile_pattern,
    match_details,
    matches,
    parse,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from stix2matcher.matcher import MatcherException
    from stix2matcher.matcher import match as reference_match

T0 = "2020-01-01T00:00:00Z"


def observed(number: int, refs: list[str], first: str = T0, last: str = T0, count: int = 1) -> dict[str, Any]:
    return {"type": "observed-data", "id": f"observed-data--{number}", "first_observed": first,
            "last_observed": last, "number_observed": count, "object_refs": refs}


def test_stix_21_observed_data_see_the_objects_they_name() -> None:
    objects = [
        observed(0, ["ipv4-addr--1", "identity--1"]),
        observed(1, ["domain-name--1"]),
        {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.100.7"},
        {"type": "domain-name", "id": "domain-name--1", "value": "evil.example", "resolves_to_refs": [
            "ipv4-addr--1", "ipv4-addr--2"]},
        {"type": "ipv4-addr", "id": "ipv4-addr--2", "value": "203.0.113.9"},  # named by no observed-data
        {"type": "identity", "id": "identity--1", "name": "x"},
    ]
    seen = Observations.from_stix(objects)
    assert len(seen) == 2
    assert seen.ids == ("observed-data--0", "observed-data--1")
    assert matches(parse("[ipv4-addr:value = '198.51.100.7']"), seen)
    assert not matches(parse("[ipv4-addr:value = '203.0.113.9']"), seen)
    # references resolve within the observation only: ipv4-addr--1 is not one of observed-data--1's objects
    assert not matches(parse("[domain-name:resolves_to_refs[*].value = '198.51.100.7']"), seen)
    # a pattern never names a STIX 2.1 domain object, even one an observed-data names
    assert not matches(parse("[identity:name = 'x']"), seen)
    assert match_details(parse("[domain-name:value = 'evil.example']"), seen) == MatchDetails(
        (1,), ("observed-data--1",))
    assert seen.objects[0] == (objects[2],)


def test_stix_20_observed_data_carry_their_objects() -> None:
    seen = Observations.from_stix([{
        "type": "observed-data", "first_observed": T0, "last_observed": T0, "number_observed": 1,
        "objects": {"0": {"type": "file", "name": "a.exe", "parent_directory_ref": "1"},
                        "1": {"type": "directory", "path": "/tmp"}},
    }])
    assert matches(parse("[file:parent_directory_ref.path = '/tmp']"), seen)
    assert match_details(parse("[file:name = 'a.exe']"), seen) == MatchDetails((0,), (None,))


def test_a_single_observation_of_plain_objects() -> None:
    objects = [{"type": "email-message", "id": "email-message--1", "from_ref": "email-addr--1"},
               {"type": "email-addr", "id": "email-addr--1", "value": "a@example.com"}]
    pattern = parse("[email-message:from_ref.value = 'a@example.com']")
    assert matches(pattern, Observations.single(objects))
    assert matches(pattern, Observations.single({"0": {"type": "email-message", "from_ref": "1"},
                                                 "1": {"type": "email-addr", "value": "a@example.com"}}))
    at = parse("[email-addr:value = 'a@example.com'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'")
    assert matches(at, Observations.single(objects, T0))
    assert matches(at, Observations.single(objects, datetime(2020, 1, 1, 12, tzinfo=UTC)))
    assert matches(at, Observations.single(objects, 1_577_836_800_000_000))  # microseconds since the epoch
    assert not matches(at, Observations.single(objects, "2020-01-02T00:00:00Z"))
    assert not matches(at, Observations.single(objects))  # now
    twice = parse("[email-addr:value = 'a@example.com'] REPEATS 2 TIMES")
    assert not matches(twice, Observations.single(objects))
    assert matches(twice, Observations.single(objects, number_observed=2))


@pytest.mark.parametrize(("objects", "why"), [
    ([{"value": "no type"}], "type"),
    ([{"type": "observed-data", "first_observed": T0, "number_observed": 1, "object_refs": []}], "last_observed"),
    ([observed(0, [], count=0)], "number_observed"),
    ([observed(0, [], first="2020-01-01T00:00:00")], "timestamp"),
    ([{"type": "observed-data", "first_observed": T0, "last_observed": T0, "number_observed": 1}], "object_refs"),
])
def test_observed_data_that_cannot_be_matched_are_refused(objects: list[dict[str, Any]], why: str) -> None:
    with pytest.raises(InvalidObservation, match=why):
        Observations.from_stix(objects)


@pytest.mark.parametrize(("pattern", "sco"), [
    ("[x:t = t'2020-01-01T00:00:00Z']", {"t": "2020-01-01 00:00:00"}),  # a str read as a timestamp
    ("[x:ip ISSUBSET '10.0.0.0/8']", {"ip": "10.0.0.x"}),
    ("[x:net ISSUPERSET '10.0.0.1']", {"net": "10.0.0.1"}),  # the value must be a block
    ("[x:a_ref.name = 'a']", {"a_ref": 1}),
    ("[x:a_refs[*].name = 'a']", {"a_refs": "x--1"}),
    ("[x:payload_bin = 'a']", {"payload_bin": "not base64!"}),
    ("[x:key_hex = 'a']", {"key_hex": "zz"}),
    ("[x:data_hex LIKE 'a%']", {"data_hex": "ff"}),  # bytes that are not UTF-8, for LIKE
])
def test_data_a_comparison_cannot_read_is_an_error(pattern: str, sco: dict[str, Any]) -> None:
    seen = Observations.single([{"type": "x", "id": "x--1", **sco}], T0)
    with pytest.raises(InvalidObservation):
        matches(parse(pattern), seen)


def test_errors_count_even_where_another_part_decides() -> None:
    # As in the reference: every [...] is evaluated against every observation before the answer is known.
    seen = Observations.single([{"type": "x", "id": "x--1", "a": 1, "t": "yesterday"}], T0)
    with pytest.raises(InvalidObservation):
        matches(parse("[x:a = 1] OR [x:t > t'2020-01-01T00:00:00Z']"), seen)


def _tree(observation: Comparison, text: str = "") -> Pattern:
    return Pattern(text, Observation(observation))


def test_patterns_the_reference_refuses_whatever_the_data() -> None:
    seen = Observations.single([{"type": "x", "a": 1}], T0)
    path = ObjectPath("x", ("a",))
    mixed = Comparison(path, Op.IN, (Constant(ConstantKind.INT, 1), Constant(ConstantKind.STRING, "1")))
    with pytest.raises(InvalidPattern, match="one type"):
        matches(_tree(mixed), seen)
    regex = Comparison(path, Op.MATCHES, Constant(ConstantKind.STRING, "a("))
    with pytest.raises(InvalidPattern, match="compile"):
        matches(_tree(regex), seen)
    bytes_only = Comparison(path, Op.MATCHES, Constant(ConstantKind.STRING, "\\u0061"))  # \u: str re only
    with pytest.raises(InvalidPattern, match="compile"):
        matches(_tree(bytes_only), seen)
    equal = Comparison(path, Op.EQ, Constant(ConstantKind.INT, 1))
    for qualifier in (Within(0), Repeats(0)):
        with pytest.raises(InvalidPattern):
            matches(Pattern("", Qualified(Observation(equal), qualifier)), seen)


def test_ipv6_is_compared_where_the_reference_raises() -> None:
    # The one deliberate difference in evaluation: stix2-matcher reads addresses with inet_aton (IPv4 only).
    objects = [observed(0, ["ipv6-addr--1"]), {"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:db8::7"}]
    for text, expected in [("[ipv6-addr:value ISSUBSET '2001:db8::/32']", True),
                           ("[ipv6-addr:value ISSUBSET '2001:db9::/32']", False),
                           ("[ipv6-addr:value NOT ISSUBSET '2001:db8:1::/64']", True),
                           ("[ipv6-addr:value ISSUBSET '10.0.0.0/8']", False)]:
        assert matches(parse(text), Observations.from_stix(objects)) is expected, text
        with pytest.raises(MatcherException):
            reference_match(text, [{"type": "bundle", "objects": objects}], stix_version="2.1")


def test_repeats_within_prunes_without_changing_the_answer() -> None:
    # 20 observations a second apart: REPEATS 10 TIMES WITHIN s SECONDS tries 20-choose-10 groups unpruned.
    objects: list[dict[str, Any]] = [{"type": "x", "id": "x--1", "a": 1}]
    for i in range(20):
        objects.append(observed(i, ["x--1"], first=f"2020-01-01T00:00:{i:02}Z", last=f"2020-01-01T00:00:{i:02}Z"))
    seen = Observations.from_stix(objects)
    for span in (8, 9, 10, 8.5):
        text = f"[x:a = 1] REPEATS 10 TIMES WITHIN {span} SECONDS"
        found = compile_pattern(parse(text)).first_binding(seen)
        assert (found is not None) is (span >= 9)
        if found is not None:  # the same first binding as the plain search, which is quick when it finds one
            unpruned = _bindings.within(_bindings.repeated(_bindings.simple(range(20), seen.number), 10),
                                        int(span * 1_000_000), seen.first, seen.last)
            assert found == next(unpruned)


def test_a_binding_with_last_observed_before_first_observed_is_an_error_under_within() -> None:
    objects = [observed(0, ["x--1"], first="2020-01-01T00:00:05Z", last=T0), {"type": "x", "id": "x--1", "a": 1}]
    seen = Observations.from_stix(objects)
    assert matches(parse("[x:a = 1]"), seen)
    with pytest.raises(InvalidObservation):
        matches(parse("[x:a = 1] REPEATS 1 TIMES WITHIN 5 SECONDS"), seen)


def test_compiled_patterns_are_reused() -> None:
    pattern = parse("[x:a = 1]")
    seen = Observations.single([{"type": "x", "a": 1}], T0)
    compiled = compile_pattern(pattern)
    assert compiled.matches(seen) and matches(pattern, seen)
    assert compiled.match_details(seen) == match_details(pattern, seen) == MatchDetails((0,), (None,))


def test_exists_combines_with_other_comparisons() -> None:
    # The reference raises TypeError/ValueError for these (its EXISTS leaves a dict where a set is expected).
    seen = Observations.single([{"type": "x", "a": 1}], T0)
    assert matches(parse("[EXISTS x:a AND x:a = 1]"), seen)
    assert matches(parse("[EXISTS x:b OR x:a = 1]"), seen)
    assert not matches(parse("[EXISTS x:b AND x:a = 1]"), seen)
