"""Hostile input never escapes as anything but a Phalanx error, and never takes good objects down with it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.errors import Error, InvalidJSON, InvalidSTIX
from phalanx.stix import Mode, Refused, StixObject, Tlp, parse_document
from phalanx.stix._model import _header
from tests.support import INDICATOR

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                                  max_size=3), max_leaves=8)
KEYS = ["type", "id", "spec_version", "created", "modified", "created_by_ref", "object_marking_refs", "revoked",
        "pattern", "pattern_type", "valid_from", "name", "is_family", "labels", "granular_markings", "extensions",
        "x_custom", "external_references", "confidence", "value", "source_ref", "target_ref", "relationship_type"]
TYPES = ["indicator", "malware", "relationship", "x-acme-thing", "ipv4-addr", "bundle", "marking-definition", ""]


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = dict(draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=8)))
    if draw(st.booleans()):
        obj["type"] = draw(st.sampled_from(TYPES) | values)
    if draw(st.booleans()):
        base = dict(INDICATOR)
        base.update(obj)
        obj = base
    return obj


@settings(max_examples=400, deadline=None)
@given(st.lists(objects(), max_size=4), st.sampled_from(list(Mode)))
def test_parse_document_only_returns_objects_or_refusals(items: list[dict[str, Any]], mode: Mode) -> None:
    data = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": items})
    try:
        results = parse_document(data.encode(), mode=mode)
    except Error:
        return
    assert len(results) == len(items)
    for result in results:
        assert isinstance(result, StixObject | Refused)
        if isinstance(result, StixObject):
            assert isinstance(result.id, str) and isinstance(result.version, int)
            assert result.created_by_ref is None or result.created_by_ref.startswith("identity--")
            assert all(isinstance(m, str) for m in result.marking_refs)


@pytest.mark.parametrize("obj", [
    dict(INDICATOR, created="0000-01-01T00:00:00.000Z"),
    {"spec_version": "2.0", "id": "malware--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22"},
    {"type": [], "spec_version": "2.0"},
    {"type": {}, "id": 5},
    {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": []},
])
@pytest.mark.parametrize("mode", list(Mode))
def test_odd_objects_are_refused_not_raised(obj: dict[str, Any], mode: Mode) -> None:
    [result] = parse_document(json.dumps([obj]).encode(), mode=mode)
    assert isinstance(result, Refused)


CUSTOM = {"type": "x-acme-thing", "spec_version": "2.1", "id": "x-acme-thing--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
          "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
          "created_by_ref": {"a": 1}, "object_marking_refs": ["xxxxxxxxxx", 7]}


def test_tolerant_custom_types_with_bad_reference_fields_are_refused() -> None:
    [result] = parse_document(json.dumps([CUSTOM]).encode(), mode=Mode.TOLERANT)
    assert isinstance(result, Refused) and isinstance(result.error, InvalidSTIX)
    assert {v.path for v in result.error.violations} >= {"created_by_ref", "object_marking_refs[0]"}


def test_header_fields_keep_only_well_formed_references() -> None:
    # The second line of defence, should validation ever let such values through: the fields every consumer
    # reads (and the store indexes) take only well-formed identifiers, in lower case.
    header = _header(dict(CUSTOM, granular_markings=[{"marking_ref": Tlp.RED.value.upper(), "selectors": ["id"]}]))
    assert header["created_by_ref"] is None
    assert header["marking_refs"] == (Tlp.RED.value,)


def test_a_truncated_pretty_printed_bundle_is_refused_whole() -> None:
    pretty = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                         "objects": [INDICATOR]}, indent=2)
    with pytest.raises(InvalidJSON):
        parse_document(pretty[:-2].encode())
    one_per_line = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                               "objects": [INDICATOR, INDICATOR]}).replace("}, {", "},\n{")
    with pytest.raises(InvalidJSON):
        parse_document(one_per_line[:-1].encode())
