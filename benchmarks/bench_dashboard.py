"""The dashboard's server time per page with 1,000,000 objects stored, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_dashboard.py
    .venv/bin/python benchmarks/bench_dashboard.py --backends sqlite --requests 10
    .venv/bin/python benchmarks/bench_dashboard.py --backends sqlite --profile '/feed?tlp=red'

Target (issue 7): every page renders in < 200 ms of server time with 1,000,000 objects stored. There is no other
dashboard to run beside it: **the target is the peer here**, and the table prints each page's median and p95 as a
ratio to it (0.25x: a quarter of the budget; above 1.00x: over).

Data: the 1 M real Maltrail indicators that ``bench_import.py`` keeps (``benchmarks/.cache/query-1m.db``, built
through ``phalanx import``'s path when missing) and that ``bench_query.py`` loads into the PostgreSQL schema
``bench_query`` (``put_many`` in batches of 5,000), all contributed by "Bench Org" to the collection of community
"bench" at the default TLP:AMBER. On top of that, once per database (kept; later runs find it and skip it), what the
pages need to show something real:

* organizations "Bench Member Org" and three "Bench Sighter N" joining the community (k-anonymity needs
  ``sighting_k`` = 3 organizations other than the reader's behind a tally before it is shown);
* users with passwords: ``bench-analyst`` (contributor of Bench Member Org: every page is read as this member,
  where the sharing policy applies), ``bench-producer`` (contributor of Bench Org) and ``bench-admin`` (the node
  administrator, for ``/admin``);
* an IPv4 indicator from the middle of the data (the *target*) with a malware it ``indicates`` and 20 reports
  referring to both; two indicators of one SHA-256 by two organizations; a TLP:RED indicator shared by Bench Org
  with Bench Member Org alone (the reader sees it) and one shared with nobody (it does not);
* 304 sightings: the target's by four organizations, and 100 other indicators (60 of the newest, 40 spread over
  the data) each by the three sighters, a few anonymously;
* when the database predates a migration, ``backend.upgrade()`` (``Node.open(upgrade=True)``), and when its side
  tables lack the keys and terms of the 1 M versions, what ``phalanx db reindex`` does
  (``node.correlation.reindex`` and ``node.search.reindex``); then the ledger is brought up to date
  (``sequencer.run_once``: the PostgreSQL load does not go through ingest), and PostgreSQL is ANALYZEd (what
  autovacuum would do).

Timed, in process, through the real ASGI app (``phalanx.web.create_app(node)`` under ``starlette.testclient``,
signed in through ``/signin`` as a browser does): each page 5 times untimed, then 30 times, each request timed with
``time.perf_counter()`` around ``client.get`` (the server's time plus the test client's, which is a small constant:
no socket). The app sets no ``Server-Timing`` header today; when it does, its median is printed beside. A page that
answers 404 is reported as missing and the run carries on. Pages: the feed and its filters, searches (an IP in the
data, a hash, a word, a type and a date), the target's object page, publish, community, network, admin, signin.

``--profile PATH`` runs one page under pyinstrument instead (``pip install pyinstrument`` into .venv: it is not a
dependency of Phalanx): every call the page hands to the thread pool is profiled, and the sessions combined.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from _corpus import table
from bench_query import DEFAULT_POSTGRES, SCHEMA, added_range, ensure_postgres, ensure_sqlite
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.errors import NotFound
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.service._sightings import SightingReport
from phalanx.stix import Tlp, format_micros
from phalanx.store import Query
from phalanx.web import create_app

TARGET_MS = 200.0
WARMUP = 5
REQUESTS = 30
PASSWORD = "bench dashboard horse battery staple"
PRODUCER_ORG = "Bench Org"
MEMBER_ORG = "Bench Member Org"
SIGHTERS = ("Bench Sighter 1", "Bench Sighter 2", "Bench Sighter 3")
ANALYST, PRODUCER, ADMIN = "bench-analyst", "bench-producer", "bench-admin"
REPORTS = 20
STAMP = "2024-05-02T09:00:00.000Z"
SHA256 = "8a7c4f1e2b3d5a6978c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"
SHA256_RED = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
_NS = uuid.UUID("0b7e4a52-6f0c-4d7e-9d61-3a1f5c2e8b90")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
UNCACHED = " (uncached)"


def stix_id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(_NS, name)}"


MALWARE_ID = stix_id("malware", "bench-malware")
RELATIONSHIP_ID = stix_id("relationship", "bench-indicates")
"""The marker: a database that holds it has been prepared (its source is the target indicator)."""
HASH_IDS = (stix_id("indicator", "bench-hash-producer"), stix_id("indicator", "bench-hash-member"))
RED_FOR_MEMBER = stix_id("indicator", "bench-red-member")
RED_FOR_NOBODY = stix_id("indicator", "bench-red-nobody")


# the data on top of the 1 M indicators ---------------------------------------------------------------------


@dataclass
class Prepared:
    collection: str
    target: str
    """The id of the indicator with sightings and relationships."""
    ip: str
    label: str
    since: str
    """A day (YYYY-MM-DD) on which the 1 M objects were added: a search since then matches all of them."""
    notes: list[str] = field(default_factory=list)


def _organization(node: Node, name: str, community: str) -> Organization:
    try:
        org = node.admin.organization(name)
    except NotFound:
        org = node.admin.add_organization(name)
    if org.id not in {o.id for o in node.admin.members(community)}:
        node.admin.join(community, org.id)
    return org


def _user(node: Node, username: str, org: Organization, role: Role) -> None:
    if username not in {u.username for u in node.admin.users()}:
        node.admin.add_user(username, org_ref=org.id, role=role, password=PASSWORD)


def _indicator(object_id: str, name: str, pattern: str, *, labels: tuple[str, ...] = (),
               tlp: Tlp | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": object_id, "created": STAMP, "modified": STAMP,
        "name": name, "description": "Prepared by bench_dashboard.py.", "indicator_types": ["malicious-activity"],
        "pattern": pattern, "pattern_type": "stix", "valid_from": STAMP}
    if labels:
        data["labels"] = list(labels)
    if tlp is not None:
        data["object_marking_refs"] = [tlp.value]
    return data


def _share(node: Node, actor: Actor, collection: str, objects: list[dict[str, Any]], *,
           organizations: tuple[str, ...] = ()) -> None:
    body = b"\n".join(orjson.dumps(o) for o in objects)
    results = node.ingest.document(actor, collection, body, organizations=organizations)
    refused = [r for r in results if r.outcome == "refused"]
    if refused:
        raise SystemExit(f"preparing the data: {refused[0].id} refused: {refused[0].detail}")


def _pick_target(node: Node, collection: str, low: int, high: int) -> tuple[str, str, str]:
    """The first IPv4 indicator added after the middle of the data: (id, address, label)."""
    store = node.backend.store
    for start in ((low + high) // 2, low):
        query: Query | None = Query(collection=collection, types=("indicator",), added_after=start, limit=1000)
        while query is not None:
            page = store.query(query)
            for item in page.items:
                data = orjson.loads(item.canonical)
                found = re.fullmatch(r"\[ipv4-addr:value = '([0-9.]+)'\]", data.get("pattern", ""))
                if found and data.get("labels"):
                    return item.id, found.group(1), data["labels"][0]
            query = Query(collection=collection, types=("indicator",), cursor=page.next_cursor, limit=1000) \
                if page.next_cursor else None
    raise SystemExit("no IPv4 indicator in the data")


def _sampled(node: Node, collection: str, low: int, high: int, target: str) -> list[str]:
    """60 of the newest 200 indicators, and 40 spread across the data (the target left out)."""
    store = node.backend.store
    newest = store.query(Query(collection=collection, types=("indicator",), limit=200, newest_first=True)).items
    ids = [i.id for i in newest[::3]][:60]
    step = (high - low) // 40
    for n in range(40):
        page = store.query(Query(collection=collection, types=("indicator",), added_after=low + n * step, limit=1))
        ids.extend(i.id for i in page.items)
    return [i for i in dict.fromkeys(ids) if i != target]


def _side_tables(node: Node, collection: str) -> tuple[bool, bool]:
    """Whether the oldest version carries its correlation keys, and its search terms (a database imported before
    migrations 0007 and 0008, or before the way terms are computed changed, does not)."""
    from phalanx.analysis._text import query_terms
    from phalanx.errors import StoreError
    from phalanx.store import TextQuery

    store = node.backend.store
    oldest = store.query(Query(collection=collection, types=("indicator",), limit=1)).items[0]
    keyed = bool(store.keys_of(oldest.id, oldest.version))
    value = re.search(r"= '([^']+)'", orjson.loads(oldest.canonical).get("pattern", ""))
    if value is None:
        return keyed, True
    readable, _ = node.correlation.readable(Actor(node.admin.organization(PRODUCER_ORG).id, Role.READER))
    try:
        found = store.search(TextQuery(query_terms(value.group(1))[:4], (), (), None, None, 1000), readable)
    except StoreError as exc:
        raise SystemExit(
            f"{exc.message}: this database applied a migration whose text has changed since (an unreleased one "
            "edited in place?). Delete benchmarks/.cache/query-1m.db or DROP SCHEMA bench_query CASCADE, and run "
            "again to rebuild it.") from exc
    return keyed, any(m.id == oldest.id for m in found)


def prepare(node: Node, collection: str) -> Prepared:
    """What the pages need on top of the 1 M indicators, made once per database (see the module's docstring)."""
    admin, store = node.admin, node.backend.store
    community = admin.collection(collection).community
    low, high = added_range(store, collection)
    notes: list[str] = []
    keyed, termed = _side_tables(node, collection)
    if not (keyed and termed):
        # what 'phalanx db reindex' does, for the side table that lacks them
        began = time.perf_counter()
        missing = " and ".join(n for n, ok in (("correlation keys", keyed), ("search terms", termed)) if not ok)
        print(f"the stored versions lack their {missing}: reindexing (phalanx db reindex)", flush=True)
        done = node.correlation.reindex() if not keyed else 0
        done = node.search.reindex() if not termed else done
        notes.append(f"reindexed the {missing} of {done:,} versions in {time.perf_counter() - began:,.0f} s")
    producer = _organization(node, PRODUCER_ORG, community)
    member = _organization(node, MEMBER_ORG, community)
    sighters = [_organization(node, name, community) for name in SIGHTERS]
    _user(node, ANALYST, member, Role.CONTRIBUTOR)
    _user(node, PRODUCER, producer, Role.CONTRIBUTOR)
    _user(node, ADMIN, producer, Role.ADMIN)
    since = format_micros(low)[:10]
    try:
        marker = store.get(RELATIONSHIP_ID)
    except NotFound:
        marker = None
    if marker is not None:
        target = orjson.loads(marker.canonical)["source_ref"]
        pattern = orjson.loads(store.get(target).canonical)
        address = re.fullmatch(r"\[ipv4-addr:value = '([0-9.]+)'\]", pattern["pattern"])
        assert address is not None
        return Prepared(collection, target, address.group(1), pattern["labels"][0], since, notes)

    began = time.perf_counter()
    target, ip, label = _pick_target(node, collection, low, high)
    by_producer = Actor(producer.id, Role.CONTRIBUTOR)
    by_member = Actor(member.id, Role.CONTRIBUTOR)
    # sightings first, so that the reports and indicators below are the newest objects of the feed
    sampled = _sampled(node, collection, low, high, target)
    for n, org in enumerate(sighters):
        seen = [SightingReport(target)] + [SightingReport(i, anonymous=(j % 17 == n)) for j, i in enumerate(sampled)]
        node.sightings.record_many(Actor(org.id, Role.CONTRIBUTOR), seen)
    node.sightings.record_many(by_member, [SightingReport(target)])
    malware = {"type": "malware", "spec_version": "2.1", "id": MALWARE_ID, "created": STAMP, "modified": STAMP,
               "name": f"{label} (bench)", "description": f"The {label} family, as Maltrail lists it.",
               "is_family": True, "malware_types": ["trojan"]}
    relationship = {"type": "relationship", "spec_version": "2.1", "id": RELATIONSHIP_ID, "created": STAMP,
                    "modified": STAMP, "relationship_type": "indicates", "source_ref": target,
                    "target_ref": MALWARE_ID}
    reports = [{"type": "report", "spec_version": "2.1", "id": stix_id("report", f"bench-report-{n}"),
                "created": STAMP, "modified": STAMP, "name": f"{label} activity, week {n + 1}",
                "description": f"Bench report {n + 1}: **{label}** infrastructure seen at {ip}.",
                "published": STAMP, "report_types": ["threat-report"], "object_refs": [target, MALWARE_ID]}
               for n in range(REPORTS)]
    hash_pattern = f"[file:hashes.'SHA-256' = '{SHA256}']"
    _share(node, by_producer, collection, [malware, *reports,
                                           _indicator(HASH_IDS[0], "dropper (bench)", hash_pattern, labels=(label,))])
    _share(node, by_member, collection, [_indicator(HASH_IDS[1], "dropper seen here", hash_pattern)])
    red_pattern = f"[file:hashes.'SHA-256' = '{SHA256_RED}']"
    _share(node, by_producer, collection, [_indicator(RED_FOR_MEMBER, "for Bench Member Org only", red_pattern,
                                                      tlp=Tlp.RED)], organizations=(member.id,))
    _share(node, by_producer, collection, [_indicator(RED_FOR_NOBODY, "for Bench Org only", red_pattern,
                                                      tlp=Tlp.RED)])
    _share(node, by_producer, collection, [relationship])  # the marker, last
    node.sequencer.run_once()
    notes.append(f"prepared the dashboard's data in {time.perf_counter() - began:,.1f} s")
    return Prepared(collection, target, ip, label, since, notes)


def sync_ledger(node: Node) -> float:
    began = time.perf_counter()
    node.sequencer.run_once()
    return time.perf_counter() - began


def postgres_analyze_all(url: str, schema: str) -> float:
    """ANALYZE every table of the schema (what autovacuum does after a load)."""
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])]
        for name in tables:
            conn.execute(f'ANALYZE "{schema}"."{name}"')
    return time.perf_counter() - began


