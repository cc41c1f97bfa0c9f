"""Shared checkers: each one looks at one JSON value and appends a ``Violation`` to the context when it breaks
a rule. They build nothing on the happy path (no path strings, no objects), which keeps validation fast.

A checker is ``check(value, path, ctx)``; tables map property names to checkers (see ``_common``).
"""

from __future__ import annotations

__all__ = [
    "ANY",
    "BINARY",
    "BOOLEAN",
    "DICTIONARY",
    "HASHES",
    "HEX",
    "ID_RE",
    "INTEGER",
    "NON_NEGATIVE_INTEGER",
    "SHAPES",
    "STRING",
    "STRING_LIST",
    "TIMESTAMP",
    "TIMESTAMP_MILLIS",
    "TS_RE",
    "URL",
    "Check",
    "Ctx",
    "ObjectRule",
    "Shape",
    "Table",
    "check_fields",
    "describe",
    "dictionary",
    "enum",
    "enum_list",
    "float_range",
    "int_range",
    "list_of",
    "open_vocab",
    "open_vocab_list",
    "ref",
    "refs",
    "shaped",
    "timestamp_problem",
    "ts_key",
]

import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from ...errors import Violation
from ._vocab import HASH_ALGORITHM_OV, STANDARD_TYPES

# An identifier (section 2.9): type--UUID. RFC 4122 hex digits are case-insensitive on input, so upper case is
# accepted here (the object's own id in upper case gets an "identifier-case" warning).
ID_RE = re.compile(
    r"([a-z0-9]+(?:-[a-z0-9]+)*)--"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)


class Ctx:
    """What one validation run carries: the object id for messages, the mode, and the violations found."""

    __slots__ = ("obj", "oid", "out", "strict")

    def __init__(self, obj: Mapping[str, Any], strict: bool) -> None:
        self.obj = obj
        self.oid = ""
        self.strict = strict
        self.out: list[Violation] = []

    def error(self, path: str, rule: str, message: str) -> None:
        self.out.append(Violation(self.oid, path, rule, message, "error"))

    def warn(self, path: str, rule: str, message: str) -> None:
        self.out.append(Violation(self.oid, path, rule, message, "warning"))

    def custom(self, path: str, rule: str, message: str) -> None:
        """Custom content: an error in strict mode, a warning in tolerant mode."""
        self.out.append(Violation(self.oid, path, rule, message, "error" if self.strict else "warning"))


Check = Callable[[Any, str, Ctx], None]
ObjectRule = Callable[[Mapping[str, Any], Ctx], None]
Table = Mapping[str, Check]


@dataclass(frozen=True, slots=True)
class Shape:
    """What a checker built by a factory below expects, for introspection (tests, docs); never used to validate.

    kind is "ref" / "refs" (``allowed``: the target types, None for any), "enum" (``allowed``: the values),
    "list" (``item``: the checker of each item), "object" (``table`` and ``required``: a sub-object) or
    "extensions" (``table``: predefined extension name -> checker).
    """

    kind: str
    allowed: frozenset[str] | None = None
    item: Check | None = None
    table: Table | None = None
    required: tuple[str, ...] = ()


SHAPES: dict[Check, Shape] = {}
"""The shape of every checker that has one, keyed by the checker itself."""


def shaped(check: Check, shape: Shape) -> Check:
    """Record the shape of ``check`` in SHAPES and return it."""
    SHAPES[check] = shape
    return check


