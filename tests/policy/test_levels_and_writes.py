"""The level an object is stored at, and what writers may do to others' objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from phalanx.errors import PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.policy import Venue, delete_owner, level_of, may_pass_on, write_guard
from phalanx.stix import Tlp
from phalanx.store import LEVELS
from tests.support import INDICATOR, ROOT


def _granular(obj: dict[str, Any], level: Tlp, *selectors: str) -> dict[str, Any]:
    return {**obj, "granular_markings": [*obj.get("granular_markings", []),
                                         {"marking_ref": level.value, "selectors": list(selectors)}]}


def test_unmarked_objects_take_the_default() -> None:
    assert level_of(INDICATOR, default=Tlp.AMBER, strict=True) is Tlp.AMBER
    assert level_of(INDICATOR, default=Tlp.GREEN, strict=True) is Tlp.GREEN
    marked = {**INDICATOR, "object_marking_refs": [Tlp.CLEAR.value]}
    assert level_of(marked, default=Tlp.RED, strict=True) is Tlp.CLEAR


def test_a_marked_part_the_object_can_lose_leaves_the_level_alone() -> None:
    obj = _granular({**INDICATOR, "description": "d", "object_marking_refs": [Tlp.GREEN.value]}, Tlp.RED,
                    "description")
    assert level_of(obj, default=Tlp.AMBER, strict=True) is Tlp.GREEN


def test_a_marked_part_the_object_cannot_lose_raises_the_whole_object() -> None:
    """Without its pattern an indicator is not STIX: served without it, it would be broken, so the object
    takes the pattern's level."""
    obj = _granular({**INDICATOR, "object_marking_refs": [Tlp.GREEN.value]}, Tlp.AMBER_STRICT, "pattern")
    assert level_of(obj, default=Tlp.AMBER, strict=True) is Tlp.AMBER_STRICT
    # two steps: the name (optional) is RED, the pattern AMBER: AMBER readers get it without the name
    two = _granular(_granular({**obj, "name": "n"}, Tlp.RED, "name"), Tlp.AMBER, "pattern")
    assert level_of(two, default=Tlp.CLEAR, strict=True) is Tlp.AMBER_STRICT


def test_the_oasis_granular_example_stays_at_the_default() -> None:
    path = ROOT / "src/phalanx/demo/cti-documentation__using-granular-markings.json"
    indicator = json.loads(path.read_text())["objects"][1]
    assert level_of(indicator, default=Tlp.AMBER, strict=True) is Tlp.AMBER
    # With a CLEAR default the GREEN pattern raises it to GREEN: CLEAR readers would get no pattern.
    assert level_of(indicator, default=Tlp.CLEAR, strict=True) is Tlp.GREEN


OWNER, OTHER = "identity--a", "identity--b"


@pytest.mark.parametrize(("role", "public", "versions", "levels"), [
    (Role.CONTRIBUTOR, False, False, (0, 1)),
    (Role.ORG_ADMIN, True, False, (0,)),
    (Role.ADMIN, True, True, LEVELS),
    (Role.PEER, False, False, (0, 1)),
])
def test_write_guards(role: Role, public: bool, versions: bool, levels: tuple[int, ...]) -> None:
    guard = write_guard(Actor(OWNER, role), Venue("isac", frozenset({OWNER}), public))
    assert (guard.may_version_others, guard.pass_on) == (versions, levels)


def test_passing_on_follows_tlp() -> None:
    member = Actor(OWNER, Role.CONTRIBUTOR)
    assert may_pass_on(member, level=Tlp.RED, own=True, public=True).allowed
    assert may_pass_on(member, level=Tlp.CLEAR, own=False, public=True).allowed
    assert may_pass_on(member, level=Tlp.GREEN, own=False, public=False).allowed
    refused = may_pass_on(member, level=Tlp.GREEN, own=False, public=True)
    assert not refused.allowed and "public" in refused.reason
    amber = may_pass_on(member, level=Tlp.AMBER, own=False, public=False)
    assert not amber.allowed and "TLP:AMBER may not be passed on" in amber.reason and amber.remedy


def test_who_may_delete_what() -> None:
    assert delete_owner(Actor(OWNER, Role.ADMIN)) is None
    assert delete_owner(Actor(OWNER, Role.CONTRIBUTOR)) == OWNER
    assert delete_owner(Actor(OWNER, Role.ORG_ADMIN)) == OWNER
    for role in (Role.READER, Role.PEER, Role.ANONYMOUS):
        with pytest.raises(PermissionDenied):
            delete_owner(Actor(OWNER, role))


def test_the_story_of_a_level() -> None:
    """What `phalanx policy explain` says of where a stored level came from."""
    from phalanx.policy import level_story

    marked = {**INDICATOR, "object_marking_refs": [Tlp.GREEN.value]}
    assert level_story(marked, Tlp.GREEN, default=Tlp.AMBER) == "TLP:GREEN (marked)"
    raised = _granular(marked, Tlp.AMBER_STRICT, "pattern")
    assert "marked TLP:GREEN; raised" in level_story(raised, Tlp.AMBER_STRICT, default=Tlp.AMBER)
    assert "no TLP marking, so the hub's default TLP:AMBER; raised" in level_story(
        _granular(INDICATOR, Tlp.RED, "pattern"), Tlp.RED, default=Tlp.AMBER)
    assert "the hub's default when it was shared" in level_story(INDICATOR, Tlp.GREEN, default=Tlp.AMBER)
