"""Constants, object paths and the checks on comparisons: what the grammar alone does not say.

The checks are those of the OASIS reference validator (``stix2patterns``, STIX 2.1) beyond the grammar, plus those
the reference matcher (``stix2-matcher``) makes when it evaluates a pattern: real dates, positive qualifiers,
regular expressions that compile. Each raises ``InvalidPattern`` at the offset of the offending constant.
"""

from __future__ import annotations

__all__ = ["check_comparison", "constant", "new_observation", "new_pattern", "plain_comparison", "unescape"]

import base64
import math
import re
from collections.abc import Callable
from typing import Final, NoReturn

from phalanx.errors import InvalidPattern

from ._ast import (
    STAR,
    Comparison,
    ComparisonExpression,
    Constant,
    ConstantKind,
    ObjectPath,
    Observation,
    Op,
    Pattern,
    Step,
)
from ._lexer import BINARY, BOOL, FLOAT, HEX, INT, KEYWORDS, STRING, TIMESTAMP

OPS: Final = {"=": Op.EQ, "==": Op.EQ, "!=": Op.NE, "<>": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT,
              ">=": Op.GE, "IN": Op.IN, "LIKE": Op.LIKE, "MATCHES": Op.MATCHES, "ISSUBSET": Op.ISSUBSET,
              "ISSUPERSET": Op.ISSUPERSET}
ORDERED: Final = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
STRING_ONLY: Final = frozenset({Op.LIKE, Op.MATCHES, Op.ISSUBSET, Op.ISSUPERSET})

_DAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ESCAPE_RE: Final = re.compile(r"\\(.)")
_STEP_RE: Final = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*|'(?:[^'\\]|\\.)*')|\[(\*|[+\-]?[0-9]+)\]")
# The kind of a constant in a plain comparison, by its first character ('t' is t'...' or true; a number is an int
# unless it has a '.').
_VALUE_KINDS: Final = {"'": STRING, "t": "t", "f": BOOL, "b": BINARY, "h": HEX,
                       **dict.fromkeys("+-.0123456789", FLOAT)}

# Hash values the reference validator checks (stix2patterns/v21/object_validator.py), keyed as it keys them: the
# hash name upper-cased, without '-'. MD6 is checked as the spec means it (the reference's expression is broken).
_HEX_HASHES: Final = {"MD5": (32,), "MD6": (32, 40, 56, 64, 96, 128), "RIPEMD160": (40,), "SHA1": (40,),
                      "SHA224": (56,), "SHA256": (64,), "SHA384": (96,), "SHA512": (128,), "SHA3224": (56,),
                      "SHA3256": (64,), "SHA3384": (96,), "SHA3512": (128,), "WHIRLPOOL": (128,)}
_HEX_RE: Final = re.compile(r"[0-9A-Fa-f]*")
_RESERVED: Final = KEYWORDS | {"true", "false"}
_SSDEEP_RE: Final = re.compile(r"[A-Za-z0-9/+:.]{1,128}")
_NOT_HASH_VALUES: Final = (Op.LIKE, Op.MATCHES, Op.EXISTS)  # their operands are patterns, not hash values

# Paths of plain comparisons by their text, shared between patterns (they are immutable): an index of a million
# indicators holds a few distinct paths, not a million. A path at another offset is a copy with that position.
_PATHS: dict[str, ObjectPath] = {}
_PATHS_KEPT: Final = 4096


# Fast constructors for the hot path (a plain pattern is parsed in a few microseconds; a frozen dataclass's __init__
# costs about a microsecond, twice what setting its slots does). They set exactly the fields __init__ sets; the
# nodes have no __post_init__. Nothing else may build nodes this way.
_new = object.__new__


