"""Sharing to named recipients through the service layer: who may be named, what they get, what the sharer is
told (on every backend)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from phalanx.errors import InvalidCursor, InvalidRecipients
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp
from phalanx.store import Query
from tests.support import INDICATOR, World, bundle


def _marked(n: int, level: Tlp, **extra: Any) -> dict[str, Any]:
    return {**INDICATOR, "id": f"indicator--00000000-0000-4000-8000-{n:012d}", "object_marking_refs": [level.value],
            **extra}


def _seen(world: World, actor: Actor) -> set[str]:
    return {i.id for i in world.node.reader.page(actor, Query(collection="isac", limit=1000)).items}


def test_recipients_narrow_amber_and_red(world: World) -> None:
    node = world.node
    initech = node.admin.add_organization("Initech")
    node.admin.join("isac", initech.id)
    alice = node.admin.add_user("alice", org_ref=world.globex.id, role=Role.READER)
    amber, red = _marked(1, Tlp.AMBER), _marked(2, Tlp.RED)
    results = node.ingest.document(world.contributor, "isac", bundle(amber, red), organizations=["Initech"],
                                   people=["alice"])
    assert [r.detail for r in results] == ["added", "added"]
    globex_org, globex_alice = Actor(world.globex.id, Role.READER), Actor(world.globex.id, Role.READER,
                                                                            user_id=alice.id)
    assert _seen(world, Actor(initech.id, Role.READER)) == {amber["id"], red["id"]}
    assert _seen(world, globex_alice) == {amber["id"], red["id"]}  # named: RED; her organization: AMBER
    assert _seen(world, globex_org) == {amber["id"]}
    assert _seen(world, world.contributor) == {amber["id"], red["id"]}


def test_unknown_and_outside_recipients_get_the_same_answer(world: World) -> None:
    """Naming a recipient never tells a member which organizations or people the hub has."""
    world.node.admin.add_user("bob", org_ref=world.outsider.id, role=Role.READER)
    answers = []
    for kind, name in (("organizations", "Outsider Inc"), ("organizations", "Nobody Ltd"), ("people", "bob"),
                       ("people", "nobody")):
        with pytest.raises(InvalidRecipients) as refused:
            world.node.ingest.document(world.contributor, "isac", bundle(INDICATOR), **{kind: [name]})
        answers.append(refused.value.message.replace(name, "X"))
    assert answers[0] == answers[1] and answers[2] == answers[3], answers
    assert world.node.backend.store.stats().versions == 0  # nothing was shared


def test_the_sharer_is_told_what_recipients_do_not_do(world: World) -> None:
    node = world.node
    results = node.ingest.document(world.contributor, "isac", bundle(_marked(1, Tlp.GREEN)),
                                   organizations=[world.globex.id])
    assert "do not narrow it" in " ".join(results[0].warnings)
    results = node.ingest.document(world.contributor, "isac", bundle(_marked(2, Tlp.RED)))
    assert "only your organization can read it" in " ".join(results[0].warnings)
    again = node.ingest.document(world.contributor, "isac", bundle(_marked(2, Tlp.RED)), organizations=["Globex"])
    assert again[0].detail == "duplicate" and "share a new version" in " ".join(again[0].warnings)
    assert _seen(world, Actor(world.globex.id, Role.READER)) == {_marked(1, Tlp.GREEN)["id"]}  # still not RED
    public = node.admin.add_collection("open", community="isac", public=True)
    shared = node.ingest.document(world.contributor, public.id, bundle(INDICATOR, _marked(3, Tlp.CLEAR)))
    assert "only its TLP:CLEAR objects" in " ".join(shared[0].warnings) and not shared[1].warnings


def test_a_new_version_can_widen_the_audience(world: World) -> None:
    node = world.node
    first = _marked(1, Tlp.AMBER)
    node.ingest.document(world.contributor, "isac", bundle(first), organizations=["ACME CERT"])
    globex = Actor(world.globex.id, Role.READER)
    assert _seen(world, globex) == set()
    newer = dict(first, modified="2020-01-01T00:00:00.000Z")
    node.ingest.document(world.contributor, "isac", bundle(newer))  # the whole community
    [item] = node.reader.page(globex, Query(collection="isac")).items
    assert json.loads(item.canonical)["modified"] == newer["modified"]


def test_a_reader_pages_newest_first(world: World) -> None:
    """A live feed's "the newest objects I may read": the policy compiled in as for any page, the newest first."""
    node = world.node
    levels = [Tlp.GREEN, Tlp.RED, Tlp.AMBER, Tlp.CLEAR, Tlp.RED, Tlp.GREEN]
    for n, level in enumerate(levels):
        node.ingest.document(world.contributor, "isac", bundle(_marked(n, level)))
    globex = Actor(world.globex.id, Role.READER)
    visible = [_marked(n, level)["id"] for n, level in enumerate(levels) if level is not Tlp.RED]
    query = Query(collection="isac", limit=2, newest_first=True)
    page = node.reader.page(globex, query)
    got = [i.id for i in page.items]
    assert got == visible[::-1][:2] and page.more
    while page.more:
        page = node.reader.page(globex, replace(query, cursor=page.next_cursor))
        got += [i.id for i in page.items]
    assert got == visible[::-1]
    assert [i.id for i in node.reader.page(globex, Query(collection="isac", limit=1000)).items] == visible
    first = node.reader.page(globex, query)
    with pytest.raises(InvalidCursor, match="newest first"):
        node.reader.page(globex, Query(collection="isac", limit=2, cursor=first.next_cursor))
