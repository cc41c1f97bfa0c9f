"""Bindings: which observations an observation expression binds to its ``[...]`` parts, as the reference matcher
(stix2-matcher 3.0.0) finds them.

An observed-data with ``number_observed`` n counts as n observations: its *instances* ``(index, 0)`` to
``(index, n - 1)``. A binding is a tuple of instances, one per ``[...]`` that took part (an ``OR`` binds one side
only). Every function here takes and gives an iterator of bindings, lazily, in the reference's order, so that the
first binding, which says which observations matched, is the reference's first binding too:

- ``simple``: each instance of each observation the comparisons held for, observation by observation;
- ``both`` (AND), ``followed_by`` (FOLLOWEDBY): a left and a right binding with no instance in common, the two
  sides read in turn, each new binding joined with those already read from the other side; FOLLOWEDBY also needs
  the latest ``first_observed`` on the left to be at or before the earliest ``last_observed`` on the right;
- ``either`` (OR): the bindings of each side in turn;
- ``repeated`` (REPEATS n TIMES): n bindings with no instance in common, ordered by the position of the last
  one read, then by the positions of the others;
- ``within`` (WITHIN s SECONDS): a window of s seconds meets the interval [first_observed, last_observed] of every
  observation bound: ``max(first) <= min(last) + s``;
- ``start_stop`` (START a STOP b): every observation bound has ``first_observed < b`` and ``last_observed >= a``
  (and a < b).

Times are microseconds since the epoch.
"""

from __future__ import annotations

__all__ = ["Binding", "Window", "both", "either", "followed_by", "repeated", "simple", "start_stop", "within"]

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Final

from ..errors import InvalidObservation

Instance = tuple[int, int]
Binding = tuple[Instance, ...]


def simple(observations: Iterable[int], number: Sequence[int]) -> Iterator[Binding]:
    for index in observations:
        for instance in range(number[index]):
            yield ((index, instance),)


def _disjoint(a: Binding, b: Binding) -> bool:
    if len(a) == 1 and len(b) == 1:
        return a[0] != b[0]
    return set(a).isdisjoint(b)


JOIN_BUDGET = 200_000
"""Pairs of bindings one AND or FOLLOWEDBY may try before giving up (``InvalidObservation``). A match is found
long before (the first pair that fits is yielded at once); the budget bounds the search for one that does not
exist, which grows as observations to the power of the operands (a member's pattern of ten ANDs must not stall
everyone's matching). The reference matcher searches on; this is a deliberate difference."""


def _spent(checks: int) -> None:
    if checks > JOIN_BUDGET:
        raise InvalidObservation(
            f"the pattern joins more than {JOIN_BUDGET:,} pairs of observations without a match: Phalanx stops "
            "there", hint="Match fewer observations at a time, or a pattern with fewer AND/FOLLOWEDBY operands.")


def _join(lhs: Iterator[Binding], rhs: Iterator[Binding], first: Sequence[int] | None,
          last: Sequence[int] | None) -> Iterator[Binding]:
    """AND (no times given) or FOLLOWEDBY: pairs of disjoint bindings, the two sides read in turn."""
    checks = 0
    right = next(rhs, None)
    left = next(lhs, None)
    if right is None or left is None:
        return
    lefts: list[Binding] = []
    rights: list[Binding] = []
    while right is not None or left is not None:
        checks += len(lefts) + len(rights)
        _spent(checks)
        if right is not None:
            if first is None or last is None:
                for seen in lefts:
                    if _disjoint(seen, right):
                        yield seen + right
            else:
                earliest_last = min(last[i] for i, _ in right)
                for seen in lefts:
                    if _disjoint(seen, right) and max(first[i] for i, _ in seen) <= earliest_last:
                        yield seen + right
            rights.append(right)
            right = next(rhs, None)
        if left is not None:
            if first is None or last is None:
                for seen in rights:
                    if _disjoint(left, seen):
                        yield left + seen
            else:
                latest_first = max(first[i] for i, _ in left)
                for seen in rights:
                    if _disjoint(left, seen) and latest_first <= min(last[i] for i, _ in seen):
                        yield left + seen
            lefts.append(left)
            left = next(lhs, None)


def both(lhs: Iterator[Binding], rhs: Iterator[Binding]) -> Iterator[Binding]:
    return _join(lhs, rhs, None, None)


