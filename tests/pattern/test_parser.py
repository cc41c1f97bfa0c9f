"""The STIX 2.1 pattern parser and printer: trees, errors, hostile input, and a differential test against the OASIS
reference validator (``stix2patterns.validator.run_validator``, STIX 2.1).

The differential test runs both on every pattern of the shared data, of the reference's own test files, of the
stix2-matcher vectors, on patterns printed from hypothesis-generated trees, and on mutations of those (a character
deleted, inserted or replaced). Both must agree on valid or invalid, except for the differences in ``DIFFERENCES``:
each is deliberate, has a reason, and is recognized by the errors the two give.
"""

from __future__ import annotations

import doctest
import glob
import json
import random
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import phalanx.pattern
from phalanx.errors import InvalidPattern
from phalanx.pattern import (
    MAX_DEPTH,
    STAR,
    BoolComparison,
    Comparison,
    ComparisonExpression,
    Compound,
    Constant,
    ConstantKind,
    ObjectPath,
    Observation,
    ObservationExpression,
    Op,
    Qualified,
    Repeats,
    StartStop,
    Step,
    Within,
    format_pattern,
    parse,
)

with warnings.catch_warnings():  # antlr4 4.8, under the reference, imports typing.io
    warnings.simplefilter("ignore", DeprecationWarning)
    import stix2patterns
    from stix2patterns.validator import run_validator

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
REFERENCE_TESTS = Path(stix2patterns.__file__).parent / "test" / "v21"


def s(text: str) -> Constant:
    return Constant(ConstantKind.STRING, text)


def cmp(where: str, op: Op, value: Constant | tuple[Constant, ...] | None, negated: bool = False) -> Comparison:
    object_type, _, first = where.partition(":")
    steps: tuple[Step, ...] = tuple(first.split("."))
    return Comparison(ObjectPath(object_type, steps), op, value, negated)


def obs(expression: ComparisonExpression) -> Observation:
    return Observation(expression)


A = obs(cmp("a:x", Op.EQ, s("1")))
B = obs(cmp("b:x", Op.EQ, s("2")))
C = obs(cmp("c:x", Op.EQ, s("3")))
D = obs(cmp("d:x", Op.EQ, s("4")))
TEXT = {A: "[a:x = '1']", B: "[b:x = '2']", C: "[c:x = '3']", D: "[d:x = '4']"}


# -- trees --------------------------------------------------------------------------------------------------------


def test_simple_pattern() -> None:
    pattern = parse("[ipv4-addr:value = '198.51.100.7']")
    assert pattern.text == "[ipv4-addr:value = '198.51.100.7']"
    assert pattern.root == obs(cmp("ipv4-addr:value", Op.EQ, s("198.51.100.7")))
    comparison = pattern.root.expression  # type: ignore[union-attr]
    assert isinstance(comparison, Comparison)
    assert (pattern.root.position, comparison.position, comparison.path.position) == (0, 1, 1)
    assert comparison.value is not None and not isinstance(comparison.value, tuple)
    assert comparison.value.position == 19


def test_positions_do_not_take_part_in_equality() -> None:
    assert parse("[a:x = '1']").root == parse("  [ a:x   =   '1' ] ").root == A
    assert hash(parse("[a:x = '1']").root) == hash(A)


@pytest.mark.parametrize(("text", "tree"), [
    ("[a:x = '1'] AND [b:x = '2'] OR [c:x = '3']", Compound("OR", (Compound("AND", (A, B)), C))),
    ("[a:x = '1'] OR [b:x = '2'] AND [c:x = '3']", Compound("OR", (A, Compound("AND", (B, C))))),
    ("[a:x = '1'] OR [b:x = '2'] FOLLOWEDBY [c:x = '3'] AND [d:x = '4']",
     Compound("FOLLOWEDBY", (Compound("OR", (A, B)), Compound("AND", (C, D))))),
    ("[a:x = '1'] FOLLOWEDBY [b:x = '2'] OR [c:x = '3'] FOLLOWEDBY [d:x = '4']",
     Compound("FOLLOWEDBY", (A, Compound("OR", (B, C)), D))),
    ("([a:x = '1'] OR [b:x = '2']) AND [c:x = '3']", Compound("AND", (Compound("OR", (A, B)), C))),
    ("[a:x = '1'] AND [b:x = '2'] WITHIN 5 SECONDS",
     Compound("AND", (A, Qualified(B, Within(5))))),
    ("([a:x = '1'] AND [b:x = '2']) WITHIN 5 SECONDS", Qualified(Compound("AND", (A, B)), Within(5))),
])
def test_observation_precedence(text: str, tree: ObservationExpression) -> None:
    assert parse(text).root == tree


@pytest.mark.parametrize("text", [
    "[a:x = '1'] OR [b:x = '2'] OR [c:x = '3'] OR [d:x = '4']",
    "([a:x = '1'] OR [b:x = '2']) OR ([c:x = '3'] OR [d:x = '4'])",
    "[a:x = '1'] OR ([b:x = '2'] OR ([c:x = '3'] OR [d:x = '4']))",
    "((([a:x = '1'] OR [b:x = '2'])) OR [c:x = '3']) OR [d:x = '4']",
])
def test_observation_operators_are_flattened(text: str) -> None:
    assert parse(text).root == Compound("OR", (A, B, C, D))


