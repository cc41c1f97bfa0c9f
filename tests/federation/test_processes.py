"""Three nodes as real processes on loopback (own ports, own SQLite files): a chain A -> B -> C and a full mesh,
with a node SIGKILLed in the middle of a stream of objects, a node stopped for a while, and what crosses the
wire between them recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.federation.procs import Proc, Recorder, cli
from tests.support import INDICATOR

pytestmark = pytest.mark.slow

RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


class Site:
    def __init__(self, proc: Proc, key: str) -> None:
        self.proc = proc
        self.key = key

    @property
    def name(self) -> str:
        return self.proc.name

    def ids(self) -> list[str]:
        return self.proc.ids(self.key)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[[str], Site]]:
    made: list[Site] = []

    def make(name: str) -> Site:
        proc = Proc(tmp_path / name, name)
        made.append(Site(proc, proc.init(org=f"{name} CERT")))
        made[-1].proc.start()
        return made[-1]

    yield make
    for s in made:
        s.proc.stop()


def follow(follower: Site, followed: Site, *, via: str | None = None) -> None:
    key = cli(followed.proc.home, "peer", "invite", follower.name, "--key-only").strip()
    cli(follower.proc.home, "peer", "add", via or followed.proc.url, "--key", key, "--name", followed.name)


def indicator(i: int, **extra: object) -> dict[str, object]:
    """TLP:GREEN unless marked otherwise: intelligence meant to travel (an unmarked object stays with the first
    node that receives it, for its own organization: docs/federation.md)."""
    return dict(INDICATOR, id=f"indicator--{i:08x}-2222-4b0c-8b5e-0c1f9a55d6aa",
                **{"object_marking_refs": [GREEN], **extra})


def converged(sites: list[Site], expected: set[str], *, timeout: float = 60.0) -> None:
    """Every site holds exactly ``expected``, each version once."""
    deadline = time.monotonic() + timeout
    while True:
        found = {s.name: s.ids() for s in sites}
        if all(set(ids) == expected and len(ids) == len(expected) for ids in found.values()):
            return
        if time.monotonic() > deadline:
            summary = {n: (len(ids), len(set(ids)), len(expected - set(ids))) for n, ids in found.items()}
            raise AssertionError(f"not converged (held, distinct, missing): {summary}")
        time.sleep(0.25)


def publish(site: Site, start: int, count: int, *, batch: int = 10, pause: float = 0.02) -> threading.Thread:
    def run() -> None:
        for first in range(start, start + count, batch):
            site.proc.post(site.key, [indicator(i) for i in range(first, min(first + batch, start + count))])
            time.sleep(pause)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_chain_converges_after_the_middle_node_is_killed(site: Callable[[str], Site]) -> None:
    a, b, c = site("a"), site("b"), site("c")
    follow(b, a)
    follow(c, b)
    for s in (b, c):  # pick the new peers up at once (a running node does within seconds)
        s.proc.stop()
        s.proc.start()
    writer = publish(a, 0, 400)
    time.sleep(0.6)
    b.proc.kill()  # in the middle of the stream
    time.sleep(0.5)
    b.proc.start()
    writer.join()
    converged([a, b, c], {str(indicator(i)["id"]) for i in range(400)})


def test_a_full_mesh_converges_after_a_partition_and_a_kill(site: Callable[[str], Site]) -> None:
    a, b, c = site("a"), site("b"), site("c")
    for follower in (a, b, c):
        for followed in (a, b, c):
            if follower is not followed:
                follow(follower, followed)
    for s in (a, b, c):
        s.proc.stop()
        s.proc.start()
    a.proc.post(a.key, [indicator(i) for i in range(10)])
    converged([a, b, c], {str(indicator(i)["id"]) for i in range(10)})
    c.proc.stop()  # a partition: C is away
    writers = [publish(a, 100, 150), publish(b, 1000, 150)]
    time.sleep(0.4)
    b.proc.kill()  # and B dies while both publish (B's own writer's posts fail until it is back)
    time.sleep(0.3)
    b.proc.start()
    for w in writers:
        w.join()
    c.proc.start()
    expected = {str(indicator(i)["id"]) for i in [*range(10), *range(100, 250), *range(1000, 1150)]}
    converged([a, b, c], expected)


def test_strict_and_red_objects_never_cross_the_wire_to_a_non_recipient(site: Callable[[str], Site]) -> None:
    a, b, c = site("a"), site("b"), site("c")
    a_to_b, b_to_c = Recorder(a.proc.port), Recorder(b.proc.port)
    try:
        follow(b, a, via=a_to_b.url)
        follow(c, b, via=b_to_c.url)
        for s in (b, c):
            s.proc.stop()
            s.proc.start()
        a.proc.post(a.key, [indicator(1, object_marking_refs=[RED])])  # RED, no recipient: A's own
        a.proc.post(a.key, [indicator(2, object_marking_refs=[RED]), indicator(3, object_marking_refs=[AMBER_STRICT])],
                    recipients="peer b")  # for B's node
        a.proc.post(a.key, [indicator(4, object_marking_refs=[AMBER_STRICT])])  # the community, B's node included
        a.proc.post(a.key, [indicator(5, object_marking_refs=[AMBER])])  # the community: B's node may pass it on
        marker = str(indicator(5)["id"])
        deadline = time.monotonic() + 60
        while marker not in c.ids():
            assert time.monotonic() < deadline, "the AMBER object never reached C"
            time.sleep(0.25)
        time.sleep(1.0)
        ids = {i: str(indicator(i)["id"]).encode() for i in range(1, 6)}
        assert ids[1] not in a_to_b.received  # RED for no one else never leaves A
        assert all(ids[i] in a_to_b.received for i in (2, 3, 4, 5))
        assert all(ids[i] not in b_to_c.received for i in (1, 2, 3, 4))  # never passed on
        assert ids[5] in b_to_c.received
        assert set(c.ids()) == {marker}
    finally:
        a_to_b.close()
        b_to_c.close()
