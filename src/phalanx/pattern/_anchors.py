"""Index keys of a pattern: what an observation must hold for the pattern to have a chance to match.

``plan(pattern)`` reads the tree once and returns the anchors the index files the pattern under:

- ``Equal``: an object of a type with one of these values at this path (``=`` and ``IN``);
- ``Block``: an address or block inside this CIDR block at this path (``ISSUBSET``);
- ``Fragment``: this text inside the string at this path (``LIKE``, ``MATCHES``: their longest literal part).

An anchor is a necessary condition, never a sufficient one: the index looks the observation's values up, and
the evaluator confirms each candidate. Hence the rules: inside ``AND`` (of comparisons, or of observations, and
``FOLLOWEDBY``) the anchors of one operand suffice, because every operand must match; under ``OR`` every operand
needs anchors, because any one may match; a qualifier keeps the anchors of what it qualifies. A comparison
gives no anchor when it is negated, uses ``!=``, an order, ``ISSUPERSET`` or ``EXISTS``, compares timestamps, or
has a path through a reference (``_ref``, ``_refs``) or a binary property (``_hex``, ``_bin``). A pattern left
without anchors is *residual*: ``plan`` names object types of which an observation must hold one for the
pattern to match (every comparison selects objects of its type), and the index evaluates it whenever one does.

Keys compare as the evaluator compares (STIX 2.1 section 9.6, as the reference matcher reads it): string
equality is exact (no case folding, no Unicode normalization), numbers by value (``1`` and ``1.0`` are one key),
binary constants as the string of their bytes' code points; ``LIKE`` and ``MATCHES`` see both sides in Unicode
NFC, so fragments are taken from the NFC form.
"""

from __future__ import annotations

__all__ = ["Block", "Check", "Equal", "Fragment", "Plan", "anchorable", "like_fragment", "plan", "regex_fragment",
           "simple"]

import enum
import importlib
import re
import unicodedata
from typing import Any, NamedTuple

from ._ast import (
    Comparison,
    ComparisonExpression,
    ConstantKind,
    ObjectPath,
    Observation,
    ObservationExpression,
    Op,
    Pattern,
    Qualified,
    Step,
)
from ._cidr import parse_block
from ._observations import TYPES_V21

_sre: Any = importlib.import_module("re._parser")  # the parser behind re.compile (no stubs in typeshed)
_sre_constants: Any = importlib.import_module("re._constants")

_KEY_KINDS = frozenset((ConstantKind.STRING, ConstantKind.INT, ConstantKind.FLOAT, ConstantKind.BOOL,
                        ConstantKind.BINARY, ConstantKind.HEX))


class Check(enum.IntEnum):
    """How the index itself decides a *simple* pattern (one ``=`` or ``IN`` comparison, nothing else) once an
    observed value was found under one of its keys, exactly as the evaluator would, without calling it."""

    STRING = 1  # = 'text': the value is a string
    NUMBER = 2  # = 1 or = 1.5: the value is an int or a float, not a bool
    BOOL = 3  # = true: the value is a bool
    MEMBER = 4  # IN (...) of strings, numbers or bools: finding the key is the answer (Python set membership)


class Equal(NamedTuple):
    object_type: str
    steps: tuple[Step, ...]
    keys: tuple[object, ...]


class Block(NamedTuple):
    object_type: str
    steps: tuple[Step, ...]
    block: tuple[int, int, int]  # see _cidr.parse_block


class Fragment(NamedTuple):
    object_type: str
    steps: tuple[Step, ...]
    text: str


Anchor = Equal | Block | Fragment


class Plan(NamedTuple):
    """Where the index files a pattern: ``anchors``, or (when there are none) ``residual_types``.
    ``check`` is set for simple patterns (see ``Check``)."""

    anchors: tuple[Anchor, ...]
    residual_types: tuple[str, ...] = ()
    check: Check | None = None


# A candidate set of anchors with its cost: the expected number of hash probes and candidates it causes.
_Option = tuple[float, tuple[Anchor, ...]]

