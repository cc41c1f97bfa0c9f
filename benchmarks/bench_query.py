"""Query latency with 1,000,000 indicators stored, on SQLite and PostgreSQL; stix2's MemoryStore beside.

    .venv/bin/python benchmarks/bench_query.py
    .venv/bin/python benchmarks/bench_query.py --backends sqlite --queries 50
    .venv/bin/python benchmarks/bench_query.py --postgres postgresql://postgres@127.0.0.1:5432/test

Data: the 1 M-object SQLite file that ``bench_import.py`` keeps (``benchmarks/.cache/query-1m.db``; made here
through the same import when missing), and for PostgreSQL the same objects loaded into the schema
``bench_query`` (``open_backend(url + "?schema=bench_query")``) with ``store.put_many`` in batches of 5,000;
the load is skipped when that schema already holds them. When PostgreSQL has no planner statistics for those
tables yet (autovacuum off, or not caught up after the load) the queries are timed in that state, then the
script runs ANALYZE (what autovacuum would do) and times them again.

Timed, through ``backend.store.query`` (the call behind ``phalanx export`` and the HTTP/TAXII objects
endpoint): 200 first pages ``Query(collection=c, types=("indicator",), added_after=t, limit=100)`` with ``t``
drawn at random (seeded) across the range of ``date_added``; then, from each of those, up to ``--follow`` next
pages through the cursor; then the first pages again as a reader of a member organization sees them, the sharing
policy compiled into the query as ``node.reader.page`` does it (``Query(..., visibility=visibility(actor,
venue))`` with ``actor = Actor(org, Role.READER)``, an organization that contributed nothing and joins the
community once, and ``venue = Venue(community, members, public)``). Median and p95 per page, after 20 untimed
warm-up queries. Target: median < 10 ms.

Peer: ``stix2.MemoryStore`` holding a SUBSET of 100,000 of the objects (10x fewer), queried with
``[Filter("type", "=", "indicator"), Filter("modified", ">", t)]``. It has no paging: each query scans the
whole store and returns every match. All the corpus objects share one ``modified``, so ``t`` is drawn at random
within a day either side of it: about half the queries match all 100,000 objects, half none.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _corpus import TIMESTAMP, corpus, read_lines, table
from bench_import import db_path, import_ours

from phalanx.config import Settings
from phalanx.errors import NotFound
from phalanx.identity import Actor, Role
from phalanx.policy import Venue, visibility
from phalanx.service import Node, to_row
from phalanx.stix import StixObject, format_micros, now_micros
from phalanx.store import Query, Store, Visibility

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_query"
READER_ORG = "Bench Reader Org"
TARGET_MEDIAN_MS = 10.0
WARMUP = 20


@dataclass
class Timings:
    label: str
    samples_ms: list[float]
    rows: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def added_range(store: Store, collection: str) -> tuple[int, int]:
    """The smallest and largest ``date_added`` in ``collection``, through ``Query`` alone (binary search)."""
    first = store.query(Query(collection=collection, types=("indicator",), limit=1))
    if not first.items:
        raise SystemExit("the collection is empty")
    lo, hi = first.items[0].date_added, max(now_micros(), first.items[0].date_added) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        page = store.query(Query(collection=collection, types=("indicator",), added_after=mid, limit=1))
        if page.items:
            lo = page.items[0].date_added
        else:
            hi = mid
    return first.items[0].date_added, lo


def member_visibility(node: Node, collection: str) -> Visibility:
    """What a reader of a member organization that contributed nothing may see in ``collection``: the sharing
    policy compiled for the store, as ``node.reader.page`` does it. The organization is made, and joins the
    collection's community, the first time."""
    found = node.admin.collection(collection)
    try:
        org = node.admin.organization(READER_ORG)
    except NotFound:
        org = node.admin.add_organization(READER_ORG)
    members = {o.id for o in node.admin.members(found.community)}
    if org.id not in members:
        node.admin.join(found.community, org.id)
        members.add(org.id)
    venue = Venue(found.community, frozenset(members), found.public)
    return visibility(Actor(org.id, Role.READER), venue)