def _slots(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    return tuple(vars(cls)[name].__set__ for name in names)


_CONSTANT_SLOTS = _slots(Constant, "kind", "value", "position")
_COMPARISON_SLOTS = _slots(Comparison, "path", "op", "value", "negated", "position")
_OBSERVATION_SLOTS = _slots(Observation, "expression", "position")
_PATH_SLOTS = _slots(ObjectPath, "object_type", "steps", "position")
_PATTERN_SLOTS = _slots(Pattern, "text", "root")


def _new_constant(kind: ConstantKind, value: str | int | float | bool | bytes, position: int) -> Constant:
    node: Constant = _new(Constant)
    set_kind, set_value, set_position = _CONSTANT_SLOTS
    set_kind(node, kind)
    set_value(node, value)
    set_position(node, position)
    return node


def _new_comparison(path: ObjectPath, op: Op, value: Constant, position: int) -> Comparison:
    node: Comparison = _new(Comparison)
    set_path, set_op, set_value, set_negated, set_position = _COMPARISON_SLOTS
    set_path(node, path)
    set_op(node, op)
    set_value(node, value)
    set_negated(node, False)
    set_position(node, position)
    return node


def _new_path(object_type: str, steps: tuple[Step, ...], position: int) -> ObjectPath:
    node: ObjectPath = _new(ObjectPath)
    set_type, set_steps, set_position = _PATH_SLOTS
    set_type(node, object_type)
    set_steps(node, steps)
    set_position(node, position)
    return node


def new_observation(expression: ComparisonExpression, position: int) -> Observation:
    node: Observation = _new(Observation)
    _OBSERVATION_SLOTS[0](node, expression)
    _OBSERVATION_SLOTS[1](node, position)
    return node


def new_pattern(text: str, root: Observation) -> Pattern:
    node: Pattern = _new(Pattern)
    _PATTERN_SLOTS[0](node, text)
    _PATTERN_SLOTS[1](node, root)
    return node


def constant(text: str, kind: str, start: int, end: int) -> Constant:
    """The constant of the token ``text[start:end]`` of lexer kind ``kind``."""
    literal = text[start:end]
    if kind == STRING:
        return _new_constant(ConstantKind.STRING, unescape(literal), start)
    if kind == INT:
        try:
            return _new_constant(ConstantKind.INT, int(literal), start)
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
            _invalid(text, "this integer has too many digits", start)
    if kind == FLOAT:
        number = float(literal)
        if math.isinf(number):
            _invalid(text, "this number is too large for a floating point number", start)
        return Constant(ConstantKind.FLOAT, number, start)
    if kind == BOOL:
        return Constant(ConstantKind.BOOL, literal == "true", start)
    if kind == TIMESTAMP:
        value = literal[2:-1]
        month, day = int(value[5:7]), int(value[8:10])
        if day > 28 and (day > _DAYS[month] or (month == 2 and not _leap(int(value[:4])))):
            _invalid(text, f"{literal} is not a date: there is no {value[:10]}", start)
        if value[17:19] == "60":
            _invalid(text, f"{literal} has second 60: leap seconds are not supported", start)
        return Constant(ConstantKind.TIMESTAMP, value, start)
    if kind == BINARY:
        return Constant(ConstantKind.BINARY, base64.b64decode(literal[2:-1]), start)
    assert kind == HEX, kind
    return Constant(ConstantKind.HEX, bytes.fromhex(literal[2:-1]), start)


def plain_comparison(text: str, m: re.Match[str], groups: tuple[int, int, int, int, int]) -> Comparison | None:
    """The comparison in a ``COMPARISON`` or ``OBSERVATION`` token's match (``groups``: the numbers of its groups
    where, type, path, op and value), or None if it has something to report (a keyword for a name, a constant its
    operator does not take): the caller then parses its tokens one by one, and reports it as usual."""
    where, _, _, op_group, value_group = groups
    op = OPS[m.group(op_group)]
    value_start, value_end = m.span(value_group)
    kind = _VALUE_KINDS[text[value_start]]
    if kind == STRING:  # the common case, first
        literal = text[value_start + 1:value_end - 1]
        value = _new_constant(ConstantKind.STRING, literal if "\\" not in literal else unescape(
            text[value_start:value_end]), value_start)
    else:
        if kind == "t":
            kind = TIMESTAMP if text[value_start + 1] == "'" else BOOL
        elif kind == FLOAT and "." not in text[value_start:value_end]:
            kind = INT
        if op in STRING_ONLY or (kind == BOOL and op in ORDERED):
            return None
        value = constant(text, kind, value_start, value_end)
    start = m.start(where)
    key = m.group(where)
    path = _PATHS.get(key)
    if path is None:
        path = _plain_path(m, groups, start)
        if path is None:
            return None
        if len(_PATHS) >= _PATHS_KEPT:
            _PATHS.clear()
        _PATHS[key] = path
    elif path.position != start:
        path = _new_path(path.object_type, path.steps, start)
    comparison = _new_comparison(path, op, value, start)
    if op is Op.MATCHES or "hashes" in path.steps:
        check_comparison(text, comparison)
    return comparison


def _plain_path(m: re.Match[str], groups: tuple[int, int, int, int, int], start: int) -> ObjectPath | None:
    """The path of a plain comparison, or None if a name in it is a keyword (not a name, for the grammar)."""
    path_text = m.group(groups[2])
    if "'" in path_text or "[" in path_text:
        found = _STEP_RE.findall(path_text)
        if any(name in _RESERVED for name, _ in found):
            return None
        steps: tuple[Step, ...] = tuple(_step(one) for one in found)
    else:
        steps = tuple(path_text.split("."))
        if not _RESERVED.isdisjoint(steps):
            return None
    return ObjectPath(m.group(groups[1]), steps, start)


def check_comparison(text: str, comparison: Comparison) -> None:
    """The checks beyond the grammar: a MATCHES regular expression compiles, a hash has the hash's form."""
    if comparison.op is Op.MATCHES:
        _check_regex(text, comparison)
    if "hashes" in comparison.path.steps:
        _check_hash(text, comparison)


def unescape(literal: str) -> str:
    """The value of a string literal (quotes included): the lexer lets only \\' and \\\\ through."""
    inner = literal[1:-1]
    return _ESCAPE_RE.sub(r"\1", inner) if "\\" in inner else inner


def _check_regex(text: str, comparison: Comparison) -> None:
    # The reference matcher compiles the expression with Python's re (after NFC normalization), so do we.
    value = comparison.value
    assert isinstance(value, Constant) and isinstance(value.value, str)
    try:
        re.compile(value.value)
    except (re.error, OverflowError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, re.error) else str(exc)
        _invalid(text, f"the MATCHES regular expression does not compile: {detail} (Python re syntax; PCRE-only "
                 r"constructs such as \p{..}, (?<name>..) and inline flags after the start are not supported)",
                 value.position)


def _check_hash(text: str, comparison: Comparison) -> None:
    # As the reference validator: a path through 'hashes' that ends in a known hash name compares with hash values.
    name = comparison.path.steps[-1]
    if not isinstance(name, str) or comparison.op in _NOT_HASH_VALUES:
        return
    key = name.upper().replace("-", "").replace("'", "")
    if key != "SSDEEP" and key not in _HEX_HASHES:
        return
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    for value in values:
        assert value is not None
        if value.kind is ConstantKind.STRING:
            assert isinstance(value.value, str)
            if key == "SSDEEP":
                if _SSDEEP_RE.fullmatch(value.value):
                    continue
            elif len(value.value) in _HEX_HASHES[key] and _HEX_RE.fullmatch(value.value):
                continue
        want = ("an SSDEEP digest (at most 128 of A-Z a-z 0-9 / + : .)" if key == "SSDEEP" else
                " or ".join(str(n) for n in _HEX_HASHES[key]) + " hex digits")
        shown = repr(value.value)[:72] if value.kind is ConstantKind.STRING else "this constant"
        _invalid(text, f"{shown} is not a valid {name} hash: expected a string of {want}", value.position)


def _step(found: tuple[str, str]) -> Step:
    name, index = found
    if index:
        return STAR if index == "*" else int(index)
    return unescape(name) if name[0] == "'" else name


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _invalid(text: str, message: str, at: int) -> NoReturn:
    raise InvalidPattern(message, position=at, expected=(), pattern=text)
