"""Witnessing end to end (C2SP tlog-witness, tlog-cosignature), over real HTTP between real nodes.

Three nodes, each with its own SQLite database and served by uvicorn on 127.0.0.1: A is the log; B and C witness it
(each ``watch``es A's origin with A's checkpoint keys), and A asks both to cosign (their ``/witness`` prefixes).
The sequencers' background threads are stopped at the start, so that each test drives ``run_once`` itself and
knows which checkpoint went to the witnesses when.

Covered: both cosignatures on each checkpoint and a 2-of-2 quorum; the witnesses following the log by consistency
proofs; every refusal of the witness endpoint (404, 403, 400, 409 with the witness's size, 422) from hand-made
bodies; equivocation (a checkpoint by hand with A's key, and a second node holding A's key with another tree);
a witness that is down; a witness restarted from its database; and k-of-n in offline bundle verification.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import itertools
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import phalanx.ledger._witness as witness_module
from phalanx.config import Settings
from phalanx.errors import Equivocation, InvalidSignature, NotFound
from phalanx.ledger._bundle import Trust, check_equivocation, verify_bundle, verify_checkpoint
from phalanx.ledger._merkle import verify_consistency
from phalanx.ledger._note import (
    Checkpoint,
    Note,
    add_signatures,
    format_add_checkpoint,
    generate_ed25519,
    open_note,
    sign_note,
    signer_from_key,
    verifier_from_key,
)
from phalanx.ledger._witness import Witness, WitnessRefusal
from phalanx.service import Node
from phalanx.store import open_backend
from tests.support import World, bundle, make_world
from tests.taxii.test_interop import indicator, serving

SIZE = "text/x.tlog.size"


# -- the cluster ------------------------------------------------------------------------------------------------


@dataclass
class Member:
    """One node of the cluster, served over HTTP."""

    name: str
    settings: Settings
    world: World
    node: Node
    url: str
    stack: contextlib.ExitStack = field(repr=False)

    @property
    def witness_url(self) -> str:
        return self.url + "/witness"

    def stop(self) -> None:
        """Stop its server and close its database (as a process that exits)."""
        self.stack.close()


def start(name: str, settings: Settings) -> Member:
    """A new node with the test world (tests/support.py), served over HTTP."""
    stack = contextlib.ExitStack()
    try:
        world = make_world(settings)
        stack.callback(world.node.close)
        world.node.sequencer.close()  # no background heartbeat: the tests run the sequencer themselves
        url = stack.enter_context(serving(world.node))
    except BaseException:
        stack.close()
        raise
    return Member(name, settings, world, world.node, url, stack)


@dataclass
class Cluster:
    a: Member
    b: Member
    c: Member
    tmp: Path
    shared: int = 0

    @property
    def log(self) -> Node:
        return self.a.node

    @property
    def origin(self) -> str:
        return self.log.ledger.origin

    def trust(self, quorum: int = 2, witnesses: Sequence[str] | None = None) -> Trust:
        keys = (self.b.node.ledger.witness_key, self.c.node.ledger.witness_key) if witnesses is None else witnesses
        return Trust(self.origin, tuple(self.log.ledger.verifier_keys), tuple(keys), quorum)

    def share(self, n: int) -> list[str]:
        """Share ``n`` new indicators into A (in-process)."""
        objects = [indicator(self.shared + i) for i in range(n)]
        self.shared += n
        results = self.log.ingest.document(self.a.world.contributor, "isac", bundle(*objects))
        assert [r.outcome for r in results] == ["accepted"] * n, [r.detail for r in results]
        return [str(o["id"]) for o in objects]

    def grow(self, n: int) -> str:
        """Share ``n`` objects, run A's sequencer (sign and submit), and return the latest checkpoint as served."""
        self.share(n)
        checkpoint = self.log.sequencer.run_once()
        assert checkpoint is not None and checkpoint == self.log.ledger.latest()
        return self.log.ledger.cosigned(checkpoint)

    def forge(self, size: int, root: bytes) -> str:
        """A checkpoint note signed with A's own key over any tree: what a lying log can make."""
        return sign_note(Checkpoint(self.origin, size, root).body(), *self.log.ledger.signers)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    members: list[Member] = []
    try:
        for name in "abc":
            members.append(start(name, Settings(database_url=f"sqlite:///{tmp_path}/{name}.db")))
        a, b, c = members
        for witness in (b, c):
            Witness(witness.node.backend.ledger, witness.node.ledger.cosigner).watch(
                a.node.ledger.origin, a.node.ledger.verifier_keys)
            a.node.backend.ledger.set_witness(witness.name, witness.witness_url, witness.node.ledger.witness_key)
        yield Cluster(a, b, c, tmp_path)
    finally:
        # Stopped side by side: each server takes a tick of its loop (~0.1 s) to notice.
        stoppers = [threading.Thread(target=m.stop) for m in members]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout=30)


