"""TLP markings on a whole object and on its parts (STIX 2.1 section 7.2).

An object's TLP level comes from ``object_marking_refs`` (the most restrictive level there). A granular
marking (section 7.2.3) marks only the properties its selectors name: ``description``, ``labels.[1]``,
``external_references.[0].url``. ``redact`` removes the parts marked above a level from a copy of the object,
so that a reader outside those parts' audience gets the rest; ``phalanx.policy`` decides the level.

    >>> obj = {"type": "indicator", "labels": ["a", "b"], "granular_markings": [
    ...     {"marking_ref": Tlp.RED.value, "selectors": ["labels.[0]"]}]}
    >>> redact(obj, above=Tlp.AMBER)
    {'type': 'indicator', 'labels': ['b']}
"""

from __future__ import annotations

__all__ = ["GranularLevel", "granular_levels", "marked_above", "object_level", "redact"]

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._tlp import LEVEL_OF_MARKING, Tlp, tlp_of

Token = str | int
"""One step of a selector: a property name, or a list index."""


@dataclass(frozen=True, slots=True)
class GranularLevel:
    """The parts of an object one TLP level marks: its selectors, parsed into steps. ``whole``: a selector could
    not be read, so the marking is taken to cover the whole object (it fails closed)."""

    level: Tlp
    paths: tuple[tuple[Token, ...], ...]
    whole: bool = False


def object_level(data: Mapping[str, Any]) -> Tlp | None:
    """The most restrictive TLP level in ``object_marking_refs`` (None: the object has no TLP marking)."""
    refs = data.get("object_marking_refs")
    if type(refs) is not list:
        return None
    return tlp_of(ref.lower() for ref in refs if type(ref) is str)


def _parse(selector: str) -> tuple[Token, ...] | None:
    steps: list[Token] = []
    for segment in selector.split("."):
        if segment.startswith("[") and segment.endswith("]"):
            digits = segment[1:-1]
            if not (digits.isascii() and digits.isdigit()):
                return None
            steps.append(int(digits))
        elif segment:
            steps.append(segment)
        else:
            return None
    return tuple(steps) if steps else None


def granular_levels(data: Mapping[str, Any]) -> list[GranularLevel]:
    """The TLP levels the object's granular markings apply, least restrictive first, each with every path it
    marks. Markings that are not TLP (statements, ``lang``) are left out. A TLP marking with a selector that
    cannot be read (validation refuses those) is taken to mark the whole object."""
    markings = data.get("granular_markings")
    if type(markings) is not list:
        return []
    found: dict[Tlp, list[tuple[Token, ...]]] = {}
    whole: set[Tlp] = set()
    for marking in markings:
        if type(marking) is not dict or type(marking.get("marking_ref")) is not str:
            continue
        level = LEVEL_OF_MARKING.get(marking["marking_ref"].lower())
        if level is None:
            continue
        selectors = marking.get("selectors")
        found.setdefault(level, [])
        for selector in selectors if type(selectors) is list and selectors else [None]:
            path = _parse(selector) if type(selector) is str else None
            if path is None:
                whole.add(level)
            else:
                found[level].append(path)
    return [GranularLevel(level, tuple(found[level]), level in whole) for level in sorted(found, key=lambda t: t.rank)]


def marked_above(data: Mapping[str, Any], level: Tlp) -> list[str]:
    """The selectors of the parts marked (granularly) more restrictively than ``level``: what ``redact``
    removes."""
    return [_selector(path) for g in granular_levels(data) if g.level.rank > level.rank for path in g.paths]


def redact(data: Mapping[str, Any], *, above: Tlp) -> dict[str, Any]:
    """A copy of ``data`` without the parts marked (granularly) more restrictively than ``above``.

    Lists lose the marked items (later items move up, and the remaining selectors are renumbered to match);
    a list or dictionary left empty is removed too, since STIX allows neither. Granular markings whose content
    is gone are dropped. ``data`` itself is not changed.
    """
    result: dict[str, Any] = copy.deepcopy(dict(data))
    removed = [path for g in granular_levels(data) if g.level.rank > above.rank for path in g.paths]
    if not removed:
        return result
    gone = _remove(result, removed)
    _renumber_markings(result, gone)
    return result


