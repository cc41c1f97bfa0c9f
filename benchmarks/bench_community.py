"""The dashboard's community page with 1,000,000 objects stored, on SQLite and PostgreSQL: server time of
``GET /community`` (``Metrics.contributions`` and the page around it) for a member and a node administrator.

    .venv/bin/python benchmarks/bench_community.py
    .venv/bin/python benchmarks/bench_community.py --backends sqlite --count 100000 --runs 10
    .venv/bin/python benchmarks/bench_community.py --explain     # print the query plans too

Data, built once and kept (``benchmarks/.cache/community-1m.db``; for PostgreSQL the schema ``bench_community``):
one community of 5 member organizations and two collections; ``--count`` objects written with
``store.put_many`` in batches of 5,000, every one of them shared "now", so the whole store is inside the page's
30-day window (the worst case): 90 % indicators (each carrying an IPv4 value from a pool of 60 % of the count,
so values repeat across organizations), 2 % reports, 1 % malware, 2 % observed data and 5 % sightings of
earlier indicators; TLP 2.0 levels CLEAR 5 %, GREEN 50 %, AMBER 30 % (a third of it for named recipients),
AMBER+STRICT 5 %, RED 10 % (for one named organization).

Timed: ``GET /community`` through Starlette's in-process client with the metrics cache off (each request counts
again), as a reader of member 1 and as a node administrator; median and p95 of ``--runs`` requests after 2
warm-up ones, and the CPU time this process spent per request (on SQLite all of the work, a steadier measure on a
busy machine; on PostgreSQL the server's share is not in it). Target: < 200 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.service import Node
from phalanx.store import Sighted, SightingKind, VersionRow
from phalanx.web import create_app

CACHE_DIR = Path(__file__).parent / ".cache"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_community"
PASSWORD = "benchmark password 1234"
TARGET_MS = 200.0
ORGS = ("Member One", "Member Two", "Member Three", "Member Four", "Member Five")


def _id(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=(n * 0x9E3779B97F4A7C15) % (1 << 122) | (4 << 76) | (1 << 63))}"


def _row(kind: str, n: int, level: int, keys: tuple[str, ...] = (), sighting: Sighted | None = None) -> VersionRow:
    oid = _id(kind, n)
    canonical = b'{"id":"%s","spec_version":"2.1","type":"%s"}' % (oid.encode(), kind.encode())
    return VersionRow(oid, kind, "2.1", 1_700_000_000_000_000, 1_700_000_000_000_000, False, canonical,
                      hashlib.sha256(canonical).hexdigest(), level=level, top_level=level, correlation_keys=keys,
                      sighting=sighting)


def _level(rng: random.Random) -> tuple[int, bool]:
    """A TLP level (rank) and whether it goes to named recipients only."""
    x = rng.random()
    if x < 0.05:
        return 0, False
    if x < 0.55:
        return 1, False
    if x < 0.85:
        return 2, rng.random() < 1 / 3
    if x < 0.90:
        return 3, False
    return 4, True


def build(node: Node, count: int) -> None:
    """Directory and objects (skipped when the store holds them already)."""
    admin = node.admin
    if not admin.communities():
        admin.add_community("isac", title="Benchmark ISAC", collection="indicators")
        admin.add_collection("reports", community="isac")
        for name in ORGS:
            org = admin.add_organization(name)
            admin.join("isac", org.id)
        admin.add_user("member", org_ref=ORGS[0], role=Role.READER, password=PASSWORD)
        admin.add_user("operator", org_ref=ORGS[0], role=Role.ADMIN, password=PASSWORD)
    if node.backend.store.stats().versions >= count:
        return
    orgs = [admin.organization(name).id for name in ORGS]
    collections = [admin.collection("indicators").id, admin.collection("reports").id]
    rng = random.Random(7)
    batch, started = 5_000, time.perf_counter()
    for start in range(0, count, batch):
        groups: dict[tuple[str, str, frozenset[str] | None], list[VersionRow]] = {}
        for n in range(start, min(start + batch, count)):
            level, named = _level(rng)
            x = rng.random()
            if x < 0.90:
                value = rng.randrange(int(count * 0.6))
                address = f"10.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
                row = _row("indicator", n, level, (f"ipv4-addr:{address}",))
            elif x < 0.92:
                row = _row("report", n, level)
            elif x < 0.93:
                row = _row("malware", n, level)
            elif x < 0.95:
                row = _row("observed-data", n, level)
            else:
                seen = _id("indicator", rng.randrange(max(1, n)))
                row = _row("sighting", n, level, (), Sighted(seen, SightingKind.SEEN, 1, 0, 0))
            by = rng.randrange(len(orgs))
            scope = frozenset({"o:" + orgs[(by + 1 + rng.randrange(len(orgs) - 1)) % len(orgs)]}) if named else None
            collection = collections[0] if row.type != "report" else collections[1]
            groups.setdefault((collection, orgs[by], scope), []).append(row)
        for (collection, by, scope), rows in groups.items():
            node.backend.store.put_many(collection, rows, contributor=by, scope=scope)
        done = min(start + batch, count)
        if done % 100_000 == 0:
            print(f"  {done:,} objects ({done / (time.perf_counter() - started):,.0f}/s)", file=sys.stderr)


def measure(node: Node, runs: int) -> dict[str, tuple[list[float], list[float]]]:
    node.metrics._cache_micros = -1  # every request counts again
    app = create_app(node)
    timings: dict[str, tuple[list[float], list[float]]] = {}
    for username in ("member", "operator"):
        with TestClient(app) as client:
            page = client.get("/signin")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post("/signin", data={"username": username, "password": PASSWORD, "next": "/feed", "csrf": csrf})
            samples, cpu = [], []
            for i in range(runs + 2):
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get("/community")
                took, took_cpu = (time.perf_counter() - began) * 1000, (time.process_time() - began_cpu) * 1000
                assert response.status_code == 200, response.text[:500]
                if i >= 2:
                    samples.append(took)
                    cpu.append(took_cpu)
            timings[username] = (samples, cpu)
            view = client.get("/community?format=json").json()
            print(f"  {username}: counted {view['window']['counted']:,} (complete: {view['window']['complete']}), "
                  f"{len(view['organizations'])} organizations, shared {view['totals']['total']:,}", file=sys.stderr)
    return timings


def explain(node: Node) -> None:
    """Print the plan of each statement ``Store.activity`` runs, as a member reads."""
    from phalanx.identity import Actor
    from phalanx.store._sql import _activity

    actor = Actor(node.admin.organization(ORGS[0]).id, Role.READER)
    readable, types = node.metrics.readable(actor)
    engine = node.backend.store._engine  # type: ignore[attr-defined]
    postgres = type(engine).__name__.startswith("Postgres")

    class Explaining:
        def __init__(self, tx: object) -> None:
            self._tx = tx

        def __getattr__(self, name: str) -> object:
            return getattr(self._tx, name)

        def rows(self, sql: str, params: object = ()) -> list[tuple[object, ...]]:
            prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if postgres else "EXPLAIN QUERY PLAN "
            plan = self._tx.rows(prefix + sql, params)  # type: ignore[attr-defined]
            print("----", sql[:100].replace("\n", " "), "...", f"({len(params)} parameters)")
            for line in plan:
                print("   ", line[0] if postgres else f"{'  ' * (line[1] > 0)}{line[-1]}")
            return self._tx.rows(sql, params)  # type: ignore[attr-defined,no-any-return]

    now = time.time_ns() // 1000
    engine.read(lambda tx: _activity.find_activity(Explaining(tx), readable, now - 30 * 86_400_000_000, now + 1,
                                                   node.metrics.limit, ("indicator",), types))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="memberships counted per view (default: the page's)")
    args = parser.parse_args()
    CACHE_DIR.mkdir(exist_ok=True)
    label = f"{args.count // 1_000_000}m" if args.count % 1_000_000 == 0 else str(args.count)
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{CACHE_DIR / f'community-{label}.db'}"
        else:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}_{label}")
            url = f"{args.postgres}?schema={SCHEMA}_{label}"
        home = CACHE_DIR / f"community-home-{backend}-{label}"
        home.mkdir(exist_ok=True)
        print(f"{backend}: building or checking {args.count:,} objects", file=sys.stderr)
        with Node.open(Settings(database_url=url, home=home, warninglists="off"), upgrade=True) as node:
            build(node, args.count)
            if backend == "postgres":  # what autovacuum would do after the load
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    for table in ("versions", "memberships", "sightings", "observables", "collection_keys",
                                  "scopes", "scope_principals", "revoked"):
                        conn.execute(f"ANALYZE {SCHEMA}_{label}.{table}")
            if args.limit is not None:
                node.metrics.limit = args.limit
            if args.explain:
                explain(node)
            timings = measure(node, args.runs)
        for who, (samples, cpu) in timings.items():
            ordered = sorted(samples)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            verdict = "ok" if statistics.median(samples) < TARGET_MS else "SLOW"
            print(f"{backend:8} GET /community as {who:8}: median {statistics.median(samples):7.1f} ms, "
                  f"p95 {p95:7.1f} ms  ({verdict}, target < {TARGET_MS:.0f} ms); this process's CPU per request: "
                  f"median {statistics.median(cpu):6.1f} ms")


if __name__ == "__main__":
    main()
