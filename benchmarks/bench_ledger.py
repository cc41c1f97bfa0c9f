"""The transparency log (``phalanx.ledger``) against pymerkle 7, on the same leaves, and the targets of its issue.

    .venv/bin/python benchmarks/bench_ledger.py            # all parts, default sizes (~4 min; the first run also
                                                           # builds the 10^7-leaf tree once, ~8 min, 4.3 GB)
    .venv/bin/python benchmarks/bench_ledger.py --quick    # small sizes, ~1 min (the first time +1 min: its own
                                                           # 10^6-leaf tree)
    .venv/bin/python benchmarks/bench_ledger.py --parts b --proofs 5000

Parts (``--parts``, default ``abcd``):

* **a. Durable appends.** A SQLite store holding ``--appends`` real indicators (Maltrail corpus, stored through
  ``store.put_many``; cached in ``benchmarks/.cache/ledger-store-<N>.db`` with an empty log, and copied for each
  run), then ``Ledger(backend.ledger, backend.store).sync()``: it reads the accepted versions in commit order,
  makes each one's log entry (RFC 8785 JSON), hashes it, updates the tiles and calls ``LedgerStorage.append``
  once per batch of 4,096 (one transaction each). Run with the default durability (WAL, ``synchronous=NORMAL``)
  and with ``?synchronous=full``, ``--repeat`` times each, the fastest kept; then again with
  ``Ledger.checkpoint()`` after every batch (Ed25519, and hybrid Ed25519 + ML-DSA-44), timing each checkpoint.
  Also ``LedgerStorage.append`` + ``TreeWriter`` fed the very same entry bytes (no entry building), and
  ``TreeWriter`` alone in memory. Peer, on the same entry bytes:
  ``pymerkle.SqliteTree.append_entries`` per 4,096 (one transaction each), as shipped (rollback journal,
  ``synchronous=FULL``) and with our pragmas (WAL, NORMAL); ``pymerkle.InmemoryTree.append_entries``. The roots
  must agree (both are RFC 9162 trees). Storage per leaf beyond the entry, from ``dbstat``.
  Target: >= 50,000 entries/s durable.
* **b. Proofs at 10^7 entries.** A tree of ``--tree-size`` leaves built once through ``LedgerStorage.append`` +
  ``TreeWriter`` (batches of 4,096; entries shaped exactly like real object entries, about 300 bytes) into
  ``benchmarks/.cache/ledger-tree-<N>.db`` (+ ``.json``: build time, root, storage measured with ``dbstat``).
  Then, for ``--proofs`` random indexes: ``inclusion_path(i, n, TileReader(storage.tiles).subtree)`` (the storage
  read path, a fresh reader), ``verify_inclusion`` (leaf hash included), ``Ledger.prove`` (entry + proof), and
  ``Ledger.checkpoint()`` at that size (reads the tree, verifies the previous checkpoint, signs; the checkpoints are
  kept in memory so that the cached file stays as built). Peer: pymerkle ``InmemoryTree`` and ``SqliteTree``
  built from the first ``--peer-size`` entries of the same tree (10^7 is out of pymerkle's reach in reasonable
  time: its ``SqliteTree`` keeps leaves only and hashes subtrees from them for each proof); ours is measured at
  that size too, on the same indexes. Targets: >= 20,000 proofs/s and verifications/s at 10^7,
  <= 100 bytes of storage per leaf beyond the entry.
* **c. Signatures** per second (cryptography): Ed25519 and ML-DSA-44 sign and verify, the checkpoint note signed
  and opened with each, and ``PublicKey.verify`` as ingest calls it. No peer (pymerkle signs nothing).
* **d. Signed ingest end to end.** A fresh SQLite node per run with a published key, ``--ingest`` real
  indicators signed with it (``sign_object``; the key and the signed objects are cached in ``benchmarks/.cache``),
  ``node.ingest.document(...)`` per ``--doc-size`` objects (parse, validate, canonicalize, verify the signature,
  store), the sequencer logging and signing a checkpoint every second in the background as it does in service,
  then ``node.ledger.sync()``: objects/s (wall) and objects per CPU-second of the process (all its threads: "per
  core"). Runs: unsigned; signed with an Ed25519 key, Ed25519 checkpoints; the same with hybrid checkpoints
  (``Settings(ledger_hybrid=True)``: Ed25519 + ML-DSA-44); signed with a hybrid key (both signatures verified
  per object). ``--repeat`` times in rotating order; the table shows the fastest of each, the hybrid comparison
  the means. Targets: >= 5,000 signed objects/s per core; hybrid checkpoints without measurable loss of ingest
  throughput; one checkpoint a second under load.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import itertools
import json
import os
import platform
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from _corpus import CACHE_DIR, corpus, rate, read_lines, table

from phalanx.config import Settings
from phalanx.errors import Error
from phalanx.identity import Actor, Organization, Role
from phalanx.ledger import HAVE_MLDSA, Ledger, PrivateKey, generate_key, sign_object
from phalanx.ledger._entry import entry_bytes, object_entry
from phalanx.ledger._merkle import inclusion_path, leaf_hash, verify_inclusion
from phalanx.ledger._note import Checkpoint, open_note, sign_note
from phalanx.ledger._tiles import TileReader, TreeWriter
from phalanx.service import Node, to_row
from phalanx.stix import Mode, StixObject, now_micros, parse_document
from phalanx.store import open_backend
from phalanx.store._ledger import Appended, StoredCheckpoint

TARGET_APPENDS = 50_000.0
TARGET_PROOFS = 20_000.0
TARGET_VERIFY = 20_000.0
TARGET_BYTES_PER_LEAF = 100.0
TARGET_INGEST_PER_CORE = 5_000.0
TARGET_CHECKPOINT_INTERVAL = 1.0
HYBRID_NOISE = 0.05
"""A hybrid run within 5 % of the Ed25519 run (or within their run-to-run spread) counts as no measurable loss."""

BATCH = 4096  # Ledger.sync's batch, and the peer's transaction size
ORG_ID = "identity--0b3d3c1e-6a43-4c1f-9a2e-6d1f3e0a5b77"
ORIGIN = "bench.phalanx.example/log"
QUICK = {"appends": 20_000, "tree_size": 1_000_000, "proofs": 2_000, "peer_size": 100_000, "peer_proofs": 500,
         "checkpoints": 20, "ingest": 5_000, "repeat": 1, "crypto": 300}
FULL = {"appends": 200_000, "tree_size": 10_000_000, "proofs": 20_000, "peer_size": 1_000_000, "peer_proofs": 2_000,
        "checkpoints": 50, "ingest": 30_000, "repeat": 3, "crypto": 2_000}


def corpus_lines(count: int) -> list[bytes]:
    """The first ``count`` corpus indicators, from a cached corpus file at least that large if there is one."""
    cached = sorted((int(m.group(1)), f) for f in CACHE_DIR.glob("indicators-*.jsonl")
                    if (m := re.fullmatch(r"indicators-(\d+)\.jsonl", f.name)) and int(m.group(1)) >= count)
    return read_lines(cached[0][1] if cached else corpus(count), count)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def move_db(source: Path, target: Path) -> None:
    for suffix in ("-wal", "-shm", ""):
        if Path(f"{source}{suffix}").exists():
            Path(f"{source}{suffix}").replace(f"{target}{suffix}")


def copy_db(source: Path, target: Path) -> None:
    """Copy a database file and flush the copy to disk, so that the timed run does not pay for its writeback."""
    remove_db(target)
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
            with open(f"{target}{suffix}", "rb+") as copied:
                os.fsync(copied.fileno())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Storage:
    """Bytes per leaf of the ledger's tables, from SQLite's dbstat (pages on disk) and the payloads."""

    leaves: int
    tile_hashes: float = 0.0
    """The tiles' hashes themselves (sum of their lengths)."""
    tile_pages: float = 0.0
    """ledger_tiles on disk (pages, overflow pages included)."""
    entry_rows: float = 0.0
    """ledger_entries on disk minus the entries' bytes: row headers, keys, page slack."""
    entry_index: float = 0.0
    """The ledger_entries_object index (object key -> entry)."""
    entry_bytes: float = 0.0
    """The entries themselves (not counted in the total)."""

    @property
    def beyond_entry(self) -> float:
        return self.tile_pages + self.entry_rows + self.entry_index


