"""One comparison against one property value: the rules of the OASIS reference matcher (stix2-matcher 3.0.0).

``value_test(comparison, text)`` turns a ``Comparison`` (any operator but ``EXISTS``) into a function of one
property value that says whether the value passes; ``NOT`` is part of it. The evaluator applies it to each value
an object path selects, in order, and stops at the first that passes.

The rules, operator by operator (a value is what JSON gives: str, int, float, bool, None, list, dict; and bytes
for properties named ``*_hex`` or ``*_bin``, which the evaluator decodes):

- ``=`` and ``!=`` compare within a family only: int and float with each other; str with str; bytes with bytes,
  or with a str whose characters are all below U+0100 (read as Latin-1); bool with bool; a timestamp constant with
  a str value read as a timestamp (a str that is not one is an error, not a mismatch). Across families the values
  are unequal (so ``!=`` holds). No Unicode normalization.
- ``<``, ``<=``, ``>``, ``>=``: the same families but bool; across families, or for bool, the comparison is
  false *whatever ``NOT``*; a str with characters from U+0100 against bytes is false too, but there ``NOT`` applies.
- ``IN``: Python set membership, so ``1``, ``1.0`` and ``true`` are the same member; a set of timestamps reads a
  str value as a timestamp. All members of one type (ints and floats may mix), else the pattern is refused.
- ``LIKE``: ``%`` is any run of characters but a line break, ``_`` one such character; the value (bytes read as
  UTF-8, when the pattern is all below U+0100) and the pattern are NFC-normalized; ``$`` semantics of Python's
  ``re``: a final line break is ignored.
- ``MATCHES``: Python ``re.search`` of the NFC-normalized pattern in the NFC-normalized value; bytes values are
  searched with the same regular expression as bytes when it is all below U+0100.
- ``ISSUBSET``/``ISSUPERSET``: IPv4 addresses and CIDR blocks as ``socket.inet_aton`` reads them (see ``_cidr``);
  IPv6 too, which the reference cannot do. A value or constant that is not an address is an error.

Regular expressions are compiled once per pattern text (cached), not per evaluation.
"""

from __future__ import annotations

__all__ = ["NO_ENTRY", "ValueTest", "value_test"]

import re
import unicodedata
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from ..errors import InvalidObservation, InvalidPattern
from . import _cidr
from ._ast import Comparison, Constant, ConstantKind, Op
from ._timestamps import micros

ValueTest = Callable[[Any], bool]

NO_ENTRY: Final = object()
"""What an order comparison gives for values it cannot order at all (false, even under ``NOT``)."""