def test_followedby_is_flattened_through_parentheses() -> None:
    text = "([a:x = '1'] FOLLOWEDBY [b:x = '2']) FOLLOWEDBY ([c:x = '3'] FOLLOWEDBY [d:x = '4'])"
    assert parse(text).root == Compound("FOLLOWEDBY", (A, B, C, D))


def test_comparison_precedence_and_flattening() -> None:
    x, y, z, w = (cmp(f"t:{n}", Op.EQ, Constant(ConstantKind.INT, i)) for i, n in enumerate("xyzw"))
    y_and_z, x_or_y = BoolComparison("AND", (y, z)), BoolComparison("OR", (x, y))
    assert parse("[t:x = 0 OR t:y = 1 AND t:z = 2]").root == obs(BoolComparison("OR", (x, y_and_z)))
    assert parse("[(t:x = 0 OR t:y = 1) AND t:z = 2]").root == obs(BoolComparison("AND", (x_or_y, z)))
    assert parse("[t:x = 0 AND (t:y = 1 AND (t:z = 2 AND t:w = 3))]").root == obs(BoolComparison("AND", (x, y, z, w)))
    assert parse("[((t:x = 0))]").root == obs(x)


def test_qualifiers_chain_innermost_first() -> None:
    text = "[a:x = '1'] REPEATS 2 TIMES WITHIN 1.5 SECONDS START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00.5Z'"
    assert parse(text).root == Qualified(
        Qualified(Qualified(A, Repeats(2)), Within(1.5)),
        StartStop("2016-01-01T00:00:00Z", "2016-01-02T00:00:00.5Z"))


def test_a_qualifier_repeats_only_around_parentheses() -> None:
    # As the reference: twice on one [...] is an error; on a parenthesized expression it is not.
    with pytest.raises(InvalidPattern, match="WITHIN qualifies this observation expression twice") as info:
        parse("[a:x = '1'] WITHIN 5 SECONDS WITHIN 6 SECONDS")
    assert info.value.position == 29
    tree = Qualified(Qualified(A, Within(5)), Within(6))
    assert parse("([a:x = '1']) WITHIN 5 SECONDS WITHIN 6 SECONDS").root == tree
    assert parse("([a:x = '1'] WITHIN 5 SECONDS) WITHIN 6 SECONDS").root == tree
    assert format_pattern(tree) == "([a:x = '1'] WITHIN 5 SECONDS) WITHIN 6 SECONDS"


@pytest.mark.parametrize(("text", "op", "value", "negated"), [
    ("[t:p = 1]", Op.EQ, Constant(ConstantKind.INT, 1), False),
    ("[t:p == 1]", Op.EQ, Constant(ConstantKind.INT, 1), False),
    ("[t:p NOT = +1]", Op.EQ, Constant(ConstantKind.INT, 1), True),
    ("[t:p != -1]", Op.NE, Constant(ConstantKind.INT, -1), False),
    ("[t:p <> 0]", Op.NE, Constant(ConstantKind.INT, 0), False),
    ("[t:p < .5]", Op.LT, Constant(ConstantKind.FLOAT, 0.5), False),
    ("[t:p <= -0.5]", Op.LE, Constant(ConstantKind.FLOAT, -0.5), False),
    ("[t:p > +2.25]", Op.GT, Constant(ConstantKind.FLOAT, 2.25), False),
    ("[t:p NOT >= 'a']", Op.GE, s("a"), True),
    ("[t:p = true]", Op.EQ, Constant(ConstantKind.BOOL, True), False),
    ("[t:p != false]", Op.NE, Constant(ConstantKind.BOOL, False), False),
    ("[t:p = b'AAEC']", Op.EQ, Constant(ConstantKind.BINARY, b"\x00\x01\x02"), False),
    ("[t:p = b'AA==']", Op.EQ, Constant(ConstantKind.BINARY, b"\x00"), False),
    ("[t:p = h'00fF']", Op.EQ, Constant(ConstantKind.HEX, b"\x00\xff"), False),
    ("[t:p = h'']", Op.EQ, Constant(ConstantKind.HEX, b""), False),
    ("[t:p = t'2016-02-29T23:59:59.123456789Z']", Op.EQ,
     Constant(ConstantKind.TIMESTAMP, "2016-02-29T23:59:59.123456789Z"), False),
    ("[t:p LIKE 'a%']", Op.LIKE, s("a%"), False),
    ("[t:p NOT MATCHES '^a+$']", Op.MATCHES, s("^a+$"), True),
    ("[t:p ISSUBSET '10.0.0.0/8']", Op.ISSUBSET, s("10.0.0.0/8"), False),
    ("[t:p NOT ISSUPERSET '10.0.0.1']", Op.ISSUPERSET, s("10.0.0.1"), True),
    ("[t:p IN ()]", Op.IN, (), False),
    ("[t:p NOT IN ('a', 1, 1.5, true, h'01')]", Op.IN,
     (s("a"), Constant(ConstantKind.INT, 1), Constant(ConstantKind.FLOAT, 1.5), Constant(ConstantKind.BOOL, True),
      Constant(ConstantKind.HEX, b"\x01")), True),
    ("[EXISTS t:p]", Op.EXISTS, None, False),
])
def test_operators_and_constants(text: str, op: Op, value: Any, negated: bool) -> None:
    assert parse(text).root == obs(cmp("t:p", op, value, negated))


