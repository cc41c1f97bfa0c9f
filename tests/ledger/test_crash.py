"""Crash tests of the transparency log: a real node process, killed with SIGKILL while it appends.

A child process (``_crash_child.py``) ingests batches of indicators (some signed, some new versions), syncs the
log and signs checkpoints, printing what it got acknowledged; the test kills it at a random moment, several
times over on the same database, and after every kill opens the node and checks that nothing acknowledged was
lost, nothing was logged twice, the tree rebuilt from the leaves has the root the tiles give, every checkpoint
the child saw is consistent with the tree now, and the node signs the next one.

Then the other way round: a database whose log was rewritten after a checkpoint (a tile overwritten, entries
cut off, history replaced) must make the node refuse to sign, whether it was closed cleanly or killed.

And, found on the way: on SQLite, ``Ledger.find`` uses the narrow object-key index (it once scanned the table).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phalanx.config import Settings
from phalanx.errors import Inconsistent
from phalanx.identity import Actor, Role
from phalanx.ledger import generate_key
from phalanx.ledger._entry import read_entry
from phalanx.ledger._merkle import leaf_hash, root_of, verify_consistency, verify_inclusion
from phalanx.service import Node
from phalanx.stix import now_micros, parse_micros
from tests.conformance.conftest import postgres_schema
from tests.support import make_world

CHILD = Path(__file__).with_name("_crash_child.py")
ORIGIN = "crash.test/phalanx"
ROUNDS = 4


@dataclass
class Setup:
    url: str
    org: str
    collection: str
    keyfile: Path


@dataclass
class Seen:
    """What the children printed, over all rounds: acknowledged versions and the checkpoints they were given."""

    acked: dict[tuple[str, int], int] = field(default_factory=dict)
    """(id, version) -> the log size the child read after the sync that followed the batch."""
    checkpoints: dict[int, bytes] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def _settings(url: str) -> Settings:
    # The children append private addresses (10.0.0.0/8), which the warning lists flag; reading the lists would
    # delay a child's first acknowledgment past an early kill. This test is about the log.
    return Settings(database_url=url, ledger_origin=ORIGIN, warninglists="off")


def _prepare(url: str, folder: Path) -> Setup:
    """A node with a community, an organization with a published key, and a collection; closed again."""
    world = make_world(_settings(url))
    try:
        collection = world.node.admin.add_collection("Intel", community="isac")
        key = generate_key(world.acme.id, now=now_micros() - 60_000_000)
        world.node.provenance.publish(None, key.public)
        keyfile = folder / "acme.key"
        keyfile.write_bytes(key.to_file())
    finally:
        world.node.close()
    return Setup(url, world.acme.id, collection.id, keyfile)


@contextmanager
def _child(setup: Setup, folder: Path, *, seed: int, mode: str = "run", count: int = 0
           ) -> Iterator[tuple[subprocess.Popen[bytes], list[dict[str, Any]], threading.Event]]:
    """The child node process, the lines it printed so far (parsed; a cut last line left out), and an event set
    on its first line. Killed (SIGKILL) on leaving if it still runs."""
    args = {"url": setup.url, "origin": ORIGIN, "org": setup.org, "collection": setup.collection,
            "keyfile": str(setup.keyfile), "seed": seed, "mode": mode, "count": count}
    stderr = (folder / f"child-{seed}.err").open("wb")
    proc = subprocess.Popen([sys.executable, str(CHILD), json.dumps(args)], stdout=subprocess.PIPE, stderr=stderr,
                            cwd=Path(__file__).resolve().parents[2])
    lines: list[dict[str, Any]] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.endswith(b"\n"):  # else cut short by the kill: it was never printed whole
                lines.append(json.loads(raw))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield proc, lines, ready
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
        stderr.close()
        errors = [line["error"] for line in lines if "error" in line]
        assert not errors, f"the child failed: {errors}\n{(folder / f'child-{seed}.err').read_text()[-3000:]}"


def _run_and_kill(setup: Setup, folder: Path, seed: int, seen: Seen) -> list[tuple[str, int]]:
    """One round: start a child, let it append for 0.3-2 s, SIGKILL it; record what it printed; return the
    versions it acknowledged."""
    rng = random.Random(seed)
    with _child(setup, folder, seed=seed) as (proc, lines, ready):
        assert ready.wait(30), "the child did not start"
        time.sleep(rng.uniform(0.3, 2.0))
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=30)
    err = (folder / f"child-{seed}.err").read_text()[-3000:]
    assert alive and code == -signal.SIGKILL, f"the child ended by itself ({code}) before the kill:\n{err}"
    assert lines and lines[0].get("ready"), f"the child printed no ready line:\n{err}"
    if lines[0]["key"]:
        seen.keys.append(lines[0]["key"])
    acked: list[tuple[str, int]] = []
    for line in lines[1:]:
        for oid, version in line["acked"]:
            seen.acked[(oid, version)] = line["size"]
            acked.append((oid, version))
        if line["cp"] is not None:
            size, root = line["cp"][0], bytes.fromhex(line["cp"][1])
            assert seen.checkpoints.setdefault(size, root) == root, f"two checkpoints of size {size} differ"
    return acked


def _check(url: str, seen: Seen, recent: list[tuple[str, int]], *, seed: int) -> int:
    """Open the node after a kill and check the log against the store and against what the children saw
    (``recent``: what the last child acknowledged, looked up one by one); return the log's size."""
    why = f"(seed {seed})"
    sampler = random.Random(seed)
    with Node.open(_settings(url)) as node:
        ledger = node.ledger
        storage = node.backend.ledger
        latest_before = ledger.latest()

        # (1) everything acknowledged is in the store ...
        stored = {(a.id, a.version): a.seq for a in node.backend.store.accepted_since(0, 10**9)}
        lost = [pair for pair in seen.acked if pair not in stored]
        assert not lost, f"{len(lost)} acknowledged versions are not in the store, e.g. {lost[:3]} {why}"

        # (2) once synced, the tree of the leaves has the root the tiles give (and answers inclusion proofs).
        # On PostgreSQL a COMMIT the killed child had sent still completes after it died: the store may grow
        # a little after the kill, so sync until the store holds still.
        ledger.sync()
        while (now := {(a.id, a.version): a.seq for a in node.backend.store.accepted_since(0, 10**9)}) != stored:
            stored = now
            ledger.sync()
        size, cursor = storage.state()
        datas = storage.entries(0, size)
        assert len(datas) == size, f"the log has {len(datas)} entries stored but size {size} {why}"
        leaves = [leaf_hash(d) for d in datas]
        root = ledger.root(size)
        assert root_of(leaves) == root, f"the tiles' root of {size} leaves is not the leaves' root {why}"
        for index in sorted({sampler.randrange(size) for _ in range(30)} | {0, size - 1}):
            proof = ledger.prove(index, size)
            assert proof.data == datas[index]
            verify_inclusion(index, size, leaves[index], proof.path, root)

        # (5) one entry per (id, version), and every version of the store logged, in the store's order.
        entries = [read_entry(d) for d in datas]
        where = {(e["id"], parse_micros(e["version"])): i for i, e in enumerate(entries) if e["kind"] == "object"}
        logged = [pair for pair, _ in sorted(where.items(), key=lambda item: item[1])]
        objects = sum(e["kind"] == "object" for e in entries)
        assert len(where) == objects, f"{objects - len(where)} versions are logged more than once {why}"
        assert set(where) == set(stored), (
            f"store and log differ: {len(set(stored) - set(where))} versions not logged, "
            f"{len(set(where) - set(stored))} logged but not stored {why}")
        seqs = [stored[pair] for pair in logged]
        assert seqs == sorted(seqs), f"the log is not in the store's order {why}"
        accepted = [parse_micros(e["accepted"]) for e in entries if e["kind"] == "object"]
        assert accepted == seqs, f"entries' 'accepted' are not the versions' seq {why}"
        assert cursor == (seqs[-1] if seqs else 0), f"the cursor {cursor} is not the last logged seq {why}"

        # (1) so every acknowledged version is logged exactly once, before the size the child read after its
        # sync; ``find`` (a table scan on SQLite, see below: a sample only) agrees.
        late = [(pair, where[pair], n) for pair, n in seen.acked.items() if where[pair] >= n]
        assert not late, f"logged after the size read once synced: {late[:3]} {why}"
        versions = Counter(oid for oid, _ in stored)
        for oid, version in sampler.sample(recent, min(len(recent), 25)) + recent[-3:]:
            found = [(i, e) for i, e, _ in ledger.find(oid) if e["kind"] == "object"]
            assert len(found) == versions[oid], f"{oid}: {len(found)} log entries, {versions[oid]} versions {why}"
            assert [i for i, e in found if parse_micros(e["version"]) == version] == [where[(oid, version)]], why
        for key_id in seen.keys:
            assert [e for _, e, _ in ledger.find(key_id) if e["kind"] == "key"], f"key {key_id} not logged {why}"

        # (3) every checkpoint the children were given, and the latest stored one, is consistent with the tree
        # (its root recomputed from the leaves too, for some of them).
        checkpoints = dict(seen.checkpoints)
        if latest_before is not None:
            last = ledger.parse(latest_before.note)
            assert checkpoints.setdefault(last.size, last.root) == last.root, f"latest checkpoint differs {why}"
        recompute = set(sampler.sample(sorted(checkpoints), min(len(checkpoints), 10)))
        for old, old_root in sorted(checkpoints.items()):
            assert old <= size, f"a checkpoint of size {old} was signed, the log has {size} entries {why}"
            if old in recompute:
                assert root_of(leaves[:old]) == old_root, f"the checkpoint of size {old} is not of the leaves {why}"
            assert ledger.parse(storage.checkpoint(old).note).root == old_root, f"stored checkpoint {old} {why}"
            verify_consistency(old, size, old_root, root, ledger.consistency(old, size))

        # (4) the node signs the next checkpoint, consistent with the last one it signed.
        signed = ledger.checkpoint()
        head = ledger.parse(signed.note)
        assert (head.origin, head.size, head.root) == (ORIGIN, size, root), why
        assert ledger.latest() == signed
        if latest_before is not None:
            last = ledger.parse(latest_before.note)
            verify_consistency(last.size, size, last.root, root, ledger.consistency(last.size, size))
        seen.checkpoints[size] = root
    return size


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield f"sqlite:///{folder / 'node.db'}"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkill_while_appending_loses_nothing_and_stays_consistent(kind: str, tmp_path: Path) -> None:
    seed = random.randrange(1 << 32)
    with _database(kind, tmp_path) as url:
        setup = _prepare(url, tmp_path)
        seen = Seen()
        sizes = []
        for round_ in range(ROUNDS):
            acked = _run_and_kill(setup, tmp_path, seed + round_, seen)
            assert acked, f"the child of round {round_} acknowledged nothing before the kill (seed {seed})"
            sizes.append(_check(url, seen, acked, seed=seed + round_))
        assert sizes == sorted(sizes) and sizes[-1] > len(seen.keys), f"the log did not grow: {sizes} (seed {seed})"
        assert len(seen.checkpoints) > ROUNDS, f"too few checkpoints were signed: {sorted(seen.checkpoints)}"


