"""STIX Meta Objects (section 7): marking-definition (with TLP 1.0 definitions and the TLP 2.0 extension
style), extension-definition and language-content."""

from __future__ import annotations

__all__ = ["META_SPECS"]

import re
from collections.abc import Mapping
from typing import Any

from .._tlp import TLP2_EXTENSION_ID, TLP_BY_NAME
from ._common import (
    EXTERNAL_REFERENCES,
    GRANULAR_MARKINGS,
    OBJECT_MARKING_REFS,
    SDO_COMMON,
    SDO_REQUIRED,
    SPEC_VERSION,
    TypeSpec,
    created_before_modified,
    extensions,
)
from ._rules import (
    ANY,
    STRING,
    STRING_LIST,
    TIMESTAMP,
    TIMESTAMP_MILLIS,
    Ctx,
    describe,
    enum_list,
    ref,
)
from ._vocab import EXTENSION_TYPE_ENUM, MARKING_DEFINITION_TYPE_OV, TLP1_LEVELS, TLP2_LEVELS

_LANG_KEY_RE = re.compile(r"[a-zA-Z]{2,8}(?:-[a-zA-Z0-9]{1,8})*")
_PROPERTY_NAME_RE = re.compile(r"[a-z0-9_]{3,250}")


# --- marking-definition (7.2.1) -------------------------------------------------------------------------

# (7.2.1.4) TLP 1.0 markings MUST be these four objects, exactly: level -> (id, name).
_TLP1_CREATED = "2017-01-20T00:00:00.000Z"
_TLP1_OBJECTS = {
    "white": ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE"),
    "green": ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"),
    "amber": ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"),
    "red": ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"),
}


def _tlp1(obj: Mapping[str, Any], level: str, ctx: Ctx) -> None:
    oid, name = _TLP1_OBJECTS[level]
    if obj.get("id") != oid or obj.get("name") != name or obj.get("created") != _TLP1_CREATED:
        ctx.error("definition.tlp", "tlp-marking",
                  f"a TLP:{level.upper()} marking MUST be the predefined object {oid} named {name!r}, "
                  f"created {_TLP1_CREATED}; refer to it instead of defining a new one")



def _marking_definition(obj: Mapping[str, Any], ctx: Ctx) -> None:
    definition_type = obj.get("definition_type")
    definition = obj.get("definition")
    if "extensions" not in obj:
        for name in ("definition_type", "definition"):
            if name not in obj:
                ctx.error(name, "required-property",
                          f"a marking-definition without extensions MUST have {name}")
    elif ("definition_type" in obj) != ("definition" in obj):
        ctx.error("definition", "dependent-property", "definition_type and definition go together")
    if definition_type is not None:
        if type(definition_type) is not str:
            ctx.error("definition_type", "property-type", f"is {describe(definition_type)}; expected a string")
        elif definition_type not in MARKING_DEFINITION_TYPE_OV:
            ctx.warn("definition_type", "open-vocab", f"{definition_type!r} is neither 'statement' nor 'tlp'")
    if definition is not None and type(definition) is not dict:
        ctx.error("definition", "property-type", f"is {describe(definition)}; expected a JSON object")
    elif definition_type == "statement" and definition is not None:
        if type(definition.get("statement")) is not str:
            ctx.error("definition.statement", "marking-definition",
                      "a statement marking MUST have definition.statement, a string")
    elif definition_type == "tlp" and definition is not None:
        level = definition.get("tlp")
        if type(level) is not str or level not in TLP1_LEVELS:
            ctx.error("definition.tlp", "enum-value",
                      f"is {describe(level)}; expected one of white, green, amber, red")
        else:
            _tlp1(obj, level, ctx)
    exts = obj.get("extensions")
    if type(exts) is dict:
        tlp2 = exts.get(TLP2_EXTENSION_ID)
        if type(tlp2) is dict:
            level = tlp2.get("tlp_2_0")
            path = f"extensions.{TLP2_EXTENSION_ID}.tlp_2_0"
            if type(level) is not str or level not in TLP2_LEVELS:
                ctx.error(path, "enum-value",
                          f"is {describe(level)}; expected one of {', '.join(sorted(TLP2_LEVELS))}")
            elif obj.get("id") != TLP_BY_NAME[level].value:
                ctx.error(path, "tlp-marking", f"a TLP 2.0 {level} marking MUST be the OASIS object "
                          f"{TLP_BY_NAME[level].value}; refer to it instead of defining a new one")
    own_id = obj.get("id")
    marking_refs = obj.get("object_marking_refs")
    if type(marking_refs) is list and own_id in marking_refs:
        ctx.error("object_marking_refs", "marking-circular", "a marking-definition MUST NOT mark itself")
    granular = obj.get("granular_markings")
    if type(granular) is list:
        for i, marking in enumerate(granular):
            if type(marking) is dict and marking.get("marking_ref") == own_id:
                ctx.error(f"granular_markings[{i}].marking_ref", "marking-circular",
                          "a marking-definition MUST NOT mark itself")


