"""The ledger over every backend: it follows the store, proves what it holds, and never forks."""

from __future__ import annotations

import threading

import pytest

from phalanx.errors import Conflict, Inconsistent
from phalanx.ledger import Ledger, generate_key
from phalanx.ledger._bundle import Trust, verify_checkpoint
from phalanx.ledger._entry import entry_bytes
from phalanx.ledger._merkle import leaf_hash, root_of, verify_consistency, verify_inclusion
from phalanx.store import Backend

from .conftest import row


def _leaves(backend: Backend) -> list[bytes]:
    size, _ = backend.ledger.state()
    return [leaf_hash(d) for d in backend.ledger.entries(0, size)]


def test_the_log_follows_the_store_in_commit_order(backend: Backend) -> None:
    ledger = Ledger(backend.ledger, backend.store, origin="test.example/log")
    assert ledger.sync() == 0
    backend.store.put_many("c1", [row("indicator", n, 1_000 + n) for n in range(300)], contributor="identity--a")
    backend.store.put_many("c2", [row("indicator", 5, 1_005)], contributor="identity--b")  # linked: not new
    backend.store.put_many("c2", [row("malware", 1, 7)], contributor="identity--b")
    assert ledger.sync() == 301
    assert ledger.sync() == 0  # nothing twice
    entries = [e for _, e, _ in ledger.find("indicator--00000000-0000-4000-8000-000000000005")]
    assert [(e["kind"], e["contributor"]) for e in entries] == [("object", "identity--a")]
    assert ledger.find("malware--00000000-0000-4000-8000-000000000001")[0][0] == 300
    leaves = _leaves(backend)
    assert ledger.root(301) == root_of(leaves)
    for index in (0, 1, 255, 256, 300):
        proof = ledger.prove(index, 301)
        assert proof.data == entry_bytes(proof.entry)
        verify_inclusion(index, 301, leaves[index], proof.path, root_of(leaves))
    verify_consistency(17, 301, root_of(leaves[:17]), root_of(leaves), ledger.consistency(17, 301))


def test_checkpoints_are_signed_consistent_and_only_when_the_tree_grew(backend: Backend) -> None:
    ledger = Ledger(backend.ledger, backend.store, origin="test.example/log")
    trust = Trust("test.example/log", tuple(ledger.verifier_keys))
    empty = ledger.checkpoint()
    assert verify_checkpoint(empty.note, trust)[0].size == 0
    backend.store.put_many("c", [row("indicator", n, n + 1) for n in range(10)], contributor="identity--a")
    ledger.sync()
    first = ledger.checkpoint()
    assert ledger.checkpoint() == first  # no new entry, no new checkpoint
    key = generate_key("identity--a", now=1)
    ledger.publish_key(key.public)  # key entries are logged like objects
    second = ledger.checkpoint()
    a, b = verify_checkpoint(first.note, trust)[0], verify_checkpoint(second.note, trust)[0]
    assert (a.size, b.size) == (10, 11)
    verify_consistency(10, 11, a.root, b.root, ledger.consistency(10, 11))
    assert [e["kind"] for _, e, _ in ledger.find(key.key_id)] == ["key"]
    # Another instance over the same database (another process of the hub) uses the same key and log.
    again = Ledger(backend.ledger, backend.store, origin="ignored.example/other")
    assert again.origin == "test.example/log" and again.verifier_keys == ledger.verifier_keys
    assert again.checkpoint() == second


def test_two_sequencers_never_log_a_version_twice(backend: Backend) -> None:
    backend.store.put_many("c", [row("indicator", n, n + 1) for n in range(3000)], contributor="identity--a")
    ledgers = [Ledger(backend.ledger, backend.store) for _ in range(2)]
    errors: list[BaseException] = []

    def run(ledger: Ledger) -> None:
        try:
            for _ in range(5):
                ledger.sync(limit=700)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(ledger,)) for ledger in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ledgers[0].sync()
    size, _ = backend.ledger.state()
    assert size == 3000
    ids = [e["id"] for e in (Ledger(backend.ledger, backend.store).entry(i) for i in range(size))]
    assert len(set(ids)) == 3000
    assert root_of(_leaves(backend)) == ledgers[1].root(3000)


def test_a_log_whose_history_changed_refuses_to_sign(backend: Backend) -> None:
    ledger = Ledger(backend.ledger, backend.store)
    backend.store.put_many("c", [row("indicator", n, n + 1) for n in range(5)], contributor="identity--a")
    ledger.sync()
    signed = ledger.checkpoint()
    # Someone rewrites the tree (a restored old backup, a tampered database): its root at size 5 changes.
    tile = backend.ledger.tiles([0])[0]
    backend.ledger.append(5, [], {0: bytes(32) + tile[32:]})
    fresh = Ledger(backend.ledger, backend.store)
    backend.store.put_many("c", [row("indicator", 9, 99)], contributor="identity--a")
    fresh.sync()
    with pytest.raises(Inconsistent):
        fresh.checkpoint()
    assert backend.ledger.latest_checkpoint() == signed
    with pytest.raises(Conflict):  # and a checkpoint can only follow the latest one
        backend.ledger.add_checkpoint(signed, previous=None)


def test_a_hybrid_log_signs_with_both_keys_and_verifiers_need_both(backend: Backend) -> None:
    from phalanx.errors import InvalidSignature
    from phalanx.ledger import HAVE_MLDSA
    from phalanx.ledger._note import Note

    if not HAVE_MLDSA:
        pytest.skip("this cryptography build has no ML-DSA")
    ledger = Ledger(backend.ledger, backend.store, origin="pq.example/log", hybrid=True)
    backend.store.put_many("c", [row("indicator", n, n + 1) for n in range(3)], contributor="identity--a")
    ledger.sync()
    note = ledger.checkpoint().note
    assert len(ledger.verifier_keys) == 2 and len(Note.parse(note).signatures) == 2
    checkpoint, _ = verify_checkpoint(note, Trust("pq.example/log", tuple(ledger.verifier_keys)))
    assert checkpoint.size == 3
    only_ed25519 = Note(Note.parse(note).text, Note.parse(note).signatures[:1]).format()
    with pytest.raises(InvalidSignature, match="lacks a signature"):
        verify_checkpoint(only_ed25519, Trust("pq.example/log", tuple(ledger.verifier_keys)))


def test_a_delete_never_removes_a_version_the_log_has_not_logged(backend: Backend) -> None:
    from phalanx.store import Unlogged

    backend.store.put_many("c1", [row("indicator", 1, 10)], contributor="identity--a")
    backend.store.put_many("c2", [row("indicator", 1, 10)], contributor="identity--a")  # also in c2
    (seq,) = [a.seq for a in backend.store.accepted_since(0, 10)]
    # Out of c1 only: the version stays in the store (in c2), so the log loses nothing either way.
    assert backend.store.delete("c1", "indicator--00000000-0000-4000-8000-000000000001",
                                logged_through=seq - 1).versions
    with pytest.raises(Unlogged):  # out of its last collection: it would leave the store unlogged
        backend.store.delete("c2", "indicator--00000000-0000-4000-8000-000000000001", logged_through=seq - 1)
    assert backend.store.versions("indicator--00000000-0000-4000-8000-000000000001")  # nothing changed
    ledger = Ledger(backend.ledger, backend.store)
    assert backend.store.delete("c2", "indicator--00000000-0000-4000-8000-000000000001",
                                logged_through=ledger.logged()).versions
    assert [e["id"] for _, e, _ in ledger.find("indicator--00000000-0000-4000-8000-000000000001")] == [
        "indicator--00000000-0000-4000-8000-000000000001"]
