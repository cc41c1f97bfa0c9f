"""The indexed matcher: many patterns against an observation, at a cost that does not grow with their number.

Example::

    from phalanx.pattern import PatternIndex, parse

    index = PatternIndex()
    index.add("indicator--1", parse("[domain-name:value = 'evil.example']"), payload="botnet C2")
    index.add("indicator--2", parse("[ipv4-addr:value ISSUBSET '198.51.100.0/24']"))
    index.match_value("domain-name", "evil.example")  # [Hit(key='indicator--1', payload='botnet C2', ...)]
    index.match_value("ipv4-addr", "198.51.100.7")  # [Hit(key='indicator--2', ...)]

Each pattern is filed under its anchors (``_anchors.plan``): its ``=`` and ``IN`` values in a hash map per object
type and path, its ``ISSUBSET`` blocks in a prefix table per path (``_cidr``), the literal fragments of its
``LIKE`` and ``MATCHES`` in an automaton per path (``_fragments``). To match, the index reads each object's
values at the paths in use for its type and looks each one up; the patterns found are the candidates, and only
they are evaluated (``CompiledPattern.first_binding``, compiled when added), together with the residual patterns
(no anchor) of the object types present. A *simple* pattern (one ``=`` or ``IN`` comparison with a string,
number or bool: the bulk of real feeds) is decided by the lookup itself, with the evaluator's exact rules for the
type of the value (``_anchors.Check``; tests/pattern/test_index.py holds it to the evaluator), so the common hit
costs no evaluation either, and the index keeps no tree for it.

An observation the evaluator cannot read for a candidate (``InvalidObservation``: a value ``ISSUBSET`` cannot
read as an address...) is no match for that pattern, which is what the patterns not evaluated get too; the
other patterns are matched as usual.

Adding or removing a pattern costs the size of that pattern: no rebuild (the automata rebuild themselves lazily,
see ``_fragments``). Validity windows are checked at match time (``valid_from <= at < valid_until``);
``expire(at)`` drops what has ended. Not thread-safe: one writer, or a lock around it.
"""

from __future__ import annotations

__all__ = ["Hit", "PatternIndex"]

import heapq
import time
import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..errors import InvalidObservation, InvalidPattern
from . import _buckets
from ._anchors import Block, Check, Equal, plan, simple
from ._ast import STAR, Observation, Pattern, Step
from ._cidr import CidrTable
from ._evaluate import CompiledPattern, compile_pattern
from ._fragments import FragmentTable
from ._observations import Observations

_EQUAL, _BLOCK, _FRAGMENT, _RESIDUAL = 0, 1, 2, 3
_KEYED = (str, int, float, bool)
_VALUE: tuple[Step, ...] = ("value",)

_HASHES = frozenset(("MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH"))


class Hit(NamedTuple):
    """A pattern that matched: the key it was added under, its payload, and the number of the observation that
    matched it (its index in ``Observations``; 0 for ``match_value``), the one the evaluator binds first; None for
    a pattern of several observation expressions, or with a qualifier, whose match binds several."""

    key: str
    payload: object
    observation: int | None


class _Entry:
    """A filed pattern. A simple one (``check`` set) is decided by the index: it keeps only the path and the key
    it is filed under, not its tree, which at a million patterns saves memory and the garbage collector's time.
    Any other keeps its compiled form, for the evaluator, and its anchors: (where, kind, key) flattened, where a
    ``_Path`` or, for a residual pattern, an object type."""

    __slots__ = ("check", "compiled", "key", "payload", "valid_from", "valid_until", "what", "where")

    def __init__(self, key: str, payload: object, valid_from: int | None, valid_until: int | None,
                 check: Check | None, compiled: CompiledPattern | None, where: _Path | None, what: Any) -> None:
        self.key = key
        self.payload = payload
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.check = check
        self.compiled = compiled
        self.where = where  # a simple pattern's path, else None
        self.what = what  # a simple pattern's key, else the anchors

    def active(self, at: int) -> bool:
        valid_from, valid_until = self.valid_from, self.valid_until
        return (valid_from is None or valid_from <= at) and (valid_until is None or at < valid_until)