# the pages -----------------------------------------------------------------------------------------------


def pages(p: Prepared) -> list[tuple[str, str]]:
    """(who, path) of every page timed: the member's analyst, the node's admin, or nobody (signed out). A path
    ending in `` (uncached)`` is timed with the community metrics' cache emptied before each request."""
    member = quote(MEMBER_ORG)
    return [
        ("analyst", "/feed"),
        ("analyst", "/feed?tlp=red"),
        ("analyst", "/feed?type=report"),
        ("analyst", f"/feed?organization={member}"),
        ("analyst", f"/feed?label={quote(p.label)}"),
        ("analyst", f"/search?q={p.ip}"),
        ("analyst", f"/search?q={SHA256}"),
        ("analyst", f"/search?q={quote(p.label)}"),
        ("analyst", f"/search?type=indicator&since={p.since}"),
        ("analyst", f"/objects/{p.target}"),
        ("analyst", "/publish"),
        ("analyst", "/community"),
        ("analyst", "/community" + UNCACHED),
        ("analyst", "/network"),
        ("admin", "/admin"),
        ("nobody", "/signin"),
    ]


def signed_in(app: Any, username: str | None) -> TestClient:
    """A client with its own event loop for all its requests (entered: a bare TestClient starts a thread and a
    loop for every request, which would be timed too), signed in as ``username`` (None: signed out)."""
    client = TestClient(app, follow_redirects=False).__enter__()
    form = client.get("/signin")
    if username is None:
        return client
    csrf = _CSRF.search(form.text)
    if csrf is None:
        raise SystemExit("/signin has no CSRF field")
    answer = client.post("/signin", data={"csrf": csrf.group(1), "username": username, "password": PASSWORD,
                                          "next": "/feed"})
    if answer.status_code != 303:
        raise SystemExit(f"signing in as {username}: {answer.status_code} {answer.text[:200]}")
    return client