@pytest.mark.parametrize(("literal", "value"), [
    (r"'it\'s'", "it's"),
    (r"'back\\slash'", "back\\slash"),
    (r"'\\\''", "\\'"),
    (r"''", ""),
    ("'tab\there\nnewline é 😀'", "tab\there\nnewline é 😀"),
])
def test_string_escapes(literal: str, value: str) -> None:
    root = parse(f"[t:p = {literal}]").root
    assert root == obs(cmp("t:p", Op.EQ, s(value)))
    assert parse(format_pattern(root)).root == root


@pytest.mark.parametrize(("text", "object_type", "steps"), [
    ("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
     "file", ("hashes", "SHA-256")),
    ("[email-message:to_refs[*].value = 'a']", "email-message", ("to_refs", STAR, "value")),
    ("[x:list[0][-1][+2].k = 'a']", "x", ("list", 0, -1, 2, "k")),
    ("[x:'first key'.'AND'.'it\\'s' = 'a']", "x", ("first key", "AND", "it's")),
    ("[x-y_z:_a.b1 = 'a']", "x-y_z", ("_a", "b1")),
    ("[ x : a . b [ 0 ] = 'a']", "x", ("a", "b", 0)),
])
def test_object_paths(text: str, object_type: str, steps: tuple[Step, ...]) -> None:
    comparison = parse(text).root.expression  # type: ignore[union-attr]
    assert isinstance(comparison, Comparison)
    assert comparison.path == ObjectPath(object_type, steps)


def test_path_text_quotes_only_what_it_must() -> None:
    assert str(ObjectPath("file", ("hashes", "SHA-256"))) == "file:hashes.'SHA-256'"
    assert str(ObjectPath("x", ("a", STAR, "b", 0, "AND", "true", "it's", "_ok1"))) == \
        "x:a[*].b[0].'AND'.'true'.'it\\'s'._ok1"
    assert str(ObjectPath("x", ("a b",))) == "x:'a b'"


def test_whitespace_and_comments_are_skipped() -> None:
    text = "[a:x /* c */ = '1'] // line comment\n OR\u00a0[b:x\t=\r\n'2'] /* end */"
    assert parse(text).root == Compound("OR", (A, B))


def test_format_is_canonical() -> None:
    text = "([a:x == '1' OR b:y <> 2] OR [c:z = .00000015]) AND [d:w NOT IN ( 'a' ,1 )] WITHIN 5 SECONDS"
    assert format_pattern(parse(text)) == (
        "([a:x = '1' OR b:y != 2] OR [c:z = 0.00000015]) AND [d:w NOT IN ('a', 1)] WITHIN 5 SECONDS")


def test_format_refuses_trees_without_text() -> None:
    empty_binary = obs(cmp("t:p", Op.EQ, Constant(ConstantKind.BINARY, b"")))
    with pytest.raises(ValueError, match="empty binary"):
        format_pattern(empty_binary)
    with pytest.raises(ValueError, match="inf"):
        format_pattern(obs(cmp("t:p", Op.EQ, Constant(ConstantKind.FLOAT, float("inf")))))
    with pytest.raises(ValueError, match="positive"):
        format_pattern(Qualified(A, Repeats(0)))


def test_module_docstring_example_runs() -> None:
    assert doctest.testmod(phalanx.pattern).failed == 0


# -- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "position", "expected", "words"), [
    ("", 0, ("'['", "'('"), "the pattern is empty"),
    ("file:size = 1280", 0, ("'['", "'('"), "found 'f'"),
    ("/* c */ [a:b = 1]", 0, ("'['", "'('"), "found '/'"),
    ("[a:b = 1", 8, ("AND", "OR", "']'"), "the end of the pattern"),
    ("[a:b = 1]]", 9, ("AND", "OR", "FOLLOWEDBY", "WITHIN", "REPEATS", "START", "the end of the pattern"), "']'"),
    ("([a:b = 1]", 10, ("AND", "OR", "FOLLOWEDBY", "WITHIN", "REPEATS", "START", "')'"), "end of the pattern"),
    ("[a:b = 1] AND", 13, ("'['", "'('"), "the end of the pattern"),
    ("[a:b = 1 AND (a:c = 2]", 21, ("AND", "OR", "')'"), "']'"),
    ("[file:size = ]", 13, ("a constant (string, number, true, false, timestamp, binary or hex)",), "']'"),
    ("[file.size = 1280]", 5, ("':' and a property name",), "'.'"),
    ("[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]", 19, None, "'cead3f77f6cda6ec00f57d76c9a6879f'"),
    ("[file:name MATCHES /.*\\.dll/]", 19, ("a string after MATCHES",), "'/'"),
    ("[a:b = 1] WITHIN ]", 17, ("a positive number of seconds",), "']'"),
    ("[a:b = 1] WITHIN 5 HOURS", 19, ("SECONDS",), "'HOURS'"),
    ("[a:b = 1] WITHIN -5 SECONDS", 17, ("a positive number of seconds",), "'-5'"),
    ("[a:b = 1] REPEATS 1.5 TIMES", 18, ("a positive whole number of times",), "'1.5'"),
    ("[a:b = 1] START '2016' STOP t'2016-01-01T00:00:00Z'", 16, None, "after START"),
    ("[x:p ISSUBSET ]", 14, ("a string after ISSUBSET",), "']'"),
    ("[file:hashes.MD5 =? 'x']", 18, None, "'?'"),
    ("[a:b = t'2457-73-22T32:81:84.1Z']", 7, None, "a timestamp is t'YYYY-MM-DDThh:mm:ss[.fraction]Z'"),
    ("[a:b = b'====']", 7, None, "binary is b'base64'"),
    ("[a:b = h'abc']", 7, None, "an even number"),
    ("[foo:bar = 1] within 2 seconds", 14, None, "keywords are upper case: WITHIN"),
    ("[a:b = 'x\\n']", 9, None, "'\\\\n' is not an escape"),
    ("[a:b = 'x]", 7, None, "never closed"),
    ("[a:x-y = 1]", 3, ("a property name",), "quote a name that has a '-'"),
    ("[a:IN = 1]", 3, ("a property name",), "quote a name that is a keyword"),
    ("[AND:b = 1]", 1, ("an object path (object-type:property)", "EXISTS", "'('"), "'AND'"),
    ("[a:b]", 4, ("a comparison operator", "'.'", "'['"),
     "(the operators: =, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)"),
    ("[a:b c = 1]", 5, ("a comparison operator", "'.'", "'['"), "'c'"),
    ("[a:b NOT EXISTS]", 9, ("a comparison operator",), "'EXISTS'"),
    ("[EXISTS a:b = 1]", 8, ("an object type",), "'a'"),
    ("[a:b[x] = 1]", 5, ("a list index (a whole number or '*')",), "'x'"),
    ("[a:b IN 'a']", 8, None, "a set of constants in parentheses"),
    ("[a:b IN ('a' 'b')]", 13, ("','", "')'"), "\"'b'\""),
    ("[a:b < true]", 7, ("a constant that has an order (string, number, timestamp, binary or hex)",), "'true'"),
    ("[a:b = 1] [c:d = 2]", 10, None, "'['"),
    ("[a:b = 1] \x00", 10, None, "'\\x00'"),
])
def test_syntax_errors_say_where_and_what_was_expected(text: str, position: int, expected: tuple[str, ...] | None,
                                                       words: str) -> None:
    with pytest.raises(InvalidPattern) as info:
        parse(text)
    error = info.value
    assert error.position == position, error.message
    if expected is not None:
        assert error.expected == expected, error.message
    assert words in error.message
    assert f"at position {position}" in str(error)
    assert error.pattern == text


