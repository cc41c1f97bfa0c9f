"""Common properties (STIX 2.1 section 3.2, 5.1, 7.2.3, 7.3): the tables every SDO, SRO, SCO and meta object
starts from, and the checkers of the structured common types (external references, kill chain phases,
granular markings and their selectors, extensions).
"""

from __future__ import annotations

__all__ = [
    "CONFIDENCE",
    "EXTERNAL_REFERENCES",
    "GRANULAR_MARKINGS",
    "KILL_CHAIN_PHASES",
    "LANG",
    "OBJECT_MARKING_REFS",
    "PROPERTY_NAME_RE",
    "SCO_COMMON",
    "SCO_REQUIRED",
    "SDO_COMMON",
    "SDO_REQUIRED",
    "SPEC_VERSION",
    "TYPE_RE",
    "TypeSpec",
    "at_least_one",
    "created_before_modified",
    "declared_extension_types",
    "extensions",
    "not_both",
    "order",
    "requires",
]

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._rules import (
    ANY,
    BOOLEAN,
    HASHES,
    ID_RE,
    STRING,
    STRING_LIST,
    TIMESTAMP_MILLIS,
    TS_RE,
    URL,
    Check,
    Ctx,
    ObjectRule,
    Shape,
    Table,
    describe,
    int_range,
    ref,
    refs,
    shaped,
    ts_key,
)
from ._vocab import EXTENSION_TYPE_ENUM, PREDEFINED_EXTENSIONS, STANDARD_TYPES

TYPE_RE = re.compile(r"[a-z0-9-]{3,250}")
PROPERTY_NAME_RE = re.compile(r"[a-z0-9_]{3,250}")
_LANG_RE = re.compile(r"[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8})*")
_LOWER_HYPHEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CVE_RE = re.compile(r"CVE-[0-9]{4}-(?:0[0-9]{3}|[1-9][0-9]{3,})")
_CAPEC_RE = re.compile(r"CAPEC-[0-9]+")
_EXT_NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-ext")


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """What one object type must look like: its property table, required properties and object-level rules."""

    kind: str  # "sdo", "sro", "sco" or "meta"
    props: Table
    required: frozenset[str]
    rules: tuple[ObjectRule, ...] = ()