@dataclass
class PageTimes:
    backend: str
    who: str
    path: str
    status: int
    samples_ms: list[float] = field(default_factory=list)
    server_timing_ms: list[float] = field(default_factory=list)
    size: int = 0
    problem: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")


def _server_timing(header: str | None) -> float | None:
    if not header:
        return None
    found = [float(m) for m in re.findall(r"dur=([0-9.]+)", header)]
    return sum(found) if found else None


def time_page(backend: str, client: TestClient, who: str, shown: str, warmup: int, requests: int,
              before: Callable[[], object]) -> PageTimes:
    path = shown.removesuffix(UNCACHED)
    before()
    first = client.get(path)
    result = PageTimes(backend, who, shown, first.status_code, size=len(first.content))
    if first.status_code == 404:
        result.problem = "missing (404)"
        return result
    if first.status_code != 200 or not first.headers.get("content-type", "").startswith("text/html"):
        result.problem = f"HTTP {first.status_code}: {' '.join(first.text.split())[:160]}"
        return result
    for _ in range(max(warmup - 1, 0)):
        before()
        client.get(path)
    for _ in range(requests):
        before()
        begin = time.perf_counter()
        answer = client.get(path)
        result.samples_ms.append((time.perf_counter() - begin) * 1000)
        timing = _server_timing(answer.headers.get("server-timing"))
        if timing is not None:
            result.server_timing_ms.append(timing)
        if answer.status_code != 200:
            result.problem = f"HTTP {answer.status_code} on a later request"
    return result