@pytest.mark.parametrize(("text", "position", "words"), [
    ("[file:hashes.'SHA-256' = 'f00']", 25, "'f00' is not a valid SHA-256 hash: expected a string of 64 hex digits"),
    ("[file:hashes.md5 = 'd41d8cd98f00b204e9800998ecf8427']", 19, "not a valid md5 hash"),
    ("[file:hashes.MD5 != 5]", 20, "this constant is not a valid MD5 hash"),
    ("[file:hashes.SSDEEP = 'a b']", 22, "an SSDEEP digest"),
    ("[a:b = t'2015-02-29T00:00:00Z']", 7, "there is no 2015-02-29"),
    ("[a:b = t'2016-04-31T00:00:00Z']", 7, "there is no 2016-04-31"),
    ("[a:b = t'2016-12-31T23:59:60Z']", 7, "leap seconds are not supported"),
    ("[a:b MATCHES '(']", 13, "the MATCHES regular expression does not compile: missing )"),
    ("[a:b MATCHES '\\\\p{L}']", 13, "does not compile: bad escape \\p"),
    ("[a:b = 1] WITHIN 0 SECONDS", 17, "expected a positive number of seconds, found 0"),
    ("[a:b = 1] REPEATS 0 TIMES", 18, "expected a positive whole number of times, found 0"),
    ("[a:b = " + "1" * 5000 + "]", 7, "this integer has too many digits"),
    ("[a:b = " + "1" * 400 + ".5]", 7, "too large for a floating point number"),
])
def test_constant_errors(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidPattern) as info:
        parse(text)
    assert info.value.position == position, info.value.message
    assert words in info.value.message
    assert info.value.expected == ()


@pytest.mark.parametrize("value", [None, b"[a:b = 1]", 5, ["[a:b = 1]"]])
def test_a_pattern_that_is_not_a_string(value: Any) -> None:
    with pytest.raises(InvalidPattern, match="expected a pattern as a string"):
        parse(value)


def test_hash_values_are_checked_like_the_reference() -> None:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    for text in (f"[file:hashes.MD5 = '{md5}']", f"[file:hashes.'md5' != '{md5.upper()}']",
                 f"[file:hashes.MD5 IN ('{md5}')]", "[file:hashes.MD5 LIKE 'd41d%']", "[file:hashes[*] = 'x']",
                 "[file:hashes.'x-custom' = 'x']", "[file:hashes.SSDEEP = '3:abc:def']", "[file:Hashes.MD5 = 'x']"):
        parse(text)


# -- hostile input ------------------------------------------------------------------------------------------------


def test_fifty_thousand_operands() -> None:
    n = 50_000
    root = parse(" OR ".join(f"[ipv4-addr:value = '10.0.{i // 256}.{i % 256}']" for i in range(n))).root
    assert isinstance(root, Compound) and root.op == "OR" and len(root.operands) == n
    inner = parse("[" + " OR ".join(f"x:v = {i}" for i in range(n)) + "]").root
    assert isinstance(inner, Observation) and isinstance(inner.expression, BoolComparison)
    assert len(inner.expression.operands) == n
    mixed = parse(" AND ".join(["[a:x = '1'] FOLLOWEDBY [b:x = '2'] OR [c:x = '3']"] * 3_000)).root
    assert isinstance(mixed, Compound) and mixed.op == "FOLLOWEDBY" and len(mixed.operands) == 3_001


