"""Markings on whole objects and on their parts: the level of an object, and the copy without marked parts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.stix import Tlp
from phalanx.stix._markings import granular_levels, object_level, redact
from phalanx.stix._validate._common import _selector_problem
from tests.support import ROOT

TLP1_WHITE = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
TLP1_RED = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"


def _granular_example() -> dict[str, Any]:
    path = ROOT / "src/phalanx/demo/cti-documentation__using-granular-markings.json"
    found: dict[str, Any] = json.loads(path.read_text())["objects"][1]
    return found


def test_the_object_level_is_its_most_restrictive_tlp_marking() -> None:
    assert object_level({}) is None
    assert object_level({"object_marking_refs": ["marking-definition--00000000-0000-4000-8000-000000000000"]}) is None
    assert object_level({"object_marking_refs": [Tlp.GREEN.value, Tlp.AMBER_STRICT.value]}) is Tlp.AMBER_STRICT
    assert object_level({"object_marking_refs": [TLP1_WHITE]}) is Tlp.CLEAR
    upper = "marking-definition--" + TLP1_RED.split("--")[1].upper()
    assert object_level({"object_marking_refs": [upper]}) is Tlp.RED


def test_the_oasis_example_loses_what_each_reader_may_not_see() -> None:
    """Its description is RED, indicator_types[1] AMBER, name, pattern and indicator_types[0] GREEN."""
    obj = _granular_example()
    assert [g.level for g in granular_levels(obj)] == [Tlp.GREEN, Tlp.AMBER, Tlp.RED]
    assert redact(obj, above=Tlp.RED) == obj
    amber = redact(obj, above=Tlp.AMBER)
    assert "description" not in amber and amber["indicator_types"] == ["malicious-activity", "attribution"]
    assert all(m["marking_ref"] != TLP1_RED for m in amber["granular_markings"])
    green = redact(obj, above=Tlp.GREEN)
    assert green["indicator_types"] == ["malicious-activity"] and green["pattern"] == obj["pattern"]
    clear = redact(obj, above=Tlp.CLEAR)
    assert not {"name", "pattern", "indicator_types", "description", "granular_markings"} & set(clear)
    assert obj["description"] == "Known to be used by The Joker."  # the original is untouched


def test_removing_list_items_renumbers_the_selectors_after_them() -> None:
    obj = {"type": "x", "labels": ["a", "b", "c", "d"], "external_references": [{"source_name": "s", "url": "u"}],
           "granular_markings": [
               {"marking_ref": Tlp.RED.value, "selectors": ["labels.[0]", "labels.[2]", "external_references.[0].url"]},
               {"marking_ref": Tlp.GREEN.value, "selectors": ["labels.[1]", "labels.[3]", "external_references.[0]"]},
           ]}
    out = redact(obj, above=Tlp.AMBER)
    assert out["labels"] == ["b", "d"]
    assert out["external_references"] == [{"source_name": "s"}]
    assert out["granular_markings"] == [{"marking_ref": Tlp.GREEN.value,
                                         "selectors": ["labels.[0]", "labels.[1]", "external_references.[0]"]}]


def test_containers_left_empty_go_too() -> None:
    obj = {"type": "file", "hashes": {"MD5": "x"}, "labels": ["only"], "granular_markings": [
        {"marking_ref": Tlp.RED.value, "selectors": ["hashes.MD5", "labels.[0]"]}]}
    assert redact(obj, above=Tlp.GREEN) == {"type": "file"}


_MARKINGS = st.sampled_from([t.value for t in Tlp] + [TLP1_WHITE, TLP1_RED])
_LEAF = st.one_of(st.integers(0, 9), st.text(alphabet="abc", min_size=1, max_size=3))
_TREE = st.recursive(_LEAF, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["p", "q", "r"]), inner, min_size=1, max_size=3)), max_leaves=12)


def _paths(value: Any, prefix: str = "") -> list[str]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, f"{prefix}.[{index}]")
    return found


def _unique_leaves(value: Any, counter: list[int]) -> Any:
    """The same tree with every leaf a distinct string, so that a test can tell which leaves survive."""
    if isinstance(value, dict):
        return {k: _unique_leaves(v, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_unique_leaves(v, counter) for v in value]
    counter[0] += 1
    return f"leaf{counter[0]}"


def _leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_leaves(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_leaves(v) for v in value))
    return {value}


def _at(value: Any, selector: str) -> Any:
    for step in selector.split("."):
        value = value[int(step[1:-1])] if step.startswith("[") else value[step]
    return value


@st.composite
def _marked_objects(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _TREE, min_size=1, max_size=4))
    body = _unique_leaves(body, [0])
    paths = _paths(body)
    markings = draw(st.lists(st.tuples(_MARKINGS, st.lists(st.sampled_from(paths), min_size=1, max_size=3)),
                             min_size=1, max_size=4))
    return {"type": "x-thing", **body,
            "granular_markings": [{"marking_ref": m, "selectors": sorted(set(s))} for m, s in markings]}


@settings(max_examples=300, deadline=None)
@given(_marked_objects(), st.sampled_from(list(Tlp)))
def test_a_redacted_copy_keeps_only_what_may_be_seen_and_stays_consistent(obj: dict[str, Any], above: Tlp) -> None:
    out = redact(obj, above=above)
    # every selector left points at content of the copy, and is marked at most `above`
    for marking in out.get("granular_markings", []):
        assert marking["selectors"]
        for selector in marking["selectors"]:
            assert _selector_problem(out, selector) is None, (selector, out)
    assert all(g.level.rank <= above.rank for g in granular_levels(out))
    # the leaves marked above `above` are gone, every other leaf is still there
    hidden = {s for m in obj["granular_markings"] for s in m["selectors"]
              if granular_levels({"granular_markings": [m]})[0].level.rank > above.rank}
    body = {k: v for k, v in obj.items() if k not in ("type", "granular_markings")}
    gone = set().union(*(_leaves(_at(body, s)) for s in hidden)) if hidden else set()
    kept = _leaves({k: v for k, v in out.items() if k not in ("type", "granular_markings")})
    assert kept == _leaves(body) - gone
    # and nothing is left empty
    assert "[]" not in json.dumps(out) and "{}" not in json.dumps(out)