@contextmanager
def app_over(node: Node, wrap: Callable[[Any], Any] | None = None) -> Iterator[dict[str, TestClient]]:
    app = create_app(node)
    served = app if wrap is None else wrap(app)
    clients = {"analyst": signed_in(served, ANALYST), "admin": signed_in(served, ADMIN),
               "nobody": signed_in(served, None)}
    try:
        yield clients
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


def run_pages(backend: str, node: Node, prepared: Prepared, warmup: int, requests: int,
              only: tuple[str, ...]) -> list[PageTimes]:
    results = []
    with app_over(node) as clients:
        for who, path in pages(prepared):
            if only and not any(path.startswith(o) for o in only):
                continue
            # Metrics keeps what it counted for a minute (per reader and visibility, until the store changes):
            # the uncached row empties that cache first, as the first view after a change finds it.
            before: Callable[[], object] = node.metrics._cache.clear if path.endswith(UNCACHED) else lambda: None
            found = time_page(backend, clients[who], who, path, warmup, requests, before)
            shown = found.problem or f"median {found.median:7.1f} ms  p95 {found.p95:7.1f} ms"
            print(f"  {backend:<10} {who:<8} {path[:70]:<70} {shown}", flush=True)
            results.append(found)
    return results


def profile_page(node: Node, path: str, requests: int) -> None:
    """Run ``path`` ``requests`` times under pyinstrument: each request in the event loop's thread (routing, the
    session, rendering; waiting for the pool shows as the loop's idle time), and each call the page hands to the
    thread pool in its own thread; the sessions of each kind are combined."""
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
        from pyinstrument.session import Session
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: .venv/bin/pip install pyinstrument") from None
    import anyio.to_thread

    on = [False]
    pooled: list[Session] = []
    looped: list[Session] = []
    pooled_seconds = [0.0]
    original = anyio.to_thread.run_sync

    async def profiled(func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        def run(*inner: Any) -> Any:
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            began = time.perf_counter()
            profiler.start()
            try:
                return func(*inner)
            finally:
                profiler.stop()
                pooled_seconds[0] += time.perf_counter() - began
                if profiler.last_session is not None:
                    pooled.append(profiler.last_session)
        return await original(run, *args, **kw) if on[0] else await original(func, *args, **kw)

    def wrap(app: Any) -> Any:
        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            if not on[0] or scope["type"] != "http":
                await app(scope, receive, send)
                return
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            try:
                await app(scope, receive, send)
            finally:
                profiler.stop()
                if profiler.last_session is not None:
                    looped.append(profiler.last_session)
        return asgi

    who = "admin" if path.startswith("/admin") else "nobody" if path.startswith("/signin") else "analyst"
    before: Callable[[], object] = node.metrics._cache.clear if path.endswith(UNCACHED) else lambda: None
    path = path.removesuffix(UNCACHED)
    anyio.to_thread.run_sync = profiled  # type: ignore[assignment]
    try:
        with app_over(node, wrap) as clients:
            client = clients[who]
            for _ in range(WARMUP):
                before()
                client.get(path)
            on[0] = True
            began = time.perf_counter()
            for _ in range(requests):
                before()
                client.get(path)
            total = time.perf_counter() - began
            on[0] = False
    finally:
        anyio.to_thread.run_sync = original
    print(f"{path}: {requests} requests under the profiler, {total / requests * 1000:.1f} ms each, of which "
          f"{pooled_seconds[0] / requests * 1000:.1f} ms in the thread pool")
    renderer = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False)
    for title, sessions in (("the event loop's thread", looped), ("the thread pool", pooled)):
        if sessions:
            combined = sessions[0]
            for more in sessions[1:]:
                combined = Session.combine(combined, more)
            print(f"\n=== {title} ({len(sessions)} sessions) ===")
            print(renderer.render(combined))