def test_nesting_is_limited_with_a_clear_error() -> None:
    assert parse("(" * MAX_DEPTH + "[a:x = '1']" + ")" * MAX_DEPTH).root == A
    assert parse("[" + "(" * MAX_DEPTH + "a:x = '1'" + ")" * MAX_DEPTH + "]").root == A
    half = MAX_DEPTH // 2
    assert parse("(" * half + "[" + "(" * half + "a:x = '1'" + ")" * half + "]" + ")" * half).root == A
    for text in ("(" * (MAX_DEPTH + 1) + "[a:x = '1']" + ")" * (MAX_DEPTH + 1), "(" * 100_000 + "[a:x = '1']",
                 "[" + "(" * 100_000 + "a:x = '1']"):
        with pytest.raises(InvalidPattern, match="nested too deeply") as info:
            parse(text)
        assert info.value.position in (MAX_DEPTH, MAX_DEPTH + 1)


def _alternating(levels: int) -> str:
    text = "[a:x = '1']"
    for i in range(levels):
        text = f"({text} {'AND' if i % 2 else 'OR'} [b:x = '2'])"
    return text


def test_the_tree_depth_is_limited_too() -> None:
    # Alternating operators, one level per parenthesis: the tree is as deep as the parentheses, plus 2 (the
    # observation and the comparison).
    tree = parse(_alternating(MAX_DEPTH - 2)).root
    assert format_pattern(tree).count("(") == (MAX_DEPTH - 2) // 2  # only OR inside AND needs them
    assert parse(format_pattern(tree)).root == tree
    with pytest.raises(InvalidPattern, match="more than 100 levels deep") as info:
        parse(_alternating(MAX_DEPTH - 1))
    assert info.value.position == MAX_DEPTH  # the innermost comparison, after 99 '(' and a '['
    # Qualifiers nest without parentheses after one.
    parse("([a:x = '1'])" + " WITHIN 1 SECONDS" * (MAX_DEPTH - 2))
    with pytest.raises(InvalidPattern, match="nested too deeply"):
        parse("([a:x = '1'])" + " WITHIN 1 SECONDS" * (MAX_DEPTH - 1))
    with pytest.raises(InvalidPattern, match="nested too deeply"):
        parse("([a:x = '1'])" + " WITHIN 1 SECONDS" * 20_000)


@pytest.mark.parametrize("text", [
    "[a:b = '" + "x" * 1_000_000,  # an unclosed string
    "[a:b = '" + "x\\'" * 300_000 + "]",
    "[a:b = '" + "\\\\" * 300_000 + "\\q']",  # a bad escape at the end
    "[a:b = 1] " + "/*" * 200_000,  # unclosed comments
    "[a:b = 1] " + "/* */" * 200_000 + "x",
    "[a:b = 1]" + " " * 1_000_000 + "x",
    "[a:b = " + "'" * 200_001 + "]",
    "[a:b IN (" + "1," * 50_000 + "]",
    "[" + "a:" * 100_000,
    "[a:b = t'" + "2016" * 100_000,
    "[a:b = b'" + "A" * 1_000_001 + "']",
    "[a:b = 1]" + " AND" * 50_000,
    "\u0000" * 100_000,
])
def test_hostile_input_fails_fast_and_cleanly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidPattern):
        parse(text)
    assert time.perf_counter() - started < 5


def test_large_valid_constants() -> None:
    value = "x" * 1_000_000
    root = parse(f"[a:b = '{value}']").root
    assert root == obs(cmp("a:b", Op.EQ, s(value)))
    assert parse("[a:b = b'" + "AAAA" * 250_000 + "']").root == obs(cmp("a:b", Op.EQ, Constant(
        ConstantKind.BINARY, b"\0" * 750_000)))


def test_parse_needs_little_stack() -> None:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 30)  # the parser is a loop: it must not need Python's stack
    try:
        parse(" OR ".join(["(" * 90 + "[a:x = '1']" + ")" * 90] * 100))
        parse("[" + "(" * 90 + "a:x = 1 AND b:y = 2" + ")" * 90 + "]")
        with pytest.raises(InvalidPattern):
            parse("(" * 100_000)
    finally:
        sys.setrecursionlimit(limit)


# -- hypothesis: trees, printed and parsed back -------------------------------------------------------------------
# Trees are built from a random.Random that hypothesis drives (st.randoms): generation costs microseconds, not the
# hundreds of milliseconds nested hypothesis strategies cost here, so each test runs hundreds of trees in seconds.

NAMES = ("value", "name", "x_1", "_p", "a", "SHA-256", "with space", "AND", "true", "it's", "b\\s", "", "0", "é")
OBJECT_TYPES = ("ipv4-addr", "file", "x-custom-type", "a", "a_b", "x-", "_t", "T1")
CHARACTERS = ("a", "b", "%", "_", " ", "'", "\\", "é", "\n", "😀", "0", "]", ")", "/*")
FLOATS = (0.0, -0.0, 0.5, -1.5, 1e-7, 1.5e300, 123456.789, 1 / 3, 5e-324, 1e16)
REGEXES = ("^a", "b$", "a|b", ".*", "^$", "\\x61", "é+", "(?i)abc", "[a-z]{2,3}", "\\d+\\.\\d+", "(?P<n>x)", "a++")
ALL_KINDS = tuple(ConstantKind)
ORDERED_KINDS = tuple(kind for kind in ConstantKind if kind is not ConstantKind.BOOL)