def time_queries(store: Store, collection: str, starts: list[int], follow: int, member: Visibility
                 ) -> tuple[Timings, Timings, Timings]:
    """First pages at each start time, then up to ``follow`` cursor pages from each, then the first pages again
    as a member's reader gets them through the API (``member``: the policy compiled into the query)."""
    types = ("indicator",)
    for t in starts[:WARMUP]:
        store.query(Query(collection=collection, types=types, added_after=t, limit=100))
    first_ms: list[float] = []
    next_ms: list[float] = []
    first_rows = next_rows = 0
    cursors: list[str] = []
    for t in starts:
        begin = time.perf_counter()
        page = store.query(Query(collection=collection, types=types, added_after=t, limit=100))
        first_ms.append((time.perf_counter() - begin) * 1000)
        first_rows += len(page.items)
        if page.next_cursor:
            cursors.append(page.next_cursor)
    for cursor in cursors:
        next_cursor: str | None = cursor
        for _ in range(follow):
            if next_cursor is None:
                break
            begin = time.perf_counter()
            page = store.query(Query(collection=collection, types=types, cursor=next_cursor, limit=100))
            next_ms.append((time.perf_counter() - begin) * 1000)
            next_rows += len(page.items)
            next_cursor = page.next_cursor
    member_ms: list[float] = []
    member_rows = 0
    for t in starts:
        begin = time.perf_counter()
        page = store.query(Query(collection=collection, types=types, added_after=t, limit=100, visibility=member))
        member_ms.append((time.perf_counter() - begin) * 1000)
        member_rows += len(page.items)
    return (Timings("first page (added_after=t)", first_ms, first_rows),
            Timings("next pages (cursor)", next_ms, next_rows),
            Timings("first page as a member's reader (policy)", member_ms, member_rows))


