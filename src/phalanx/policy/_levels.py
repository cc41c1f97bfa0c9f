"""The sharing level of an object version: what its TLP markings say, decided once, when it is stored.

1. The most restrictive TLP level in ``object_marking_refs`` (TLP 1.0 and 2.0 ids alike).
2. None there: the hub's ``default_tlp`` in force at that time (so changing the default later never widens
   the audience of what was shared before).
3. Granular markings more restrictive than that level mark parts that readers outside their audience do not
   get. When the object without those parts would not be valid STIX (a required property, the last item of a
   list that may not be empty...), the whole object takes that level instead: it fails closed.
"""

from __future__ import annotations

__all__ = ["level_of"]

from collections.abc import Mapping
from typing import Any

from ..stix import Tlp, validate
from ..stix._markings import granular_levels, object_level, redact


def level_of(data: Mapping[str, Any], *, default: Tlp, strict: bool) -> Tlp:
    """The level an object is stored with (see the module doc); ``strict`` is the mode it was validated in."""
    level = object_level(data) or default
    above = [g.level for g in granular_levels(data) if g.level.rank > level.rank]
    while above and level is not Tlp.RED:
        remainder = redact(data, above=level)
        if not any(v.severity == "error" for v in validate(remainder, strict=strict)):
            break
        level = min(above, key=lambda t: t.rank)  # the next level up that the granular markings use
        above = [t for t in above if t.rank > level.rank]
    return level