class _Path:
    """Everything filed under one (object type, path)."""

    __slots__ = ("blocks", "equal", "fragments", "steps", "uses")

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.steps = steps
        self.equal: dict[object, Any] = {}
        self.blocks: CidrTable | None = None
        self.fragments: FragmentTable | None = None
        self.uses = 0


def _values(obj: Any, steps: tuple[Step, ...]) -> list[Any]:
    """The values at ``steps`` in ``obj``, as the reference matcher selects them (``_step_into_objs``): a name
    steps into a dictionary, an index into a list (no negative indexes), ``[*]`` into every element."""
    current = [obj]
    for step in steps:
        stepped: list[Any] = []
        if step is STAR:
            for value in current:
                if isinstance(value, list):
                    stepped.extend(value)
        elif isinstance(step, int):
            for value in current:
                if isinstance(value, list) and 0 <= step < len(value):
                    stepped.append(value[step])
        else:
            for value in current:
                if isinstance(value, dict) and step in value:
                    stepped.append(value[step])
        if not stepped:
            return stepped
        current = stepped
    return current


def _confirms(check: Check, value: object) -> bool:
    """Whether a simple pattern whose key ``value`` was found under matches it (see ``_anchors.Check``)."""
    if check is Check.STRING:
        return type(value) is str
    if check is Check.NUMBER:
        return type(value) is int or type(value) is float
    if check is Check.BOOL:
        return type(value) is bool
    return True


def _now() -> int:
    return time.time_ns() // 1000


class _Pass:
    """The state of one match: the hits so far, and the candidates left for the evaluator."""

    __slots__ = ("at", "hits", "seen", "todo")

    def __init__(self, at: int) -> None:
        self.at = at
        self.hits: list[Hit] = []
        self.seen: set[_Entry] = set()  # decided: a hit, or inactive
        self.todo: dict[_Entry, None] = {}  # to evaluate, in the order found

    def candidate(self, entry: _Entry) -> None:
        if entry not in self.todo and entry not in self.seen:
            if entry.active(self.at):
                self.todo[entry] = None
            else:
                self.seen.add(entry)

    def found(self, entry: _Entry, value: object, observation: int) -> None:
        """``value``, of observation number ``observation``, was looked up and found ``entry``."""
        if entry.check is None:
            self.candidate(entry)
        elif entry not in self.seen and _confirms(entry.check, value):
            self.seen.add(entry)
            if entry.active(self.at):
                self.hits.append(Hit(entry.key, entry.payload, observation))