def ensure_sqlite(count: int) -> Path:
    db = db_path(count)
    if not db.exists():
        print(f"{db} missing: importing {count:,} objects first (bench_import.py keeps it)", flush=True)
        import_ours(corpus(count), count, db, max(count // 10, 1), -1)
    return db


def _batches(lines: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for line in lines:
        if line.strip():
            batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def open_node(url: str, *, create: bool) -> tuple[Node, str]:
    """The node behind ``url`` and the id of its "bench" collection (made, with its org, when ``create``)."""
    node = Node.open(Settings(database_url=url), upgrade=True)
    titles = {c.title: c.id for c in node.admin.collections()}
    if "bench" not in titles:
        if not create:
            node.close()
            raise SystemExit(f"{url} has no 'bench' collection")
        node.admin.add_community("bench")
        org = node.admin.add_organization("Bench Org")
        node.admin.join("bench", org.id)
        titles = {c.title: c.id for c in node.admin.collections()}
    return node, titles["bench"]


def ensure_postgres(url: str, count: int, schema: str) -> tuple[Node, str]:
    node, collection = open_node(url, create=True)
    held = node.backend.store.stats().collections.get(collection, 0)
    if held >= count:
        print(f"PostgreSQL schema {schema}: {held:,} objects already loaded, not reloading")
        return node, collection
    if held:
        print(f"PostgreSQL schema {schema}: holds {held:,} of {count:,}; the rest is added (idempotent)")
    contributor = node.admin.organizations()[0].id
    path = corpus(count)
    print(f"loading {count:,} objects into PostgreSQL schema {schema} (put_many, batches of 5,000)", flush=True)
    start = time.perf_counter()
    done = 0
    with path.open("rb") as stream:
        for batch in _batches(iter(stream), 5_000):
            rows = [to_row(StixObject.from_json(line)) for line in batch]
            node.backend.store.put_many(collection, rows, contributor=contributor)
            done += len(rows)
            if done % 100_000 == 0:
                print(f"  {done:>9,} loaded  {done / (time.perf_counter() - start):,.0f}/s", flush=True)
    print(f"loaded in {time.perf_counter() - start:,.1f} s")
    return node, collection


def run_backend(name: str, node: Node, collection: str, queries: int, follow: int, seed: int
                ) -> tuple[str, int, list[Timings]]:
    store = node.backend.store
    held = store.stats().collections.get(collection, 0)
    low, high = added_range(store, collection)
    print(f"{name}: {held:,} objects in the collection; date_added {format_micros(low)} .. "
          f"{format_micros(high)}", flush=True)
    rng = random.Random(seed)
    starts = [rng.randint(low, high) for _ in range(queries)]
    member = member_visibility(node, collection)
    return name, held, list(time_queries(store, collection, starts, follow, member))


def postgres_analyzed(url: str, schema: str) -> bool:
    """Whether PostgreSQL holds planner statistics for the schema's ``versions`` and ``memberships``."""
    import psycopg

    with psycopg.connect(url.split("?", 1)[0]) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = %s AND relname IN "
            "('versions', 'memberships') AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
            [schema],
        ).fetchone()
    return rows is not None and rows[0] == 2


def postgres_analyze(url: str, schema: str) -> float:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        for table_name in ("versions", "memberships"):
            conn.execute(f'ANALYZE "{schema}"."{table_name}"')
    return time.perf_counter() - start


def run_peer(count: int, queries: int, seed: int) -> tuple[Timings, float]:
    import stix2

    texts = [line.decode("utf-8") for line in read_lines(corpus(count), count)]
    print(f"stix2 peer: parsing {len(texts):,} objects into a MemoryStore (untimed)...", flush=True)
    load_start = time.perf_counter()
    memory = stix2.MemoryStore(stix_data=[stix2.parse(t, allow_custom=False) for t in texts])
    load_seconds = time.perf_counter() - load_start
    base = datetime.strptime(TIMESTAMP, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    rng = random.Random(seed)
    samples: list[float] = []
    rows = 0
    for _ in range(queries):
        t = base + timedelta(seconds=rng.uniform(-86_400, 86_400))
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        begin = time.perf_counter()
        found = memory.query([stix2.Filter("type", "=", "indicator"), stix2.Filter("modified", ">", stamp)])
        samples.append((time.perf_counter() - begin) * 1000)
        rows += len(found)
    return Timings(f"stix2 MemoryStore, {count:,} SUBSET", samples, rows), load_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="objects stored (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=200, help="timed first-page queries (default 200)")
    parser.add_argument("--follow", type=int, default=4, help="cursor pages followed from each (default 4)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list: sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help=f"server URL (default {DEFAULT_POSTGRES})")
    parser.add_argument("--schema", default=SCHEMA, help=f"PostgreSQL schema for the data (default {SCHEMA})")
    parser.add_argument("--peer-count", type=int, default=100_000, help="MemoryStore subset (default 100,000)")
    parser.add_argument("--peer-queries", type=int, default=20, help="queries on the peer (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores\n")

    results: list[tuple[str, int, list[Timings]]] = []
    openers: dict[str, Callable[[], tuple[Node, str]]] = {
        "sqlite": lambda: open_node(f"sqlite:///{ensure_sqlite(args.count)}", create=False),
        "postgresql": lambda: ensure_postgres(f"{args.postgres}?schema={args.schema}", args.count, args.schema),
    }
    for name in backends:
        if name not in openers:
            raise SystemExit(f"unknown backend {name!r}: use sqlite and/or postgresql")
        node, collection = openers[name]()
        try:
            if name != "postgresql":
                results.append(run_backend(name, node, collection, args.queries, args.follow, args.seed))
                continue
            if not postgres_analyzed(args.postgres, args.schema):
                # A server without autovacuum (or a load it has not caught up with) has no statistics yet:
                # measure that state too, then ANALYZE as autovacuum would and measure again.
                print("PostgreSQL: no planner statistics for the benchmark tables (autovacuum off or behind)")
                results.append(run_backend("postgresql (no ANALYZE)", node, collection, args.queries,
                                           args.follow, args.seed))
                print(f"ANALYZE versions, memberships: {postgres_analyze(args.postgres, args.schema):.1f} s")
            results.append(run_backend("postgresql (analyzed)", node, collection, args.queries, args.follow,
                                       args.seed))
        finally:
            node.close()

    peer: Timings | None = None
    if args.peer_count > 0:
        peer, load_seconds = run_peer(min(args.peer_count, args.count), args.peer_queries, args.seed)
        print(f"  (MemoryStore built in {load_seconds:,.1f} s)")

    print()
    rows: list[list[str]] = []
    for name, held, timings in results:
        for t in timings:
            rows.append([f"phalanx {name}: {t.label}", f"{held:,}", f"{len(t.samples_ms):,}",
                         f"{t.rows / max(len(t.samples_ms), 1):,.0f}", f"{t.median:.2f}", f"{t.p95:.2f}",
                         "met" if t.median < TARGET_MEDIAN_MS else "NOT MET"])
    if peer is not None:
        rows.append([peer.label, f"{min(args.peer_count, args.count):,}", f"{len(peer.samples_ms):,}",
                     f"{peer.rows / max(len(peer.samples_ms), 1):,.0f}", f"{peer.median:.2f}", f"{peer.p95:.2f}",
                     "-"])
    print(table(["engine: query", "stored", "queries", "rows/query", "median ms", "p95 ms",
                 f"< {TARGET_MEDIAN_MS:.0f} ms"], rows))
    if peer is not None:
        print(f"\nstix2 MemoryStore holds {args.count // max(args.peer_count, 1)}x fewer objects than Phalanx "
              "here and returns every match (no paging).")
        for name, _, timings in results:
            first = timings[0]
            print(f"ratio peer median / phalanx {name} first-page median: {peer.median / first.median:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