def SPEC_VERSION(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if value != "2.1":
        ctx.error(path, "spec-version", f"is {describe(value)}; Phalanx accepts STIX 2.1 objects: \"2.1\"")


def LANG(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not str:
        ctx.error(path, "property-type", f"is {describe(value)}; expected an RFC 5646 language tag")
    elif _LANG_RE.fullmatch(value) is None:
        ctx.error(path, "language-tag", f"is {describe(value)}; expected an RFC 5646 language tag like 'en'")


CONFIDENCE = int_range(0, 100, "confidence-range")
OBJECT_MARKING_REFS = refs(frozenset({"marking-definition"}), "a marking-definition")
_MARKING_REF = ref(frozenset({"marking-definition"}), "a marking-definition")


# --- external references (section 2.5) ---------------------------------------------------------------------

_EXTREF_TABLE: Table = {
    "source_name": STRING, "description": STRING, "url": URL, "hashes": HASHES, "external_id": STRING,
}


def _external_reference(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not dict:
        ctx.error(path, "property-type", f"is {describe(value)}; expected an external reference object")
        return
    for name, v in value.items():
        chk = _EXTREF_TABLE.get(name)
        if chk is None:
            ctx.custom(f"{path}.{name}", "custom-property", f"{name!r} is not a property of external-reference")
        else:
            chk(v, f"{path}.{name}", ctx)
    source = value.get("source_name")
    if source is None:
        ctx.error(f"{path}.source_name", "required-property", "an external reference MUST have source_name")
    if "description" not in value and "url" not in value and "external_id" not in value:
        ctx.error(path, "external-reference",
                  "an external reference MUST have at least one of description, url, external_id")
    external_id = value.get("external_id")
    if source == "cve" or source == "capec":
        pattern, example = (_CVE_RE, "CVE-2024-1234") if source == "cve" else (_CAPEC_RE, "CAPEC-66")
        if external_id is None:
            ctx.error(f"{path}.external_id", "external-reference",
                      f"a {source!r} reference MUST have external_id like {example}")
        elif type(external_id) is str and pattern.fullmatch(external_id) is None:
            ctx.error(f"{path}.external_id", "external-reference",
                      f"is {describe(external_id)}; a {source!r} reference needs an id like {example}")


def EXTERNAL_REFERENCES(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not list:
        ctx.error(path, "property-type", f"is {describe(value)}; expected a list of external references")
    elif not value:
        ctx.error(path, "empty-list", "is an empty list; omit the property instead")
    else:
        for i, v in enumerate(value):
            _external_reference(v, f"{path}[{i}]", ctx)


# --- kill chain phases (section 2.8) ----------------------------------------------------------------------


def KILL_CHAIN_PHASES(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not list:
        ctx.error(path, "property-type", f"is {describe(value)}; expected a list of kill chain phases")
        return
    if not value:
        ctx.error(path, "empty-list", "is an empty list; omit the property instead")
        return
    for i, phase in enumerate(value):
        p = f"{path}[{i}]"
        if type(phase) is not dict:
            ctx.error(p, "kill-chain-phase", f"is {describe(phase)}; expected {{kill_chain_name, phase_name}}")
            continue
        for name, v in phase.items():
            if name == "kill_chain_name" or name == "phase_name":
                if type(v) is not str:
                    ctx.error(f"{p}.{name}", "property-type", f"is {describe(v)}; expected a string")
                elif _LOWER_HYPHEN_RE.fullmatch(v) is None:
                    ctx.warn(f"{p}.{name}", "kill-chain-phase",
                             f"is {describe(v)}; it SHOULD be lowercase words joined by hyphens")
            else:
                ctx.custom(f"{p}.{name}", "custom-property", f"{name!r} is not a property of kill-chain-phase")
        for name in ("kill_chain_name", "phase_name"):
            if name not in phase:
                ctx.error(f"{p}.{name}", "kill-chain-phase", f"a kill chain phase MUST have {name}")


# --- granular markings (section 7.2.3) ---------------------------------------------------------------------


def _selector_problem(obj: Mapping[str, Any], selector: str) -> str | None:
    """Why ``selector`` does not point at content of ``obj`` (None when it does)."""
    current: Any = obj
    for segment in selector.split("."):
        if not segment:
            return "a selector has no empty steps (no leading, trailing or doubled dots)"
        if segment.startswith("[") and segment.endswith("]"):
            digits = segment[1:-1]
            if not (digits.isascii() and digits.isdigit()):
                return f"{segment!r} is not a list index like [0]"
            if type(current) is not list:
                return f"{segment!r} indexes something that is not a list"
            index = int(digits)
            if index >= len(current):
                return f"index {index} is past the end of a list of {len(current)}"
            current = current[index]
        else:
            if type(current) is not dict or segment not in current:
                return f"{segment!r} is not a property there"
            current = current[segment]
    return None


def GRANULAR_MARKINGS(value: Any, path: str, ctx: Ctx) -> None:  # noqa: N802
    if type(value) is not list:
        ctx.error(path, "property-type", f"is {describe(value)}; expected a list of granular markings")
        return
    if not value:
        ctx.error(path, "empty-list", "is an empty list; omit the property instead")
        return
    for i, marking in enumerate(value):
        p = f"{path}[{i}]"
        if type(marking) is not dict:
            ctx.error(p, "granular-marking", f"is {describe(marking)}; expected a granular marking object")
            continue
        for name, v in marking.items():
            if name == "marking_ref":
                _MARKING_REF(v, f"{p}.marking_ref", ctx)
            elif name == "lang":
                LANG(v, f"{p}.lang", ctx)
            elif name != "selectors":
                ctx.custom(f"{p}.{name}", "custom-property", f"{name!r} is not a property of granular-marking")
        if ("marking_ref" in marking) == ("lang" in marking):
            ctx.error(p, "granular-marking", "a granular marking MUST have exactly one of marking_ref and lang")
        selectors = marking.get("selectors")
        if selectors is None:
            ctx.error(f"{p}.selectors", "required-property", "a granular marking MUST have selectors")
        elif type(selectors) is not list or not selectors:
            ctx.error(f"{p}.selectors", "granular-selector",
                      f"is {describe(selectors)}; expected a non-empty list of selectors")
        else:
            for j, selector in enumerate(selectors):
                if type(selector) is not str:
                    ctx.error(f"{p}.selectors[{j}]", "property-type", f"is {describe(selector)}; expected a string")
                    continue
                problem = _selector_problem(ctx.obj, selector)
                if problem is not None:
                    ctx.error(f"{p}.selectors[{j}]", "granular-selector",
                              f"{selector!r} does not select content of this object: {problem}")


# --- extensions (section 7.3 and the predefined cyber-observable extensions of section 6) ----------------


def declared_extension_types(obj: Mapping[str, Any]) -> set[str]:
    """The extension_type values of the extension-definition extensions an object carries."""
    found: set[str] = set()
    exts = obj.get("extensions")
    if type(exts) is dict:
        for key, ext in exts.items():
            if key.startswith("extension-definition--") and type(ext) is dict:
                et = ext.get("extension_type")
                if type(et) is str:
                    found.add(et)
    return found


def _definition_extension(key: str, ext: Any, path: str, ctx: Ctx) -> None:
    if ID_RE.fullmatch(key) is None:
        ctx.error(path, "identifier-format", f"{key!r} is not an extension-definition identifier")
    if type(ext) is not dict:
        ctx.error(path, "property-type", f"is {describe(ext)}; expected the extension's properties")
        return
    et = ext.get("extension_type")
    if et is None:
        ctx.error(f"{path}.extension_type", "extension-rules",
                  "an extension-definition extension MUST say its extension_type")
        return
    if type(et) is not str or et not in EXTENSION_TYPE_ENUM:
        ctx.error(f"{path}.extension_type", "enum-value",
                  f"is {describe(et)}; expected one of {', '.join(sorted(EXTENSION_TYPE_ENUM))}")
        return
    type_ = ctx.obj.get("type")
    if et.startswith("new-") and type_ in STANDARD_TYPES:
        ctx.error(f"{path}.extension_type", "extension-rules",
                  f"a {et} extension defines a new object type; {type_!r} is a STIX type")
    elif et == "toplevel-property-extension" and len(ext) > 1:
        ctx.error(path, "extension-rules",
                  "a toplevel-property-extension keeps its properties at the top level of the object; "
                  "the extension itself holds only extension_type")


def extensions(predefined: Mapping[str, Check]) -> Check:
    """The ``extensions`` checker of a type whose predefined extensions are ``predefined``."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) is not dict:
            ctx.error(path, "property-type", f"is {describe(value)}; expected a dictionary of extensions")
            return
        if not value:
            ctx.error(path, "empty-dictionary", "is an empty dictionary; omit the property instead")
            return
        for key, ext in value.items():
            p = f"{path}.{key}"
            if key.startswith("extension-definition--"):
                _definition_extension(key, ext, p, ctx)
                continue
            chk = predefined.get(key)
            if chk is not None:
                chk(ext, p, ctx)
            elif key in PREDEFINED_EXTENSIONS:
                ctx.error(p, "extension-rules",
                          f"{key!r} is an extension of {PREDEFINED_EXTENSIONS[key]} objects only")
            elif _EXT_NAME_RE.fullmatch(key) is not None:
                ctx.custom(p, "custom-extension",
                           f"{key!r} is a custom extension; STIX 2.1 extensions are extension-definition--UUID")
            else:
                ctx.error(p, "extension-rules",
                          f"{key!r} is neither an extension-definition id nor a predefined extension name")

    return shaped(check, Shape("extensions", table=predefined))


# --- common tables ---------------------------------------------------------------------------------------

SDO_COMMON: Table = {
    "type": ANY,
    "spec_version": SPEC_VERSION,
    "id": ANY,
    "created_by_ref": ref(frozenset({"identity"}), "an identity"),
    "created": TIMESTAMP_MILLIS,
    "modified": TIMESTAMP_MILLIS,
    "revoked": BOOLEAN,
    "labels": STRING_LIST,
    "confidence": CONFIDENCE,
    "lang": LANG,
    "external_references": EXTERNAL_REFERENCES,
    "object_marking_refs": OBJECT_MARKING_REFS,
    "granular_markings": GRANULAR_MARKINGS,
    "extensions": extensions({}),
}
SDO_REQUIRED = frozenset({"type", "spec_version", "id", "created", "modified"})

SCO_COMMON: Table = {
    "type": ANY,
    "spec_version": SPEC_VERSION,
    "id": ANY,
    "object_marking_refs": OBJECT_MARKING_REFS,
    "granular_markings": GRANULAR_MARKINGS,
    "defanged": BOOLEAN,
    "extensions": extensions({}),
}
SCO_REQUIRED = frozenset({"type", "id"})


# --- object-level rules ------------------------------------------------------------------------------------


def _valid_ts(obj: Mapping[str, Any], name: str) -> str | None:
    """The ordering key of a well-formed timestamp property (a malformed one is reported elsewhere)."""
    value = obj.get(name)
    if type(value) is not str or TS_RE.fullmatch(value) is None:
        return None
    return ts_key(value)


def created_before_modified(obj: Mapping[str, Any], ctx: Ctx) -> None:
    if obj.get("created") == obj.get("modified"):
        return
    created = _valid_ts(obj, "created")
    modified = _valid_ts(obj, "modified")
    if created is not None and modified is not None and modified < created:
        ctx.error("modified", "created-before-modified",
                  f"{obj['modified']} is before created {obj['created']}; modified MUST be >= created")


def order(first: str, second: str, *, strictly: bool) -> ObjectRule:
    """``second`` MUST be later than (``strictly``) or not earlier than ``first``."""
    relation = "later than" if strictly else "later than or equal to"

    def rule(obj: Mapping[str, Any], ctx: Ctx) -> None:
        if second not in obj or first not in obj:
            return
        a = _valid_ts(obj, first)
        b = _valid_ts(obj, second)
        if a is not None and b is not None and (b <= a if strictly else b < a):
            ctx.error(second, "timestamp-order",
                      f"{obj[second]} MUST be {relation} {first} ({obj[first]})")

    return rule


def at_least_one(*names: str) -> ObjectRule:
    shown = ", ".join(names)

    def rule(obj: Mapping[str, Any], ctx: Ctx) -> None:
        for name in names:
            if name in obj:
                return
        ctx.error("", "required-one-of", f"this object MUST have at least one of {shown}")

    return rule


def not_both(a: str, b: str, rule_name: str = "mutually-exclusive") -> ObjectRule:
    def rule(obj: Mapping[str, Any], ctx: Ctx) -> None:
        if a in obj and b in obj:
            ctx.error(b, rule_name, f"{a} and {b} MUST NOT both be present")

    return rule


def requires(a: str, b: str, rule_name: str = "dependent-property") -> ObjectRule:
    """When ``a`` is present, ``b`` MUST be present too."""

    def rule(obj: Mapping[str, Any], ctx: Ctx) -> None:
        if a in obj and b not in obj:
            ctx.error(a, rule_name, f"{a} is present, so {b} MUST be present too")

    return rule