_COST_BLOCK = 4.0
_COST_FRAGMENT = 16.0
_COST_SHORT_FRAGMENT = 256.0  # one or two characters: found in most values


def anchorable(path: ObjectPath) -> bool:
    """Whether the index can read this path's values itself: property names, list indexes and ``[*]``, no
    reference to follow and no binary property to decode."""
    for step in path.steps:
        if isinstance(step, str) and step.endswith(("_ref", "_refs", "_hex", "_bin")):
            return False
    return path.object_type not in TYPES_V21  # never selected from observed-data: left to the evaluator


def key_of(value: object) -> object:
    """The hash key of a constant's value: bytes as the string of their code points (STIX compares binary
    and string values that way), everything else as itself."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def like_fragment(like: str) -> str:
    """The longest literal run of a ``LIKE`` operand (in NFC), "" when it has none."""
    text = unicodedata.normalize("NFC", like)
    return max(re.split("[%_]", text), key=len)


def regex_fragment(regex: str) -> str:
    """The longest literal text any string a ``MATCHES`` regex (in NFC) finds must contain; "" when there is
    none, or when the regex ignores case or does not compile."""
    text = unicodedata.normalize("NFC", regex)
    try:
        parsed = _sre.parse(text)
    except (re.error, RecursionError, OverflowError):
        return ""
    if parsed.state.flags & re.IGNORECASE:
        return ""
    runs: list[str] = []
    _runs(list(parsed), runs)
    return max(runs, key=len, default="")


def _runs(sequence: list[tuple[Any, Any]], runs: list[str]) -> None:
    """Collect the literal runs that every match of ``sequence`` contains, each contiguous."""
    c = _sre_constants
    current: list[str] = []

    def cut() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    def walk(items: list[tuple[Any, Any]]) -> None:
        for op, arg in items:
            if op is c.LITERAL:
                current.append(chr(arg))
            elif op is c.SUBPATTERN and not arg[1] and not arg[2]:  # a group without flags of its own
                walk(list(arg[3]))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and arg[0] >= 1:
                cut()
                _runs(list(arg[2]), runs)  # at least once: its own runs are required, apart from the rest
            elif op is c.ATOMIC_GROUP:
                cut()
                _runs(list(arg), runs)
            else:
                cut()

    walk(sequence)
    cut()


def _comparison(comparison: Comparison) -> _Option | None:
    if comparison.negated or not anchorable(comparison.path):
        return None
    path, op, value = comparison.path, comparison.op, comparison.value
    where = (path.object_type, path.steps)
    if op is Op.EQ:
        if value is None or isinstance(value, tuple) or value.kind not in _KEY_KINDS:
            return None
        return 1.0, (Equal(*where, (key_of(value.value),)),)
    if op is Op.IN:
        if not isinstance(value, tuple) or any(c.kind not in _KEY_KINDS for c in value):
            return None
        keys = tuple(dict.fromkeys(key_of(c.value) for c in value))
        return float(len(keys)), (Equal(*where, keys),)
    if value is None or isinstance(value, tuple) or value.kind is not ConstantKind.STRING:
        return None
    assert isinstance(value.value, str)
    if op is Op.ISSUBSET:
        block = parse_block(value.value)
        return None if block is None else (_COST_BLOCK, (Block(*where, block),))
    if op is Op.LIKE or op is Op.MATCHES:
        fragment = like_fragment(value.value) if op is Op.LIKE else regex_fragment(value.value)
        if not fragment:
            return None
        cost = _COST_FRAGMENT if len(fragment) >= 3 else _COST_SHORT_FRAGMENT
        return cost, (Fragment(*where, fragment),)
    return None


def _all_of(options: list[_Option | None]) -> _Option | None:
    """Every operand must match: the cheapest operand's anchors suffice."""
    usable = [o for o in options if o is not None]
    return min(usable, key=lambda o: o[0]) if usable else None


