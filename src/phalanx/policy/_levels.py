"""The sharing level of an object version: what its TLP markings say, decided once, when it is stored.

1. The most restrictive TLP level in ``object_marking_refs`` (TLP 1.0 and 2.0 ids alike).
2. None there: the hub's ``default_tlp`` in force at that time (so changing the default later never widens
   the audience of what was shared before).
3. Granular markings more restrictive than that level mark parts that readers outside their audience do not
   get. When a reader at some level would get a copy that is not valid STIX (a required property gone, the
   last item of a list that may not be empty...), the whole object takes the next level up that a granular
   marking uses: it fails closed. So does a granular TLP marking whose selector cannot be read.

``top_level_of`` is the most restrictive level of any part: how far the whole object may travel;
``sharing_levels`` gives both for a parsed object, and ``level_story`` says where a stored level came from.
"""

from __future__ import annotations

__all__ = ["level_of", "level_story", "sharing_levels", "top_level_of"]

from collections.abc import Mapping
from typing import Any

from ..stix import StixObject, Tlp, tlp_of, validate
from ..stix._markings import granular_levels, object_level, redact


def sharing_levels(obj: StixObject, *, default: Tlp, strict: bool) -> tuple[Tlp, Tlp]:
    """The level a version is stored with, and its top level (see the module doc)."""
    if b'"granular_markings"' not in obj.canonical:  # the bulk path: the markings are all the object's own
        level = tlp_of(obj.marking_refs) or default
        return level, level
    data = obj.properties()
    level = level_of(data, default=default, strict=strict)
    return level, top_level_of(data, level)


def level_story(data: Mapping[str, Any], level: Tlp, *, default: Tlp) -> str:
    """Where the ``level`` an object was stored with came from, for people (``default``: the hub's now)."""
    marked = object_level(data)
    if marked is level:
        return f"{level.title} (marked)"
    raised = "; raised to the level of a granular marking on a part it cannot be served without"
    if marked is not None:
        return f"{level.title} (marked {marked.title}{raised})"
    if level.rank > default.rank and any(g.level is level for g in granular_levels(data)):
        return f"{level.title} (no TLP marking, so the hub's default {default.title}{raised})"
    return f"{level.title} (no TLP marking: the hub's default when it was shared)"


def top_level_of(data: Mapping[str, Any], level: Tlp) -> Tlp:
    """The most restrictive level of the object (stored at ``level``) and of every part of it."""
    return max([level, *(g.level for g in granular_levels(data))], key=lambda t: t.rank)


def level_of(data: Mapping[str, Any], *, default: Tlp, strict: bool) -> Tlp:
    """The level an object is stored with (see the module doc); ``strict`` is the mode it was validated in."""
    level = object_level(data) or default
    granular = granular_levels(data)
    for marking in granular:  # a marking whose selectors cannot be read covers the whole object
        if marking.whole and marking.level.rank > level.rank:
            level = marking.level
    used = sorted({g.level for g in granular if g.level.rank > level.rank}, key=lambda t: t.rank)
    # A reader who sees up to level k gets the object without the parts above k; those copies differ only at
    # the levels the markings use. The object's level is the lowest one from which every such copy is valid.
    steps = [level, *used[:-1]]  # the copies: above the object's level, then above each level used but the last
    valid = [not any(v.severity == "error" for v in validate(redact(data, above=k), strict=strict)) for k in steps]
    for start, candidate in enumerate([level, *used]):
        if all(valid[start:]):
            return candidate
    return used[-1] if used else level