def ledger_storage(path: Path, leaves: int) -> Storage:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        # Page by page and summed here: dbstat's aggregate mode wraps its sizes at 2^32 bytes (SQLite 3.40).
        pages = {name: sum(p for (p,) in conn.execute("SELECT pgsize FROM dbstat WHERE name = ?", [name]))
                 for name in ("ledger_tiles", "ledger_entries", "ledger_entries_object")}
        (hashes,) = conn.execute("SELECT coalesce(sum(length(hashes)), 0) FROM ledger_tiles").fetchone()
        (data,) = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM ledger_entries").fetchone()
    finally:
        conn.close()
    n = max(leaves, 1)
    return Storage(leaves, hashes / n, pages.get("ledger_tiles", 0) / n,
                   (pages.get("ledger_entries", 0) - data) / n, pages.get("ledger_entries_object", 0) / n, data / n)


def pymerkle_storage(path: Path, leaves: int) -> float:
    """Bytes per leaf on disk beyond the entry of a pymerkle SqliteTree file (its leaf hash, row, page slack)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = sum(p for (p,) in conn.execute("SELECT pgsize FROM dbstat WHERE name = 'leaf'"))
        (data,) = conn.execute("SELECT coalesce(sum(length(entry)), 0) FROM leaf").fetchone()
    finally:
        conn.close()
    return (pages - data) / max(leaves, 1)


# -- a. durable appends ---------------------------------------------------------------------------------------


def store_db(count: int) -> Path:
    """A SQLite store holding ``count`` real indicators and an empty log, built once and cached."""
    path = CACHE_DIR / f"ledger-store-{count}.db"
    if path.exists():
        return path
    lines = corpus_lines(count)
    partial = CACHE_DIR / f"ledger-store-{count}.{os.getpid()}.tmp.db"
    remove_db(partial)
    print(f"  building {path.name}: {count:,} indicators through store.put_many (once) ...", flush=True)
    started = time.perf_counter()
    backend = open_backend(f"sqlite:///{partial}", upgrade=True)
    try:
        for start in range(0, len(lines), 5_000):
            parsed = parse_document(b"\n".join(lines[start : start + 5_000]) + b"\n", mode=Mode.STRICT)
            rows = [to_row(p) for p in parsed if isinstance(p, StixObject)]
            if len(rows) != len(parsed):
                raise SystemExit("the corpus has objects the strict parser refuses")
            backend.store.put_many("bench", rows, contributor=ORG_ID)
    finally:
        backend.close()
    move_db(partial, path)
    print(f"  built in {time.perf_counter() - started:,.1f} s", flush=True)
    return path


@dataclass
class SyncRun:
    label: str
    durability: str
    entries: int
    seconds: float
    """Time in Ledger.sync only."""
    checkpoints: list[float] = field(default_factory=list)
    """Seconds per Ledger.checkpoint() (after each batch), when asked for."""
    root: bytes = b""
    storage: Storage | None = None
    reading: float = 0.0
    """Time in store.accepted_since (reading the versions to log)."""
    writing: float = 0.0
    """Time in LedgerStorage.append (the SQL transaction, on the writer thread)."""

    @property
    def rate(self) -> float:
        return rate(self.entries, self.seconds)


def run_sync(source: Path, work: Path, *, label: str, synchronous: str = "normal", checkpoints: bool = False,
             hybrid: bool = False, profile: bool = False) -> SyncRun:
    db = work / "sync.db"
    copy_db(source, db)
    url = f"sqlite:///{db}" + ("?synchronous=full" if synchronous == "full" else "")
    backend = open_backend(url)
    spent = {"read": 0.0, "write": 0.0}

    def stopwatch(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            begin = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[what] += time.perf_counter() - begin
        return timed

    try:
        # Split the time as bench_import.py does: wrap the instances' methods the ledger calls.
        backend.store.accepted_since = stopwatch(backend.store.accepted_since, "read")  # type: ignore[method-assign]
        backend.ledger.append = stopwatch(backend.ledger.append, "write")  # type: ignore[method-assign]
        ledger = Ledger(backend.ledger, backend.store, origin=ORIGIN, hybrid=hybrid)  # makes the node key
        if hybrid and len(ledger.signers) < 2:
            raise SystemExit("this cryptography build has no ML-DSA-44: no hybrid checkpoints")
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(ledger.sync)
            for order in ("cumulative", "tottime"):
                print(f"\n--- cProfile of Ledger.sync, top 20 by {order} ---")
                pstats.Stats(profiler).strip_dirs().sort_stats(order).print_stats(20)
            raise SystemExit(0)
        timings: list[float] = []
        if not checkpoints:
            begin = time.perf_counter()
            appended = ledger.sync()
            seconds = time.perf_counter() - begin
        else:
            appended, seconds = 0, 0.0
            while True:
                begin = time.perf_counter()
                step = ledger.sync(limit=BATCH)
                seconds += time.perf_counter() - begin
                if not step:
                    break
                appended += step
                begin = time.perf_counter()
                ledger.checkpoint()
                timings.append(time.perf_counter() - begin)
        root = ledger.root(appended)
    finally:
        backend.close()
    return SyncRun(label, synchronous.upper(), appended, seconds, timings, root, ledger_storage(db, appended),
                   spent["read"], spent["write"])


def logged_entries(db: Path) -> list[tuple[str, bytes]]:
    """(object id, leaf data) of every entry of a synced copy, in order."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        datas = [bytes(d) for (d,) in conn.execute("SELECT data FROM ledger_entries ORDER BY idx")]
    finally:
        conn.close()
    return [(orjson.loads(d)["id"], d) for d in datas]


