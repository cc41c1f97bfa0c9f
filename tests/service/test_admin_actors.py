"""Administration by an actor (``by=``): node administrators run the directory, org-admins their own
organization's users, and what each may know of communities and organizations (``may_operate``,
``may_manage_user``, ``may_see_community``); and the node's settings as an administrator reads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phalanx.config import Settings
from phalanx.errors import NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.policy import may_manage_user, may_operate, may_see_community
from phalanx.service._settings import shown_settings
from tests.support import World, make_world

GOOD = "correct horse battery staple"


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(Settings(database_url="memory://"))
    yield w
    w.node.close()


def _actors(world: World) -> tuple[Actor, Actor, Actor]:
    return (Actor(world.acme.id, Role.ADMIN), Actor(world.acme.id, Role.ORG_ADMIN),
            Actor(world.acme.id, Role.CONTRIBUTOR))


def test_policy_decisions_carry_reasons() -> None:
    admin, org_admin = Actor("identity--a", Role.ADMIN), Actor("identity--a", Role.ORG_ADMIN)
    assert may_operate(admin).allowed and not may_operate(org_admin).allowed
    assert "node administrators" in may_operate(org_admin).reason
    assert may_manage_user(org_admin, org_id="identity--a", role=Role.READER).allowed
    assert may_manage_user(org_admin, org_id="identity--a", role=Role.ORG_ADMIN).allowed
    for role in (Role.ADMIN, Role.PEER, Role.ANONYMOUS):
        assert not may_manage_user(org_admin, org_id="identity--a", role=role).allowed
    assert not may_manage_user(org_admin, org_id="identity--b", role=Role.READER).allowed
    assert not may_manage_user(Actor("identity--a", Role.CONTRIBUTOR), org_id="identity--a",
                               role=Role.READER).allowed
    reader = Actor("identity--a", Role.READER)
    assert may_see_community(reader, community="isac", members={"identity--a"}).allowed
    assert not may_see_community(reader, community="isac", members={"identity--b"}).allowed
    assert not may_see_community(Actor("identity--a", Role.ANONYMOUS), community="isac",
                                 members={"identity--a"}).allowed
    assert may_see_community(admin, community="isac", members=()).allowed


def test_only_node_administrators_run_the_directory(world: World) -> None:
    admin, org_admin, contributor = _actors(world)
    node = world.node.admin
    for actor in (org_admin, contributor):
        with pytest.raises(PermissionDenied):
            node.add_organization("Shadow", by=actor)
        with pytest.raises(PermissionDenied):
            node.add_community("shadow", by=actor)
        with pytest.raises(PermissionDenied):
            node.join("isac", world.outsider.id, by=actor)
        with pytest.raises(PermissionDenied):
            node.leave("isac", world.globex.id, by=actor)
    assert "Shadow" not in {o.name for o in node.organizations()}
    assert "shadow" not in {c.name for c in node.communities()}
    assert {o.id for o in node.members("isac")} == {world.acme.id, world.globex.id}
    node.add_organization("Shadow", by=admin)
    node.add_community("shadow", by=admin)
    node.join("shadow", "Shadow", by=admin)
    assert [o.name for o in node.members("shadow")] == ["Shadow"]
    node.leave("shadow", "Shadow", by=admin)
    assert node.members("shadow") == []


def test_org_admins_add_users_to_their_own_organization_only(world: World) -> None:
    admin, org_admin, contributor = _actors(world)
    node = world.node.admin
    made = node.add_user("analyst", org_ref=world.acme.id, role=Role.READER, password=GOOD, by=org_admin)
    assert made.org_id == world.acme.id and made.password_hash is not None
    with pytest.raises(NotFound):
        node.add_user("mole", org_ref=world.globex.id, role=Role.READER, by=org_admin)
    with pytest.raises(NotFound):
        node.add_user("mole", org_ref="No Such Org", role=Role.READER, by=org_admin)
    with pytest.raises(PermissionDenied):
        node.add_user("boss", org_ref=world.acme.id, role=Role.ADMIN, by=org_admin)
    with pytest.raises(PermissionDenied):
        node.add_user("sneak", org_ref=world.acme.id, role=Role.READER, by=contributor)
    assert {u.username for u in node.users()} == {"analyst"}
    node.add_user("boss", org_ref=world.globex.id, role=Role.ADMIN, by=admin)
    assert node.assignable_roles(org_admin) == [Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.READER]
    assert Role.ADMIN in node.assignable_roles(admin) and Role.ANONYMOUS not in node.assignable_roles(admin)


def test_what_each_actor_may_list(world: World) -> None:
    admin, org_admin, contributor = _actors(world)
    node = world.node.admin
    node.add_user("a1", org_ref=world.acme.id, role=Role.READER)
    node.add_user("g1", org_ref=world.globex.id, role=Role.READER)
    node.add_community("other", collection="")
    node.join("other", world.outsider.id)
    assert node.administered(admin) is None and node.administered(org_admin) == world.acme.id
    with pytest.raises(PermissionDenied):
        node.administered(contributor)
    assert {u.username for u in node.users(by=admin)} == {"a1", "g1"}
    assert {u.username for u in node.users(by=org_admin)} == {"a1"}
    with pytest.raises(NotFound):
        node.users(world.globex.id, by=org_admin)
    with pytest.raises(PermissionDenied):
        node.users(by=contributor)
    assert {c.name for c in node.communities(by=admin)} == {"isac", "other"}
    assert {c.name for c in node.communities(by=contributor)} == {"isac"}
    assert {o.name for o in node.organizations(by=org_admin)} == {"ACME CERT", "Globex"}  # not Outsider Inc
    assert len(node.organizations(by=admin)) == 3
    with pytest.raises(NotFound):
        node.members("other", by=org_admin)
    assert [o.name for o in node.members("other", by=admin)] == ["Outsider Inc"]


def test_settings_hide_secrets_and_are_for_node_administrators() -> None:
    settings = Settings(database_url="postgresql://app:pw-hunter2@db/phalanx", session_secret="x" * 64,
                        tls_key="/keys/private.pem", bus_url="nats://u:nats-pw@nats:4222")
    rows = {r.name: r for r in shown_settings(settings, by=Actor("identity--a", Role.ADMIN))}
    assert rows["database_url"].value == "postgresql://app:***@db/phalanx"
    assert rows["bus_url"].value == "nats://u:***@nats:4222"
    assert rows["session_secret"].value == "set (hidden)" and rows["tls_key"].value == "set (hidden)"
    assert rows["sighting_k"].value == "3" and rows["sighting_k"].default
    assert not rows["database_url"].default
    shown = str(list(rows.values()))
    assert "pw-hunter2" not in shown and "x" * 64 not in shown and "private.pem" not in shown
    assert "nats-pw" not in shown
    with pytest.raises(PermissionDenied):
        shown_settings(settings, by=Actor("identity--a", Role.ORG_ADMIN))