_NUMBERS = (int, float)


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _latin1(text: str) -> bytes | None:
    """The bytes a str stands for when compared with bytes, or None if a character is U+0100 or above."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _timestamp_value(value: str) -> int:
    try:
        return micros(value)
    except ValueError as exc:
        raise InvalidObservation(f"invalid timestamp in observed data: {value!r}") from exc


class _Literal:
    """A constant of the pattern, made ready for comparisons."""

    __slots__ = ("kind", "position", "value")

    def __init__(self, constant: Constant, text: str) -> None:
        self.kind = constant.kind
        self.position = constant.position
        value = constant.value
        if self.kind is ConstantKind.TIMESTAMP:
            try:
                value = micros(str(value))
            except ValueError as exc:
                raise InvalidPattern(f"invalid timestamp {value!r}", position=constant.position,
                                     pattern=text) from exc
        self.value: Any = value


# (1) Equality ------------------------------------------------------------------------------------------------

def _equal(literal: _Literal) -> ValueTest:
    kind, constant = literal.kind, literal.value
    if kind is ConstantKind.INT or kind is ConstantKind.FLOAT:
        return lambda value: type(value) in _NUMBERS and value == constant
    if kind is ConstantKind.BOOL:
        return lambda value: type(value) is bool and value == constant
    if kind is ConstantKind.STRING:
        as_bytes = _latin1(constant)

        def equal_string(value: Any) -> bool:
            kind_of = type(value)
            if kind_of is str:
                return bool(value == constant)
            return kind_of is bytes and as_bytes is not None and value == as_bytes
        return equal_string
    if kind is ConstantKind.TIMESTAMP:
        return lambda value: type(value) is str and _timestamp_value(value) == constant

    def equal_bytes(value: Any) -> bool:  # BINARY, HEX
        kind_of = type(value)
        if kind_of is bytes:
            return bool(value == constant)
        return kind_of is str and _latin1(value) == constant
    return equal_bytes


# (2) Order ---------------------------------------------------------------------------------------------------

_ORDER: Final[dict[Op, Callable[[Any, Any], bool]]] = {
    # As the sign of cmp(value, constant): a NaN value is "equal" to everything, so <= and >= hold for it.
    Op.LT: lambda a, b: bool(a < b),
    Op.GT: lambda a, b: bool(a > b),
    Op.LE: lambda a, b: not a > b,
    Op.GE: lambda a, b: not a < b,
}


def _order(literal: _Literal, op: Op) -> Callable[[Any], Any]:
    """A function giving True/False, or NO_ENTRY when the types cannot be ordered at all."""
    kind, constant, compare = literal.kind, literal.value, _ORDER[op]
    if kind is ConstantKind.INT or kind is ConstantKind.FLOAT:
        return lambda value: compare(value, constant) if type(value) in _NUMBERS else NO_ENTRY
    if kind is ConstantKind.STRING:
        as_bytes = _latin1(constant)

        def order_string(value: Any) -> Any:
            kind_of = type(value)
            if kind_of is str:
                return compare(value, constant)
            if kind_of is bytes:
                return as_bytes is not None and compare(value, as_bytes)
            return NO_ENTRY
        return order_string
    if kind is ConstantKind.TIMESTAMP:
        return lambda value: compare(_timestamp_value(value), constant) if type(value) is str else NO_ENTRY
    if kind is ConstantKind.BINARY or kind is ConstantKind.HEX:
        def order_bytes(value: Any) -> Any:
            kind_of = type(value)
            if kind_of is bytes:
                return compare(value, constant)
            if kind_of is str:
                as_bytes = _latin1(value)
                return as_bytes is not None and compare(as_bytes, constant)
            return NO_ENTRY
        return order_bytes
    return lambda value: NO_ENTRY  # bool constants are not ordered


# (3) IN ------------------------------------------------------------------------------------------------------

_PYTHON_TYPE: Final = {
    ConstantKind.STRING: str, ConstantKind.INT: int, ConstantKind.FLOAT: float, ConstantKind.BOOL: bool,
    ConstantKind.BINARY: bytes, ConstantKind.HEX: bytes, ConstantKind.TIMESTAMP: "timestamp",
}


def _member(literals: list[_Literal], comparison: Comparison, text: str) -> ValueTest:
    types = {_PYTHON_TYPE[literal.kind] for literal in literals}
    if len(types) > 1 and not types <= {int, float}:
        raise InvalidPattern("the values of an IN set must all be of one type (ints and floats may mix)",
                             position=comparison.position, pattern=text)
    members = frozenset(literal.value for literal in literals)
    if types == {"timestamp"}:
        return lambda value: type(value) is str and _timestamp_value(value) in members

    def member(value: Any) -> bool:
        try:
            return value in members
        except TypeError:  # a list or a dict: not hashable, never a member
            return False
    return member


# (4) LIKE and MATCHES ----------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _like_regex(pattern: str) -> tuple[Callable[[str], bool], bool]:
    """The test of a LIKE pattern (already NFC), and whether bytes values are read as UTF-8 for it.

    It means what ``re.match("^" + pattern with % as ".*" and _ as "." + "$")`` means (the reference's reading),
    without a regular expression over the whole: the pieces between ``%`` are found one after the other, each at
    its leftmost place, so that a pattern of many ``%`` costs the length of the value times its own, never the
    backtracking ``.*.*.*`` would (a member's indicator must not stall everyone's matching)."""
    pieces = [re.compile("".join("[^\n]" if c == "_" else re.escape(c) for c in piece))
              for piece in pattern.split("%")]
    widths = [len(piece) for piece in pattern.split("%")]
    first, last = pieces[0], pieces[-1]

    def whole(value: str) -> bool:
        if len(pieces) == 1:
            return first.fullmatch(value) is not None
        if first.match(value) is None:
            return False
        cursor = widths[0]
        for piece in pieces[1:-1]:  # each at its leftmost place: later pieces only gain from an earlier one
            found = piece.search(value, cursor)
            if found is None or "\n" in value[cursor:found.start()]:  # % is no line break
                return False
            cursor = found.end()
        start = len(value) - widths[-1]
        return (start >= cursor and last.fullmatch(value, start) is not None
                and "\n" not in value[cursor:start])

    def like(value: str) -> bool:  # "$" also matches before a final line break
        return whole(value) or (value.endswith("\n") and whole(value[:-1]))

    return like, all(ord(c) < 256 for c in pattern)


@lru_cache(maxsize=4096)
def _matches_regex(pattern: str) -> tuple[re.Pattern[str], re.Pattern[bytes] | None]:
    """The compiled form of a MATCHES pattern (already NFC), and its bytes twin if it is all below U+0100.
    Raises ``re.error`` (and a few others, for absurd patterns) if it does not compile."""
    as_bytes = _latin1(pattern)
    with warnings.catch_warnings():  # "possible nested set" and the like: the pattern's author's business
        warnings.simplefilter("ignore")
        return re.compile(pattern), (re.compile(as_bytes) if as_bytes is not None else None)


def _like(literal: _Literal) -> ValueTest:
    match, reads_bytes = _like_regex(_nfc(literal.value))

    def like(value: Any) -> bool:
        if type(value) is bytes and reads_bytes:
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidObservation("a binary value compared with LIKE is not UTF-8") from exc
        return type(value) is str and match(_nfc(value))
    return like


def _matches(literal: _Literal, text: str) -> ValueTest:
    try:
        regex, bytes_regex = _matches_regex(_nfc(literal.value))
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise InvalidPattern(f"the regular expression of MATCHES does not compile: {exc}",
                             position=literal.position, pattern=text) from exc
    search = regex.search

    def matches(value: Any) -> bool:
        kind_of = type(value)
        if kind_of is str:
            return search(_nfc(value)) is not None
        return kind_of is bytes and bytes_regex is not None and bytes_regex.search(value) is not None
    return matches


# (5) ISSUBSET and ISSUPERSET ---------------------------------------------------------------------------------

def _subnet(literal: _Literal, text: str, *, superset: bool) -> ValueTest:
    constant = literal.value
    # The constant is read when a str value meets it, as in the reference: a bad one is only an error then.
    parsed = _cidr.parse_value(constant) if superset else _cidr.parse_block(constant)

    def constant_or_error() -> tuple[int, int, int]:
        if parsed is None:
            what = "an IP address or CIDR block" if superset else "a CIDR block"
            raise InvalidPattern(f"{constant!r} is not {what}", position=literal.position, pattern=text)
        return parsed

    def subset(value: Any) -> bool:
        if type(value) is not str:
            return False
        inner = _cidr.parse_value(value)
        if inner is None:
            raise InvalidObservation(f"{value!r} is not an IP address or CIDR block (ISSUBSET)")
        return _holds(constant_or_error(), inner)

    def contains(value: Any) -> bool:
        if type(value) is not str:
            return False
        inner = constant_or_error()
        outer = _cidr.parse_block(value)
        if outer is None:
            raise InvalidObservation(f"{value!r} is not a CIDR block (ISSUPERSET)")
        return _holds(outer, inner)
    return contains if superset else subset


def _holds(block: tuple[int, int, int], inner: tuple[int, int, int]) -> bool:
    """Whether the block (version, network bits, prefix) holds the address or block (version, address, prefix)."""
    version, network, prefix = block
    inner_version, address, inner_prefix = inner
    if version != inner_version or prefix > inner_prefix:
        return False
    bits = 32 if version == 4 else 128
    return address >> (bits - prefix) == network


# The test of a comparison ------------------------------------------------------------------------------------

def value_test(comparison: Comparison, text: str) -> ValueTest:
    """The test one property value must pass for ``comparison`` (not EXISTS), ``NOT`` included. ``text`` is the
    pattern's text, for errors. Raises ``InvalidPattern`` for what the reference refuses whatever the data."""
    op, value = comparison.op, comparison.value
    if op is Op.IN:
        if not isinstance(value, tuple):
            raise InvalidPattern("IN needs a set of values", position=comparison.position, pattern=text)
        test = _member([_Literal(constant, text) for constant in value], comparison, text)
        return _negated(test) if comparison.negated else test
    if not isinstance(value, Constant):
        raise InvalidPattern(f"{op.value} needs one value", position=comparison.position, pattern=text)
    literal = _Literal(value, text)
    if op in _ORDER:
        order = _order(literal, op)
        if comparison.negated:
            def not_order(item: Any) -> bool:
                result = order(item)
                return False if result is NO_ENTRY else not result
            return not_order
        return lambda item: order(item) is True
    if op is Op.EQ or op is Op.NE:
        test = _equal(literal)
        flip = (op is Op.NE) != comparison.negated
        return _negated(test) if flip else test
    if literal.kind is not ConstantKind.STRING:
        raise InvalidPattern(f"{op.value} needs a string", position=value.position, pattern=text)
    if op is Op.LIKE:
        test = _like(literal)
    elif op is Op.MATCHES:
        test = _matches(literal, text)
    elif op is Op.ISSUBSET or op is Op.ISSUPERSET:
        test = _subnet(literal, text, superset=op is Op.ISSUPERSET)
    else:
        raise InvalidPattern(f"{op.value} takes no value", position=comparison.position, pattern=text)
    return _negated(test) if comparison.negated else test


def _negated(test: ValueTest) -> ValueTest:
    return lambda value: not test(value)
