"""TLP 2.0 marking definitions, exactly as OASIS publishes them (cti-stix-common-objects, TLP 2.0 extension).

The five objects are fixed: their ids, ``created`` and content never change, so every producer that marks an
object TLP:AMBER refers to the same ``marking-definition--55d920b0-...``.
"""

from __future__ import annotations

__all__ = [
    "TLP2_EXTENSION_ID",
    "TLP_BY_ID",
    "TLP_BY_NAME",
    "Tlp",
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
TLP_BY_ID: Mapping[str, Tlp] = {level.value: level for level in Tlp}
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
        level = TLP_BY_ID.get(ref)
        if level is not None and (found is None or level.rank > found.rank):
            found = level
    return found