class PatternIndex:
    """Patterns filed for matching. Keys are the caller's (an indicator's id, typically); adding a key again
    replaces its pattern."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._types: dict[str, dict[tuple[Step, ...], _Path]] = {}
        self._residual: dict[str, set[_Entry]] = {}
        self._ending: list[tuple[int, int, _Entry]] = []  # (valid_until, sequence, entry), a heap
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    # -- updates --------------------------------------------------------------------------------------------

    def add(self, key: str, pattern: Pattern, *, valid_from: int | None = None, valid_until: int | None = None,
            payload: object = None) -> None:
        """File ``pattern`` under ``key``, active when ``valid_from <= at < valid_until`` (microseconds since
        the epoch; None: no bound). Raises ``InvalidPattern`` for a pattern the evaluator refuses whatever the
        data (see ``compile_pattern``); the index is then unchanged."""
        quick = simple(pattern)
        if quick is None:
            self._add_planned(key, pattern, valid_from, valid_until, payload)
            return
        # The bulk of every feed: one equality, filed under its value without a plan or a compiled form.
        if key in self._entries:
            self.remove(key)
        object_type, steps, value, check = quick
        path = self._path(object_type, steps)
        entry = _Entry(key, payload, valid_from, valid_until, check, None, path, value)
        _buckets.add(path.equal, value, entry)
        path.uses += 1
        self._file(entry)

    def _add_planned(self, key: str, pattern: Pattern, valid_from: int | None, valid_until: int | None,
                     payload: object) -> None:
        where = plan(pattern)
        # A simple IN needs no evaluator; any other pattern is compiled now, which raises InvalidPattern (for what
        # the evaluator refuses whatever the data) before anything changes.
        compiled = None if where.check is not None else compile_pattern(pattern)
        if key in self._entries:
            self.remove(key)
        entry = _Entry(key, payload, valid_from, valid_until, where.check, compiled, None, ())
        anchors: list[Any] = []
        for anchor in where.anchors:
            if isinstance(anchor, Equal) and not anchor.keys:
                continue  # IN (): never true, nothing to file
            path = self._path(anchor.object_type, anchor.steps)
            if isinstance(anchor, Equal):
                for value in anchor.keys:
                    _buckets.add(path.equal, value, entry)
                    anchors += (path, _EQUAL, value)
                path.uses += len(anchor.keys)
                continue
            if isinstance(anchor, Block):
                if path.blocks is None:
                    path.blocks = CidrTable()
                path.blocks.add(anchor.block, entry)
                anchors += (path, _BLOCK, anchor.block)
            else:
                if path.fragments is None:
                    path.fragments = FragmentTable()
                path.fragments.add(anchor.text, entry)
                anchors += (path, _FRAGMENT, anchor.text)
            path.uses += 1
        for object_type in where.residual_types:
            self._residual.setdefault(object_type, set()).add(entry)
            anchors += (object_type, _RESIDUAL, None)
        entry.what = tuple(anchors)
        self._file(entry)

    def _file(self, entry: _Entry) -> None:
        self._entries[entry.key] = entry
        valid_until = entry.valid_until
        if valid_until is not None:
            if len(self._ending) > 2 * len(self._entries) + 64:  # mostly replaced or removed entries: compact
                self._ending = [t for t in self._ending if self._entries.get(t[2].key) is t[2]]
                heapq.heapify(self._ending)
            self._sequence += 1
            heapq.heappush(self._ending, (valid_until, self._sequence, entry))

    def _path(self, object_type: str, steps: tuple[Step, ...]) -> _Path:
        paths = self._types.get(object_type)
        if paths is None:
            paths = self._types[object_type] = {}
        path = paths.get(steps)
        if path is None:
            path = paths[steps] = _Path(steps)
        return path

    def remove(self, key: str) -> bool:
        """Take ``key``'s pattern out; False if there was none."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        if entry.where is not None:
            path = entry.where
            _buckets.discard(path.equal, entry.what, entry)
            path.uses -= 1
            if path.uses == 0:
                self._drop(path)
            return True
        anchors = entry.what
        for i in range(0, len(anchors), 3):
            where, kind, value = anchors[i:i + 3]
            if kind == _RESIDUAL:
                residual = self._residual[where]
                residual.discard(entry)
                if not residual:
                    del self._residual[where]
                continue
            if kind == _EQUAL:
                _buckets.discard(where.equal, value, entry)
            elif kind == _BLOCK:
                where.blocks.discard(value, entry)
            else:
                where.fragments.discard(value, entry)
            where.uses -= 1
            if where.uses == 0:
                self._drop(where)
        return True

    def _drop(self, path: _Path) -> None:
        for object_type, paths in self._types.items():
            if paths.get(path.steps) is path:
                del paths[path.steps]
                if not paths:
                    del self._types[object_type]
                return

    def expire(self, at: int | None = None) -> list[str]:
        """Remove the patterns whose validity ended at or before ``at`` (default now); their keys."""
        at = _now() if at is None else at
        ended: list[str] = []
        while self._ending and self._ending[0][0] <= at:
            _, _, entry = heapq.heappop(self._ending)
            if self._entries.get(entry.key) is entry and entry.valid_until is not None and entry.valid_until <= at:
                self.remove(entry.key)
                ended.append(entry.key)
        return ended

    # -- matching -------------------------------------------------------------------------------------------

    def _probe(self, obj: Mapping[str, Any], observation: int, state: _Pass) -> None:
        """Look up one object's values; note hits and candidates in ``state``."""
        object_type = obj.get("type")
        if not isinstance(object_type, str):
            return
        residual = self._residual.get(object_type)
        if residual:
            for entry in residual:
                state.candidate(entry)
        paths = self._types.get(object_type)
        if not paths:
            return
        for path in paths.values():
            steps = path.steps
            if len(steps) == 1:
                value = obj.get(steps[0])  # type: ignore[arg-type]  # a name: a path starts with one
                if value is not None:
                    _lookup(path, value, observation, state)
            else:
                for value in _values(obj, steps):
                    _lookup(path, value, observation, state)

    def _confirm(self, state: _Pass, observations: Observations) -> list[Hit]:
        hits = state.hits
        for entry in state.todo:
            compiled = entry.compiled
            if compiled is None:  # a simple pattern filed under a key its value only resembled (e.g. 1 and true)
                continue
            try:
                binding = compiled.first_binding(observations)
            except (InvalidObservation, InvalidPattern):
                # Data this pattern cannot read, or a constant that is only found wrong when a value meets it (an
                # ISSUBSET block that is not one): no match, as for the patterns that were not evaluated.
                continue
            if binding is not None:
                single = isinstance(compiled.pattern.root, Observation)  # one observation matched it
                hits.append(Hit(entry.key, entry.payload, binding[0][0] if single else None))
        return hits

    def match(self, observations: Observations, *, at: int | None = None) -> list[Hit]:
        """The active patterns that match ``observations``, each once."""
        state = _Pass(_now() if at is None else at)
        for number, objects in enumerate(observations.objects):
            for obj in objects:
                self._probe(obj, number, state)
        return self._confirm(state, observations)

    def match_value(self, kind: str, value: str, *, at: int | None = None) -> list[Hit]:
        """The active patterns that match one plain observable: ``kind`` is an object type whose ``value``
        holds it (``ipv4-addr``, ``domain-name``, ``url``, ``email-addr``...) or a hash algorithm (``MD5``,
        ``SHA-256``...: ``file:hashes.'SHA-256'``). The same answer as ``match`` on one observation of that one
        object, observed at ``at`` (default now), without building the observation unless a candidate needs
        the evaluator."""
        object_type, steps = ("file", ("hashes", kind)) if kind in _HASHES else (kind, _VALUE)
        paths = self._types.get(object_type)
        residual = self._residual.get(object_type)
        if not paths and not residual:
            return []
        when = _now() if at is None else at
        path = paths.get(steps) if paths else None
        if paths is None or path is None or residual or len(paths) > 1:  # more to read than the value: the general way
            obj = {"type": "file", "hashes": {kind: value}} if kind in _HASHES else {"type": kind, "value": value}
            state = _Pass(when)
            self._probe(obj, 0, state)
            return self._confirm(state, Observations.single([obj], when)) if state.todo else state.hits
        held = path.equal.get(value)
        others: list[_Entry] = []  # candidates of blocks and fragments
        if path.blocks is not None:
            others = path.blocks.lookup(value)
        if path.fragments is not None:
            others += path.fragments.lookup(value if value.isascii() else unicodedata.normalize("NFC", value))
        if not others:
            if held is None:
                return []
            if type(held) is _Entry and held.check is not None:  # the commonest hit: one simple pattern
                return [Hit(held.key, held.payload, 0)] if _confirms(held.check, value) and held.active(when) else []
        state = _Pass(when)
        for entry in _buckets.items(held):
            state.found(entry, value, 0)
        for entry in others:
            state.candidate(entry)
        if not state.todo:
            return state.hits
        obj = {"type": "file", "hashes": {kind: value}} if kind in _HASHES else {"type": kind, "value": value}
        return self._confirm(state, Observations.single([obj], when))

    def stats(self) -> dict[str, int]:
        """Sizes, for benchmarks and health pages: patterns, and keys per kind of anchor."""
        paths = [p for per_type in self._types.values() for p in per_type.values()]
        return {
            "patterns": len(self._entries),
            "paths": len(paths),
            "equal_keys": sum(len(p.equal) for p in paths),
            "blocks": sum(len(p.blocks) for p in paths if p.blocks is not None),
            "fragments": sum(len(p.fragments) for p in paths if p.fragments is not None),
            "residual": len({e for entries in self._residual.values() for e in entries}),
        }


def _lookup(path: _Path, value: Any, observation: int, state: _Pass) -> None:
    """Look one value up in what is filed under its path."""
    if isinstance(value, _KEYED):
        held = path.equal.get(value)
        if held is not None:
            if type(held) is list:
                for entry in held:
                    state.found(entry, value, observation)
            else:
                state.found(held, value, observation)
    if isinstance(value, str):
        if path.blocks is not None:
            for entry in path.blocks.lookup(value):
                state.candidate(entry)
        if path.fragments is not None:
            text = value if value.isascii() else unicodedata.normalize("NFC", value)
            for entry in path.fragments.lookup(text):
                state.candidate(entry)