_MARKING_DEFINITION = TypeSpec(
    "meta",
    {
        "type": ANY, "spec_version": SPEC_VERSION, "id": ANY,
        "created_by_ref": SDO_COMMON["created_by_ref"], "created": TIMESTAMP_MILLIS,
        "external_references": EXTERNAL_REFERENCES, "object_marking_refs": OBJECT_MARKING_REFS,
        "granular_markings": GRANULAR_MARKINGS, "extensions": extensions({}),
        "name": STRING, "definition_type": ANY, "definition": ANY,
    },
    frozenset({"type", "spec_version", "id", "created"}),
    (_marking_definition,),
)


# --- extension-definition (7.3) ---------------------------------------------------------------------------


def _extension_properties(obj: Mapping[str, Any], ctx: Ctx) -> None:
    types = obj.get("extension_types")
    if "extension_properties" in obj and type(types) is list and "toplevel-property-extension" not in types:
        ctx.error("extension_properties", "extension-rules",
                  "extension_properties is only for a toplevel-property-extension")


_EXTENSION_DEFINITION = TypeSpec(
    "meta",
    {
        **SDO_COMMON, "name": STRING, "description": STRING, "schema": STRING, "version": STRING,
        "extension_types": enum_list(EXTENSION_TYPE_ENUM, "extension-type-enum"),
        "extension_properties": STRING_LIST,
    },
    SDO_REQUIRED | {"created_by_ref", "name", "schema", "version", "extension_types"},
    (created_before_modified, _extension_properties),
)


# --- language-content (7.1) ---------------------------------------------------------------------------------


def _contents(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not dict:
        ctx.error(path, "property-type", f"is {describe(value)}; expected language tag → translations")
        return
    if not value:
        ctx.error(path, "empty-dictionary", "is an empty dictionary")
    for lang, translations in value.items():
        p = f"{path}.{lang}"
        if _LANG_KEY_RE.fullmatch(lang) is None:
            ctx.error(p, "language-tag", f"{lang!r} is not an RFC 5646 language tag")
        if type(translations) is not dict or not translations:
            ctx.error(p, "property-type", "expected a non-empty dictionary of property name → translation")
            continue
        for name in translations:
            if _PROPERTY_NAME_RE.fullmatch(name) is None:
                ctx.error(f"{p}.{name}", "property-name", f"{name!r} is not a property name")


_LANGUAGE_CONTENT = TypeSpec(
    "meta",
    {
        **SDO_COMMON,
        "object_ref": ref(None, "the translated object"),
        "object_modified": TIMESTAMP,
        "contents": _contents,
    },
    SDO_REQUIRED | {"object_ref", "contents"},
    (created_before_modified,),
)


META_SPECS: dict[str, TypeSpec] = {
    "marking-definition": _MARKING_DEFINITION,
    "extension-definition": _EXTENSION_DEFINITION,
    "language-content": _LANGUAGE_CONTENT,
}
