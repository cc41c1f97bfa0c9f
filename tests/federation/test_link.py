"""Two or three nodes in one process, each on its own SQLite file and loopback port: following a peer,
catching up, live updates, no echo, the policy at every hop, and hostile peers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from phalanx.config import Settings
from phalanx.federation import Federation
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.store import Query, VersionFilter
from tests.streams.server import served
from tests.support import INDICATOR, bundle


@dataclass
class Site:
    """One node: its own organization, a community 'isac' with a collection 'isac', served on loopback."""

    name: str
    node: Node
    org: Organization
    url: str
    federation: Federation

    @property
    def actor(self) -> Actor:
        return Actor(self.org.id, Role.CONTRIBUTOR)

    def share(self, *objects: dict[str, object], recipients: tuple[str, ...] = ()) -> None:
        results = self.node.ingest.document(self.actor, "isac", bundle(*objects), organizations=recipients)
        assert all(r.outcome == "accepted" for r in results), results

    def ids(self, *, as_org: str | None = None) -> set[str]:
        """Every object id in the collection 'isac' (as the node operator sees it, or as an organization)."""
        if as_org is None:
            page = self.node.reader.export(Query(collection=self.node.admin.collection("isac").id,
                                                 versions=(VersionFilter.ALL,)))
            return {item.id for item in page}
        return {item.id for item in self.node.reader.export(Query(versions=(VersionFilter.ALL,)),
                                                             actor=Actor(as_org, Role.READER))}

    def follow(self, other: Site) -> None:
        secret, _ = other.federation.invite(self.name)
        self.federation.add(other.url, secret, name=other.name)


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Callable[[str], Site]]:
    with ExitStack() as stack:
        def make(name: str) -> Site:
            settings = Settings(home=tmp_path / name, database_url=f"sqlite:///{tmp_path / name}.db",
                                stream_heartbeat_seconds=1.0)
            node = Node.open(settings, upgrade=True)
            stack.callback(node.close)
            node.admin.add_community("isac", title="ISAC")
            org = node.admin.add_organization(f"{name} CERT")
            node.admin.join("isac", org.id)
            url = stack.enter_context(served(node))
            federation = Federation(node)
            stack.callback(federation.close)
            return Site(name, node, org, url, federation)

        yield make


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-1111-4b0c-8b5e-0c1f9a55d6aa", **extra)


def eventually(check: Callable[[], bool], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.05)


def test_a_node_catches_up_then_follows_live(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    a.share(*(indicator(i) for i in range(30)))
    b.follow(a)
    b.federation.start()
    eventually(lambda: len(b.ids()) == 30)
    a.share(indicator(100))
    eventually(lambda: indicator(100)["id"] in b.ids())
    status = b.federation.status("a")
    assert status.state.received == 31 and status.state.refused == 0 and status.running
    assert status.state.checkpoint_size >= 1 and status.state.cursors
    # B's own organization sees them (they were shared with A's community, which B's node is a member of)
    assert indicator(100)["id"] in b.ids(as_org=b.org.id)
