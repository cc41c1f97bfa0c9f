from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from phalanx.config import Settings
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node


@dataclass
class World:
    node: Node
    acme: Organization
    globex: Organization
    outsider: Organization
    contributor: Actor
    reader: Actor
    stranger: Actor


def make_world(settings: Settings) -> World:
    node = Node.open(settings, upgrade=True)
    admin = node.admin
    admin.add_community("isac", title="Test ISAC")
    acme = admin.add_organization("ACME CERT", sectors=("energy",))
    globex = admin.add_organization("Globex")
    outsider = admin.add_organization("Outsider Inc")
    admin.join("isac", acme.id)
    admin.join("isac", globex.id)
    return World(node, acme, globex, outsider, Actor(acme.id, Role.CONTRIBUTOR), Actor(globex.id, Role.READER),
                 Actor(outsider.id, Role.CONTRIBUTOR))


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[World]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db"
    w = make_world(Settings(database_url=url, batch_size=7))
    yield w
    w.node.close()
