"""RFC 8785 canonical JSON: the RFC's own vectors, and the reference implementation as a second opinion."""

from __future__ import annotations

import struct
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.errors import InputTooLarge, InvalidJSON
from phalanx.stix import canonical, digest
from phalanx.stix._json import loads

# RFC 8785 appendix B: IEEE 754 bit patterns and their ES6 serialization.
NUMBER_VECTORS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), NUMBER_VECTORS)
def test_numbers_serialize_as_es6(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical([value]) == f"[{expected}]".encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_nan_and_infinity_are_refused(bits: str) -> None:
    with pytest.raises(InvalidJSON):
        canonical([struct.unpack(">d", bytes.fromhex(bits))[0]])


def test_rfc_section_3_2_2_example() -> None:
    source = (
        b'{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        b' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        b' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical(loads(source, max_bytes=10_000, max_depth=10)) == expected


def test_rfc_section_3_2_3_sorts_by_utf16_code_units() -> None:
    value = {
        "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    names = list(value)
    out = canonical(value).decode()
    positions = sorted(names, key=lambda n: out.index('"' + (n if n != "\r" else "\\r") + '"'))
    assert positions == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_fast_and_reference_paths_agree_on_plain_objects() -> None:
    value = {"b": [1, "x\ny", None, True], "a": {"z": "é", "y": -(2**53 - 1)}, "c": "\u2028\x7f"}
    fast = canonical(value, slow=False)
    assert fast == canonical(value, slow=True) == rfc8785.dumps(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_agrees_with_the_rfc8785_reference_package(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_digest_is_sha256_of_the_canonical_bytes() -> None:
    assert digest(b"{}") == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_loads_enforces_size_and_depth_caps() -> None:
    with pytest.raises(InputTooLarge, match="limit is 10 bytes"):
        loads(b'{"a": "0123456789"}', max_bytes=10, max_depth=5)
    with pytest.raises(InputTooLarge, match="nests 4 levels"):
        loads(b'{"a": [[{"b": 1}]]}', max_bytes=1000, max_depth=3)
    with pytest.raises(InputTooLarge):
        loads(b"[" * 5000 + b"]" * 5000, max_bytes=100_000, max_depth=64)


@pytest.mark.parametrize("data", [b'{"a": ', b"\xff\xfe{}", b'{"a": "\xc3"}', b"", b"NaN"])
def test_loads_names_malformed_input(data: bytes) -> None:
    with pytest.raises(InvalidJSON, match="not valid JSON"):
        loads(data, max_bytes=1000, max_depth=10)