def append_ready(entries: list[tuple[str, bytes]], work: Path) -> float:
    """LedgerStorage.append + TreeWriter, as Ledger._append does, fed ready entry bytes: seconds."""
    db = work / "ready.db"
    remove_db(db)
    backend = open_backend(f"sqlite:///{db}", upgrade=True)
    try:
        storage = backend.ledger
        writer = TreeWriter(0, {})
        begin = time.perf_counter()
        for start in range(0, len(entries), BATCH):
            chunk = entries[start : start + BATCH]
            tiles = writer.append(leaf_hash(d) for _, d in chunk)
            storage.append(start, [Appended(oid, d) for oid, d in chunk], tiles)
        seconds = time.perf_counter() - begin
    finally:
        backend.close()
    remove_db(db)
    return seconds


def tree_in_memory(datas: list[bytes]) -> float:
    writer = TreeWriter(0, {})
    begin = time.perf_counter()
    for start in range(0, len(datas), BATCH):
        writer.append(leaf_hash(d) for d in datas[start : start + BATCH])
    return time.perf_counter() - begin


def pymerkle_sqlite(datas: list[bytes], path: Path, *, wal: bool, chunk: int = BATCH) -> tuple[float, bytes, Any]:
    """(seconds, root, tree) for appending ``datas`` to a new SqliteTree, ``chunk`` entries per transaction."""
    import pymerkle

    remove_db(path)
    tree = pymerkle.SqliteTree(str(path), algorithm="sha256")
    if wal:
        tree.con.execute("PRAGMA journal_mode=WAL")
        tree.con.execute("PRAGMA synchronous=NORMAL")
    begin = time.perf_counter()
    for start in range(0, len(datas), chunk):
        tree.append_entries(datas[start : start + chunk])
    seconds = time.perf_counter() - begin
    return seconds, tree.get_root(), tree


def pymerkle_memory(datas: list[bytes]) -> tuple[float, bytes, Any]:
    import pymerkle

    tree = pymerkle.InmemoryTree(algorithm="sha256")
    begin = time.perf_counter()
    tree.append_entries(datas)
    return time.perf_counter() - begin, tree.get_root(), tree


