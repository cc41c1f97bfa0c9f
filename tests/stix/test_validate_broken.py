"""The broken corpus: each case breaks exactly one rule of a valid object (tests/stix/broken/valid-bases.json),
and validate() refuses it in strict mode with exactly that rule.

Two kinds of cases:

- hand-written ones, in tests/stix/broken/cases.json, named after what they break;
- generated ones (GENERATED below), derived from the validator's own type tables and the valid bases: for every
  type and every required property, the base without it (``required-property``; ``spec-version`` for
  spec_version); for every reference property whose target types are restricted, the base with it set to an
  identifier of a type it may not refer to (``reference-type``); for every property of a closed enumeration,
  the base with an unknown value (``enum-value``). Properties inside predefined extensions and sub-objects
  (MIME parts, registry values, PE sections, ...) are included; the bases hold one of each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phalanx.stix._ids import deterministic_id
from phalanx.stix._validate import RULES, validate
from phalanx.stix._validate._catalog import SHAPES, SPECS, Shape

BROKEN = Path(__file__).resolve().parent / "broken"
CASES: list[dict[str, Any]] = json.loads((BROKEN / "cases.json").read_text(encoding="utf-8"))
BASES: dict[str, dict[str, Any]] = json.loads((BROKEN / "valid-bases.json").read_text(encoding="utf-8"))

# Custom content is refused in strict mode only; tolerant mode accepts it with a warning.
CUSTOM_CONTENT_RULES = {"custom-property", "custom-type", "custom-extension"}


# --- generated cases ------------------------------------------------------------------------------------------

GENERATED_RULES = ("required-property", "spec-version", "reference-type", "enum-value")
WRONG_TARGETS = ("identity", "marking-definition")  # the first one a reference may not point to is used
WRONG_UUID = "6b1b8b16-6f7e-4c5f-9d3e-2b1c0a9f8e7d"
SCO_UUID4 = "0f6e2b8e-5b7a-4c1d-9e3f-7a6b5c4d3e2f"  # an SCO left with no ID contributing property
UNKNOWN_ENUM_VALUE = "not-in-the-enumeration"

Path_ = tuple[str | int, ...]  # property names and list indexes (0) from the top of the object


@dataclass(frozen=True, slots=True)
class Slot:
    """One (type, property, rule) the tables define: breaking it alone MUST be refused with ``rule``."""

    type: str
    path: Path_
    rule: str
    shape: Shape | None = None

    @property
    def text(self) -> str:
        """The path as validate() reports it: external_references[0].url, extensions.socket-ext.socket_type."""
        out = ""
        for seg in self.path:
            out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
        return out + ("[0]" if self.shape is not None and self.shape.kind == "refs" else "")

    @property
    def name(self) -> str:
        return f"{self.rule}/{self.type}/{self.text}"


def _table_slots(type_: str, table: Mapping[str, Any], required: Any, prefix: Path_) -> Iterator[Slot]:
    for name in sorted(required):
        top_spec_version = not prefix and name == "spec_version"
        yield Slot(type_, (*prefix, name), "spec-version" if top_spec_version else "required-property")
    for name, check in table.items():
        yield from _check_slots(type_, check, (*prefix, name))


def _check_slots(type_: str, check: Any, path: Path_) -> Iterator[Slot]:
    shape = SHAPES.get(check)
    if shape is None:
        return
    if shape.kind in ("ref", "refs") and shape.allowed is not None:
        yield Slot(type_, path, "reference-type", shape)
    elif shape.kind == "enum":
        yield Slot(type_, path, "enum-value", shape)
    elif shape.kind == "list":
        yield from _check_slots(type_, shape.item, (*path, 0))
    elif shape.kind == "object":
        assert shape.table is not None
        yield from _table_slots(type_, shape.table, shape.required, path)
    elif shape.kind == "extensions":
        assert shape.table is not None
        for ext_name, ext_check in shape.table.items():
            yield from _check_slots(type_, ext_check, (*path, ext_name))


def table_slots() -> list[Slot]:
    """Every (type, property, rule) of the generated families, read from the validator's tables alone."""
    return [slot for type_, spec in SPECS.items() for slot in _table_slots(type_, spec.props, spec.required, ())]


