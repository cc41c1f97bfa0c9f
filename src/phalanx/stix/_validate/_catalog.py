"""Every type table ``validate`` knows, in one place, and the shape of their checkers: what the tables say, for
tests and documentation (tests/stix/test_validate_broken.py derives broken objects from them)."""

from __future__ import annotations

__all__ = ["SHAPES", "SPECS", "Shape"]

from ._common import TypeSpec
from ._meta import META_SPECS
from ._rules import SHAPES, Shape
from ._sco import SCO_SPECS
from ._sdo import SDO_SPECS
from ._sro import SRO_SPECS

SPECS: dict[str, TypeSpec] = {**SDO_SPECS, **SRO_SPECS, **SCO_SPECS, **META_SPECS}
"""Type name -> its table, for every STIX 2.1 type (SDOs, SROs, SCOs and meta objects)."""