def random_timestamp(rng: random.Random) -> str:
    year, month = rng.randint(0, 9999), rng.randint(1, 12)
    day = rng.randint(1, 29 if month == 2 and year % 4 == 0 and (year % 100 or year % 400 == 0) else
                      28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    fraction = rng.choice(["", ".0", ".5", ".123", ".123456", ".123456789"])
    return f"{year:04d}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
           f"{rng.randint(0, 59):02d}{fraction}Z"


def random_constant(rng: random.Random, kinds: tuple[ConstantKind, ...]) -> Constant:
    kind = rng.choice(kinds)
    value: Any
    if kind is ConstantKind.STRING:
        value = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 6)))
    elif kind is ConstantKind.INT:
        value = rng.choice([0, 1, -1, rng.randint(-1000, 1000), rng.randint(-(10**40), 10**40)])
    elif kind is ConstantKind.FLOAT:
        value = rng.choice([rng.choice(FLOATS), rng.uniform(-1e6, 1e6)])
    elif kind is ConstantKind.BOOL:
        value = rng.random() < 0.5
    elif kind is ConstantKind.TIMESTAMP:
        value = random_timestamp(rng)
    else:
        value = rng.randbytes(rng.randint(1 if kind is ConstantKind.BINARY else 0, 7))
    return Constant(kind, value)


def random_path(rng: random.Random) -> ObjectPath:
    steps: list[Step] = [rng.choice(NAMES)]
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        steps.append(rng.choice([rng.choice(NAMES), rng.randint(-3, 12), STAR]))
    return ObjectPath(rng.choice(OBJECT_TYPES), tuple(steps))


def random_comparison(rng: random.Random) -> Comparison:
    op = rng.choice(list(Op))
    value: Constant | tuple[Constant, ...] | None
    if op is Op.EXISTS:
        value = None
    elif op is Op.IN:
        value = tuple(random_constant(rng, ALL_KINDS) for _ in range(rng.randint(0, 4)))
    elif op is Op.MATCHES:
        value = s(rng.choice(REGEXES))
    elif op in (Op.LIKE, Op.ISSUBSET, Op.ISSUPERSET):
        value = random_constant(rng, (ConstantKind.STRING,))
    else:
        value = random_constant(rng, ORDERED_KINDS if op in (Op.LT, Op.LE, Op.GT, Op.GE) else ALL_KINDS)
    return Comparison(random_path(rng), op, value, op is not Op.EXISTS and rng.random() < 0.3)


def random_comparisons(rng: random.Random, depth: int) -> ComparisonExpression:
    if depth == 0 or rng.random() < 0.5:
        return random_comparison(rng)
    operands = tuple(random_comparisons(rng, depth - 1) for _ in range(rng.randint(2, 3)))
    return BoolComparison(rng.choice(("AND", "OR")), operands)


def random_qualifier(rng: random.Random) -> Within | Repeats | StartStop:
    choice = rng.randrange(3)
    if choice == 0:
        return Within(rng.choice([rng.randint(1, 10**6), rng.uniform(1e-6, 1e6), 1e-7, 0.5]))
    if choice == 1:
        return Repeats(rng.randint(1, 1000))
    return StartStop(random_timestamp(rng), random_timestamp(rng))


def random_tree(rng: random.Random, depth: int = 3) -> ObservationExpression:
    """A tree as parse builds them: flattened."""
    return flattened(_random_observations(rng, depth))


def _random_observations(rng: random.Random, depth: int) -> ObservationExpression:
    choice = rng.random()
    if depth == 0 or choice < 0.4:
        return Observation(random_comparisons(rng, 2))
    if choice < 0.6:
        return Qualified(_random_observations(rng, depth - 1), random_qualifier(rng))
    operands = tuple(_random_observations(rng, depth - 1) for _ in range(rng.randint(2, 3)))
    return Compound(rng.choice(("AND", "OR", "FOLLOWEDBY")), operands)


def flattened(node: Any) -> Any:
    """The tree parse gives for ``node``: n-ary operators flattened (a same-operator operand spliced in)."""
    if isinstance(node, Compound | BoolComparison):
        operands: list[Any] = []
        for operand in map(flattened, node.operands):
            same = isinstance(operand, type(node)) and operand.op == node.op
            operands.extend(operand.operands if same else [operand])
        return type(node)(node.op, tuple(operands))  # type: ignore[arg-type]
    if isinstance(node, Qualified):
        return Qualified(flattened(node.expression), node.qualifier)
    if isinstance(node, Observation):
        return Observation(flattened(node.expression))
    return node


@settings(max_examples=500, deadline=None)
@given(st.randoms(use_true_random=False))
def test_format_then_parse_gives_the_tree_back(rng: random.Random) -> None:
    tree = random_tree(rng)
    text = format_pattern(tree)
    assert parse(text).root == tree, text
    assert format_pattern(parse(text)) == text


# -- the differential test against the reference validator --------------------------------------------------------