class _Gone:
    """Stands where a removed part was, until the pass that takes the removed parts out."""


_GONE = _Gone()


def _remove(root: dict[str, Any], paths: Iterable[tuple[Token, ...]]) -> list[tuple[Token, ...]]:
    """Remove every path from ``root``; return the removed paths (in the original numbering), emptied
    containers included. Parts are first replaced by a marker, then taken out in one pass, so that no removal
    moves what another path names."""
    gone: list[tuple[Token, ...]] = []
    for path in sorted(set(paths), key=len):
        if any(path[: len(g)] == g for g in gone):
            continue  # inside something removed already
        if _mark_gone(_walk(root, path[:-1]), path[-1]):
            gone.append(path)
    _prune(root, (), gone)
    return gone


def _mark_gone(parent: Any, last: Token) -> bool:
    """Put the marker where ``parent[last]`` is; False when there is nothing there."""
    if isinstance(last, int) and type(parent) is list and last < len(parent):
        parent[last] = _GONE
        return True
    if isinstance(last, str) and type(parent) is dict and last in parent:
        parent[last] = _GONE
        return True
    return False


def _prune(value: Any, path: tuple[Token, ...], gone: list[tuple[Token, ...]]) -> bool:
    """Take the markers out of ``value`` (in place); True when that left a container empty, since STIX allows
    no empty list or dictionary (the caller then removes it, and records it as gone)."""
    if type(value) is dict:
        if not value:
            return False
        for key in list(value):
            child = value[key]
            if child is _GONE or _prune(child, (*path, key), gone):
                if child is not _GONE:
                    gone.append((*path, key))
                del value[key]
        return not value and bool(path)
    if type(value) is list:
        if not value:
            return False
        kept = []
        for index, child in enumerate(value):
            if child is _GONE:
                continue
            if _prune(child, (*path, index), gone):
                gone.append((*path, index))
                continue
            kept.append(child)
        emptied = not kept
        value[:] = kept
        return emptied
    return False


def _walk(root: Any, path: tuple[Token, ...]) -> Any:
    current = root
    for step in path:
        if isinstance(step, int):
            if type(current) is not list or step >= len(current):
                return None
        elif type(current) is not dict or step not in current:
            return None
        current = current[step]
    return current


def _renumber(path: tuple[Token, ...], gone: list[tuple[Token, ...]]) -> tuple[Token, ...] | None:
    """Where ``path`` points after the removals (None when its content is gone)."""
    if any(path[: len(g)] == g for g in gone):
        return None
    moved = list(path)
    for depth, step in enumerate(path):
        if not isinstance(step, int):
            continue
        shift = 0
        for g in gone:  # removed items of the same list, before this one
            removed = g[-1]
            if len(g) == depth + 1 and g[:depth] == path[:depth] and isinstance(removed, int) and removed < step:
                shift += 1
        moved[depth] = step - shift
    return tuple(moved)


def _selector(path: tuple[Token, ...]) -> str:
    return ".".join(f"[{t}]" if isinstance(t, int) else t for t in path)


def _renumber_markings(root: dict[str, Any], gone: list[tuple[Token, ...]]) -> None:
    markings = root.get("granular_markings")
    if type(markings) is not list:
        return
    kept = []
    for marking in markings:
        if type(marking) is not dict or type(marking.get("selectors")) is not list:
            kept.append(marking)
            continue
        selectors = []
        for selector in marking["selectors"]:
            path = _parse(selector) if type(selector) is str else None
            if path is None:
                selectors.append(selector)
                continue
            moved = _renumber(path, gone)
            if moved is not None:
                selectors.append(_selector(moved))
        if selectors:
            kept.append({**marking, "selectors": selectors})
    if kept:
        root["granular_markings"] = kept
    else:
        root.pop("granular_markings", None)
