"""Bulk import into SQLite through the service layer, as ``phalanx import file.jsonl`` does; stix2 stores beside.

    .venv/bin/python benchmarks/bench_import.py                   # 1,000,000 indicators (a few minutes)
    .venv/bin/python benchmarks/bench_import.py --count 100000    # smaller
    .venv/bin/python benchmarks/bench_import.py --count 50000 --profile

Ours: a fresh SQLite node (``Node.open(Settings(database_url=...), upgrade=True)``), one community, one member
organization, then ``node.ingest.stream(actor, "bench", iter_jsonl(file, mode=Mode.STRICT))``: read, parse,
validate strictly, canonicalize, authorize and store in durable batches (``batch_size`` 1,000, WAL,
synchronous=NORMAL). Reported: objects/s overall and per 100,000-object slice, and the resident set size
(VmRSS) sampled every 100,000 objects, to show memory stays flat.

Peer (on a SUBSET, default 5,000 objects, since it does not scale to a million in reasonable time): per line
``stix2.parse(text, allow_custom=False)`` then ``stix2.MemoryStore().add(obj)`` (in memory, nothing durable), and
the same into ``stix2.FileSystemStore(tmpdir)`` (one JSON file per object).

The SQLite file is kept (``benchmarks/.cache/query-1m.db`` for 1 M objects) for ``bench_query.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from _corpus import CACHE_DIR, corpus, profile, rate, read_lines, rss_kib, table

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.service import IngestSummary, Node
from phalanx.stix import Mode, iter_jsonl, parse_jsonl_parallel
from phalanx.store import PutResult, VersionRow, WriteGuard


def db_path(count: int) -> Path:
    """Where the import of ``count`` objects is kept (and where bench_query.py looks for it)."""
    label = f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count}"
    return CACHE_DIR / f"query-{label}.db"


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@dataclass
class Slice:
    end: int
    seconds: float
    """Time for this slice alone."""
    rss_kib: int


@dataclass
class ImportRun:
    count: int
    seconds: float
    setup_seconds: float
    summary: IngestSummary
    slices: list[Slice] = field(default_factory=list)
    rss_start_kib: int = 0
    store_seconds: float = 0.0
    """Time spent inside ``store.put_many`` (SQLite writes, on its writer thread); the rest is reading,
    parsing, validating, canonicalizing and the service layer, on the calling thread."""


def import_ours(path: Path, count: int, db: Path, slice_size: int, workers: int) -> ImportRun:
    remove_db(db)
    rss_start = rss_kib()
    started = time.perf_counter()
    node = Node.open(Settings(database_url=f"sqlite:///{db}"), upgrade=True)
    try:
        node.admin.add_community("bench")
        org = node.admin.add_organization("Bench Org")
        node.admin.join("bench", org.id)
        actor = Actor(org.id, Role.ADMIN)
        setup = time.perf_counter() - started

        # Split the time: wrap this store instance's put_many (the one Ingest calls) with a stopwatch.
        store = node.backend.store
        put_many = store.put_many
        in_store = [0.0]

        def timed_put_many(collection: str, rows: Iterable[VersionRow], *, contributor: str,
                           scope: frozenset[str] | None = None, guard: WriteGuard | None = None) -> list[PutResult]:
            begin = time.perf_counter()
            try:
                return put_many(collection, rows, contributor=contributor, scope=scope, guard=guard)
            finally:
                in_store[0] += time.perf_counter() - begin

        store.put_many = timed_put_many  # type: ignore[method-assign]

        slices: list[Slice] = []
        marks = {"next": slice_size, "last": time.perf_counter()}

        def on_batch(summary: IngestSummary, last_index: int) -> None:
            done = last_index + 1
            if done >= marks["next"] or done == count:
                now = time.perf_counter()
                slices.append(Slice(done, now - marks["last"], rss_kib()))
                marks["last"] = now
                while marks["next"] <= done:
                    marks["next"] += slice_size
                print(f"  {done:>9,} objects  {slices[-1].seconds:7.2f} s  "
                      f"{rate(done - (slices[-2].end if len(slices) > 1 else 0), slices[-1].seconds):>9,.0f}/s  "
                      f"RSS {slices[-1].rss_kib / 1024:7.1f} MiB", flush=True)

        begin = time.perf_counter()
        marks["last"] = begin
        with path.open("rb") as stream:
            # As `phalanx import` does for a large JSON-lines file: worker processes parse unless told not to.
            parsed = (iter_jsonl(stream, mode=Mode.STRICT) if workers == 0 else
                      parse_jsonl_parallel(stream, mode=Mode.STRICT, workers=None if workers < 0 else workers))
            summary = node.ingest.stream(actor, "bench", parsed, on_batch=on_batch)
        seconds = time.perf_counter() - begin
    finally:
        node.close()
    return ImportRun(count, seconds, setup, summary, slices, rss_start, in_store[0])


@dataclass
class PeerRun:
    engine: str
    count: int
    seconds: float
    stored: int


def import_peer(texts: list[str]) -> list[PeerRun]:
    import stix2

    runs: list[PeerRun] = []
    memory = stix2.MemoryStore()
    start = time.perf_counter()
    for text in texts:
        memory.add(stix2.parse(text, allow_custom=False))
    seconds = time.perf_counter() - start
    stored = len(memory.query([stix2.Filter("type", "=", "indicator")]))
    runs.append(PeerRun("stix2 parse + MemoryStore.add", len(texts), seconds, stored))

    folder = tempfile.mkdtemp(prefix="bench-fs-", dir=CACHE_DIR)
    try:
        files = stix2.FileSystemStore(folder)
        start = time.perf_counter()
        for text in texts:
            files.add(stix2.parse(text, allow_custom=False))
        seconds = time.perf_counter() - start
        stored = sum(len(names) for _, _, names in os.walk(folder))
        runs.append(PeerRun("stix2 parse + FileSystemStore.add", len(texts), seconds, stored))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="objects to import (default 1,000,000)")
    parser.add_argument("--slice", type=int, default=100_000, help="report every N objects (default 100,000)")
    parser.add_argument("--peer-count", type=int, default=5_000, help="subset for the stix2 stores (5,000)")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default benchmarks/.cache/query-*.db)")
    parser.add_argument("--parse-workers", type=int, default=-1,
                        help="parsing processes as `phalanx import` uses them: -1 auto (default), 0 inline")
    parser.add_argument("--profile", action="store_true", help="cProfile the import (main thread; top 15)")
    args = parser.parse_args(argv)

    path = corpus(args.count)
    db = args.db or db_path(args.count)
    print(f"corpus: {path} ({path.stat().st_size / 1e6:,.0f} MB, real Maltrail indicators)")
    print(f"database: {db}")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores\n")

    if args.profile:
        profile(lambda: import_ours(path, args.count, db, args.slice, args.parse_workers))
        return 0

    print(f"phalanx: importing {args.count:,} objects (progress every {args.slice:,})")
    run = import_ours(path, args.count, db, args.slice, args.parse_workers)
    summary = run.summary
    ours_rate = rate(run.count, run.seconds)
    print()
    ok = summary.accepted == run.count and summary.added == run.count and summary.refused == 0
    print(f"accepted {summary.accepted:,} (added {summary.added:,}), refused {summary.refused:,}, "
          f"{summary.batches:,} batches: {'OK' if ok else 'NOT ALL ACCEPTED'}")
    for refusal in summary.refusals[:3]:
        print(f"  refused #{refusal.index} {refusal.id}: {refusal.detail}")

    rows = []
    previous = 0
    for s in run.slices:
        rows.append([f"{previous + 1:,}-{s.end:,}", f"{s.seconds:.2f}", f"{rate(s.end - previous, s.seconds):,.0f}",
                     f"{s.rss_kib / 1024:,.1f}"])
        previous = s.end
    print(table(["slice (objects)", "seconds", "objects/s", "RSS MiB"], rows))
    rss = [s.rss_kib for s in run.slices]
    if rss:
        print(f"\nRSS first/max/last: {rss[0] / 1024:,.1f} / {max(rss) / 1024:,.1f} / {rss[-1] / 1024:,.1f} MiB "
              f"(before the node opened: {run.rss_start_kib / 1024:,.1f} MiB; "
              f"growth first->last {(rss[-1] - rss[0]) / 1024:+,.1f} MiB)")
    share = run.store_seconds / run.seconds if run.seconds else 0.0
    print(f"time in store.put_many (SQLite): {run.store_seconds:,.1f} s ({share:.0%}); parse, validate, "
          f"canonicalize and service layer: {run.seconds - run.store_seconds:,.1f} s ({1 - share:.0%})")
    print(f"node setup (open, migrate, community, org): {run.setup_seconds:.2f} s; "
          f"database {db.stat().st_size / 1e6:,.0f} MB")

    peer_count = min(args.peer_count, args.count)
    print(f"\nstix2 peer on a SUBSET of {peer_count:,} objects ({args.count // peer_count}x fewer):")
    texts = [line.decode("utf-8") for line in read_lines(path, peer_count)]
    peers = import_peer(texts)

    result_rows = [["phalanx ingest.stream -> SQLite (durable)", f"{run.count:,}", f"{run.seconds:.2f}",
                    f"{ours_rate:,.0f}", "1.0x"]]
    for p in peers:
        p_rate = rate(p.count, p.seconds)
        result_rows.append([f"{p.engine} (subset)", f"{p.count:,}", f"{p.seconds:.2f}", f"{p_rate:,.0f}",
                            f"{ours_rate / p_rate:,.1f}x"])
        if p.stored != p.count:
            print(f"  warning: {p.engine} holds {p.stored:,} objects, expected {p.count:,}")
    print()
    print(table(["engine", "objects", "seconds", "objects/s", "ours/this"], result_rows))
    print(f"\nkept {db} for bench_query.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
