"""Tolerant mode reads STIX 2.0 too: real feeds (MITRE ATT&CK's enterprise bundle among them) still publish it.

An object is STIX 2.0 when it says ``spec_version: "2.0"``, or when it is not a cyber-observable and has no
``spec_version`` (2.0 put it on the bundle only; 2.1 requires it on every SDO, SRO and marking-definition, and
lets SCOs omit it). Lifting such an object to 2.1 takes the small changes the OASIS elevator makes:
``spec_version`` becomes "2.1", and a ``malware`` without ``is_family`` (a 2.1 property) becomes a family, as
2.0 malware entries describe families. Every upgraded object carries a warning saying so. Strict mode never
upgrades: there, a 2.0 object is refused with the ``spec-version`` rule.
"""

from __future__ import annotations

__all__ = ["upgrade_from_20"]

from typing import Any

from ..errors import Violation
from ._ids import ID_CONTRIBUTING_PROPERTIES

_SCO_TYPES = frozenset(ID_CONTRIBUTING_PROPERTIES)


def upgrade_from_20(obj: dict[str, Any]) -> tuple[dict[str, Any], Violation | None]:
    """``obj`` lifted to STIX 2.1 and a warning, or ``obj`` itself and None when it is not STIX 2.0."""
    type_ = obj.get("type")
    if not isinstance(type_, str):
        return obj, None  # not an object validation can accept: let it say why
    declared = obj.get("spec_version")
    if declared is None:
        if type_ in _SCO_TYPES:
            return obj, None
    elif declared != "2.0":
        return obj, None
    lifted = dict(obj)
    lifted["spec_version"] = "2.1"
    changes = ["spec_version 2.1"]
    if type_ == "malware" and "is_family" not in lifted:
        lifted["is_family"] = True
        changes.append("is_family true")
    object_id = obj.get("id")
    return lifted, Violation(
        object_id if isinstance(object_id, str) else "", "spec_version", "upgraded-from-2.0",
        f"a STIX 2.0 object, upgraded to 2.1 in tolerant mode ({', '.join(changes)})", "warning",
    )
