"""TLP 2.0 marking definitions, exactly as OASIS publishes them (cti-stix-common-objects, TLP 2.0 extension).

The five objects are fixed: their ids, ``created`` and content never change, so every producer that marks an
object TLP:AMBER refers to the same ``marking-definition--55d920b0-...``.
"""

from __future__ import annotations

__all__ = [
    "LEVEL_OF_MARKING",
    "TLP1_BY_ID",
    "TLP2_EXTENSION_ID",
    "TLP_BY_ID",
    "TLP_BY_NAME",
    "Tlp",
    "marking_ids",
    "tlp_marking_definition",
    "tlp_of",
]

import enum
from collections.abc import Iterable, Mapping
from typing import Any

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_CREATED = "2022-10-01T00:00:00.000Z"


class Tlp(enum.Enum):
    """The five TLP 2.0 levels, least to most restrictive; the value is the OASIS marking-definition id."""

    CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

    @property
    def label(self) -> str:
        """The level as the TLP 2.0 extension writes it: ``clear``, ``amber+strict``..."""
        return self.name.lower().replace("_", "+")

    @property
    def title(self) -> str:
        """The marking's name: ``TLP:AMBER+STRICT``."""
        return "TLP:" + self.label.upper()

    @property
    def rank(self) -> int:
        """0 (CLEAR) to 4 (RED): larger is more restrictive."""
        return _RANK[self]

    @classmethod
    def of_rank(cls, rank: int) -> Tlp:
        """The level with this ``rank`` (0 CLEAR .. 4 RED)."""
        return _BY_RANK[rank]

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Accept ``amber+strict``, ``TLP:AMBER+STRICT``, ``AMBER_STRICT`` and the like."""
        key = text.strip().upper().removeprefix("TLP:").replace("+", "_").replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(
                f"{text!r} is not a TLP 2.0 level (clear, green, amber, amber+strict, red)"
            ) from None


_RANK = {level: i for i, level in enumerate(Tlp)}
_BY_RANK = list(Tlp)
TLP_BY_ID: Mapping[str, Tlp] = {level.value: level for level in Tlp}

# STIX 2.1 also predefines TLP 1.0 markings (WHITE, GREEN, AMBER, RED), which feeds still use. They mean the same
# as their TLP 2.0 counterparts (WHITE became CLEAR), so every decision on a level covers both ids.
TLP1_BY_ID: Mapping[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
LEVEL_OF_MARKING: Mapping[str, Tlp] = {**TLP_BY_ID, **TLP1_BY_ID}
"""Every marking-definition id that states a TLP level, 1.0 and 2.0, and its level."""


def marking_ids(levels: Iterable[Tlp]) -> tuple[str, ...]:
    """Every marking id (TLP 2.0 and 1.0) that states one of ``levels``, sorted."""
    wanted = set(levels)
    return tuple(sorted(ref for ref, level in LEVEL_OF_MARKING.items() if level in wanted))
TLP_BY_NAME: Mapping[str, Tlp] = {level.label: level for level in Tlp}


def tlp_marking_definition(level: Tlp) -> dict[str, Any]:
    """The OASIS marking-definition object for ``level`` (a fresh dict each call)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": level.value,
        "created": _CREATED,
        "name": level.title,
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.label},
        },
    }


def tlp_of(marking_refs: Iterable[str]) -> Tlp | None:
    """The most restrictive TLP 2.0 level among ``marking_refs``, or None when there is none."""
    found: Tlp | None = None
    for ref in marking_refs:
        level = LEVEL_OF_MARKING.get(ref)
        if level is not None and (found is None or level.rank > found.rank):
            found = level
    return found
