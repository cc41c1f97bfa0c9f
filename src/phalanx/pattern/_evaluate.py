"""The pattern evaluator: does a pattern match a set of observations? Semantics of the OASIS reference matcher.

Example::

    from phalanx.pattern import Observations, match_details, matches, parse

    pattern = parse("[ipv4-addr:value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY [domain-name:value = 'evil.example']")
    seen = Observations.from_stix(objects)  # observed-data and the objects they name
    if matches(pattern, seen):
        print(match_details(pattern, seen).ids)  # the observed-data of the first binding

The answer is the reference's (stix2-matcher 3.0.0, STIX 2.1), checked by tests/pattern/test_reference_vectors.py
and tests/pattern/test_differential.py. Evaluation has two stages, as there:

1. Every ``[...]`` is evaluated against every observation: each comparison selects, for each object of its
   type, the values at its object path (``_select``), and the object passes if one value passes the comparison's
   test (``_compare``); ``AND`` and ``OR`` inside ``[...]`` intersect and unite the passing objects, observation by
   observation. This stage runs in full, whatever the pattern's other parts say: an observation whose data the
   pattern cannot read (a bad timestamp, a reference that is not an id...) is an ``InvalidObservation`` even when
   another part of the pattern would decide the answer, as it is for the reference.
2. The observation operators and qualifiers combine the observations each ``[...]`` holds for into bindings
   (``_bindings``), lazily: the pattern matches if there is one.

A pattern is compiled once (``compile_pattern``); ``matches`` keeps the last few thousand compiled patterns.
"""

from __future__ import annotations

__all__ = ["CompiledPattern", "MatchDetails", "Observations", "compile_pattern", "match_details", "matches"]

import binascii
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from ..errors import InvalidObservation, InvalidPattern
from . import _bindings
from ._ast import (
    STAR,
    BoolComparison,
    ComparisonExpression,
    Compound,
    ObjectPath,
    Observation,
    ObservationExpression,
    Op,
    Pattern,
    Qualified,
    Repeats,
    Within,
)
from ._bindings import Binding
from ._compare import value_test
from ._observations import Observations
from ._timestamps import micros

Passed = dict[int, set[int]]
"""What one ``[...]`` holds for: observation index -> the numbers of the objects that passed, in the order the
reference finds the observations (the order of the first binding depends on it)."""


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """Which observations a match bound (the first binding found, as the reference reports it)."""

    observations: tuple[int, ...]
    """Their indexes in the ``Observations``, ascending."""
    ids: tuple[str | None, ...]
    """Their observed-data ids (None for an observation without one)."""


# (1) Object paths ----------------------------------------------------------------------------------------------

_KEY, _INDEX, _ALL = 0, 1, 2
_PLAIN, _HEX, _BIN = 0, 1, 2
_NONE, _REF, _REFS = 0, 1, 2

_Step = tuple[int, Any, int, int]  # (what, key or index, decoding, reference)


def _plan(path: ObjectPath) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for step in path.steps:
        if step is STAR:
            steps.append((_ALL, None, _PLAIN, _NONE))
        elif isinstance(step, int):
            steps.append((_INDEX, step, _PLAIN, _NONE))
        else:
            decoding = _HEX if step.endswith("_hex") else _BIN if step.endswith("_bin") else _PLAIN
            reference = _REF if step.endswith("_ref") else _REFS if step.endswith("_refs") else _NONE
            steps.append((_KEY, step, decoding, reference))
    return tuple(steps)


def _decode(decoding: int, key: str, value: Any) -> bytes:
    """A ``*_hex`` or ``*_bin`` property's value as the bytes it stands for."""
    try:
        return binascii.a2b_hex(value) if decoding == _HEX else binascii.a2b_base64(_ascii(value))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidObservation(f"{key}: {value!r} is not {'hex' if decoding == _HEX else 'base64'}") from exc