def reference_valid(text: str) -> bool | None:
    """The reference's verdict, or None when it crashes (see REFERENCE_CRASHES)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run_validator(text, stix_version="2.1") == []
    except Exception:  # the reference lets AttributeError and others escape
        return None


def reference_errors(text: str) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(run_validator(text, stix_version="2.1"))


@dataclass(frozen=True)
class Difference:
    """A deliberate difference from the reference validator: an example, who accepts it, why we differ, and how to
    recognize the difference in a disagreement (by our error, or by the reference's errors, for one text)."""

    name: str
    example: str
    we_accept: bool
    reason: str
    recognize: Callable[[str, str, list[str]], bool]  # (text, our error message, the reference's errors)


def _ours(message: str) -> Callable[[str, str, list[str]], bool]:
    return lambda text, ours, theirs: message in ours


def _hash_test(*ops: Op) -> Callable[[str, str, list[str]], bool]:
    """The reference refuses only hash values, and we accept a comparison of a hash with one of ``ops``."""
    def recognize(text: str, ours: str, theirs: list[str]) -> bool:
        if not theirs or not all("hash" in error for error in theirs):
            return False
        stack: list[Any] = [parse(text).root]
        while stack:
            node = stack.pop()
            if isinstance(node, Compound | BoolComparison):
                stack.extend(node.operands)
            elif isinstance(node, Qualified | Observation):
                stack.append(node.expression)
            elif "hashes" in node.path.steps and node.op in ops:
                return True
        return False
    return recognize


DIFFERENCES = [
    Difference("regex-compiles", "[a:b MATCHES '(']", False,
               "MATCHES takes a regular expression; one that does not compile can never match (the reference "
               "matcher fails on it at match time). We compile it with Python's re, as the reference matcher "
               r"does: PCRE-only syntax (\p{..}, (?<name>..), \Q..\E, inline flags after the start) is refused.",
               _ours("regular expression does not compile")),
    Difference("real-dates", "[a:b = t'2015-02-29T00:00:00Z']", False,
               "The grammar takes any day 01-31 of any month; a timestamp that is no date cannot be compared "
               "(the reference matcher fails on it at match time).",
               _ours("is not a date")),
    Difference("no-leap-seconds", "[a:b = t'2016-12-31T23:59:60Z']", False,
               "Second 60 passes the grammar; Python's datetime (ours and the reference matcher's) has none.",
               _ours("leap seconds are not supported")),
    Difference("positive-qualifiers", "[a:b = 1] WITHIN 0 SECONDS", False,
               "STIX 2.1 section 9.6: WITHIN takes a positive number and REPEATS a positive integer; the grammar "
               "allows 0 (the reference matcher refuses it at match time).",
               _ours("expected a positive")),
    Difference("number-size", "[a:b = " + "9" * 5000 + "]", False,
               "An integer of more than 4300 digits (Python's int() limit) or a float beyond 1.8e308 has no value.",
               lambda text, ours, theirs: "too many digits" in ours or "too large for a floating" in ours),
    Difference("hash-in-set", "[file:hashes.MD5 IN ('d41d8cd98f00b204e9800998ecf8427e')]", True,
               "The reference checks the text of the whole set as one hash value, so it refuses every IN on a hash; "
               "we check each member.", _hash_test(Op.IN)),
    Difference("hash-like-matches", "[file:hashes.MD5 LIKE 'd41d%']", True,
               "LIKE and MATCHES take a pattern, not a hash value: the reference checks it as a hash anyway.",
               _hash_test(Op.LIKE, Op.MATCHES)),
    Difference("hash-exact", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e\n']", False,
               "The reference's hash check lets a final newline through (re.match with $) and checks MD6 with a "
               "broken expression (any value starting with 32 hex digits); we check the whole value, and MD6 as "
               "32, 40, 56, 64, 96 or 128 hex digits.",
               _ours(" hash: expected a string of")),
]
DIFFERENCE_EXAMPLES = {d.example: d for d in DIFFERENCES}

# The reference raises (instead of answering) on these: we answer.
REFERENCE_CRASHES = {
    "": False,  # UnboundLocalError in brackets_check
    "[a:b[-1] = 1]": True,  # AttributeError: a negative list index (the grammar allows it)
    "[file:hashes[0] = 'x']": True,  # AttributeError: an index after 'hashes'
}


def explain(text: str) -> str | None:
    """None if both agree on ``text`` (or the reference crashes), else the deliberate difference, else a failure."""
    expected = reference_valid(text)
    try:
        parse(text)
    except InvalidPattern as exc:
        ours_valid, message = False, exc.message
    else:
        ours_valid, message = True, ""
    if expected is None or expected == ours_valid:
        return None
    theirs = [] if expected else reference_errors(text)
    for difference in DIFFERENCES:
        if difference.we_accept == ours_valid and difference.recognize(text, message, theirs):
            return difference.name
    pytest.fail(f"we {'accept' if ours_valid else 'refuse'} {text!r} and the reference does not: "
                f"{message or theirs}")


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.name)
def test_each_difference_is_real(difference: Difference) -> None:
    assert reference_valid(difference.example) is (not difference.we_accept)
    assert explain(difference.example) == difference.name


@pytest.mark.parametrize(("text", "valid"), sorted(REFERENCE_CRASHES.items()))
def test_where_the_reference_crashes(text: str, valid: bool) -> None:
    assert reference_valid(text) is None
    if valid:
        parse(text)
    else:
        with pytest.raises(InvalidPattern):
            parse(text)


