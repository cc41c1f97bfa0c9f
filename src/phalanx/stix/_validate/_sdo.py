"""STIX Domain Objects (section 4): one table per type, written like the spec's property tables."""

from __future__ import annotations

__all__ = ["GENERIC_SCO", "GENERIC_SDO", "SDO_SPECS", "sdo"]

from collections.abc import Mapping
from typing import Any

from ...errors import InvalidPattern
from ...pattern import parse as parse_pattern
from ._common import (
    KILL_CHAIN_PHASES,
    SCO_COMMON,
    SDO_COMMON,
    SDO_REQUIRED,
    TypeSpec,
    at_least_one,
    created_before_modified,
    order,
    requires,
)
from ._rules import (
    BOOLEAN,
    STRING,
    STRING_LIST,
    TIMESTAMP,
    Check,
    Ctx,
    ObjectRule,
    enum,
    float_range,
    int_range,
    open_vocab,
    open_vocab_list,
    ref,
    refs,
)
from ._vocab import (
    ATTACK_MOTIVATION_OV,
    ATTACK_RESOURCE_LEVEL_OV,
    GROUPING_CONTEXT_OV,
    IDENTITY_CLASS_OV,
    IMPLEMENTATION_LANGUAGE_OV,
    INDICATOR_TYPE_OV,
    INDUSTRY_SECTOR_OV,
    INFRASTRUCTURE_TYPE_OV,
    MALWARE_CAPABILITIES_OV,
    MALWARE_RESULT_OV,
    MALWARE_TYPE_OV,
    OPINION_ENUM,
    PATTERN_TYPE_OV,
    PROCESSOR_ARCHITECTURE_OV,
    REGION_OV,
    REPORT_TYPE_OV,
    SCO_TYPES,
    SRO_TYPES,
    THREAT_ACTOR_ROLE_OV,
    THREAT_ACTOR_SOPHISTICATION_OV,
    THREAT_ACTOR_TYPE_OV,
    TOOL_TYPE_OV,
)


def sdo(props: Mapping[str, Check], required: tuple[str, ...] = (), rules: tuple[ObjectRule, ...] = ()) -> TypeSpec:
    """The spec of an SDO type: the common properties plus its own."""
    return TypeSpec("sdo", {**SDO_COMMON, **props}, SDO_REQUIRED | frozenset(required),
                    (created_before_modified, *rules))


_ANY_OBJECT = refs(None, "any STIX object")
_SOFTWARE = ref(frozenset({"software"}), "a software object")
_SEEN = order("first_seen", "last_seen", strictly=False)
_FIRST_LAST = {"first_seen": TIMESTAMP, "last_seen": TIMESTAMP}
_NAMED = {"name": STRING, "description": STRING}