def _ascii(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("ascii")  # a non-ASCII character: ValueError, as base64 refuses it
    raise TypeError(f"not a string: {value!r}")


def _select(root: Mapping[str, Any], steps: tuple[_Step, ...], observations: Observations,
            index: int) -> list[Any]:
    """The values at an object path from one object, in the reference's order (``[*]`` and ``_refs`` give
    several). A step that cannot be taken (no such key, not a list, index out of range) drops the value."""
    values: list[Any] = [root]
    for what, key, decoding, reference in steps:
        found: list[Any] = []
        if what == _KEY:
            for value in values:
                if isinstance(value, Mapping) and key in value:
                    item = value[key]
                    found.append(item if decoding == _PLAIN else _decode(decoding, key, item))
            if reference != _NONE and found:
                found = _dereference(found, key, reference, observations, index)
        elif what == _INDEX:
            for value in values:
                if isinstance(value, list) and 0 <= key < len(value):
                    found.append(value[key])
        else:
            for value in values:
                if isinstance(value, list):
                    found.extend(value)
        if not found:
            return found
        values = found
    return values


def _dereference(values: list[Any], key: str, reference: int, observations: Observations,
                 index: int) -> list[Any]:
    """``*_ref``: each value becomes the objects it names; ``*_refs``: each list becomes the list of the objects
    its ids name (ids that name nothing drop out; a list naming nothing drops out)."""
    found: list[Any] = []
    if reference == _REF:
        for value in values:
            if not isinstance(value, str):
                raise InvalidObservation(f"the value of the reference property {key!r} is not an id: {value!r}")
            found.extend(observations.resolve(index, value))
        return found
    for value in values:
        if not isinstance(value, list):
            raise InvalidObservation(f"the value of the reference list property {key!r} is not a list: {value!r}")
        named: list[Any] = []
        for item in value:
            if not isinstance(item, str):
                raise InvalidObservation(f"a value of the reference list property {key!r} is not an id: {item!r}")
            named.extend(observations.resolve(index, item))
        if named:
            found.append(named)
    return found


# (2) Comparison expressions: what each [...] holds for -------------------------------------------------------

Evaluation = Callable[[Observations], Passed]


def _comparison(expression: ComparisonExpression, text: str) -> Evaluation:
    if isinstance(expression, BoolComparison):
        return _bool(expression, text)
    object_type = expression.path.object_type
    steps = _plan(expression.path)
    if expression.op is Op.EXISTS:
        wanted = not expression.negated

        def exists(observations: Observations) -> Passed:
            passed: Passed = {}
            for index, number, root in observations.roots(object_type):
                if bool(_select(root, steps, observations, index)) is wanted:
                    passed.setdefault(index, set()).add(number)
            return passed
        return exists
    test = value_test(expression, text)
    if len(steps) == 1 and steps[0][0] == _KEY and steps[0][2] == _PLAIN and steps[0][3] == _NONE:
        key = steps[0][1]

        def compare_property(observations: Observations) -> Passed:  # the usual case, made quick
            passed: Passed = {}
            for index, number, root in observations.roots(object_type):
                if key in root and test(root[key]):
                    if index in passed:
                        passed[index].add(number)
                    else:
                        passed[index] = {number}
            return passed
        return compare_property

    def compare(observations: Observations) -> Passed:
        passed: Passed = {}
        for index, number, root in observations.roots(object_type):
            for value in _select(root, steps, observations, index):
                if test(value):
                    passed.setdefault(index, set()).add(number)
                    break
        return passed
    return compare


def _bool(expression: BoolComparison, text: str) -> Evaluation:
    operands = [_comparison(operand, text) for operand in expression.operands]
    if expression.op == "AND":
        def conjunction(observations: Observations) -> Passed:
            passed = operands[0](observations)
            for operand in operands[1:]:
                other = operand(observations)  # evaluated even when nothing is left: its errors count
                passed = {index: both for index, objects in passed.items()
                          if index in other and (both := objects & other[index])}
            return passed
        return conjunction

    def disjunction(observations: Observations) -> Passed:
        passed = operands[0](observations)
        for operand in operands[1:]:
            for index, objects in operand(observations).items():
                passed[index] = passed[index] | objects if index in passed else objects
        return passed
    return disjunction


# (3) Observation expressions: bindings ------------------------------------------------------------------------

Bindings = Callable[[Observations, list[Passed]], Iterator[Binding]]


class _Compiler:
    def __init__(self, pattern: Pattern) -> None:
        self.text = pattern.text
        self.evaluations: list[Evaluation] = []

    def build(self, expression: ObservationExpression) -> Bindings:
        if isinstance(expression, Observation):
            slot = len(self.evaluations)
            self.evaluations.append(_comparison(expression.expression, self.text))
            return lambda observations, passed: _bindings.simple(passed[slot], observations.number)
        if isinstance(expression, Compound):
            return self._compound(expression)
        return self._qualified(expression)

    def _compound(self, expression: Compound) -> Bindings:
        parts = [self.build(operand) for operand in expression.operands]
        op = expression.op

        def compound(observations: Observations, passed: list[Passed]) -> Iterator[Binding]:
            # The reference's operators are binary and group to the left: ((a op b) op c).
            found = parts[0](observations, passed)
            for part in parts[1:]:
                right = part(observations, passed)
                if op == "AND":
                    found = _bindings.both(found, right)
                elif op == "OR":
                    found = _bindings.either(found, right)
                else:
                    found = _bindings.followed_by(found, right, observations.first, observations.last)
            return found
        return compound

    def _qualified(self, expression: Qualified) -> Bindings:
        qualifier = expression.qualifier
        if isinstance(qualifier, Within):
            span = self._span(qualifier, expression.position)
            repeated = expression.expression
            if isinstance(repeated, Qualified) and isinstance(repeated.qualifier, Repeats):
                return self._repeated_within(repeated.expression, repeated.qualifier, repeated.position, span)
            inner = self.build(expression.expression)
            return lambda observations, passed: _bindings.within(
                inner(observations, passed), span, observations.first, observations.last)
        inner = self.build(expression.expression)
        if isinstance(qualifier, Repeats):
            times = self._times(qualifier, expression.position)
            return lambda observations, passed: _bindings.repeated(inner(observations, passed), times)
        start, stop = self._moment(qualifier.start, expression), self._moment(qualifier.stop, expression)
        return lambda observations, passed: _bindings.start_stop(
            inner(observations, passed), start, stop, observations.first, observations.last)

    def _repeated_within(self, expression: ObservationExpression, qualifier: Repeats, position: int,
                         span: int) -> Bindings:
        """``(...) REPEATS n TIMES WITHIN s SECONDS``: the same bindings as the two applied in turn, but the
        window prunes the search for groups (n of m bindings: otherwise m choose n groups to try)."""
        times = self._times(qualifier, position)
        inner = self.build(expression)

        def repeated_within(observations: Observations, passed: list[Passed]) -> Iterator[Binding]:
            first, last = observations.first, observations.last
            window = _bindings.Window(span, first, last) if observations.ordered else None
            groups = _bindings.repeated(inner(observations, passed), times, window)
            return _bindings.within(groups, span, first, last)
        return repeated_within

    def _times(self, qualifier: Repeats, position: int) -> int:
        times = qualifier.times
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise InvalidPattern(f"REPEATS needs a count of 1 or more, not {times!r}", position=position,
                                 pattern=self.text)
        return times

    def _span(self, qualifier: Within, position: int) -> int:
        seconds = qualifier.seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise InvalidPattern(f"WITHIN needs a number of seconds above 0, not {seconds!r}",
                                 position=position, pattern=self.text)
        if isinstance(seconds, int):
            return seconds * 1_000_000
        try:  # as datetime arithmetic rounds it: to the nearest microsecond
            return timedelta(seconds=seconds) // _MICROSECOND
        except OverflowError:
            return int(seconds * 1_000_000)

    def _moment(self, text: str, expression: Qualified) -> int:
        try:
            return micros(text)
        except ValueError as exc:
            raise InvalidPattern(f"invalid timestamp {text!r} in START/STOP", position=expression.position,
                                 pattern=self.text) from exc


_MICROSECOND: Final = timedelta(microseconds=1)


class CompiledPattern:
    """A pattern made ready for evaluation. Build with ``compile_pattern``; reusable and thread-safe."""

    __slots__ = ("_bindings", "_evaluations", "_single", "pattern")

    def __init__(self, pattern: Pattern) -> None:
        compiler = _Compiler(pattern)
        self.pattern = pattern
        self._bindings = compiler.build(pattern.root)
        self._evaluations = tuple(compiler.evaluations)
        self._single = isinstance(pattern.root, Observation)

    def first_binding(self, observations: Observations) -> Binding | None:
        """The first binding the reference would find, or None if the pattern does not match."""
        passed = [evaluate(observations) for evaluate in self._evaluations]  # stage 1, in full
        if self._single:
            for index in passed[0]:
                return ((index, 0),)
            return None
        return next(self._bindings(observations, passed), None)

    def matches(self, observations: Observations) -> bool:
        return self.first_binding(observations) is not None

    def match_details(self, observations: Observations) -> MatchDetails | None:
        binding = self.first_binding(observations)
        if binding is None:
            return None
        bound = tuple(sorted({index for index, _ in binding}))
        return MatchDetails(bound, tuple(observations.ids[index] for index in bound))


_CACHE_SIZE: Final = 4096
_cache: dict[int, tuple[Pattern, CompiledPattern]] = {}
_cache_lock = threading.Lock()


def compile_pattern(pattern: Pattern) -> CompiledPattern:
    """Compile a pattern for evaluation. Raises ``InvalidPattern`` for what the reference refuses whatever the
    observations: an ``IN`` set of mixed types, a ``MATCHES`` expression Python's ``re`` cannot compile,
    ``WITHIN`` 0 seconds, a timestamp ``datetime`` cannot hold."""
    return CompiledPattern(pattern)


def _compiled(pattern: Pattern) -> CompiledPattern:
    held = _cache.get(id(pattern))
    if held is not None and held[0] is pattern:
        return held[1]
    compiled = CompiledPattern(pattern)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[id(pattern)] = (pattern, compiled)  # the pattern is held: its id cannot be reused meanwhile
    return compiled


def matches(pattern: Pattern, observations: Observations) -> bool:
    """Whether ``pattern`` matches ``observations``, as the reference matcher decides. Raises
    ``InvalidPattern`` (see ``compile_pattern``) or ``InvalidObservation`` (observed data the pattern's
    comparisons cannot read)."""
    return _compiled(pattern).matches(observations)


def match_details(pattern: Pattern, observations: Observations) -> MatchDetails | None:
    """Which observations matched (the first binding found), or None if the pattern does not match."""
    return _compiled(pattern).match_details(observations)
