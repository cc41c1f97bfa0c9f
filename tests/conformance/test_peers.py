"""The peers conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from phalanx.errors import Conflict, NotFound
from phalanx.store import Backend, PeerRecord, Refusal
from phalanx.store._peers import KEEP_REFUSALS


def _peer(name: str = "alpha", **extra: object) -> PeerRecord:
    return PeerRecord(name=name, url="http://127.0.0.1:8801", api_key="phx_k_s", org_id="identity--p",
                      community="isac", home="identity--h", trust='{"origin": "a"}', created=5, **extra)  # type: ignore[arg-type]


def test_add_get_list_remove(backend: Backend) -> None:
    peers = backend.peers
    peers.add(_peer("beta", collections=("c1", "c2"), types=("indicator",)))
    peers.add(_peer("alpha"))
    with pytest.raises(Conflict):
        peers.add(_peer("alpha"))
    assert [p.name for p in peers.all()] == ["alpha", "beta"]
    assert peers.get("beta") == _peer("beta", collections=("c1", "c2"), types=("indicator",))
    peers.remove("beta")
    with pytest.raises(NotFound):
        peers.get("beta")
    with pytest.raises(NotFound):
        peers.state("beta")
    with pytest.raises(NotFound):
        peers.remove("beta")


def test_state_moves_forward_only(backend: Backend) -> None:
    peers = backend.peers
    peers.add(_peer())
    fresh = peers.state("alpha")
    assert (fresh.cursors, fresh.checkpoint_size, fresh.received, fresh.last_contact) == ({}, 0, 0, None)
    peers.advance("alpha", {"c1": 10, "c2": 5}, received=3, refused=1, now=100, lag=7)
    peers.advance("alpha", {"c1": 8, "c3": 1}, received=2, refused=0, now=110, lag=None)  # c1 never goes back
    state = peers.state("alpha")
    assert state.cursors == {"c1": 10, "c2": 5, "c3": 1}
    assert (state.received, state.refused, state.last_contact, state.lag) == (5, 1, 110, 7)
    peers.failed("alpha", "the peer is unreachable", now=120)
    assert peers.state("alpha").last_error == "the peer is unreachable"
    peers.advance("alpha", {}, received=0, refused=0, now=130, lag=None)
    assert peers.state("alpha").last_error == ""
    peers.verified("alpha", 10, b"\x01" * 32)
    peers.verified("alpha", 4, b"\x02" * 32)  # an older checkpoint does not replace a newer one
    assert (peers.state("alpha").checkpoint_size, peers.state("alpha").checkpoint_root) == (10, b"\x01" * 32)


def test_refusals_are_logged_newest_first_and_bounded(backend: Backend) -> None:
    peers = backend.peers
    peers.add(_peer())
    peers.refuse("alpha", [Refusal(1, "indicator--1", "signature: bad"), Refusal(2, None, "not JSON")])
    assert peers.refusals("alpha") == [Refusal(2, None, "not JSON"), Refusal(1, "indicator--1", "signature: bad")]
    assert peers.refusals("alpha", limit=1) == [Refusal(2, None, "not JSON")]
    peers.refuse("alpha", [Refusal(10 + i, None, f"r{i}") for i in range(KEEP_REFUSALS)])
    kept = peers.refusals("alpha", limit=KEEP_REFUSALS + 10)
    assert len(kept) == KEEP_REFUSALS and kept[0].reason == f"r{KEEP_REFUSALS - 1}"


def test_one_runner_holds_the_lease_until_it_lapses(backend: Backend) -> None:
    peers = backend.peers
    peers.add(_peer())
    assert peers.claim("alpha", "p1", now=100, ttl=10)
    assert not peers.claim("alpha", "p2", now=105, ttl=10)
    assert peers.claim("alpha", "p1", now=108, ttl=10)  # renewed to 118
    assert not peers.claim("alpha", "p2", now=117, ttl=10)
    assert peers.claim("alpha", "p2", now=118, ttl=10)
    assert not peers.claim("alpha", "p1", now=119, ttl=10)


def test_egress_allowlists_are_kept_per_organization(backend: Backend) -> None:
    from phalanx.store import Egress

    peers = backend.peers
    assert peers.egress("identity--p") is None
    peers.set_egress(Egress("identity--p", ("c1",), ("indicator", "malware")))
    peers.set_egress(Egress("identity--q"))
    assert peers.egress("identity--p") == Egress("identity--p", ("c1",), ("indicator", "malware"))
    peers.set_egress(Egress("identity--p", (), ("sighting",)))  # replaced
    assert peers.egress("identity--p") == Egress("identity--p", (), ("sighting",))
    assert peers.egress("identity--q") == Egress("identity--q")


def test_cursors_never_move_back_under_concurrent_advances(backend: Backend) -> None:
    import threading

    peers = backend.peers
    peers.add(_peer())

    def advance(key: str) -> None:
        for cursor in range(1, 41):
            peers.advance("alpha", {key: cursor}, received=1, refused=0, now=cursor, lag=None)

    threads = [threading.Thread(target=advance, args=(key,)) for key in ("c1", "c2", "c3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = peers.state("alpha")
    assert state.cursors == {"c1": 40, "c2": 40, "c3": 40} and state.received == 120