# -- tampering: the node refuses to sign a checkpoint that does not extend the last one ------------------------


def _ingest(node: Node, setup: Setup, first: int, count: int) -> None:
    objects = [{
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
        "indicator_types": ["malicious-activity"], "name": f"tamper {n}",
        "pattern": f"[ipv4-addr:value = '10.0.{n >> 8}.{n & 255}']", "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    } for n in range(first, first + count)]
    results = node.ingest.document(Actor(setup.org, Role.CONTRIBUTOR), setup.collection,
                                   json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                                               "objects": objects}).encode())
    assert all(r.detail == "added" for r in results), results


def _tamper(path: Path, how: str, keep: int) -> None:
    with sqlite3.connect(path) as db:
        if how == "tile":  # one stored tile rewritten in place, same length, other hashes
            ((blob,),) = db.execute("SELECT hashes FROM ledger_tiles WHERE key = 0").fetchall()
            db.execute("UPDATE ledger_tiles SET hashes = ? WHERE key = 0", [os.urandom(len(blob))])
        else:  # the last entries cut off and the size set back (the tiles and the cursor are left as they were)
            db.execute("DELETE FROM ledger_entries WHERE idx >= ?", [keep])
            db.execute("UPDATE ledger_state SET size = ?", [keep])
    db.close()