def _pattern(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not str:
        ctx.error(path, "property-type", "expected the detection pattern as a string")
    elif not value.strip():
        ctx.error(path, "pattern-syntax", "is empty; expected a detection pattern")
    elif ctx.obj.get("pattern_type") == "stix":
        try:
            parse_pattern(value)
        except InvalidPattern as exc:
            ctx.error(path, "pattern-syntax", f"is not a valid STIX pattern: {exc.message}")


def _malware_name(obj: Mapping[str, Any], ctx: Ctx) -> None:
    if obj.get("is_family") is True and "name" not in obj:
        ctx.error("name", "required-property", "a malware family (is_family true) MUST have a name")


def _location_place(obj: Mapping[str, Any], ctx: Ctx) -> None:
    if "region" not in obj and "country" not in obj and not ("latitude" in obj and "longitude" in obj):
        ctx.error("", "required-one-of", "a location MUST have region, country, or latitude and longitude")


def _observed_data_content(obj: Mapping[str, Any], ctx: Ctx) -> None:
    has_objects = "objects" in obj
    if has_objects == ("object_refs" in obj):
        ctx.error("object_refs", "required-one-of",
                  "observed-data MUST have exactly one of object_refs and objects (deprecated)")
    elif has_objects:
        ctx.warn("objects", "deprecated", "objects is deprecated in STIX 2.1; use object_refs")


def _observed_objects(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not dict:
        ctx.error(path, "property-type", "expected a dictionary of cyber-observable objects")
    elif not value:
        ctx.error(path, "empty-dictionary", "is an empty dictionary")
    else:
        for key, sco in value.items():
            if type(sco) is not dict or type(sco.get("type")) is not str:
                ctx.error(f"{path}.{key}", "required-property", "each observed object MUST have a type")


SDO_SPECS: dict[str, TypeSpec] = {
    "attack-pattern": sdo(
        {**_NAMED, "aliases": STRING_LIST, "kill_chain_phases": KILL_CHAIN_PHASES}, ("name",)),
    "campaign": sdo(
        {**_NAMED, "aliases": STRING_LIST, **_FIRST_LAST, "objective": STRING}, ("name",), (_SEEN,)),
    "course-of-action": sdo(_NAMED, ("name",)),
    "grouping": sdo(
        {**_NAMED, "context": open_vocab(GROUPING_CONTEXT_OV, "grouping-context-ov"), "object_refs": _ANY_OBJECT},
        ("context", "object_refs")),
    "identity": sdo(
        {**_NAMED, "roles": STRING_LIST, "identity_class": open_vocab(IDENTITY_CLASS_OV, "identity-class-ov"),
         "sectors": open_vocab_list(INDUSTRY_SECTOR_OV, "industry-sector-ov"),
         "contact_information": STRING}, ("name",)),
    "incident": sdo({**_NAMED, "kill_chain_phases": KILL_CHAIN_PHASES}, ("name",)),
    "indicator": sdo(
        {**_NAMED, "indicator_types": open_vocab_list(INDICATOR_TYPE_OV, "indicator-type-ov"),
         "pattern": _pattern, "pattern_type": open_vocab(PATTERN_TYPE_OV, "pattern-type-ov"),
         "pattern_version": STRING, "valid_from": TIMESTAMP, "valid_until": TIMESTAMP,
         "kill_chain_phases": KILL_CHAIN_PHASES},
        ("pattern", "pattern_type", "valid_from"),
        (order("valid_from", "valid_until", strictly=True),)),
    "infrastructure": sdo(
        {**_NAMED, "infrastructure_types": open_vocab_list(INFRASTRUCTURE_TYPE_OV, "infrastructure-type-ov"),
         "aliases": STRING_LIST, "kill_chain_phases": KILL_CHAIN_PHASES, **_FIRST_LAST},
        ("name",), (_SEEN,)),
    "intrusion-set": sdo(
        {**_NAMED, "aliases": STRING_LIST, **_FIRST_LAST, "goals": STRING_LIST,
         "resource_level": open_vocab(ATTACK_RESOURCE_LEVEL_OV, "attack-resource-level-ov"),
         "primary_motivation": open_vocab(ATTACK_MOTIVATION_OV, "attack-motivation-ov"),
         "secondary_motivations": open_vocab_list(ATTACK_MOTIVATION_OV, "attack-motivation-ov")},
        ("name",), (_SEEN,)),
    "location": sdo(
        {**_NAMED, "latitude": float_range(-90.0, 90.0), "longitude": float_range(-180.0, 180.0),
         "precision": float_range(0.0, None), "region": open_vocab(REGION_OV, "region-ov"),
         "country": STRING, "administrative_area": STRING, "city": STRING, "street_address": STRING,
         "postal_code": STRING},
        (), (_location_place, requires("latitude", "longitude"), requires("longitude", "latitude"),
             requires("precision", "latitude"))),
    "malware": sdo(
        {**_NAMED, "malware_types": open_vocab_list(MALWARE_TYPE_OV, "malware-type-ov"), "is_family": BOOLEAN,
         "aliases": STRING_LIST, "kill_chain_phases": KILL_CHAIN_PHASES, **_FIRST_LAST,
         "operating_system_refs": refs(frozenset({"software"}), "a software object"),
         "architecture_execution_envs": open_vocab_list(PROCESSOR_ARCHITECTURE_OV, "processor-architecture-ov"),
         "implementation_languages": open_vocab_list(IMPLEMENTATION_LANGUAGE_OV, "implementation-language-ov"),
         "capabilities": open_vocab_list(MALWARE_CAPABILITIES_OV, "malware-capabilities-ov"),
         "sample_refs": refs(frozenset({"file", "artifact"}), "a file or artifact")},
        ("is_family",), (_malware_name, _SEEN)),
    "malware-analysis": sdo(
        {"product": STRING, "version": STRING, "host_vm_ref": _SOFTWARE, "operating_system_ref": _SOFTWARE,
         "installed_software_refs": refs(frozenset({"software"}), "a software object"),
         "configuration_version": STRING, "modules": STRING_LIST, "analysis_engine_version": STRING,
         "analysis_definition_version": STRING, "submitted": TIMESTAMP, "analysis_started": TIMESTAMP,
         "analysis_ended": TIMESTAMP, "result_name": STRING,
         "result": open_vocab(MALWARE_RESULT_OV, "malware-result-ov"),
         "analysis_sco_refs": refs(SCO_TYPES, "a cyber-observable object"),
         "sample_ref": ref(frozenset({"file", "network-traffic", "artifact"}), "a file, network-traffic or artifact")},
        ("product",), (at_least_one("result", "analysis_sco_refs"),)),
    "note": sdo(
        {"abstract": STRING, "content": STRING, "authors": STRING_LIST, "object_refs": _ANY_OBJECT},
        ("content", "object_refs")),
    "observed-data": sdo(
        {"first_observed": TIMESTAMP, "last_observed": TIMESTAMP,
         "number_observed": int_range(1, 999_999_999), "objects": _observed_objects,
         "object_refs": refs(SCO_TYPES | SRO_TYPES, "a cyber-observable object or SRO")},
        ("first_observed", "last_observed", "number_observed"),
        (order("first_observed", "last_observed", strictly=False), _observed_data_content)),
    "opinion": sdo(
        {"explanation": STRING, "authors": STRING_LIST, "opinion": enum(OPINION_ENUM, "opinion-enum"),
         "object_refs": _ANY_OBJECT},
        ("opinion", "object_refs")),
    "report": sdo(
        {**_NAMED, "report_types": open_vocab_list(REPORT_TYPE_OV, "report-type-ov"), "published": TIMESTAMP,
         "object_refs": _ANY_OBJECT},
        ("name", "published", "object_refs")),
    "threat-actor": sdo(
        {**_NAMED, "threat_actor_types": open_vocab_list(THREAT_ACTOR_TYPE_OV, "threat-actor-type-ov"),
         "aliases": STRING_LIST, **_FIRST_LAST,
         "roles": open_vocab_list(THREAT_ACTOR_ROLE_OV, "threat-actor-role-ov"), "goals": STRING_LIST,
         "sophistication": open_vocab(THREAT_ACTOR_SOPHISTICATION_OV, "threat-actor-sophistication-ov"),
         "resource_level": open_vocab(ATTACK_RESOURCE_LEVEL_OV, "attack-resource-level-ov"),
         "primary_motivation": open_vocab(ATTACK_MOTIVATION_OV, "attack-motivation-ov"),
         "secondary_motivations": open_vocab_list(ATTACK_MOTIVATION_OV, "attack-motivation-ov"),
         "personal_motivations": open_vocab_list(ATTACK_MOTIVATION_OV, "attack-motivation-ov")},
        ("name",), (_SEEN,)),
    "tool": sdo(
        {**_NAMED, "tool_types": open_vocab_list(TOOL_TYPE_OV, "tool-type-ov"), "aliases": STRING_LIST,
         "kill_chain_phases": KILL_CHAIN_PHASES, "tool_version": STRING},
        ("name",)),
    "vulnerability": sdo(_NAMED, ("name",)),
}

# An object of a type Phalanx does not know, shaped like an SDO (it has created/modified) or like an SCO.
GENERIC_SDO = sdo({})
GENERIC_SCO = TypeSpec("sco", dict(SCO_COMMON), frozenset({"type", "id"}))