def describe(value: object) -> str:
    """A short text for a wrong value in a message."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, int | float):
        return repr(value)
    return f"a JSON {'list' if isinstance(value, list) else 'object'}"


def _type_error(ctx: Ctx, path: str, value: object, expected: str) -> None:
    ctx.error(path, "property-type", f"is {describe(value)}; expected {expected}")


# --- scalars -----------------------------------------------------------------------------------------------


def ANY(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802 - a table constant
    """Any JSON value (the property's content is checked elsewhere)."""


def STRING(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not str:
        _type_error(ctx, path, value, "a string")


def BOOLEAN(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not bool:
        _type_error(ctx, path, value, "true or false")


def INTEGER(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not int:
        _type_error(ctx, path, value, "an integer")


def int_range(lo: int | None, hi: int | None, rule: str = "value-range") -> Check:
    """An integer in ``lo..hi`` (inclusive; None is unbounded)."""
    bounds = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) is not int:
            _type_error(ctx, path, value, f"an integer {bounds}")
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            ctx.error(path, rule, f"is {value}; expected an integer {bounds}")

    return check


NON_NEGATIVE_INTEGER = int_range(0, None)


def float_range(lo: float | None, hi: float | None) -> Check:
    """A number in ``lo..hi`` (inclusive)."""
    bounds = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) not in (int, float):
            _type_error(ctx, path, value, f"a number {bounds}")
        elif (lo is not None and value < lo) or (hi is not None and value > hi) or value != value:
            ctx.error(path, "value-range", f"is {value}; expected a number {bounds}")

    return check


# --- timestamps (section 3.2) --------------------------------------------------------------------------

# The pattern already bounds month, day, hour, minute and second (60: a leap second); only days 29-31 need
# a look at the month and year.
TS_RE = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(?:\.[0-9]+)?Z"
)
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EXPECTED_TS = "expected an RFC 3339 UTC timestamp like 2024-01-31T12:00:00.000Z"


def timestamp_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a STIX timestamp, or None when it is one."""
    if type(value) is not str:
        return f"is {describe(value)}; {_EXPECTED_TS}"
    m = TS_RE.fullmatch(value)
    if m is None:
        return f"is {describe(value)}; {_EXPECTED_TS} (with a valid month, day and time of day)"
    if value.startswith("0000"):
        return f"is {describe(value)}; there is no year 0000 (the years of a timestamp are 0001-9999)"
    if value[8:10] > "28":
        day = int(m[3])
        month = int(m[2])
        if day > _DAYS_IN_MONTH[month]:
            return f"is {describe(value)}, which is not a calendar date"
        if month == 2 and day == 29:
            year = int(m[1])
            if year % 4 or (year % 100 == 0 and year % 400):
                return f"is {describe(value)}, which is not a calendar date ({year} is not a leap year)"
    return None


def TIMESTAMP(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    problem = timestamp_problem(value)
    if problem is not None:
        ctx.error(path, "timestamp-format", problem)


def TIMESTAMP_MILLIS(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    """``created`` and ``modified``: a timestamp precise to the millisecond or finer (section 3.2)."""
    problem = timestamp_problem(value)
    if problem is not None:
        ctx.error(path, "timestamp-format", problem)
    elif len(value) < 24 or value[19] != ".":
        ctx.error(path, "timestamp-precision",
                  f"is {describe(value)}; it MUST be precise to the millisecond: 2024-01-31T12:00:00.000Z")


def ts_key(value: str) -> str:
    """A string that orders like the instant of a valid timestamp (fraction padded to equal length)."""
    if len(value) == 20:
        return value[:19] + ".000000000"
    return value[:19] + "." + value[20:-1].ljust(9, "0")


# --- strings with a format -------------------------------------------------------------------------------

_BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")


def BINARY(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not str:
        _type_error(ctx, path, value, "a base64 string")
    elif _BASE64_RE.fullmatch(value) is None:
        ctx.error(path, "binary-format", f"is {describe(value)}; expected base64 (RFC 4648)")


def HEX(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not str:
        _type_error(ctx, path, value, "a hex string")
    elif _HEX_RE.fullmatch(value) is None:
        ctx.error(path, "hex-format", f"is {describe(value)}; expected an even number of hex digits")


def URL(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not str:
        _type_error(ctx, path, value, "a URL string")
    elif _URL_RE.fullmatch(value) is None:
        ctx.error(path, "url-format", f"is {describe(value)}; expected an absolute URL (RFC 3986)")


# --- lists -------------------------------------------------------------------------------------------------


def _list(value: Any, path: str, ctx: Ctx, what: str) -> bool:
    """Whether ``value`` is a non-empty list (reports why not)."""
    if type(value) is not list:
        _type_error(ctx, path, value, f"a list of {what}")
        return False
    if not value:
        ctx.error(path, "empty-list", f"is an empty list; omit the property instead (a list of {what})")
        return False
    return True


def list_of(item: Check, what: str) -> Check:
    """A non-empty list whose items pass ``item``."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if _list(value, path, ctx, what):
            for i, v in enumerate(value):
                item(v, f"{path}[{i}]", ctx)

    return shaped(check, Shape("list", item=item))


def STRING_LIST(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if _list(value, path, ctx, "strings"):
        for i, v in enumerate(value):
            if type(v) is not str:
                _type_error(ctx, f"{path}[{i}]", v, "a string")


# --- enumerations and open vocabularies ---------------------------------------------------------------------


def enum(values: Set[str], name: str) -> Check:
    """A value of a closed enumeration: anything else is an error."""
    shown = ", ".join(sorted(values))

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) is not str:
            _type_error(ctx, path, value, f"a string from {name}")
        elif value not in values:
            ctx.error(path, "enum-value", f"is {describe(value)}; expected one of {name}: {shown}")

    return shaped(check, Shape("enum", allowed=frozenset(values)))


def enum_list(values: Set[str], name: str) -> Check:
    return list_of(enum(values, name), f"{name} values")


def open_vocab(values: Set[str], name: str) -> Check:
    """A value that SHOULD come from an open vocabulary: anything else is a warning."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) is not str:
            _type_error(ctx, path, value, f"a string (from {name})")
        elif value not in values:
            ctx.warn(path, "open-vocab", f"{describe(value)} is not in {name}; prefer a value from it")

    return check


def open_vocab_list(values: Set[str], name: str) -> Check:
    item = open_vocab(values, name)

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if _list(value, path, ctx, f"strings from {name}"):
            for i, v in enumerate(value):
                if type(v) is not str or v not in values:
                    item(v, f"{path}[{i}]", ctx)

    return check


# --- references (section 2.9, 3.1: properties ending in _ref / _refs) ---------------------------------------


def _ref_problem(value: Any, allowed: Set[str] | None, what: str, ctx: Ctx) -> tuple[str, str] | None:
    if type(value) is not str:
        return "property-type", f"is {describe(value)}; expected the identifier of {what}"
    m = ID_RE.fullmatch(value)
    if m is None:
        return "identifier-format", f"is {describe(value)}; expected an identifier type--UUID of {what}"
    if allowed is not None:
        type_ = m[1]
        if type_ not in allowed and (ctx.strict or type_ in STANDARD_TYPES):
            return "reference-type", f"refers to a {type_!r}; it MUST refer to {what}"
    return None


def ref(allowed: Set[str] | None, what: str) -> Check:
    """An identifier of one of the ``allowed`` types (None: any type). In tolerant mode a reference to a
    custom (non-standard) type is accepted wherever a standard one is allowed by category."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        problem = _ref_problem(value, allowed, what, ctx)
        if problem is not None:
            ctx.error(path, *problem)

    return shaped(check, Shape("ref", allowed=None if allowed is None else frozenset(allowed)))


def refs(allowed: Set[str] | None, what: str) -> Check:
    """A non-empty list of identifiers of the ``allowed`` types."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if _list(value, path, ctx, f"identifiers of {what}"):
            for i, v in enumerate(value):
                problem = _ref_problem(v, allowed, what, ctx)
                if problem is not None:
                    ctx.error(f"{path}[{i}]", *problem)

    return shaped(check, Shape("refs", allowed=None if allowed is None else frozenset(allowed)))


# --- dictionaries and hashes (section 3.? dictionary, 2.7 hashes) -------------------------------------------

_DICT_KEY_RE = re.compile(r"[a-zA-Z0-9_-]{1,250}")


def dictionary(value: Any, path: str, ctx: Ctx) -> bool:
    """Whether ``value`` is a non-empty dictionary with valid keys (reports problems)."""
    if type(value) is not dict:
        _type_error(ctx, path, value, "a dictionary (JSON object)")
        return False
    if not value:
        ctx.error(path, "empty-dictionary", "is an empty dictionary; omit the property instead")
        return False
    for key in value:
        if _DICT_KEY_RE.fullmatch(key) is None:
            ctx.error(f"{path}.{key}", "dictionary-key",
                      "dictionary keys MUST be 1-250 ASCII letters, digits, '_' or '-'")
    return True


def DICTIONARY(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    dictionary(value, path, ctx)


_HASH_VALUE_RE: Mapping[str, re.Pattern[str]] = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA-1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SHA3-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA3-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}"),
    "TLSH": re.compile(r"(?:T1)?[a-fA-F0-9]{70}"),
}
_HASH_SPELLING = {a.replace("-", "").lower(): a for a in HASH_ALGORITHM_OV}
_HASH_KEY_RE = re.compile(r"[a-zA-Z0-9_-]{3,250}")


def HASHES(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    """A hashes dictionary: algorithm (hash-algorithm-ov, open) → hash value in that algorithm's format."""
    if type(value) is not dict:
        _type_error(ctx, path, value, "a dictionary of hash algorithm to hash value")
        return
    if not value:
        ctx.error(path, "empty-dictionary", "is an empty dictionary; omit the property instead")
        return
    for algorithm, digest in value.items():
        pattern = _HASH_VALUE_RE.get(algorithm)
        if type(digest) is not str:
            _type_error(ctx, f"{path}.{algorithm}", digest, "a hash value string")
        elif pattern is not None:
            if pattern.fullmatch(digest) is None:
                ctx.error(f"{path}.{algorithm}", "hash-value",
                          f"is {describe(digest)}, which is not a {algorithm} value")
        elif _HASH_KEY_RE.fullmatch(algorithm) is None:
            ctx.error(f"{path}.{algorithm}", "dictionary-key",
                      "hash algorithm names MUST be 3-250 ASCII letters, digits, '_' or '-'")
        else:
            known = _HASH_SPELLING.get(algorithm.replace("-", "").replace("_", "").lower())
            hint = f"; write {known!r}" if known else ""
            ctx.warn(f"{path}.{algorithm}", "open-vocab",
                     f"{algorithm!r} is not in hash-algorithm-ov{hint}")


# --- sub-objects described by a table ----------------------------------------------------------------------


def check_fields(
    value: Any, path: str, ctx: Ctx, table: Table, required: tuple[str, ...], what: str
) -> bool:
    """Check a JSON object against a table of its properties; unknown keys are custom content."""
    if type(value) is not dict:
        _type_error(ctx, path, value, what)
        return False
    for name, v in value.items():
        chk = table.get(name)
        if chk is not None:
            chk(v, f"{path}.{name}", ctx)
        else:
            ctx.custom(f"{path}.{name}", "custom-property",
                       f"{name!r} is not a property of {what}")
    for name in required:
        if name not in value:
            ctx.error(f"{path}.{name}", "required-property", f"{what} MUST have {name!r}")
    return True
