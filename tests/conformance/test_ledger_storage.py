"""The ledger storage conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from phalanx.errors import Conflict, KeyNotValid, NotFound
from phalanx.store import Backend
from phalanx.store._ledger import Appended, StoredCheckpoint, WitnessedLog


def test_append_checks_the_size_and_keeps_everything_of_a_batch_together(backend: Backend) -> None:
    ledger = backend.ledger
    assert ledger.state() == (0, 0)
    ledger.append(0, [Appended("indicator--a", b"e0"), Appended("", b"k1"), Appended("indicator--a", b"e2")],
                  {5: b"t" * 32}, cursor=77, keys=[("phx1-k", "identity--o", '{"key":"phx1-k"}', None)])
    assert ledger.state() == (3, 77)
    with pytest.raises(Conflict):  # another sequencer appended first: nothing of this batch is kept
        ledger.append(2, [Appended("indicator--b", b"x")], {6: b"u" * 32}, cursor=99,
                      keys=[("phx1-x", "identity--o", "{}", None)])
    assert ledger.state() == (3, 77)
    assert ledger.tiles([5, 6, 7]) == {5: b"t" * 32}
    with pytest.raises(NotFound):
        ledger.key("phx1-x")
    assert ledger.entries(0, 10) == [b"e0", b"k1", b"e2"]
    assert ledger.entries(1, 2) == [b"k1"]
    assert ledger.find("indicator--a") == [(0, b"e0"), (2, b"e2")]
    assert ledger.find("indicator--b") == []
    ledger.append(3, [], {5: b"v" * 64})  # a tile is replaced as it grows; the cursor stays without one
    assert ledger.tiles([5]) == {5: b"v" * 64}
    assert ledger.state() == (3, 77)


def test_concurrent_sequencers_never_both_win(backend: Backend) -> None:
    wins: list[int] = []

    def race(n: int) -> None:
        try:
            backend.ledger.append(0, [Appended("", f"e{n}".encode())], {})
            wins.append(n)
        except Conflict:
            pass

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert backend.ledger.entries(0, 5) == [f"e{wins[0]}".encode()]


def test_checkpoints_advance_only_from_the_latest(backend: Backend) -> None:
    ledger = backend.ledger
    assert ledger.latest_checkpoint() is None
    with pytest.raises(Conflict):
        ledger.add_checkpoint(StoredCheckpoint(1, "n1", 10), previous=0)
    ledger.add_checkpoint(StoredCheckpoint(0, "n0", 9), previous=None)
    ledger.add_checkpoint(StoredCheckpoint(4, "n4", 10), previous=0)
    with pytest.raises(Conflict):  # signed against a stale latest: refused
        ledger.add_checkpoint(StoredCheckpoint(5, "n5", 11), previous=0)
    with pytest.raises(Conflict):  # the same size twice: refused
        ledger.add_checkpoint(StoredCheckpoint(4, "again", 11), previous=4)
    assert ledger.latest_checkpoint() == StoredCheckpoint(4, "n4", 10)
    assert ledger.checkpoint(0).note == "n0"
    with pytest.raises(NotFound):
        ledger.checkpoint(3)
    ledger.add_cosignature(4, "w2", "— w2 AAAA\n")
    ledger.add_cosignature(4, "w1", "— w1 BBBB\n")
    ledger.add_cosignature(4, "w2", "— w2 CCCC\n")
    assert ledger.cosignatures(4) == ["— w1 BBBB\n", "— w2 CCCC\n"]
    assert ledger.cosignatures(0) == []


def test_the_checkpoint_before_one_is_the_largest_below_its_size(backend: Backend) -> None:
    ledger = backend.ledger
    assert ledger.checkpoint_before(10) is None
    for previous, size in ((None, 0), (0, 3), (3, 7), (7, 12)):
        ledger.add_checkpoint(StoredCheckpoint(size, f"n{size}", size), previous=previous)
    assert ledger.checkpoint_before(12) == StoredCheckpoint(7, "n7", 7)
    assert ledger.checkpoint_before(7) == StoredCheckpoint(3, "n3", 3)
    assert ledger.checkpoint_before(5) == StoredCheckpoint(3, "n3", 3)
    assert ledger.checkpoint_before(100) == StoredCheckpoint(12, "n12", 12)
    assert ledger.checkpoint_before(0) is None


def test_keys_node_key_and_custody(backend: Backend) -> None:
    ledger = backend.ledger
    ledger.append(0, [], {}, keys=[("phx1-a", "identity--o", '{"v":1}', b"secret"),
                                   ("phx1-b", "identity--p", '{"v":2}', None)])
    ledger.append(0, [], {}, keys=[("phx1-a", "identity--o", '{"v":3}', None)])  # new times keep the custody
    assert ledger.key("phx1-a") == ('{"v":3}', b"secret")
    with pytest.raises(KeyNotValid):  # a key stays its organization's, and the whole append is refused
        ledger.append(0, [Appended("x", b"e")], {}, keys=[("phx1-a", "identity--p", '{"v":4}', None)])
    assert ledger.key("phx1-a") == ('{"v":3}', b"secret") and ledger.state()[0] == 0
    assert ledger.key("phx1-b") == ('{"v":2}', None)
    assert ledger.keys("identity--o") == [("phx1-a", '{"v":3}')]
    assert sorted(ledger.keys()) == [("phx1-a", '{"v":3}'), ("phx1-b", '{"v":2}')]
    assert ledger.node_key() is None
    ledger.set_node_key("PRIVATE+KEY+x", "x+1+A")
    with pytest.raises(Conflict):
        ledger.set_node_key("PRIVATE+KEY+y", "y+1+A")
    assert ledger.node_key() == ("PRIVATE+KEY+x", "x+1+A")


def test_witnesses_and_witnessed_logs(backend: Backend) -> None:
    ledger = backend.ledger
    ledger.set_witness("w1", "http://127.0.0.1:1/", "w1+00+A")
    ledger.witness_progress("w1", 7)
    assert ledger.witnesses() == [("w1", "http://127.0.0.1:1/", "w1+00+A", 7)]
    ledger.set_witness("w1", "http://127.0.0.1:2/", "w1+00+B")  # replaced: it starts over
    assert ledger.witnesses() == [("w1", "http://127.0.0.1:2/", "w1+00+B", 0)]
    ledger.remove_witness("w1")
    assert ledger.witnesses() == []
    with pytest.raises(NotFound):
        ledger.remove_witness("w1")
    with pytest.raises(NotFound):
        ledger.witnessed("log.example/a")
    first = WitnessedLog("log.example/a", "a+00+K", 0, b"\0" * 32, "")
    ledger.set_witnessed(first, previous_size=None)
    with pytest.raises(Conflict):
        ledger.set_witnessed(first, previous_size=None)
    later = WitnessedLog("log.example/a", "a+00+K", 9, b"\1" * 32, "note")
    with pytest.raises(Conflict):
        ledger.set_witnessed(later, previous_size=3)
    ledger.set_witnessed(later, previous_size=0)
    assert ledger.witnessed("log.example/a") == later
    assert ledger.witnessed_logs() == [later]
