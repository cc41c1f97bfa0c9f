"""Validation of one STIX 2.1 object, freshly parsed from JSON, against the rules of STIX 2.1 (OS).

    >>> from phalanx.stix._validate import validate
    >>> obj = {"type": "indicator", "spec_version": "2.1",
    ...        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    ...        "created": "2024-01-31T12:00:00.000Z", "modified": "2024-01-31T12:00:00.000Z",
    ...        "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
    ...        "valid_from": "2024-01-31T12:00:00Z", "confidence": 101}
    >>> [(v.path, v.rule) for v in validate(obj, strict=True)]
    [('confidence', 'confidence-range')]

Every rule is a hand-written check over the dict, driven by one table per type (``_sdo``, ``_sro``,
``_sco``, ``_meta``); nothing is built on the happy path, so a typical indicator takes a few microseconds.
``strict=True`` refuses custom content (custom properties, custom object types, custom extensions) that is
not declared through an extension-definition; ``strict=False`` accepts it with at most a warning. The rule
names are stable: docs/stix-validation.md lists every one.
"""

from __future__ import annotations

__all__ = ["RULES", "validate"]

from collections.abc import Mapping
from typing import Any

from ...errors import InvalidJSON, Violation
from .._ids import ID_CONTRIBUTING_PROPERTIES, deterministic_id
from ._catalog import SPECS as _SPECS
from ._common import PROPERTY_NAME_RE, TYPE_RE, TypeSpec, declared_extension_types
from ._rules import BINARY, HEX, ID_RE, Ctx, describe, ref, refs
from ._sdo import GENERIC_SCO, GENERIC_SDO
from ._vocab import RESERVED_PROPERTIES, RESERVED_TYPES

_NEW_TYPE_EXTENSIONS = frozenset({"new-sdo", "new-sco", "new-sro"})
_ANY_REF = ref(None, "a STIX object")
_ANY_REFS = refs(None, "STIX objects")

RULES: tuple[str, ...] = (
    "binary-format", "confidence-range", "created-before-modified", "custom-extension", "custom-property",
    "custom-type", "dependent-property", "deprecated", "deterministic-id", "dictionary-key",
    "email-multipart", "empty-dictionary", "empty-list", "enum-value", "extension-rules",
    "external-reference", "granular-marking", "granular-selector", "hash-value", "hex-format",
    "identifier-case", "identifier-format", "identifier-type", "kill-chain-phase", "language-tag", "marking-circular",
    "marking-definition", "mutually-exclusive", "open-vocab", "pattern-syntax", "property-name",
    "property-type", "reference-type", "relationship-type", "required-one-of", "required-property",
    "reserved-property", "reserved-type", "spec-version", "timestamp-format", "timestamp-order",
    "timestamp-precision", "tlp-marking", "type-format", "url-format", "uuid-version", "validator-bug", "value-format",
    "value-range",
)
"""Every rule name ``validate`` can report."""


def validate(obj: Mapping[str, Any], *, strict: bool) -> list[Violation]:
    """Every violation of STIX 2.1 in ``obj`` (errors and warnings); an empty list when it is clean.

    Never raises for bad input. The caller refuses the object when any violation is an error.
    """
    ctx = Ctx(obj, strict)
    try:
        _validate(obj, ctx)
    except Exception as exc:  # a bug in a checker must not let an object through: fail closed
        ctx.error("", "validator-bug", f"the validator failed on this object ({type(exc).__name__}: {exc})")
    return ctx.out


def _validate(obj: Mapping[str, Any], ctx: Ctx) -> None:
    if not isinstance(obj, Mapping):
        ctx.error("", "property-type", f"is {describe(obj)}; a STIX object is a JSON object")
        return
    type_ = obj.get("type")
    oid = obj.get("id")
    id_ok = type(oid) is str and ID_RE.fullmatch(oid) is not None
    if id_ok:
        assert isinstance(oid, str)
        ctx.oid = oid
        if oid != oid.lower():
            ctx.warn("id", "identifier-case", "the UUID of an identifier SHOULD be written in lower case")

    # (1) type: its format, then the table for it.
    known = _SPECS.get(type_) if type(type_) is str else None
    custom_type = known is None
    spec = _custom_type(obj, type_, ctx) if known is None else known

    # (2) id: an identifier whose prefix is the type.
    if oid is not None:
        if type(oid) is not str:
            ctx.error("id", "property-type", f"is {describe(oid)}; expected an identifier {type_}--UUID")
        elif not id_ok:
            ctx.error("id", "identifier-format", f"is {describe(oid)}; expected an identifier type--UUID")
        elif type(type_) is str and not oid.startswith(type_ + "--"):
            ctx.error("id", "identifier-type", f"is {describe(oid)}; its type part MUST be {type_!r}")

    # (3) each property through its checker; the rest is custom content.
    props = spec.props
    custom_allowed: bool | None = True if custom_type else None
    for name, value in obj.items():
        chk = props.get(name)
        if chk is not None:
            chk(value, name, ctx)
            continue
        if custom_allowed is None:
            custom_allowed = "toplevel-property-extension" in declared_extension_types(obj)
        _custom_property(name, value, ctx, custom_allowed)

    # (4) required properties.
    if not spec.required.issubset(obj.keys()):
        for name in sorted(spec.required.difference(obj.keys())):
            if name == "spec_version":
                ctx.error(name, "spec-version",
                          "is missing; a STIX 2.1 object MUST say spec_version \"2.1\" (is this STIX 2.0?)")
            else:
                what = f"a {type_} object" if type(type_) is str else "a STIX object"
                ctx.error(name, "required-property", f"{what} MUST have {name!r}")

    # (5) rules across properties.
    for rule in spec.rules:
        rule(obj, ctx)

    # (6) the UUID part of the id (section 2.9).
    if id_ok and type(type_) is str and ctx.oid.startswith(type_ + "--"):
        _uuid_rules(obj, spec, type_, ctx.oid, ctx)