@pytest.mark.parametrize("ending", ["closed", "killed"])
@pytest.mark.parametrize("how", ["tile", "truncate"])
def test_refuses_to_sign_a_checkpoint_inconsistent_with_the_last_across_crashes(
        how: str, ending: str, tmp_path: Path) -> None:
    """Sign a checkpoint (in a node closed cleanly, or in a child killed with SIGKILL right after it signed),
    rewrite the log in the database, reopen: the node refuses to sign, and its latest checkpoint stays.

    ``tile``: tile (0, 0) overwritten with other hashes, then the log grows; ``truncate``: the last 10 entries
    cut off and the size set back (the log is smaller than its checkpoint: refused at once), then the log
    grows past the checkpoint with other entries (a history replaced)."""
    path = tmp_path / "node.db"
    setup = _prepare(f"sqlite:///{path}", tmp_path)
    if ending == "closed":
        with Node.open(_settings(setup.url)) as node:
            _ingest(node, setup, 0, 40)
            node.ledger.sync()
            signed = node.ledger.checkpoint()
    else:
        with _child(setup, tmp_path, seed=7, mode="once", count=40) as (proc, lines, _):
            deadline = time.monotonic() + 30
            while len(lines) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            assert len(lines) == 2 and lines[1]["cp"], f"the child signed no checkpoint: {lines}"
            os.kill(proc.pid, signal.SIGKILL)
        with Node.open(_settings(setup.url)) as node:
            latest = node.ledger.latest()
            assert latest is not None
            assert node.ledger.parse(latest.note).root.hex() == lines[1]["cp"][1]
            signed = latest
    size = node.ledger.parse(signed.note).size
    assert size == 41  # the published key's entry and 40 indicators

    _tamper(path, how, keep=size - 10)
    node = Node.open(_settings(setup.url))
    try:
        # Stop the background sequencer (no signing behind the test's back); stopping runs it once more, and
        # it keeps the refusal as its last error.
        node.sequencer.close()
        if how == "truncate":  # smaller than the checkpoint: refused at once
            assert isinstance(node.sequencer.last_error, Inconsistent)
            with pytest.raises(Inconsistent):
                node.ledger.checkpoint()
        _ingest(node, setup, 1000, 25)
        node.ledger.sync()
        assert node.ledger.size() > size
        with pytest.raises(Inconsistent, match=f"does not extend the checkpoint it signed at size {size}"):
            node.ledger.checkpoint()
        assert node.ledger.latest() == signed
    finally:
        node.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT size FROM ledger_latest").fetchall() == [(size,)]
        assert db.execute("SELECT max(size) FROM ledger_checkpoints").fetchall() == [(size,)]
    db.close()


# -- found while writing the crash test (fixed) ------------------------------------------------------------------


def test_sqlite_find_uses_the_object_key_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phalanx.store._sqlite import _SqliteTx

    path = tmp_path / "node.db"
    setup = _prepare(f"sqlite:///{path}", tmp_path)
    issued: list[tuple[str, list[object]]] = []
    rows = _SqliteTx.rows

    def spy(self: _SqliteTx, sql: str, params: Any = ()) -> Any:
        issued.append((sql, list(params)))
        return rows(self, sql, params)

    with Node.open(_settings(setup.url)) as node:
        _ingest(node, setup, 0, 5)
        node.ledger.sync()
        monkeypatch.setattr(_SqliteTx, "rows", spy)
        assert len(node.ledger.find("indicator--00000000-0000-4000-8000-000000000003")) == 1
        monkeypatch.undo()
    ((sql, params),) = [(sql, params) for sql, params in issued if "ledger_entries" in sql]
    with sqlite3.connect(path) as db:
        plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    db.close()
    assert any("USING INDEX ledger_entries_object" in step for step in plan), plan