def _corpus() -> dict[str, str]:
    """Every STIX pattern we have real or reference examples of, with where it comes from."""
    patterns: dict[str, str] = {}
    for name in sorted(glob.glob(str(SHARED / "stix" / "**" / "*.json"), recursive=True)):
        with open(name, encoding="utf-8") as f:
            document = json.load(f)
        for obj in document.get("objects", []) if isinstance(document, dict) else []:
            if obj.get("type") == "indicator" and obj.get("pattern_type", "stix") == "stix":
                patterns.setdefault(obj["pattern"], Path(name).name)
    for line in (REFERENCE_TESTS / "spec_examples.txt").read_text(encoding="utf-8").splitlines():
        patterns.setdefault(line.strip(), "stix2patterns spec_examples.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from stix2patterns.test.v21 import test_validator as reference_tests
    for text in reference_tests.PASS_CASES + [text for text, _ in reference_tests.FAIL_CASES]:
        patterns.setdefault(text, "stix2patterns test_validator.py")
    vectors = ROOT / "tests" / "pattern" / "vectors" / "stix2_matcher_v21.json"
    if vectors.exists():
        for vector in json.loads(vectors.read_text(encoding="utf-8"))["vectors"]:
            if vector.get("stix_version") == "2.1":
                patterns.setdefault(vector["pattern"], "stix2-matcher vectors")
    return patterns


CORPUS = _corpus()


def test_the_corpus_has_the_shared_indicators() -> None:
    assert sum(1 for where in CORPUS.values() if where.endswith(".json")) >= 40
    assert len(CORPUS) >= 400


@pytest.mark.parametrize("text", sorted(CORPUS), ids=lambda text: text[:60])
def test_corpus_agrees_with_the_reference(text: str) -> None:
    difference = explain(text)
    assert difference in (None, "positive-qualifiers"), difference  # the matcher vectors test WITHIN 0 too


MUTATIONS = "[]()':.,*=!<>-+/\\ \t\nabtfhxzAZ09_\"é" + "\x00"
WORDS = ["AND ", "OR ", "NOT ", "IN ", "LIKE ", "EXISTS ", "FOLLOWEDBY ", " WITHIN 5 SECONDS", " REPEATS 2 TIMES",
         "t'2016-01-01T00:00:00Z'", "b'AAAA'", "h'00'", "true", "hashes.MD5", "/*", "*/", "//"]


def mutate(rng: random.Random, text: str) -> str:
    """One to three characters or words deleted, inserted or replaced."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) + 1)
        piece = rng.choice(MUTATIONS) if rng.random() < 0.7 else rng.choice(WORDS)
        how = rng.randrange(3)
        text = text[:at] + ("" if how == 0 else piece) + text[at + (how != 1):]
    return text


DIFFERENTIAL = settings(max_examples=300, deadline=None)


@DIFFERENTIAL
@given(st.randoms(use_true_random=False))
def test_generated_patterns_agree_with_the_reference(rng: random.Random) -> None:
    text = format_pattern(random_tree(rng, depth=2))
    assume(reference_valid(text) is not None)
    assert explain(text) is None, text


@DIFFERENTIAL
@given(st.randoms(use_true_random=False))
@example(random.Random(0))
def test_mutated_patterns_agree_with_the_reference(rng: random.Random) -> None:
    explain(mutate(rng, format_pattern(random_tree(rng, depth=2))))


@pytest.mark.parametrize("text", [
    "[a:b = 'x'] /* c */ OR [c:d = 1]", "[a:b = 1AND a:c = 2]", "[a:b = 1] WITHIN 5 SECONDS\u3000",
    "\u00a0[a:b = 1]", "\x1c[a:b = 1]", "[a:b = 1]/**/", "[a:b = 1] // c", "[a:b LIKE'x']", "[a:b = .5]", "[a:b = 5.]",
    "[a:b = 0123]", "[a:b[+0] = 1]", "[a:b = 1] within 5 seconds", "[file:hashes.MD5 = 'x' OR a:b = 1]",
])
def test_edge_cases_agree_with_the_reference(text: str) -> None:
    assert explain(text) is None


@pytest.mark.parametrize("seed", range(6))
def test_mutations_of_the_corpus_agree_with_the_reference(seed: int) -> None:
    # Plain random mutations of real patterns (hypothesis's are of generated ones): 150 per seed.
    rng = random.Random(seed)
    texts = sorted(CORPUS)
    for _ in range(150):
        explain(mutate(rng, rng.choice(texts)))


def test_lexer_regex_has_no_catastrophic_backtracking_on_comments() -> None:
    started = time.perf_counter()
    assert parse("[a:b = 1]" + "/*/" * 20_000 + " /* */" * 20_000).root == obs(cmp("a:b", Op.EQ, Constant(
        ConstantKind.INT, 1)))
    for text in ("[a:b = 1] " + "/* */ " * 20_000 + "x", "[a:b = 1] /*" + "*" * 100_000,
                 "[a:b = 1] " + "//" * 50_000 + "\n x"):
        with pytest.raises(InvalidPattern):
            parse(text)
    assert time.perf_counter() - started < 5


def test_the_parser_does_not_import_the_stix_package() -> None:
    # phalanx.stix's ingest imports phalanx.pattern: the other way round would be an import cycle.
    code = "import sys, phalanx.pattern; assert 'phalanx.stix' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_nodes_built_fast_are_nodes_built_by_init() -> None:
    # The hot path sets the slots of Constant, Comparison, ObjectPath, Observation and Pattern itself: that is
    # only right while their __init__ does nothing else.
    for cls in (Constant, Comparison, ObjectPath, Observation, phalanx.pattern.Pattern):
        assert not hasattr(cls, "__post_init__"), cls
    fast = parse("[ipv4-addr:value = '198.51.100.7']")
    assert fast == phalanx.pattern.Pattern(fast.text, obs(cmp("ipv4-addr:value", Op.EQ, s("198.51.100.7"))))
    assert repr(fast.root) == repr(Observation(Comparison(ObjectPath("ipv4-addr", ("value",), 1), Op.EQ, Constant(
        ConstantKind.STRING, "198.51.100.7", 19), False, 1), 0))
