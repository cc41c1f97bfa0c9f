"""STIX Relationship Objects (section 5): relationship and sighting."""

from __future__ import annotations

__all__ = ["SRO_SPECS"]

import re
from typing import Any

from ._common import SDO_COMMON, SDO_REQUIRED, TypeSpec, created_before_modified, order
from ._rules import BOOLEAN, STRING, TIMESTAMP, Ctx, describe, enum, int_range, ref, refs
from ._vocab import SCO_TYPES, SDO_TYPES

_RELATIONSHIP_TYPE_RE = re.compile(r"[a-z0-9-]{1,250}")


def _relationship_type(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not str:
        ctx.error(path, "property-type", f"is {describe(value)}; expected a string like 'indicates'")
    elif _RELATIONSHIP_TYPE_RE.fullmatch(value) is None:
        ctx.error(path, "relationship-type",
                  f"is {describe(value)}; it MUST only hold lowercase ASCII letters, digits and '-'")


_SDO_OR_SCO = ref(SDO_TYPES | SCO_TYPES, "an SDO or SCO")

SIGHTING_KINDS = ("seen", "false-positive", "expired")
"""Phalanx's ``x_phalanx_kind`` of a sighting (docs/sightings.md): what it reports (absent: seen). With
``x_phalanx_anonymous`` (a boolean) it is a Phalanx property of sightings, accepted in strict mode too."""

SRO_SPECS: dict[str, TypeSpec] = {
    "relationship": TypeSpec(
        "sro",
        {**SDO_COMMON, "relationship_type": _relationship_type, "description": STRING,
         "source_ref": _SDO_OR_SCO, "target_ref": _SDO_OR_SCO, "start_time": TIMESTAMP, "stop_time": TIMESTAMP},
        SDO_REQUIRED | {"relationship_type", "source_ref", "target_ref"},
        (created_before_modified, order("start_time", "stop_time", strictly=True)),
    ),
    "sighting": TypeSpec(
        "sro",
        {**SDO_COMMON, "description": STRING, "first_seen": TIMESTAMP, "last_seen": TIMESTAMP,
         "count": int_range(0, 999_999_999), "sighting_of_ref": ref(SDO_TYPES, "an SDO"),
         "observed_data_refs": refs(frozenset({"observed-data"}), "an observed-data"),
         "where_sighted_refs": refs(frozenset({"identity", "location"}), "an identity or location"),
         "summary": BOOLEAN, "x_phalanx_kind": enum(frozenset(SIGHTING_KINDS), "x_phalanx_kind"),
         "x_phalanx_anonymous": BOOLEAN},
        SDO_REQUIRED | {"sighting_of_ref"},
        (created_before_modified, order("first_seen", "last_seen", strictly=False)),
    ),
}