def _broken(base: dict[str, Any], slot: Slot) -> dict[str, Any] | None:
    """``base`` with ``slot`` broken, or None when the base does not hold the property's container."""
    obj = copy.deepcopy(base)
    container: Any = obj
    for seg in slot.path[:-1]:
        if isinstance(seg, int):
            if type(container) is not list or seg >= len(container):
                return None
        elif type(container) is not dict or seg not in container:
            return None
        container = container[seg]
    last = slot.path[-1]
    if isinstance(last, int) != (type(container) is list):
        return None
    if slot.rule in ("required-property", "spec-version"):
        if last not in container:
            return None
        del container[last]
    elif slot.rule == "reference-type":
        assert slot.shape is not None and slot.shape.allowed is not None
        wrong = next(t for t in WRONG_TARGETS if t not in slot.shape.allowed)
        identifier = f"{wrong}--{WRONG_UUID}"
        container[last] = [identifier] if slot.shape.kind == "refs" else identifier
    else:  # enum-value
        if isinstance(last, int) and last >= len(container):
            return None
        container[last] = UNKNOWN_ENUM_VALUE
    if SPECS[slot.type].kind == "sco" and slot.path[0] not in ("id", "type"):
        # keep the id what the content makes it (UUIDv5, or UUIDv4 with no ID contributing property left),
        # so that the case breaks nothing but its slot
        obj["id"] = deterministic_id(obj) or f"{slot.type}--{SCO_UUID4}"
    return obj


def generate() -> tuple[list[dict[str, Any]], list[Slot]]:
    """The generated cases ({name, rule, path, type, object}) and the slots no valid base could break."""
    cases: list[dict[str, Any]] = []
    missing: list[Slot] = []
    for slot in table_slots():
        for base in BASES.values():
            if base.get("type") != slot.type:
                continue
            obj = _broken(base, slot)
            if obj is not None:
                cases.append({"name": slot.name, "rule": slot.rule, "path": slot.text, "type": slot.type,
                              "object": obj})
                break
        else:
            missing.append(slot)
    return cases, missing


GENERATED, UNREACHED = generate()


def _errors(obj: dict[str, Any], strict: bool) -> set[tuple[str, str]]:
    return {(v.path, v.rule) for v in validate(obj, strict=strict) if v.severity == "error"}


@pytest.mark.parametrize("case", GENERATED, ids=[c["name"] for c in GENERATED])
def test_generated_case_is_refused_with_its_rule_at_its_path(case: dict[str, Any]) -> None:
    for strict in (True, False):  # none of these rules is about custom content: an error in both modes
        errors = _errors(case["object"], strict)
        assert (case["path"], case["rule"]) in errors, (strict, errors)
        assert {rule for _, rule in errors} == {case["rule"]}, (strict, errors)


def test_every_type_has_a_valid_base() -> None:
    assert set(SPECS) - {b["type"] for b in BASES.values()} == set()


def test_every_required_reference_and_enum_property_has_a_broken_case() -> None:
    """Every (type, property, rule) of the tables is broken by exactly one generated case."""
    assert [s.name for s in UNREACHED] == [], "add a valid base that holds these properties' containers"
    expected = {(s.type, s.text, s.rule) for s in table_slots()}
    assert {(c["type"], c["path"], c["rule"]) for c in GENERATED} == expected
    assert len({c["name"] for c in GENERATED}) == len(GENERATED)
    # every family is there, for every kind of object
    for rule in ("required-property", "reference-type", "enum-value"):
        assert any(c["rule"] == rule for c in GENERATED), rule
    for type_, spec in SPECS.items():
        assert any(c["type"] == type_ for c in GENERATED if c["rule"] == "required-property"), (type_, spec.kind)


# --- hand-written cases -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BASES))
@pytest.mark.parametrize("strict", [True, False])
def test_base_object_is_clean(name: str, strict: bool) -> None:
    assert validate(BASES[name], strict=strict) == []


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_case_is_refused_with_its_rule(case: dict[str, Any]) -> None:
    violations = validate(case["object"], strict=True)
    errors = {v.rule for v in violations if v.severity == "error"}
    assert errors == {case["rule"]}, [str(v) for v in violations]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_case_in_tolerant_mode(case: dict[str, Any]) -> None:
    violations = validate(case["object"], strict=False)
    errors = {v.rule for v in violations if v.severity == "error"}
    if case["rule"] in CUSTOM_CONTENT_RULES:
        assert errors == set(), [str(v) for v in violations]
    else:
        assert errors == {case["rule"]}, [str(v) for v in violations]


def test_corpus_names_are_unique_and_rules_known() -> None:
    names = [c["name"] for c in CASES] + [c["name"] for c in GENERATED]
    assert len(names) == len(set(names))
    assert {c["rule"] for c in CASES} <= set(RULES)
    assert set(GENERATED_RULES) <= set(RULES)


def test_every_must_rule_has_a_broken_case() -> None:
    """Per rule name for the hand-written rules; per (type, property, rule) for the generated families."""
    covered = {c["rule"] for c in CASES} | {c["rule"] for c in GENERATED}
    # Rules that are only warnings, or that cannot be produced by one broken property of a valid object.
    not_errors = {"deprecated", "deterministic-id", "identifier-case", "open-vocab", "validator-bug"}
    assert set(RULES) - not_errors - covered == set()
    expected = {(s.type, s.text, s.rule) for s in table_slots()}
    assert expected - {(c["type"], c["path"], c["rule"]) for c in GENERATED} == set()