def part_a(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    n = args.appends
    print(f"== a. durable appends: Ledger.sync over {n:,} stored versions ==", flush=True)
    source = store_db(n)
    if args.profile:
        run_sync(source, work, label="profile", profile=True)
    plain: dict[str, list[SyncRun]] = {"normal": [], "full": []}
    for _ in range(args.repeat):  # the fastest of --repeat runs of each, alternating (the machine is shared)
        for synchronous, found in plain.items():
            found.append(run_sync(source, work, label="phalanx Ledger.sync", synchronous=synchronous))
    print("  Ledger.sync runs, entries/s: " + "; ".join(
        f"{k.upper()} " + ", ".join(f"{r.rate:,.0f}" for r in v) for k, v in plain.items()), flush=True)
    runs = [
        max(plain["normal"], key=lambda r: r.rate),
        max(plain["full"], key=lambda r: r.rate),
        run_sync(source, work, label="phalanx Ledger.sync + checkpoint (Ed25519) per batch", checkpoints=True),
    ]
    if HAVE_MLDSA:
        runs.append(run_sync(source, work, label="phalanx Ledger.sync + checkpoint (hybrid) per batch",
                             checkpoints=True, hybrid=True))
    ours = runs[0]
    if any(r.root != ours.root or r.entries != n for r in runs):
        raise SystemExit("the sync runs disagree on the log (roots or sizes differ)")
    # The same entries, for the rows fed ready-made bytes: read back from the last run's copy (same root).
    entries = logged_entries(work / "sync.db")
    remove_db(work / "sync.db")
    datas = [d for _, d in entries]
    ready_seconds = append_ready(entries, work)
    memory_seconds = tree_in_memory(datas)

    print("  pymerkle on the same entry bytes ...", flush=True)
    peer_db = work / "pymerkle.db"
    shipped_s, shipped_root, tree = pymerkle_sqlite(datas, peer_db, wal=False)
    tree.close()
    shipped_bytes = pymerkle_storage(peer_db, n)
    wal_s, wal_root, tree = pymerkle_sqlite(datas, peer_db, wal=True)
    tree.close()
    wal_bytes = pymerkle_storage(peer_db, n)
    remove_db(peer_db)
    mem_s, mem_root, tree = pymerkle_memory(datas)
    del tree
    roots_agree = shipped_root == wal_root == mem_root == ours.root

    full = runs[1]
    rows: list[list[str]] = []

    def row(engine: str, durability: str, seconds: float, mine: float) -> None:
        r = rate(n, seconds)
        rows.append([engine, durability, f"{n:,}", f"{seconds:.2f}", f"{r:,.0f}", f"{mine / r:,.2f}x"])

    row("phalanx Ledger.sync (entries built from the store)", "WAL, NORMAL", ours.seconds, ours.rate)
    row("phalanx LedgerStorage.append + TreeWriter, ready bytes", "WAL, NORMAL", ready_seconds, ours.rate)
    row("pymerkle SqliteTree.append_entries per 4,096", "WAL, NORMAL", wal_s, ours.rate)
    row("phalanx Ledger.sync", "WAL, FULL", full.seconds, full.rate)
    row("pymerkle SqliteTree.append_entries per 4,096 (as shipped)", "rollback, FULL", shipped_s, full.rate)
    row("phalanx TreeWriter (leaf hash + tiles, no storage)", "memory", memory_seconds, rate(n, memory_seconds))
    row("pymerkle InmemoryTree.append_entries", "memory", mem_s, rate(n, memory_seconds))
    print()
    print(table(["engine", "durability", "entries", "seconds", "entries/s", "ours/this"], rows))
    print("(ours/this: the phalanx row of the same durability over this row; the phalanx rows compare with the "
          "first of their group)")
    print(f"roots agree (phalanx, pymerkle x3): {'yes' if roots_agree else 'NO'}; "
          f"entries average {sum(map(len, datas)) / n:,.0f} bytes")
    us = 1e6 / n
    print(f"where Ledger.sync's time goes, per entry: {ours.reading * us:,.1f} us reading the versions "
          f"(store.accepted_since), {(ours.seconds - ours.reading - ours.writing) * us:,.1f} us making entries, "
          f"hashing, tiles, {ours.writing * us:,.1f} us in LedgerStorage.append (SQL); "
          f"{ours.seconds * us:,.1f} us in all, the target allows {1e6 / TARGET_APPENDS:,.0f} us")

    ck_rows = []
    for r in runs[2:]:
        ck_rows.append([r.label, f"{len(r.checkpoints):,}", ms(statistics.median(r.checkpoints)),
                        ms(pct(r.checkpoints, 0.95)), ms(max(r.checkpoints)), f"{r.rate:,.0f}",
                        f"{rate(r.entries, r.seconds + sum(r.checkpoints)):,.0f}"])
    print()
    print(table(["with a checkpoint after every 4,096", "checkpoints", "median ms", "p95 ms", "max ms",
                 "sync entries/s", "with checkpoints"], ck_rows))

    st = ours.storage
    assert st is not None
    print()
    print(f"storage per leaf (dbstat, {n:,} leaves): tiles {st.tile_pages:,.1f} B on disk ({st.tile_hashes:,.1f} of "
          f"hashes) + entry rows {st.entry_rows:,.1f} + object index {st.entry_index:,.1f} = "
          f"{st.beyond_entry:,.1f} B beyond the entry ({st.entry_bytes:,.0f} B); pymerkle SqliteTree "
          f"{wal_bytes:,.1f} B (WAL) / {shipped_bytes:,.1f} B (shipped), leaves only (no interior nodes)")
    print(f"\nours (Ledger.sync, WAL NORMAL)   {ours.rate:>10,.0f} entries/s   target >= {TARGET_APPENDS:,.0f}/s: "
          f"{verdict(ours.rate >= TARGET_APPENDS)}")
    print(f"ours (Ledger.sync, WAL FULL)     {full.rate:>10,.0f} entries/s   target >= {TARGET_APPENDS:,.0f}/s: "
          f"{verdict(full.rate >= TARGET_APPENDS)}")
    return {"sync": ours.rate, "sync_full": full.rate, "ready": rate(n, ready_seconds),
            "pymerkle_wal": rate(n, wal_s), "pymerkle_shipped": rate(n, shipped_s),
            "checkpoint_ms": {r.label: statistics.median(r.checkpoints) * 1000 for r in runs[2:]}}


# -- b. proofs at 10^7 ----------------------------------------------------------------------------------------

_CONTRIBUTOR = "identity--6f0d1c2e-7b7e-4c55-9a57-2d6c5e1f9b21"
_BASE_MICROS = 1_714_564_800_000_000  # 2024-05-01T12:00:00Z
_TEMPLATE = ('{"accepted":"%s","contributor":"' + _CONTRIBUTOR + '","digest":"sha256:%s","id":"%s",'
             '"kind":"object","version":"2024-05-01T12:00:00.000000Z"}')


def synthetic_entry(i: int) -> tuple[str, bytes]:
    """Entry ``i`` of the big tree: an object entry like the ones Ledger.sync writes (same fields, same size)."""
    h = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
    oid = f"indicator--{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    micros = _BASE_MICROS + i
    minute, second = (micros // 60_000_000) % 60, (micros // 1_000_000) % 60
    accepted = f"2024-05-01T12:{minute:02d}:{second:02d}.{micros % 1_000_000:06d}Z"
    return oid, (_TEMPLATE % (accepted, hashlib.sha256(h.encode()).hexdigest(), oid)).encode()


def _check_template() -> None:
    oid, data = synthetic_entry(12_345)
    entry = orjson.loads(data)
    real = entry_bytes(object_entry(object_id=oid, version=_BASE_MICROS, digest=entry["digest"][7:],
                                    contributor=_CONTRIBUTOR, accepted=_BASE_MICROS + 12_345, canonical_json=b"{}"))
    if real != data:
        raise SystemExit(f"the synthetic entries no longer match object_entry's form:\n{real!r}\n{data!r}")


_STORAGE_METHOD = "dbstat pages summed"


def tree_db(size: int) -> tuple[Path, dict[str, Any]]:
    """The cached tree of ``size`` leaves (built once through LedgerStorage.append + TreeWriter) and its facts."""
    path = CACHE_DIR / f"ledger-tree-{size}.db"
    facts_path = CACHE_DIR / f"ledger-tree-{size}.json"
    if path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
        if facts.get("storage_method") != _STORAGE_METHOD:  # measured by an older version of this script
            facts["storage"] = ledger_storage(path, size).__dict__
            facts["storage_method"] = _STORAGE_METHOD
            facts_path.write_text(json.dumps(facts, indent=2))
        return path, facts
    _check_template()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = CACHE_DIR / f"ledger-tree-{size}.{os.getpid()}.tmp.db"
    remove_db(partial)
    print(f"  building {path.name}: {size:,} leaves through LedgerStorage.append + TreeWriter, batches of "
          f"{BATCH:,} (once) ...", flush=True)
    backend = open_backend(f"sqlite:///{partial}", upgrade=True)
    making = appending = 0.0
    started = time.perf_counter()
    try:
        storage = backend.ledger
        writer = TreeWriter(0, {})
        report = max(size // 10, BATCH)
        for start in range(0, size, BATCH):
            begin = time.perf_counter()
            chunk = [synthetic_entry(i) for i in range(start, min(start + BATCH, size))]
            middle = time.perf_counter()
            tiles = writer.append(leaf_hash(d) for _, d in chunk)
            storage.append(start, [Appended(oid, d) for oid, d in chunk], tiles)
            end = time.perf_counter()
            making += middle - begin
            appending += end - middle
            done = start + len(chunk)
            if done // report != start // report or done == size:
                print(f"    {done:>12,} leaves  {end - started:7.1f} s  appends {rate(done, appending):,.0f}/s",
                      flush=True)
        ledger = Ledger(storage, backend.store, origin=ORIGIN)  # the node key, for Ledger.prove later
        root = ledger.root(size)
    finally:
        backend.close()
    stats = ledger_storage(partial, size)
    move_db(partial, path)
    facts = {"size": size, "append_seconds": appending, "entry_seconds": making, "root": root.hex(),
             "storage": stats.__dict__, "storage_method": _STORAGE_METHOD, "built": time.strftime("%Y-%m-%d %H:%M:%S")}
    facts_path.write_text(json.dumps(facts, indent=2))
    print(f"  built in {time.perf_counter() - started:,.0f} s ({path.stat().st_size / 1e9:,.2f} GB)", flush=True)
    return path, facts


class _Probe:
    """The cached tree's storage, for timing ``Ledger.checkpoint`` without writing into the cached file: tiles,
    entries and the rest are read from SQLite; the state's size is set by the caller, and the node key and the
    checkpoints are kept in memory (``add_checkpoint`` is one small row in service: part a times it for real)."""

    def __init__(self, real: Any, size: int) -> None:
        self._real = real
        self.size = size
        self._key: tuple[str, str] | None = None
        self._latest: StoredCheckpoint | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def state(self) -> tuple[int, int]:
        return self.size, 0

    def node_key(self) -> tuple[str, str] | None:
        return self._key

    def set_node_key(self, signer: str, verifier: str) -> None:
        self._key = (signer, verifier)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._latest

    def add_checkpoint(self, checkpoint: StoredCheckpoint, *, previous: int | None) -> None:
        self._latest = checkpoint


def checkpoints_at(storage: Any, store: Any, size: int, count: int, *, hybrid: bool) -> list[float]:
    """Seconds per Ledger.checkpoint() at sizes size - count .. size (each one after the previous)."""
    probe = _Probe(storage, size - count - 1)
    ledger = Ledger(probe, store, origin=ORIGIN, hybrid=hybrid)
    ledger.checkpoint()  # the first has no previous one to check: untimed
    timings = []
    for k in range(count):
        probe.size = size - count + k + 1
        begin = time.perf_counter()
        ledger.checkpoint()
        timings.append(time.perf_counter() - begin)
    return timings


def time_proofs(reader: TileReader, indexes: list[int], size: int) -> tuple[float, list[list[bytes]]]:
    """One proof at a time, as ``Ledger.prove`` makes them (``TileReader.inclusion``, the RFC's PATH from the
    stored nodes); checked against ``inclusion_path`` with the reader as the oracle on a sample."""
    begin = time.perf_counter()
    paths = [reader.inclusion(i, size) for i in indexes]
    elapsed = time.perf_counter() - begin
    for i, path in list(zip(indexes, paths, strict=True))[:200]:
        assert path == inclusion_path(i, size, reader.subtree)
    return elapsed, paths


def time_batched_proofs(reader: TileReader, indexes: list[int], size: int, batch: int = 100) -> float:
    """Proofs 100 at a time (``TileReader.inclusions``, ``Ledger.inclusions``): one read for their tiles."""
    begin = time.perf_counter()
    for start in range(0, len(indexes), batch):
        reader.inclusions(indexes[start : start + batch], size)
    return time.perf_counter() - begin


def time_verify(indexes: list[int], size: int, datas: list[bytes], paths: list[list[bytes]], root: bytes) -> float:
    begin = time.perf_counter()
    for i, d, p in zip(indexes, datas, paths, strict=True):
        verify_inclusion(i, size, leaf_hash(d), p, root)
    return time.perf_counter() - begin


def pymerkle_proofs(tree: Any, indexes: list[int], size: int, budget: float) -> tuple[int, float, list[Any]]:
    """(proofs made, seconds, proofs) for 0-based ``indexes``, stopping after ``budget`` seconds."""
    proofs = []
    begin = time.perf_counter()
    for i in indexes:
        proofs.append(tree.prove_inclusion(i + 1, size))
        if time.perf_counter() - begin > budget:
            break
    return len(proofs), time.perf_counter() - begin, proofs


def pymerkle_verify(proofs: list[Any], indexes: list[int], datas: list[bytes], root: bytes) -> float:
    import pymerkle

    begin = time.perf_counter()
    for proof, i in zip(proofs, indexes, strict=False):
        pymerkle.verify_inclusion(leaf_hash(datas[i]), root, proof)
    return time.perf_counter() - begin


def part_b(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    size = args.tree_size
    print(f"== b. proofs and storage at {size:,} entries ==", flush=True)
    path, facts = tree_db(size)
    st = Storage(**facts["storage"])
    rng = random.Random(args.seed)
    backend = open_backend(f"sqlite:///{path}")
    try:
        storage = backend.ledger
        if storage.state()[0] != size:
            raise SystemExit(f"{path} holds {storage.state()[0]:,} leaves, not {size:,}: delete it to rebuild")
        reads = [0, 0]

        def counted(keys: list[int]) -> dict[int, bytes]:
            reads[0] += 1
            reads[1] += len(keys)
            return storage.tiles(keys)

        reader = TileReader(counted)  # fresh: nothing cached yet
        root = reader.root(size)
        if root.hex() != facts["root"]:
            raise SystemExit(f"{path} does not have the root it was built with: delete it to rebuild")
        indexes = [rng.randrange(size) for _ in range(args.proofs)]
        reads[:] = [0, 0]
        proof_s, paths = time_proofs(reader, indexes, size)
        tile_reads = (reads[0] / len(indexes), reads[1] / len(indexes))
        batched_s = time_batched_proofs(TileReader(storage.tiles), indexes, size)
        datas = [storage.entries(i, i + 1)[0] for i in indexes]
        verify_s = time_verify(indexes, size, datas, paths, root)
        ledger = Ledger(storage, backend.store, origin=ORIGIN)
        some = indexes[: max(1, len(indexes) // 4)]
        begin = time.perf_counter()
        for i in some:
            ledger.prove(i, size)
        prove_s = time.perf_counter() - begin
        ck_ed = checkpoints_at(storage, backend.store, size, args.checkpoints, hybrid=False)
        ck_hy = checkpoints_at(storage, backend.store, size, args.checkpoints, hybrid=True) if HAVE_MLDSA else []

        peer_size = min(args.peer_size, size)
        peer_indexes = [rng.randrange(peer_size) for _ in range(args.peer_proofs)]
        peer_reader = TileReader(storage.tiles)
        peer_root = peer_reader.root(peer_size)
        ours_peer_s, ours_peer_paths = time_proofs(peer_reader, peer_indexes, peer_size)
        print(f"  reading the first {peer_size:,} entries for pymerkle ...", flush=True)
        peer_datas = storage.entries(0, peer_size)
    finally:
        backend.close()
    ours_peer_verify_s = time_verify(peer_indexes, peer_size, [peer_datas[i] for i in peer_indexes],
                                     ours_peer_paths, peer_root)

    print(f"  pymerkle InmemoryTree and SqliteTree (WAL, NORMAL) with {peer_size:,} leaves ...", flush=True)
    peers: list[tuple[str, float, int, float, float]] = []  # name, build s, proofs, proof s, verify s
    mem_s, mem_root, tree = pymerkle_memory(peer_datas)
    made, p_s, proofs = pymerkle_proofs(tree, peer_indexes, peer_size, args.peer_budget)
    verify_s = pymerkle_verify(proofs, peer_indexes, peer_datas, mem_root)
    peers.append(("pymerkle InmemoryTree", mem_s, made, p_s, verify_s))
    del tree, proofs
    sql_s, sql_root, tree = pymerkle_sqlite(peer_datas, work / "pymerkle-peer.db", wal=True, chunk=100_000)
    made, p_s, proofs = pymerkle_proofs(tree, peer_indexes, peer_size, args.peer_budget)
    verify_s = pymerkle_verify(proofs, peer_indexes, peer_datas, sql_root)
    peers.append(("pymerkle SqliteTree", sql_s, made, p_s, verify_s))
    tree.close()
    remove_db(work / "pymerkle-peer.db")
    roots_agree = mem_root == sql_root == peer_root

    n_proofs, n_peer = len(indexes), len(peer_indexes)
    ours_rate, ours_verify = rate(n_proofs, proof_s), rate(n_proofs, verify_s)
    ours_peer_rate, ours_peer_verify = rate(n_peer, ours_peer_s), rate(n_peer, ours_peer_verify_s)
    rows = [
        [f"phalanx TileReader.inclusion (SQLite tiles), {size:,}", f"{n_proofs:,}", f"{ours_rate:,.0f}",
         f"{ours_verify:,.0f}", "", ""],
        [f"phalanx TileReader.inclusions, 100 at a time, {size:,}", f"{n_proofs:,}",
         f"{rate(n_proofs, batched_s):,.0f}", "", "", ""],
        [f"phalanx Ledger.prove (entry + proof), {size:,}", f"{len(some):,}", f"{rate(len(some), prove_s):,.0f}", "",
         "", ""],
        [f"phalanx TileReader.inclusion, {peer_size:,}", f"{n_peer:,}", f"{ours_peer_rate:,.0f}",
         f"{ours_peer_verify:,.0f}", "1.0x", "1.0x"],
    ]
    for name, build_s, made, p_s, v_s in peers:
        p_rate, v_rate = rate(made, p_s), rate(made, v_s)
        rows.append([f"{name}, {peer_size:,} (built at {rate(peer_size, build_s):,.0f} appends/s)", f"{made:,}",
                     f"{p_rate:,.0f}", f"{v_rate:,.0f}", f"{ours_peer_rate / p_rate:,.1f}x",
                     f"{ours_peer_verify / v_rate:,.1f}x"])
    print()
    print(table(["engine, tree size", "proofs", "proofs/s", "verifications/s", "ours/this proofs",
                 "ours/this verify"], rows))
    print(f"(same random indexes for every engine at {peer_size:,}; pymerkle stops after {args.peer_budget:.0f} s; "
          f"verification includes the leaf hash) roots agree: {'yes' if roots_agree else 'NO'}")
    print(f"at {size:,}: {tile_reads[0]:.2f} SQLite tile reads ({tile_reads[1]:.2f} tiles) per proof, "
          f"{1e6 / ours_rate:,.0f} us per proof; the target allows {1e6 / TARGET_PROOFS:,.0f} us")

    ck_rows = [[f"Ledger.checkpoint() at {size:,}, {label}", f"{len(t):,}", ms(statistics.median(t)),
                ms(pct(t, 0.95)), ms(max(t))] for label, t in (("Ed25519", ck_ed), ("Ed25519 + ML-DSA-44", ck_hy)) if t]
    print()
    print(table(["checkpoint (root from tiles, previous note verified, signed)", "count", "median ms", "p95 ms",
                 "max ms"], ck_rows))

    print()
    print(f"tree built once: {facts['size']:,} leaves through LedgerStorage.append + TreeWriter at "
          f"{rate(facts['size'], facts['append_seconds']):,.0f} appends/s (entry making excluded; {facts['built']})")
    print(f"storage per leaf (dbstat): tiles {st.tile_pages:,.1f} B on disk ({st.tile_hashes:,.1f} of hashes) + "
          f"entry rows {st.entry_rows:,.1f} + object index {st.entry_index:,.1f} = {st.beyond_entry:,.1f} B beyond "
          f"the entry ({st.entry_bytes:,.0f} B)")
    batched_rate = rate(n_proofs, batched_s)
    print(f"\nours proofs/s at {size:,}          {ours_rate:>10,.0f}   target >= {TARGET_PROOFS:,.0f}/s: "
          f"{verdict(ours_rate >= TARGET_PROOFS)} (one at a time)")
    print(f"ours proofs/s at {size:,}, batched {batched_rate:>9,.0f}   target >= {TARGET_PROOFS:,.0f}/s: "
          f"{verdict(batched_rate >= TARGET_PROOFS)} (100 at a time)")
    print(f"ours verifications/s at {size:,}   {ours_verify:>10,.0f}   target >= {TARGET_VERIFY:,.0f}/s: "
          f"{verdict(ours_verify >= TARGET_VERIFY)}")
    tree_and_index = st.tile_pages + st.entry_index
    print(f"ours bytes per leaf, the tree       {st.tile_pages:>10,.1f}   target <= {TARGET_BYTES_PER_LEAF:,.0f}: "
          f"{verdict(st.tile_pages <= TARGET_BYTES_PER_LEAF)} (the tiles, on disk)")
    print(f"ours bytes per leaf beyond entry    {tree_and_index:>10,.1f}   target <= {TARGET_BYTES_PER_LEAF:,.0f}: "
          f"{verdict(tree_and_index <= TARGET_BYTES_PER_LEAF)} (tiles + the index finding an object's entries)")
    print(f"  and with SQLite's own overhead of the entry rows (cell headers, page slack): {st.beyond_entry:,.1f}")
    return {"proofs": ours_rate, "verify": ours_verify, "bytes_per_leaf": st.beyond_entry,
            "checkpoint_ms": statistics.median(ck_ed) * 1000}


# -- c. signatures --------------------------------------------------------------------------------------------


def per_second(fn: Callable[[], object], count: int) -> float:
    fn()
    begin = time.perf_counter()
    for _ in range(count):
        fn()
    return rate(count, time.perf_counter() - begin)


def part_c(args: argparse.Namespace) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from phalanx.ledger._note import generate_ed25519, generate_mldsa44, signer_from_key, verifier_from_key

    count = args.crypto
    print(f"== c. signatures per second (cryptography, one core, {count:,} each) ==", flush=True)
    message = corpus_lines(1)[0]  # one real indicator, about 400 bytes
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_pub = ed.public_key()
    ed_sig = ed.sign(message)
    rows = [["Ed25519", f"{len(message)}", f"{per_second(lambda: ed.sign(message), count):,.0f}",
             f"{per_second(lambda: ed_pub.verify(ed_sig, message), count):,.0f}"]]
    if HAVE_MLDSA:
        from cryptography.hazmat.primitives.asymmetric import mldsa

        ml = mldsa.MLDSA44PrivateKey.generate()
        ml_pub = ml.public_key()
        ml_sig = ml.sign(message)
        rows.append(["ML-DSA-44", f"{len(message)}", f"{per_second(lambda: ml.sign(message), count):,.0f}",
                     f"{per_second(lambda: ml_pub.verify(ml_sig, message), count):,.0f}"])
    body = Checkpoint(ORIGIN, 10_000_000, hashlib.sha256(b"root").digest()).body()
    pairs = [generate_ed25519(ORIGIN)] + ([generate_mldsa44(ORIGIN)] if HAVE_MLDSA else [])
    signers = [signer_from_key(s) for s, _ in pairs]
    verifiers = [verifier_from_key(v) for _, v in pairs]
    for label, k in (("checkpoint note, Ed25519", 1), ("checkpoint note, Ed25519 + ML-DSA-44", 2)):
        if k > len(signers):
            continue
        note = sign_note(body, *signers[:k])
        rows.append([label, f"{len(body)}", f"{per_second(partial(sign_note, body, *signers[:k]), count):,.0f}",
                     f"{per_second(partial(open_note, note, verifiers[:k]), count):,.0f}"])
    for hybrid in (False, True):
        if hybrid and not HAVE_MLDSA:
            continue
        key = generate_key(ORG_ID, now=now_micros(), hybrid=hybrid)
        ed_s, ml_s = key.sign(message)
        rows.append([f"phalanx PrivateKey.sign / PublicKey.verify ({key.public.algorithm})", f"{len(message)}",
                     f"{per_second(partial(key.sign, message), count):,.0f}",
                     f"{per_second(partial(key.public.verify, message, ed_s, ml_s), count):,.0f}"])
    print()
    print(table(["scheme", "message bytes", "signs/s", "verifies/s"], rows))


# -- d. signed ingest end to end ------------------------------------------------------------------------------


@dataclass
class IngestRun:
    label: str
    objects: int
    accepted: int
    seconds: float
    cpu: float
    logged: int
    checkpoint_calls: list[float]
    signed_sizes: list[int]
    intervals: list[float]
    """Seconds between consecutive checkpoints signed during the run."""
    ledger_seconds: float
    signers: int

    @property
    def rate(self) -> float:
        return rate(self.objects, self.seconds)

    @property
    def per_cpu(self) -> float:
        return rate(self.objects, self.cpu)


def ingest_run(label: str, docs: list[bytes], objects: int, key: PrivateKey | None, org: Organization, work: Path,
               *, hybrid: bool) -> IngestRun:
    db = work / "ingest.db"
    remove_db(db)
    node = Node.open(Settings(database_url=f"sqlite:///{db}", ledger_hybrid=hybrid, ledger_origin=ORIGIN),
                     upgrade=True)
    calls: list[float] = []
    in_ledger = [0.0]
    try:
        node.admin.add_community("bench")
        node.backend.directory.add_organization(org)
        node.admin.join("bench", org.id)
        actor = Actor(org.id, Role.ADMIN)
        if key is not None:
            node.provenance.publish(None, key.public)
        ledger = node.ledger
        checkpoint, sync = ledger.checkpoint, ledger.sync

        def timed_checkpoint() -> StoredCheckpoint:
            begin = time.perf_counter()
            try:
                return checkpoint()
            finally:
                calls.append(time.perf_counter() - begin)
                in_ledger[0] += calls[-1]

        def timed_sync(*, limit: int | None = None) -> int:
            begin = time.perf_counter()
            try:
                return sync(limit=limit)
            finally:
                in_ledger[0] += time.perf_counter() - begin

        ledger.checkpoint = timed_checkpoint  # type: ignore[method-assign]
        ledger.sync = timed_sync  # type: ignore[method-assign]
        start_size = ledger.size()
        accepted = 0
        cpu0 = time.process_time()
        begin = time.perf_counter()
        for doc in docs:
            accepted += sum(1 for r in node.ingest.document(actor, "bench", doc) if r.outcome == "accepted")
        ledger.sync()
        seconds = time.perf_counter() - begin
        cpu = time.process_time() - cpu0
        ended = now_micros()
        logged = ledger.size() - start_size
        signers = len(ledger.signers)
    finally:
        node.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        stamps = conn.execute("SELECT size, created FROM ledger_checkpoints ORDER BY size").fetchall()
    finally:
        conn.close()
    remove_db(db)
    during = [(size, created) for size, created in stamps if created <= ended]  # not the one close() signs
    intervals = [(b[1] - a[1]) / 1e6 for a, b in itertools.pairwise(during)]
    return IngestRun(label, objects, accepted, seconds, cpu, logged, calls, [s for s, _ in during], intervals,
                     in_ledger[0], signers)


def signed_corpus(lines: list[bytes], *, hybrid: bool) -> tuple[list[bytes], PrivateKey, float | None]:
    """The lines signed with the bench key of that algorithm ((signed lines, key, signatures/s or None when
    cached); key and signed lines are kept in benchmarks/.cache: hybrid signing is slow)."""
    key_path = CACHE_DIR / f"ledger-key-{'hybrid' if hybrid else 'ed25519'}.json"
    try:
        key = PrivateKey.from_file(key_path.read_bytes())
    except (OSError, Error):  # none yet, or made by an older version of the key format
        key = generate_key(ORG_ID, now=now_micros() - 60_000_000, hybrid=hybrid)
        key_path.write_bytes(key.to_file())
    data_path = CACHE_DIR / f"ledger-signed-{key.key_id}-{len(lines)}.jsonl"
    if data_path.exists():
        return read_lines(data_path), key, None
    print(f"  signing {len(lines):,} objects with a {key.public.algorithm} key (once) ...", flush=True)
    begin = time.perf_counter()
    signed = [orjson.dumps(sign_object(orjson.loads(line), key)) for line in lines]
    speed = rate(len(lines), time.perf_counter() - begin)
    partial_path = data_path.with_suffix(f".{os.getpid()}.tmp")
    partial_path.write_bytes(b"\n".join(signed) + b"\n")
    partial_path.replace(data_path)
    return signed, key, speed


def hybrid_checkpoint_cost(count: int = 300) -> float:
    """Seconds a hybrid checkpoint adds to an Ed25519 one: signing the note, and opening the previous one."""
    from phalanx.ledger._note import generate_ed25519, generate_mldsa44, signer_from_key, verifier_from_key

    body = Checkpoint(ORIGIN, 10_000_000, hashlib.sha256(b"root").digest()).body()
    pairs = [generate_ed25519(ORIGIN), generate_mldsa44(ORIGIN)]
    signers = [signer_from_key(k) for k, _ in pairs]
    verifiers = [verifier_from_key(v) for _, v in pairs]
    cost = []
    for k in (1, 2):
        note = sign_note(body, *signers[:k])
        cost.append(1 / per_second(partial(sign_note, body, *signers[:k]), count)
                    + 1 / per_second(partial(open_note, note, verifiers[:k]), count))
    return cost[1] - cost[0]


UNSIGNED = "unsigned, Ed25519 checkpoints"
SIGNED = "signed (Ed25519 key), Ed25519 checkpoints"
SIGNED_HYBRID_CHECKPOINTS = "signed (Ed25519 key), hybrid checkpoints"
HYBRID_KEY = "signed (hybrid key), Ed25519 checkpoints"


def part_d(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    count = args.ingest
    print(f"== d. ingest end to end: {count:,} objects per run, documents of {args.doc_size:,} ==", flush=True)
    lines = corpus_lines(count)
    org = Organization(id=ORG_ID, name="Bench Org", sectors=(), created=now_micros())
    signed, key, sign_rate = signed_corpus(lines, hybrid=False)

    def docs(items: list[bytes]) -> list[bytes]:
        return [b"\n".join(items[s : s + args.doc_size]) + b"\n" for s in range(0, len(items), args.doc_size)]

    variants: list[tuple[str, list[bytes], PrivateKey | None, bool]] = [
        (UNSIGNED, docs(lines), None, False),
        (SIGNED, docs(signed), key, False),
    ]
    if HAVE_MLDSA:
        hybrid_signed, hybrid_key, _ = signed_corpus(lines, hybrid=True)
        variants.append((SIGNED_HYBRID_CHECKPOINTS, docs(signed), key, True))
        variants.append((HYBRID_KEY, docs(hybrid_signed), hybrid_key, False))
    results: dict[str, list[IngestRun]] = {v[0]: [] for v in variants}
    for r in range(args.repeat):
        order = variants[r % len(variants):] + variants[: r % len(variants)]
        for label, documents, k, hybrid in order:
            run = ingest_run(label, documents, count, k, org, work, hybrid=hybrid)
            if run.accepted != count or run.logged < count:
                raise SystemExit(f"{label}: accepted {run.accepted:,} and logged {run.logged:,} of {count:,}")
            if hybrid and run.signers < 2:
                raise SystemExit(f"{label}: the node signs its checkpoints with {run.signers} key(s), not 2")
            results[label].append(run)
            print(f"  {label}: {run.rate:,.0f} objects/s, {run.per_cpu:,.0f} per CPU-second, "
                  f"{len(run.signed_sizes)} checkpoints", flush=True)

    best = {label: max(runs, key=lambda x: x.rate) for label, runs in results.items()}
    rows = []
    for label, runs in results.items():
        b = best[label]
        ck = b.checkpoint_calls
        rows.append([label, f"{b.objects:,}", f"{b.seconds:.2f}", f"{b.rate:,.0f}", f"{b.per_cpu:,.0f}",
                     f"{b.ledger_seconds / b.seconds:.0%}", f"{len(b.signed_sizes)}",
                     f"{statistics.mean(b.intervals):.2f} / {max(b.intervals):.2f}" if b.intervals else "-",
                     f"{ms(statistics.median(ck))} / {ms(max(ck))}" if ck else "-",
                     ", ".join(f"{x.rate:,.0f}" for x in runs)])
    print()
    print(table(["run (fastest of --repeat)", "objects", "seconds", "objects/s", "per CPU-s", "ledger work",
                 "checkpoints", "gap mean / max s", "checkpoint() ms med / max", "all runs objects/s"], rows))
    print("('per CPU-s': objects over the CPU time of the process, all threads; 'ledger work': time in Ledger.sync "
          "+ checkpoint over the wall time, mostly on the sequencer's thread; 'gap': between two checkpoints signed "
          "during the run; checkpoint() is wall time under load, waiting for the GIL and the ledger's lock included"
          + (f"; signing the objects beforehand, untimed: {sign_rate:,.0f}/s)" if sign_rate else ")"))

    signed_ed = best[SIGNED]
    unsigned = best[UNSIGNED]
    print(f"\nsigned ingest per core            {signed_ed.per_cpu:>10,.0f} objects/CPU-s  target >= "
          f"{TARGET_INGEST_PER_CORE:,.0f}: {verdict(signed_ed.per_cpu >= TARGET_INGEST_PER_CORE)} "
          f"(wall {signed_ed.rate:,.0f}/s with {os.cpu_count()} cores; unsigned {unsigned.per_cpu:,.0f}/CPU-s, "
          f"{unsigned.rate:,.0f}/s)")
    gaps = [g for runs in results.values() for x in runs for g in x.intervals]
    if gaps:
        mean = statistics.mean(gaps)
        print(f"checkpoint interval under load    {mean:>10.2f} s mean, {max(gaps):.2f} s worst (all runs, "
              f"{len(gaps):,} intervals)  target one a second: {verdict(mean <= TARGET_CHECKPOINT_INTERVAL * 1.1)}")
    else:
        print("checkpoint interval under load    (runs too short for two checkpoints: raise --ingest)")
    out: dict[str, Any] = {"signed_per_cpu": signed_ed.per_cpu, "signed_rate": signed_ed.rate}
    if HAVE_MLDSA:
        # The mean of every run of each (they alternate), rather than the fastest: the difference is small.
        ed_mean = statistics.mean(x.rate for x in results[SIGNED])
        hybrid_mean = statistics.mean(x.rate for x in results[SIGNED_HYBRID_CHECKPOINTS])
        loss = 1 - hybrid_mean / ed_mean
        spread = max((max(x.rate for x in runs) - min(x.rate for x in runs)) / max(x.rate for x in runs)
                     for label, runs in results.items() if label in (SIGNED, SIGNED_HYBRID_CHECKPOINTS))
        noise = max(HYBRID_NOISE, spread)
        extra = hybrid_checkpoint_cost()
        print(f"hybrid checkpoints vs Ed25519     {-loss:>+10.1%} objects/s  target no measurable loss (within the "
              f"runs' spread, {noise:.0%}): {verdict(loss <= noise)} (means of {args.repeat} runs: "
              f"{hybrid_mean:,.0f} vs {ed_mean:,.0f}/s)")
        print(f"  (a hybrid checkpoint costs {extra * 1000:.2f} ms more to sign and to check the previous one: "
              f"{extra:.2%} of a core at one checkpoint a second)")
        out["hybrid_loss"] = loss
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="abcd", help="which parts to run: a, b, c and/or d (default abcd)")
    parser.add_argument("--quick", action="store_true", help="small sizes: " + ", ".join(
        f"{k.replace('_', '-')} {v:,}" for k, v in QUICK.items()))
    parser.add_argument("--appends", type=int, help=f"a: versions logged (default {FULL['appends']:,})")
    parser.add_argument("--tree-size", type=int, help=f"b: leaves of the cached tree (default {FULL['tree_size']:,})")
    parser.add_argument("--proofs", type=int, help=f"b: random inclusion proofs (default {FULL['proofs']:,})")
    parser.add_argument("--peer-size", type=int, help=f"b: leaves given to pymerkle (default {FULL['peer_size']:,})")
    parser.add_argument("--peer-proofs", type=int,
                        help=f"b: proofs asked of pymerkle (default {FULL['peer_proofs']:,})")
    parser.add_argument("--peer-budget", type=float, default=30.0, help="b: seconds per pymerkle engine (30)")
    parser.add_argument("--checkpoints", type=int, help=f"b: checkpoints timed (default {FULL['checkpoints']:,})")
    parser.add_argument("--ingest", type=int, help=f"d: objects per run (default {FULL['ingest']:,})")
    parser.add_argument("--doc-size", type=int, default=1_000, help="d: objects per document (default 1,000)")
    parser.add_argument("--repeat", type=int, help=f"d: runs of each variant, the fastest kept (default "
                                                   f"{FULL['repeat']})")
    parser.add_argument("--crypto", type=int, help=f"c: operations per scheme (default {FULL['crypto']:,})")
    parser.add_argument("--profile", action="store_true", help="a: cProfile Ledger.sync (top 20) and stop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    parts = set(args.parts)

    import pymerkle

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, SQLite "
          f"{sqlite3.sqlite_version}, pymerkle {pymerkle.__version__}, ML-DSA-44 {'yes' if HAVE_MLDSA else 'no'}\n",
          flush=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-ledger-", dir=CACHE_DIR))
    summary: dict[str, Any] = {}
    try:
        for part, run in (("a", lambda: part_a(args, work)), ("b", lambda: part_b(args, work)),
                          ("c", lambda: part_c(args)), ("d", lambda: part_d(args, work))):
            if part in parts:
                started = time.perf_counter()
                summary[part] = run()
                print(f"\n(part {part}: {time.perf_counter() - started:,.0f} s)\n", flush=True)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