# the run -------------------------------------------------------------------------------------------------


def open_prepared(url: str, home: Path) -> tuple[Node, Prepared]:
    node = Node.open(Settings(database_url=url, home=home, session_secret="bench-dashboard-" + "s" * 32),
                     upgrade=True)
    titles = {c.title: c.id for c in node.admin.collections()}
    if "bench" not in titles:
        node.close()
        raise SystemExit(f"{url} has no 'bench' collection")
    prepared = prepare(node, titles["bench"])
    return node, prepared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="objects stored (default 1,000,000)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list: sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help=f"server URL (default {DEFAULT_POSTGRES})")
    parser.add_argument("--schema", default=SCHEMA, help=f"PostgreSQL schema of the data (default {SCHEMA})")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed requests per page ({WARMUP})")
    parser.add_argument("--requests", type=int, default=REQUESTS, help=f"timed requests per page ({REQUESTS})")
    parser.add_argument("--pages", default="", help="comma list of path prefixes to time (default: all)")
    parser.add_argument("--profile", default="", metavar="PATH",
                        help="profile this page (as the analyst; /admin as the admin) instead of timing all")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    only = tuple(p.strip() for p in args.pages.split(",") if p.strip())
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")

    results: list[PageTimes] = []
    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    try:
        for name in backends:
            if name == "sqlite":
                url = f"sqlite:///{ensure_sqlite(args.count)}"
            elif name == "postgresql":
                url = f"{args.postgres}?schema={args.schema}"
                loaded, _ = ensure_postgres(url, args.count, args.schema)
                loaded.close()
            else:
                raise SystemExit(f"unknown backend {name!r}: use sqlite and/or postgresql")
            began = time.perf_counter()
            node, prepared = open_prepared(url, home)
            try:
                ledger = sync_ledger(node)
                for note in prepared.notes:
                    print(f"{name}: {note}")
                if ledger > 1:
                    print(f"{name}: logged the versions the ledger lacked in {ledger:,.0f} s")
                if name == "postgresql":
                    seconds = postgres_analyze_all(args.postgres, args.schema)
                    print(f"postgresql: ANALYZE {args.schema}: {seconds:.1f} s")
                held = node.backend.store.stats().collections.get(prepared.collection, 0)
                print(f"{name}: {held:,} objects in the collection (ready in {time.perf_counter() - began:,.1f} s); "
                      f"target {prepared.target} ({prepared.ip}, label {prepared.label!r})", flush=True)
                if args.profile:
                    profile_page(node, args.profile, args.requests)
                    continue
                results.extend(run_pages(name, node, prepared, args.warmup, args.requests, only))
            finally:
                node.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if args.profile:
        return 0

    print()
    rows = []
    for r in results:
        if r.problem and not r.samples_ms:
            rows.append([r.path, r.backend, r.who, str(r.status), "-", "-", "-", "-", "-", r.problem])
            continue
        timing = f"{statistics.median(r.server_timing_ms):.1f}" if r.server_timing_ms else "-"
        verdict = r.problem or ("met" if r.p95 < TARGET_MS else "p95 over" if r.median < TARGET_MS else "NOT MET")
        rows.append([r.path, r.backend, r.who, f"{r.size / 1024:.0f} KiB", f"{r.median:.1f}", f"{r.p95:.1f}",
                     f"{r.median / TARGET_MS:.2f}x", f"{r.p95 / TARGET_MS:.2f}x", timing, verdict])
    print(table(["page", "backend", "as", "HTML", "median ms", "p95 ms", "median/200ms", "p95/200ms",
                 "Server-Timing", f"< {TARGET_MS:.0f} ms"], rows))
    missing = [r for r in results if r.problem.startswith("missing")]
    over = [r for r in results if r.samples_ms and r.p95 >= TARGET_MS]
    print(f"\n{len(results)} page timings; {len(over)} with p95 >= {TARGET_MS:.0f} ms; {len(missing)} missing "
          f"(load average now {os.getloadavg()[0]:.1f}: other work on the machine shows in the p95s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