def followed_by(lhs: Iterator[Binding], rhs: Iterator[Binding], first: Sequence[int],
                last: Sequence[int]) -> Iterator[Binding]:
    return _join(lhs, rhs, first, last)


def either(lhs: Iterator[Binding], rhs: Iterator[Binding]) -> Iterator[Binding]:
    left = next(lhs, None)
    right = next(rhs, None)
    while left is not None or right is not None:
        if left is not None:
            yield left
            left = next(lhs, None)
        if right is not None:
            yield right
            right = next(rhs, None)


class Window:
    """A WITHIN applied while REPEATS builds its groups: a group that already spans too long cannot become
    right by growing, so it is dropped early. Only valid when every observation has first <= last (else the
    reference's WITHIN raises on some of the groups dropped here)."""

    __slots__ = ("first", "last", "span")

    def __init__(self, span: int, first: Sequence[int], last: Sequence[int]) -> None:
        self.span = span
        self.first = first
        self.last = last

    def extend(self, reach: tuple[int, int], binding: Binding) -> tuple[int, int] | None:
        """(latest first, earliest last) with ``binding`` added, or None if that no longer fits the window."""
        latest_first = max(reach[0], *(self.first[i] for i, _ in binding))
        earliest_last = min(reach[1], *(self.last[i] for i, _ in binding))
        return (latest_first, earliest_last) if latest_first <= earliest_last + self.span else None


_OPEN: Final = (-(1 << 62), 1 << 62)  # the reach of an empty group: fits any window


def repeated(inner: Iterator[Binding], times: int, window: Window | None = None) -> Iterator[Binding]:
    if times == 1:
        yield from inner
        return
    seen: list[Binding] = []
    for binding in inner:
        if len(seen) >= times - 1:
            reach = window.extend(_OPEN, binding) if window is not None else _OPEN
            if reach is not None:
                partners = [other for other in seen if _disjoint(other, binding)]
                for group in _groups(partners, times - 1, window, reach):
                    yield tuple(chain.from_iterable(group)) + binding
        seen.append(binding)


def _groups(candidates: list[Binding], size: int, window: Window | None,
            reach: tuple[int, int]) -> Iterator[tuple[Binding, ...]]:
    """Groups of ``size`` pairwise disjoint candidates (that fit the window with ``reach``), in lexicographic
    order of their positions."""
    if window is not None:
        candidates = [candidate for candidate in candidates if window.extend(reach, candidate) is not None]
    if size == 1:
        for candidate in candidates:
            yield (candidate,)
        return
    if _most_disjoint(candidates) < size:
        return
    for position in range(len(candidates) - size + 1):
        head = candidates[position]
        rest = [other for other in candidates[position + 1:] if _disjoint(head, other)]
        if len(rest) >= size - 1:
            inner_reach = window.extend(reach, head) if window is not None else reach
            if inner_reach is not None:  # always: the head was filtered above
                for group in _groups(rest, size - 1, window, inner_reach):
                    yield (head, *group)


def _most_disjoint(candidates: list[Binding]) -> int:
    """An upper bound of how many pairwise disjoint candidates there can be: as many of the smallest as the
    distinct instances among all of them can fill. Cuts hopeless searches short (the reference does likewise)."""
    instances = len(set(chain.from_iterable(candidates)))
    count = used = 0
    for size in sorted(len(candidate) for candidate in candidates):
        used += size
        if used > instances:
            break
        count += 1
    return count


def _check_interval(first: int, last: int) -> None:
    if first > last:
        raise InvalidObservation("an observed-data has last_observed before first_observed")


def within(inner: Iterator[Binding], span: int, first: Sequence[int], last: Sequence[int]) -> Iterator[Binding]:
    for binding in inner:
        earliest_last = min(last[i] for i, _ in binding)
        for i, _ in binding:
            _check_interval(first[i], last[i])
            if first[i] > earliest_last + span:
                break
        else:
            yield binding


def start_stop(inner: Iterator[Binding], start: int, stop: int, first: Sequence[int],
               last: Sequence[int]) -> Iterator[Binding]:
    if start >= stop:
        return
    for binding in inner:
        for i, _ in binding:
            _check_interval(first[i], last[i])
            if not (first[i] < stop and last[i] >= start):
                break
        else:
            yield binding