def _custom_type(obj: Mapping[str, Any], type_: object, ctx: Ctx) -> TypeSpec:
    """Report what is wrong with a type Phalanx has no table for, and pick the generic table for it."""
    if type_ is None:
        ctx.error("type", "required-property", "a STIX object MUST have a type")
    elif type(type_) is not str:
        ctx.error("type", "property-type", f"is {describe(type_)}; expected a type name like 'indicator'")
    elif TYPE_RE.fullmatch(type_) is None or "--" in type_:
        ctx.error("type", "type-format",
                  f"is {describe(type_)}; a type MUST be 3-250 of a-z, 0-9 and '-', without '--'")
    elif type_ in RESERVED_TYPES:
        ctx.error("type", "reserved-type", f"{type_!r} is reserved by STIX 2.1")
    elif type_ == "bundle":
        ctx.error("type", "reserved-type",
                  "a bundle is not a STIX object (section 8): it cannot be an object of a bundle")
    elif declared_extension_types(obj) & _NEW_TYPE_EXTENSIONS:
        pass  # a new object type defined through an extension-definition: STIX 2.1 conformant
    else:
        hint = "" if type_.startswith("x-") else " (and its name SHOULD start with 'x-')"
        ctx.custom("type", "custom-type",
                   f"{type_!r} is not a STIX 2.1 type; custom objects need an extension-definition{hint}")
    return GENERIC_SDO if ("created" in obj or "modified" in obj) else GENERIC_SCO


def _custom_property(name: str, value: Any, ctx: Ctx, allowed: bool) -> None:
    if name in RESERVED_PROPERTIES:
        ctx.error(name, "reserved-property", f"{name!r} is reserved by STIX 2.1 and MUST NOT be used")
        return
    if PROPERTY_NAME_RE.fullmatch(name) is None:
        ctx.error(name, "property-name", "a custom property name MUST be 3-250 of a-z, 0-9 and '_'")
    elif not allowed:
        if ctx.strict:
            ctx.error(name, "custom-property",
                      f"{name!r} is not a property of this type; strict mode refuses custom properties")
        elif not name.startswith("x_"):
            ctx.warn(name, "custom-property", f"custom property {name!r} SHOULD start with 'x_'")
    # Property names carry their type (section 3.1): *_ref, *_refs, *_bin, *_hex. A custom property that
    # breaks this is custom content gone wrong: an error in strict mode, a warning in tolerant mode.
    checker = (_ANY_REF if name.endswith("_ref") else _ANY_REFS if name.endswith("_refs")
               else BINARY if name.endswith("_bin") else HEX if name.endswith("_hex") else None)
    if checker is not None:
        before = len(ctx.out)
        checker(value, name, ctx)
        if not ctx.strict:
            ctx.out[before:] = [_as_warning(v) for v in ctx.out[before:]]
    elif type(value) is list and not value:
        ctx.custom(name, "empty-list", "is an empty list; omit the property instead")


def _as_warning(v: Violation) -> Violation:
    return Violation(v.object_id, v.path, v.rule, v.message, "warning")


def _uuid_rules(obj: Mapping[str, Any], spec: TypeSpec, type_: str, oid: str, ctx: Ctx) -> None:
    version = oid[len(type_) + 16]
    if spec.kind != "sco":
        if version != "4":
            ctx.warn("id", "uuid-version", f"the UUID of an {spec.kind.upper()} SHOULD be version 4, not {version}")
        return
    names = ID_CONTRIBUTING_PROPERTIES.get(type_, ())
    if not any(name in obj for name in names):
        if version != "4":
            ctx.error("id", "uuid-version",
                      "with no ID contributing property present, the UUID MUST be version 4")
        return
    try:
        expected = deterministic_id(obj)
    except (TypeError, ValueError, InvalidJSON):  # content that is not JSON (NaN, ...): reported by its checker
        return
    if expected is not None and expected != oid:
        ctx.warn("id", "deterministic-id",
                 f"the id SHOULD be the deterministic UUIDv5 of its contributing properties: {expected}")