def post(url: str, body: bytes) -> tuple[int, str, str]:
    """POST a tlog-witness request body: (status, content type, body text)."""
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def lines_of(note: str) -> list[str]:
    """The names on the signature lines of a note."""
    return [sig.name for sig in Note.parse(note).signatures]


def witnessed_size(member: Member, origin: str) -> int:
    return member.node.backend.ledger.witnessed(origin).size


def fake_hash(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


# -- cosigning ---------------------------------------------------------------------------------------------------


def test_each_checkpoint_carries_both_cosignatures_and_meets_a_quorum_of_two(cluster: Cluster) -> None:
    note = cluster.grow(3)
    b, c = cluster.b.node.ledger, cluster.c.node.ledger
    assert lines_of(note) == [cluster.origin, b.cosigner.name, c.cosigner.name]
    checkpoint, witnesses = verify_checkpoint(note, cluster.trust())
    assert checkpoint.size == 3 and checkpoint.root == cluster.log.ledger.root(3)
    assert sorted(witnesses) == sorted([b.cosigner.name, c.cosigner.name])
    # The cosignatures are cosignature/v1 lines under the witnesses' published keys.
    for key in (b.witness_key, c.witness_key):
        _, verified = open_note(note, [verifier_from_key(key)])
        assert len(verified) == 1
    # Served as is over HTTP, to anyone.
    with urllib.request.urlopen(cluster.a.url + "/api/v1/ledger/checkpoint", timeout=10) as response:
        assert response.read().decode() == note
    # Each witness recorded it, and A recorded how far each one got.
    assert witnessed_size(cluster.b, cluster.origin) == witnessed_size(cluster.c, cluster.origin) == 3
    assert [(name, size) for name, _, _, size in cluster.log.backend.ledger.witnesses()] == [("b", 3), ("c", 3)]


def test_the_witnesses_follow_the_growing_log_by_consistency_proofs(cluster: Cluster,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[tuple[int, int, int]] = []

    def spy(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
        verify_consistency(old, new, old_root, new_root, proof)
        checked.append((old, new, len(proof)))  # only the proofs that verified

    monkeypatch.setattr(witness_module, "verify_consistency", spy)  # the witnesses run in this process
    sizes = [0]
    for n in (3, 1, 4, 8, 2):
        note = cluster.grow(n)
        sizes.append(sizes[-1] + n)
        checkpoint, witnesses = verify_checkpoint(note, cluster.trust())
        assert checkpoint.size == sizes[-1] and len(witnesses) == 2
        assert witnessed_size(cluster.b, cluster.origin) == witnessed_size(cluster.c, cluster.origin) == sizes[-1]
    # Each witness checked one proof per step: from the empty tree first (no proof), then from the size it had
    # cosigned to the new one, with a proof of at least one hash.
    steps = list(itertools.pairwise(sizes))
    assert sorted((old, new) for old, new, _ in checked) == sorted(steps * 2)
    assert all(length == 0 for old, _, length in checked if old == 0)
    assert all(length >= 1 for old, _, length in checked if old > 0)
    # A keeps the size each witness cosigned last: where its next request starts.
    assert [(name, size) for name, _, _, size in cluster.log.backend.ledger.witnesses()] == [
        ("b", sizes[-1]), ("c", sizes[-1])]


def test_a_witness_that_is_down_does_not_stop_the_log(cluster: Cluster) -> None:
    # A port bound but not listening: connections to it are refused at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as dead:
        dead.bind(("127.0.0.1", 0))
        _, down_key = generate_ed25519("down.example/witness", cosignature=True)
        cluster.log.backend.ledger.set_witness("a-down", f"http://127.0.0.1:{dead.getsockname()[1]}/witness",
                                               down_key)
        first = cluster.grow(2)
        second = cluster.grow(3)
    for note, size in ((first, 2), (second, 5)):
        checkpoint, witnesses = verify_checkpoint(note, cluster.trust())
        assert checkpoint.size == size and len(witnesses) == 2
    with pytest.raises(InvalidSignature, match="3 are required"):
        verify_checkpoint(second, cluster.trust(3, (cluster.b.node.ledger.witness_key,
                                                    cluster.c.node.ledger.witness_key, down_key)))
    progress = {name: size for name, _, _, size in cluster.log.backend.ledger.witnesses()}
    assert progress == {"a-down": 0, "b": 5, "c": 5}


# -- refusals over HTTP --------------------------------------------------------------------------------------------


def test_a_checkpoint_of_a_log_the_witness_does_not_know_is_refused_404(cluster: Cluster) -> None:
    skey, _ = generate_ed25519("stranger.example/log")
    note = sign_note(Checkpoint("stranger.example/log", 1, fake_hash("x")).body(), signer_from_key(skey))
    status, _, _ = post(cluster.b.witness_url, format_add_checkpoint(0, [], note))
    assert status == 404
    with pytest.raises(NotFound, match="does not witness"):
        cluster.b.node.backend.ledger.witnessed("stranger.example/log")


def test_a_checkpoint_not_signed_by_the_logs_key_is_refused_403(cluster: Cluster) -> None:
    note = cluster.grow(2)
    bare = Note.parse(note)
    # Signed by another key that carries the log's name: the witness knows no key of that hash.
    skey, _ = generate_ed25519(cluster.origin)
    impostor = sign_note(bare.text, signer_from_key(skey))
    assert post(cluster.b.witness_url, format_add_checkpoint(2, [], impostor))[0] == 403
    # The log's own line (its name and key hash), but the signature bytes changed.
    own = bare.signatures[0]
    assert own.name == cluster.origin
    broken = bytes([own.payload[0] ^ 1]) + own.payload[1:]
    tampered = bare.text + "\n" + f"— {own.name} {base64.b64encode(own.key_hash + broken).decode()}\n"
    assert post(cluster.b.witness_url, format_add_checkpoint(2, [], tampered))[0] == 403
    # The witnesses' cosignatures without the log's own signature.
    cosignatures_only = bare.text + "\n" + "".join(s.line() for s in bare.signatures if s.name != cluster.origin)
    assert post(cluster.b.witness_url, format_add_checkpoint(2, [], cosignatures_only))[0] == 403
    # The real one is fine: the refusals changed nothing.
    assert witnessed_size(cluster.b, cluster.origin) == 2
    assert post(cluster.b.witness_url, format_add_checkpoint(2, [], note))[0] == 200


MALFORMED = [
    b"",
    b"garbage",
    b"old 0\n",
    b"old 0\n\n",
    b"old 01\n\n{note}",
    b"old -1\n\n{note}",
    b"old  2\n\n{note}",
    b"old 3\n\n{note}",  # larger than the checkpoint size (2)
    b"old 0\n{hash}\n\n{note}",  # a proof from the empty tree
    b"old 1\nnot base64!\n\n{note}",
    b"old 1\nAAAA\n\n{note}",  # not 32 bytes
    b"old 1\n{hash}\n{note}",  # no blank line before the note
    b"old 1\n{hash}\n\nnot a note\n",
    b"old 1\n{hash}\n\norigin\nnot a size\nAAAA\n\n\xe2\x80\x94 k AAAAAAA=\n",
    b"old 2\n\n{note}\x00",
]


def test_a_malformed_request_is_refused_400(cluster: Cluster) -> None:
    note = cluster.grow(2)
    for body in MALFORMED:  # one cluster for all: a refusal changes nothing, as the last lines check
        real = body.replace(b"{note}", note.encode()).replace(b"{hash}", base64.b64encode(fake_hash("h")))
        status, _, text = post(cluster.b.witness_url, real)
        assert status == 400, (body, status, text)
    assert witnessed_size(cluster.b, cluster.origin) == 2
    assert post(cluster.b.witness_url, format_add_checkpoint(2, [], note))[0] == 200


def test_a_stale_old_size_is_refused_409_with_the_witnesss_size(cluster: Cluster) -> None:
    cluster.grow(3)
    note = cluster.grow(2)
    ledger = cluster.log.ledger
    # Old sizes other than the 5 it cosigned last (0: a client that does not know): 409, and its size.
    for old in (0, 3, 4):
        proof = ledger.consistency(old, 5) if old else []
        status, media, text = post(cluster.b.witness_url, format_add_checkpoint(old, proof, note))
        assert (status, media.split(";")[0], text) == (409, SIZE, "5\n"), old
    # The same for a newer checkpoint sent from an older size, with a proof that verifies from there.
    cluster.share(1)
    ledger.sync()
    six = cluster.forge(6, ledger.root(6))
    status, media, text = post(cluster.b.witness_url, format_add_checkpoint(3, ledger.consistency(3, 6), six))
    assert (status, media.split(";")[0], text) == (409, SIZE, "5\n")
    assert witnessed_size(cluster.b, cluster.origin) == 5
    # From the size it answered, the same checkpoint is cosigned.
    status, _, line = post(cluster.b.witness_url, format_add_checkpoint(5, ledger.consistency(5, 6), six))
    assert status == 200
    open_note(six + line, [verifier_from_key(cluster.b.node.ledger.witness_key)])
    assert witnessed_size(cluster.b, cluster.origin) == 6


def test_a_consistency_proof_that_does_not_verify_is_refused_422(cluster: Cluster) -> None:
    cluster.grow(3)
    cluster.share(4)
    cluster.log.ledger.sync()
    root = cluster.log.ledger.root(7)
    genuine = cluster.forge(7, root)  # the note A will sign (Ed25519 is deterministic), not yet submitted
    proof = cluster.log.ledger.consistency(3, 7)
    assert len(proof) >= 2
    bad_proofs = [
        [fake_hash(str(i)) for i in range(len(proof))],  # made up
        proof[::-1],  # reordered
        proof[:-1],  # short
        [*proof, fake_hash("extra")],  # long
        [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]],  # one bit off
        [],  # none
    ]
    for bad in bad_proofs:
        status, _, text = post(cluster.b.witness_url, format_add_checkpoint(3, bad, genuine))
        assert status == 422, (bad, status, text)
    # A root the log never had, with the real proof.
    status, _, _ = post(cluster.b.witness_url, format_add_checkpoint(3, proof, cluster.forge(7, fake_hash("x"))))
    assert status == 422
    # None of them moved the witness; the real checkpoint then goes through.
    assert witnessed_size(cluster.b, cluster.origin) == 3
    checkpoint = cluster.log.sequencer.run_once()
    assert checkpoint is not None
    note = cluster.log.ledger.cosigned(checkpoint)
    assert Note.parse(note).text == Note.parse(genuine).text
    assert verify_checkpoint(note, cluster.trust())[0].size == 7


def test_an_oversized_request_is_refused_413(cluster: Cluster) -> None:
    from starlette.testclient import TestClient

    from phalanx.web import create_app

    note = cluster.grow(1)
    body = b"old 0\n\n" + note.encode() + b"x" * (2 << 20)
    # In process: over a socket the server answers before the client has sent it all, and closes.
    with TestClient(create_app(cluster.b.node)) as client:
        response = client.post("/witness/add-checkpoint", content=body)
    assert response.status_code == 413 and "limit" in response.text


# -- equivocation ----------------------------------------------------------------------------------------------------


def test_a_second_tree_of_the_same_size_is_refused_409_and_kept_as_evidence(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    cosigned = cluster.grow(4)
    forged = cluster.forge(4, fake_hash("another history"))
    with caplog.at_level(logging.ERROR, logger="phalanx.ledger"):
        status, media, text = post(cluster.b.witness_url, format_add_checkpoint(4, [], forged))
    assert (status, media.split(";")[0], text) == (409, SIZE, "4\n")
    # The witness logged the evidence: both notes.
    (record,) = [r for r in caplog.records if "equivocation" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert Note.parse(forged).text in record.getMessage()
    assert Note.parse(cosigned).text in record.getMessage()
    # It still holds the first tree.
    state = cluster.b.node.backend.ledger.witnessed(cluster.origin)
    assert (state.size, state.root) == (4, cluster.log.ledger.root(4))
    # Anyone holding both notes can prove the log lied.
    with pytest.raises(Equivocation) as caught:
        check_equivocation(cosigned, forged, cluster.trust())
    assert (caught.value.first, caught.value.second) == (cosigned, forged)
    # The same, through the Witness itself: its evidence list.
    witness = Witness(cluster.c.node.backend.ledger, cluster.c.node.ledger.cosigner)
    with pytest.raises(WitnessRefusal) as refusal:
        witness.add_checkpoint(format_add_checkpoint(4, [], forged))
    assert (refusal.value.status, refusal.value.body) == (409, "4\n")
    (evidence,) = witness.equivocations
    assert isinstance(evidence, Equivocation)
    assert Note.parse(evidence.first).text == Note.parse(cosigned).text and evidence.second == forged
    # Consistent notes are no evidence.
    check_equivocation(cosigned, cosigned, cluster.trust())
    check_equivocation(cluster.forge(3, fake_hash("smaller")), cosigned, cluster.trust())


def test_a_second_node_with_the_logs_key_cannot_get_another_history_cosigned(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    genuine = cluster.grow(3)
    # Node D: a new database holding A's node key (the node_keys row copied), with a tree of its own.
    settings = Settings(database_url=f"sqlite:///{cluster.tmp}/d.db")
    backend = open_backend(settings.database)
    try:
        backend.upgrade()
        keys = cluster.log.backend.ledger.node_key()
        assert keys is not None
        backend.ledger.set_node_key(*keys)
    finally:
        backend.close()
    d = start("d", settings)
    try:
        assert d.node.ledger.origin == cluster.origin
        assert d.node.ledger.verifier_keys == cluster.log.ledger.verifier_keys
        for witness in (cluster.b, cluster.c):
            d.node.backend.ledger.set_witness(witness.name, witness.witness_url, witness.node.ledger.witness_key)
        other = [indicator(1000 + i) for i in range(3)]
        results = d.node.ingest.document(d.world.contributor, "isac", bundle(*other))
        assert {r.outcome for r in results} == {"accepted"}
        with caplog.at_level(logging.ERROR, logger="phalanx.ledger"):
            checkpoint = d.node.sequencer.run_once()
        assert checkpoint is not None and checkpoint.size == 3
        forked = d.node.ledger.cosigned(checkpoint)
        # D signed it with A's key, but no witness cosigned it.
        assert lines_of(forked) == [cluster.origin]
        with pytest.raises(InvalidSignature, match="0 trusted witness"):
            verify_checkpoint(forked, cluster.trust(1))
        assert len([r for r in caplog.records if "equivocation" in r.getMessage()]) >= 2  # B and C
        with pytest.raises(Equivocation) as caught:
            check_equivocation(genuine, forked, cluster.trust())
        assert (caught.value.first, caught.value.second) == (genuine, forked)
        # Grown further, D's tree is no extension of A's: 422, still nothing cosigned.
        more = [indicator(2000 + i) for i in range(2)]
        d.node.ingest.document(d.world.contributor, "isac", bundle(*more))
        checkpoint = d.node.sequencer.run_once()
        assert checkpoint is not None and checkpoint.size == 5
        assert lines_of(d.node.ledger.cosigned(checkpoint)) == [cluster.origin]
        status, _, _ = post(cluster.b.witness_url,
                            format_add_checkpoint(3, d.node.ledger.consistency(3, 5), checkpoint.note))
        assert status == 422
        for witness in (cluster.b, cluster.c):
            state = witness.node.backend.ledger.witnessed(cluster.origin)
            assert (state.size, state.root) == (3, cluster.log.ledger.root(3))
    finally:
        d.stop()
    # A itself goes on being cosigned.
    assert verify_checkpoint(cluster.grow(2), cluster.trust())[0].size == 5


# -- a witness restarted from its database ---------------------------------------------------------------------------


def test_a_restarted_witness_keeps_its_state(cluster: Cluster) -> None:
    cluster.grow(3)
    cosigned = cluster.grow(2)
    b_key = cluster.b.node.ledger.witness_key
    cluster.b.stop()
    node = Node.open(cluster.b.settings)
    stack = contextlib.ExitStack()
    stack.callback(node.close)
    try:
        node.sequencer.close()
        url = stack.enter_context(serving(node)) + "/witness"
        assert node.ledger.witness_key == b_key
        state = node.backend.ledger.witnessed(cluster.origin)
        assert (state.size, state.root) == (5, cluster.log.ledger.root(5))
        assert Note.parse(state.note).text == Note.parse(cosigned).text
        # It refuses what it refused before it stopped: another tree of size 5, an old size it left, a fork.
        status, _, text = post(url, format_add_checkpoint(5, [], cluster.forge(5, fake_hash("fork"))))
        assert (status, text) == (409, "5\n")
        assert post(url, format_add_checkpoint(0, [], cosigned))[0] == 409
        assert post(url, format_add_checkpoint(3, cluster.log.ledger.consistency(3, 5), cosigned))[0] == 409
        fake_proof = [fake_hash("p1"), fake_hash("p2")]
        assert post(url, format_add_checkpoint(5, fake_proof, cluster.forge(6, fake_hash("fork 6"))))[0] == 422
        # A finds it at its new address, learns its size from a 409, and gets the next checkpoint cosigned.
        cluster.log.backend.ledger.set_witness("b", url, b_key)
        note = cluster.grow(4)
        checkpoint, witnesses = verify_checkpoint(note, cluster.trust())
        assert checkpoint.size == 9 and len(witnesses) == 2
        assert node.backend.ledger.witnessed(cluster.origin).size == 9
    finally:
        stack.close()


# -- k of n, offline ---------------------------------------------------------------------------------------------------


def test_bundles_verify_offline_with_a_quorum_of_witnesses(cluster: Cluster) -> None:
    ids = cluster.share(4)
    cluster.log.sequencer.run_once()
    reader = cluster.a.world.reader
    proof = cluster.log.provenance.bundle(reader, cluster.log.reader, "isac", ids[1])
    verified = verify_bundle(proof, cluster.trust(2))
    assert verified.object_id == ids[1] and verified.size == 4
    assert sorted(verified.witnesses) == sorted([cluster.b.node.ledger.cosigner.name,
                                                 cluster.c.node.ledger.cosigner.name])
    # Over HTTP, as a member fetches it: the same bundle.
    secret, _ = cluster.log.admin.create_key(reader.org_id, reader.role)
    request = urllib.request.Request(f"{cluster.a.url}/api/v1/collections/isac/objects/{ids[1]}/proof",
                                     headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        fetched: dict[str, Any] = json.loads(response.read())
    assert verify_bundle(fetched, cluster.trust(2)) == verified
    # 3 of (B, C, a key that never cosigned): refused.
    _, unrelated = generate_ed25519("unrelated.example/witness", cosignature=True)
    three = cluster.trust(3, (cluster.b.node.ledger.witness_key, cluster.c.node.ledger.witness_key, unrelated))
    with pytest.raises(InvalidSignature, match="2 trusted witness cosignatures; 3 are required"):
        verify_bundle(proof, three)
    assert len(verify_bundle(proof, cluster.trust(2, three.witness_keys)).witnesses) == 2
    # One cosignature line removed: 1 of 2.
    note = Note.parse(proof["checkpoint"])
    for dropped in (cluster.b.node.ledger.cosigner.name, cluster.c.node.ledger.cosigner.name):
        kept = tuple(s for s in note.signatures if s.name != dropped)
        thinner = dict(proof, checkpoint=Note(note.text, kept).format())
        with pytest.raises(InvalidSignature, match="1 trusted witness cosignatures; 2 are required"):
            verify_bundle(thinner, cluster.trust(2))
        assert verify_bundle(thinner, cluster.trust(1)).witnesses == (
            ({cluster.b.node.ledger.cosigner.name, cluster.c.node.ledger.cosigner.name} - {dropped}).pop(),)
    # B's line with its signature changed does not count: 1 of 2 again.
    b_line = next(s for s in note.signatures if s.name == cluster.b.node.ledger.cosigner.name)
    broken = bytes([b_line.payload[-1] ^ 1])
    bad = note.text + "\n" + "".join(
        s.line() if s is not b_line else
        f"— {s.name} {base64.b64encode(s.key_hash + s.payload[:-1] + broken).decode()}\n"
        for s in note.signatures)
    with pytest.raises(InvalidSignature, match="1 trusted witness cosignatures; 2 are required"):
        verify_bundle(dict(proof, checkpoint=bad), cluster.trust(2))
    assert verify_bundle(dict(proof, checkpoint=bad), cluster.trust(1)).witnesses == (
        cluster.c.node.ledger.cosigner.name,)


# -- bugs -------------------------------------------------------------------------------------------------------------


def test_a_witness_listed_twice_counts_once(cluster: Cluster) -> None:
    note = cluster.grow(2)
    only_b = Note.parse(note)
    only_b = Note(only_b.text, tuple(s for s in only_b.signatures if s.name != cluster.c.node.ledger.cosigner.name))
    b_key = cluster.b.node.ledger.witness_key
    with pytest.raises(InvalidSignature):
        verify_checkpoint(only_b.format(), cluster.trust(2, (b_key, b_key)))


def test_a_new_witness_does_not_cosign_an_empty_tree_with_a_wrong_root(cluster: Cluster) -> None:
    bogus = cluster.forge(0, fake_hash("not the empty tree"))
    status, _, _ = post(cluster.b.witness_url, format_add_checkpoint(0, [], bogus))
    assert status in (409, 422)
    note = cluster.grow(2)
    assert verify_checkpoint(note, cluster.trust())[0].size == 2


class _RogueWitness(http.server.BaseHTTPRequestHandler):
    """A witness that cosigns, and adds a line under the log's own name that does not verify."""

    cosigner: Any = None
    log_line: str = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        note = body.split(b"\n\n", 1)[1].decode()
        own = "".join(s.line() for s in Note.parse(add_signatures(note, self.cosigner)).signatures
                      if s.key_hash == self.cosigner.key_hash)
        answer = (own + self.log_line).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_a_rogue_witness_cannot_break_the_logs_checkpoints(cluster: Cluster) -> None:
    skey, vkey = generate_ed25519("rogue.example/witness", cosignature=True)
    signer = cluster.log.ledger.signers[0]
    forged = f"— {signer.name} {base64.b64encode(signer.key_hash + bytes(64)).decode()}\n"
    handler = type("Rogue", (_RogueWitness,), {"cosigner": signer_from_key(skey), "log_line": forged})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        cluster.log.backend.ledger.set_witness("rogue", f"http://127.0.0.1:{server.server_address[1]}", vkey)
        note = cluster.grow(2)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    # The rogue's own line is kept (it verifies with its key) ...
    assert "rogue.example/witness" in lines_of(note)
    # ... and the checkpoint must still verify for those who trust A, B and C (today: InvalidSignature, the
    # forged line under A's name does not verify) ...
    assert len(verify_checkpoint(note, cluster.trust())[1]) == 2
    # ... because nothing but the witness's own lines is kept.
    assert lines_of(note).count(cluster.origin) == 1
