"""Nodes for federation tests, each on its own SQLite file and served on a loopback port, in this process: an
organization '<name> CERT' in a community 'isac' with a collection 'isac'."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phalanx.config import Settings
from phalanx.federation import Federation
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.store import Query, VersionFilter
from tests.streams.server import served
from tests.support import bundle


@dataclass
class Site:
    name: str
    node: Node
    org: Organization
    url: str
    federation: Federation

    @property
    def actor(self) -> Actor:
        return Actor(self.org.id, Role.CONTRIBUTOR)

    def share(self, *objects: dict[str, object], recipients: tuple[str, ...] = (), collection: str = "isac") -> None:
        results = self.node.ingest.document(self.actor, collection, bundle(*objects), organizations=recipients)
        assert all(r.outcome == "accepted" for r in results), results

    def ids(self, *, as_org: str | None = None, collection: str = "isac") -> set[str]:
        """Every object id in ``collection`` (as the node operator sees it), or everywhere as an organization."""
        if as_org is None:
            found = self.node.reader.export(Query(collection=self.node.admin.collection(collection).id,
                                                  versions=(VersionFilter.ALL,)))
        else:
            found = self.node.reader.export(Query(versions=(VersionFilter.ALL,)), actor=Actor(as_org, Role.READER))
        return {item.id for item in found}

    def versions(self, object_id: str) -> list[int]:
        return [item.version for item in self.node.reader.export(Query(
            collection=self.node.admin.collection("isac").id, ids=(object_id,), versions=(VersionFilter.ALL,)))]

    def follow(self, other: Site, **options: Any) -> str:
        """Follow ``other`` with a peer key it makes for this node; the key."""
        secret, _ = other.federation.invite(self.name)
        self.federation.add(other.url, secret, name=other.name, **options)
        return secret


def open_site(stack: ExitStack, root: Path, name: str, **settings: Any) -> Site:
    """A new node under ``root``, served, with its federation; ``stack`` closes them (for fixtures of any scope)."""
    node = Node.open(Settings(home=root / name, database_url=f"sqlite:///{root / name}.db",
                              stream_heartbeat_seconds=1.0, **settings), upgrade=True)
    stack.callback(node.close)
    node.admin.add_community("isac", title="ISAC")
    org = node.admin.add_organization(f"{name} CERT")
    node.admin.join("isac", org.id)
    url = stack.enter_context(served(node))
    federation = Federation(node)
    stack.callback(federation.close)
    return Site(name, node, org, url, federation)


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """``sites(name, **settings)``: a new node; all are closed at the end of the test."""
    with ExitStack() as stack:
        def make(name: str, **settings: Any) -> Site:
            return open_site(stack, tmp_path, name, **settings)

        yield make