def _any_of(options: list[_Option | None]) -> _Option | None:
    """Any operand may match: all of them need anchors."""
    if any(o is None for o in options):
        return None
    chosen = [o for o in options if o is not None]
    return sum(o[0] for o in chosen), tuple(a for o in chosen for a in o[1])


def _expression(expression: ComparisonExpression) -> _Option | None:
    if isinstance(expression, Comparison):
        return _comparison(expression)
    options = [_expression(e) for e in expression.operands]
    return _all_of(options) if expression.op == "AND" else _any_of(options)


def _observations(expression: ObservationExpression) -> _Option | None:
    if isinstance(expression, Observation):
        return _expression(expression.expression)
    if isinstance(expression, Qualified):
        return _observations(expression.expression)
    options = [_observations(e) for e in expression.operands]
    return _any_of(options) if expression.op == "OR" else _all_of(options)


def _types(expression: ComparisonExpression | ObservationExpression) -> frozenset[str]:
    """Object types of which an observation must hold one for ``expression`` to match (any one of them)."""
    if isinstance(expression, Comparison):
        return frozenset((expression.path.object_type,))
    if isinstance(expression, Observation):
        return _types(expression.expression)
    if isinstance(expression, Qualified):
        return _types(expression.expression)
    operands = [_types(e) for e in expression.operands]
    if expression.op == "OR":
        return frozenset().union(*operands)
    return min(operands, key=len)


def _check(root: ObservationExpression) -> Check | None:
    if not isinstance(root, Observation) or not isinstance(root.expression, Comparison):
        return None
    comparison = root.expression
    if comparison.negated or not anchorable(comparison.path):
        return None
    value = comparison.value
    if comparison.op is Op.EQ and value is not None and not isinstance(value, tuple):
        return _CHECKS.get(value.kind)
    if comparison.op is Op.IN and isinstance(value, tuple):
        kinds = {c.kind for c in value}
        if (len(kinds) <= 1 and kinds <= {ConstantKind.STRING, ConstantKind.INT, ConstantKind.FLOAT,
                                          ConstantKind.BOOL}) or kinds == {ConstantKind.INT, ConstantKind.FLOAT}:
            return Check.MEMBER
    return None


def simple(pattern: Pattern) -> tuple[str, tuple[Step, ...], object, Check] | None:
    """For the commonest pattern, one ``=`` comparison with a string, number or bool: (object type, steps, key,
    check), as ``plan`` would give it, only faster; None for any other pattern."""
    root = pattern.root
    if type(root) is not Observation:
        return None
    comparison = root.expression
    if type(comparison) is not Comparison or comparison.op is not Op.EQ or comparison.negated:
        return None
    constant = comparison.value
    check = _CHECKS.get(constant.kind)  # type: ignore[union-attr]
    if check is None or not anchorable(comparison.path):
        return None
    return comparison.path.object_type, comparison.path.steps, constant.value, check  # type: ignore[union-attr]


# IN sets the index decides itself: all of one type (ints and floats may mix).
_MEMBER_KINDS: tuple[set[ConstantKind], ...] = (
    set(), {ConstantKind.STRING}, {ConstantKind.INT}, {ConstantKind.FLOAT}, {ConstantKind.BOOL},
    {ConstantKind.INT, ConstantKind.FLOAT})
_CHECKS = {ConstantKind.STRING: Check.STRING, ConstantKind.INT: Check.NUMBER, ConstantKind.FLOAT: Check.NUMBER,
           ConstantKind.BOOL: Check.BOOL}


def plan(pattern: Pattern) -> Plan:
    """Where to file ``pattern`` in the index."""
    root = pattern.root
    if type(root) is Observation and type(root.expression) is Comparison:  # most patterns: one comparison
        option = _comparison(root.expression)
        if option is not None:
            return Plan(option[1], (), _check(root))
        return Plan((), (root.expression.path.object_type,))
    option = _observations(root)
    if option is None:
        return Plan((), tuple(sorted(_types(root))))
    return Plan(option[1], (), _check(root))
