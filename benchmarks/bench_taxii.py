"""TAXII 2.1 over HTTP: Phalanx's server and medallion 3.0.0 (the OASIS reference server) on the same data, each
a real server in its own process; then Phalanx alone with 1,000,000 objects and the sharing policy on.

    .venv/bin/python benchmarks/bench_taxii.py                          # a, b and c (c builds its store once)
    .venv/bin/python benchmarks/bench_taxii.py --parts ab --budget 10   # the side-by-side parts only, shorter
    .venv/bin/python benchmarks/bench_taxii.py --parts c --store-count 10000 --pages 50

Servers, both on 127.0.0.1 (a free port), started by this script and stopped (SIGTERM, then SIGKILL) in
``finally`` blocks, each in a temporary folder under benchmarks/.cache/ removed afterwards:

* Phalanx: ``python -m phalanx serve --host 127.0.0.1 --port P`` (what ``phalanx serve`` runs: uvicorn, one
  process, the TAXII app mounted at ``/taxii2`` by ``phalanx.web.create_app``) with ``PHALANX_HOME`` the
  temporary folder, holding a fresh SQLite node: one community with one collection, a producer organization
  (contributor key, for the POSTs) and a reader organization (reader key, for the GETs). Every read goes through
  the policy (``visibility(actor, venue)`` compiled into the query); the corpus objects carry no TLP marking,
  so they are stored at the hub's default, TLP:AMBER, which the reader sees as a member of the community.
* medallion 3.0.0 with its memory backend: ``python -m medallion.scripts.run --host 127.0.0.1 --port P
  config.json`` (what its ``medallion`` console script runs: Flask's built-in werkzeug server, threaded),
  with the users of medallion's sample configuration (``user1`` / ``Password1``, HTTP Basic),
  ``max_page_size`` 100, and a data file written here holding one API root and one empty collection
  (can_read and can_write).

Load: ``--clients`` processes (default 2), separate from the servers and from this one, each with one
keep-alive ``http.client`` connection in a closed loop (send, read the whole answer, send the next). The same
client code and requests for both servers. Each test runs for ``--budget`` seconds per server: no request (nor
walk) starts after that; what is still in flight may finish within ``--grace`` more seconds, else it is counted
as unfinished. Rates are completed requests (or accepted objects) over the wall time from the start to the last
answer, so a server that needs longer than the budget for one request is measured, not cut off.

a. GET the collection resource (a small GET) on the empty server. Then the collection is filled through POST
   (``--objects`` real indicators, default 2,000, in envelopes of 100; untimed), and, with it holding them: the
   small GET again; GET ``objects/?limit=100`` (the first page, again and again); and walks (the first page,
   then every ``next`` page until ``more`` is false). Requests/s, p50 and p99 per request (each GET test after
   untimed warm-up requests: 20, or 2 s). Target: GET >= 10x medallion.
b. On a fresh server (empty collection), POST envelopes of 100 indicators it has never seen until the budget
   is spent: objects/s (from the statuses' ``success_count``), p50 and p99 per POST. The rate is reported
   overall and over the last third of the run (medallion checks each new object against every object of the
   collection, so its rate falls as the collection grows). Target: >= 20x medallion.
c. Phalanx alone: a store of ``--store-count`` (default 1,000,000) real indicators built once and kept in
   ``benchmarks/.cache/taxii-1m.db`` (with ``taxii-1m.json``: the collection, the reader key, the mix). One
   community of 5 member organizations; each contributes a share through ``node.ingest.stream`` in chunks of
   ``--chunk`` (default 1,000) objects, taking turns, each chunk with a TLP 2.0 marking drawn at random (CLEAR
   20 %, GREEN 30 %, AMBER 25 %, AMBER+STRICT 10 %, RED 15 %) and, for some AMBER, AMBER+STRICT and RED chunks,
   named recipients (``organizations=...``, ``people=...``): so some chunks are hidden from the reader. Served
   by ``phalanx serve`` on that file and measured through HTTP as a reader key of member 1: ``--pages`` first
   pages ``objects/?added_after=t&limit=100`` with ``t`` drawn at random over the collection's ``date_added``,
   each followed by up to ``--follow`` pages through ``next``; p50, p95 and p99 per page (after 20 untimed
   pages), with ``--store-clients`` clients (default 1). Target: p99 < 50 ms. medallion cannot hold a million
   objects (its first page takes seconds at 2,000), so it is not run here.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import itertools
import math
import multiprocessing
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from _corpus import CACHE_DIR, corpus, table

TAXII = "application/taxii+json;version=2.1"
MEDALLION_USER = ("user1", "Password1")
"""A user of medallion's sample configuration (config.json of its repository)."""
PAGE = 100
TARGET_GET = 10.0
TARGET_POST = 20.0
TARGET_P99_MS = 50.0
WARMUP = 20
MEMBERS = 5
LEVEL_WEIGHTS = {"CLEAR": 20, "GREEN": 30, "AMBER": 25, "AMBER_STRICT": 10, "RED": 15}


# --------------------------------------------------------------------------------------------------------------
# The client: runs in its own process, one keep-alive connection, closed loop.


@dataclass(frozen=True)
class Load:
    """What one client process does until its deadline."""

    port: int
    headers: tuple[tuple[str, str], ...]
    mode: str
    """``get`` (the same request again and again), ``walk`` (first page then every next page), ``post`` (envelopes
    from ``corpus``) or ``pages`` (first pages at ``added_after`` times, each followed by ``follow`` pages)."""
    path: str
    start_at: float = 0.0
    """``time.monotonic()`` at which every client starts."""
    deadline: float = 0.0
    """No request starts after this."""
    hard_deadline: float = 0.0
    """A request still running then is abandoned (unfinished)."""
    worker: int = 0
    workers: int = 1
    corpus: str = ""
    first_line: int = 0
    max_objects: int = 0
    bundle: int = PAGE
    added_after: tuple[str, ...] = ()
    follow: int = 0


@dataclass
class Outcome:
    """What the clients of one test did: latencies (seconds) and object counts by kind of request."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    stamps: dict[str, list[float]] = field(default_factory=dict)
    """When each request of a kind ended (monotonic), for rates over part of the run."""
    objects: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0
    walks: int = 0
    began: float = 0.0
    ended: float = 0.0

    def add(self, kind: str, seconds: float, objects: int) -> None:
        self.samples.setdefault(kind, []).append(seconds)
        self.stamps.setdefault(kind, []).append(time.monotonic())
        self.objects[kind] += objects

    def merge(self, other: Outcome) -> None:
        for kind, values in other.samples.items():
            self.samples.setdefault(kind, []).extend(values)
            self.stamps.setdefault(kind, []).extend(other.stamps[kind])
        self.objects.update(other.objects)
        self.statuses.update(other.statuses)
        self.errors.extend(other.errors[: max(0, 5 - len(self.errors))])
        self.unfinished += other.unfinished
        self.walks += other.walks
        self.began = min(self.began, other.began) if self.began else other.began
        self.ended = max(self.ended, other.ended)

    def count(self, kind: str | None = None) -> int:
        return sum(len(v) for k, v in self.samples.items() if kind is None or k == kind)

    @property
    def wall(self) -> float:
        return max(self.ended - self.began, 1e-9)


class Abandoned(Exception):
    """The hard deadline passed before the answer came."""


class Client:
    def __init__(self, load: Load, outcome: Outcome) -> None:
        self.load = load
        self.outcome = outcome
        self.headers = dict(load.headers)
        self.conn = http.client.HTTPConnection("127.0.0.1", load.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
        remaining = self.load.hard_deadline - time.monotonic()
        if remaining <= 0:
            raise Abandoned
        self.conn.timeout = remaining
        if self.conn.sock is not None:
            self.conn.sock.settimeout(remaining)
        begin = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except TimeoutError:
            self.conn.close()
            raise Abandoned from None
        except (ConnectionError, http.client.HTTPException) as exc:
            self.conn.close()  # reconnects on the next request
            self.outcome.statuses[0] += 1
            if len(self.outcome.errors) < 5:
                self.outcome.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return 0, b"", time.perf_counter() - begin
        seconds = time.perf_counter() - begin
        self.outcome.statuses[response.status] += 1
        if response.status >= 300 and len(self.outcome.errors) < 5:
            self.outcome.errors.append(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        return response.status, data, seconds

    def open(self) -> bool:
        return time.monotonic() < self.load.deadline

    def page(self, kind: str, path: str) -> dict[str, Any] | None:
        status, data, seconds = self.request("GET", path)
        if status != 200:
            self.outcome.add(kind + " (error)", seconds, 0)
            return None
        envelope: dict[str, Any] = orjson.loads(data) if data else {}
        self.outcome.add(kind, seconds, len(envelope.get("objects", ())))
        return envelope

    def follow(self, kind: str, path: str, envelope: dict[str, Any] | None, pages: int | None) -> bool:
        """Up to ``pages`` next pages (None: all); whether the walk reached its end. A walk that started before
        the deadline goes on until the hard deadline."""
        joiner = "&" if "?" in path else "?"
        done = 0
        while envelope is not None and envelope.get("more") and envelope.get("next"):
            if pages is not None and done >= pages:
                return False
            envelope = self.page(kind, f"{path}{joiner}next={quote(str(envelope['next']), safe='')}")
            done += 1
        return envelope is not None

    def run(self) -> None:
        load = self.load
        if load.mode == "get":
            while self.open():
                self.page("get", load.path)
        elif load.mode == "walk":
            while self.open():
                begin = time.perf_counter()
                if self.follow("next", load.path, self.page("first", load.path), None):
                    self.outcome.walks += 1
                    self.outcome.add("walk", time.perf_counter() - begin, 0)
        elif load.mode == "pages":
            for stamp in load.added_after:
                if not self.open():
                    break
                path = f"{load.path}?added_after={quote(stamp, safe='')}&limit={PAGE}"
                self.follow("next", path, self.page("first", path), load.follow)
        elif load.mode == "post":
            for body, count in envelopes(load):
                if not self.open():
                    break
                status, data, seconds = self.request("POST", load.path, body)
                accepted = 0
                if status in (200, 201, 202):
                    found: dict[str, Any] = orjson.loads(data)
                    accepted = int(found.get("success_count", 0))
                    if accepted != count and len(self.outcome.errors) < 5:
                        self.outcome.errors.append(f"POST: {accepted} of {count} accepted: {data[:300]!r}")
                self.outcome.add("post", seconds, accepted)
        else:
            raise ValueError(f"unknown mode {load.mode!r}")


def envelopes(load: Load) -> Iterator[tuple[bytes, int]]:
    """This client's share of envelopes: corpus lines from ``first_line``, ``bundle`` at a time, every
    ``workers``-th envelope starting at number ``worker``, at most ``max_objects`` lines in all."""
    with open(load.corpus, "rb") as stream:
        lines = itertools.islice(stream, load.first_line, load.first_line + load.max_objects)
        for number in itertools.count():
            chunk = [line.rstrip(b"\n") for line in itertools.islice(lines, load.bundle)]
            if not chunk:
                return
            if number % load.workers == load.worker:
                yield b'{"objects":[' + b",".join(chunk) + b"]}", len(chunk)


def client_run(load: Load) -> Outcome:
    """The body of one client process."""
    outcome = Outcome()
    client = Client(load, outcome)
    time.sleep(max(0.0, load.start_at - time.monotonic()))
    outcome.began = time.monotonic()
    try:
        client.run()
    except Abandoned:
        outcome.unfinished += 1
    finally:
        client.conn.close()
    outcome.ended = time.monotonic() if outcome.unfinished else max(
        [outcome.began, *(s[-1] for s in outcome.stamps.values() if s)])
    return outcome


def client_ready(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def run_load(pool: Executor, clients: int, template: Load, budget: float, grace: float,
             added_after: Sequence[str] = ()) -> Outcome:
    """``clients`` copies of ``template`` in the pool's processes, started together, for ``budget`` seconds."""
    start = time.monotonic() + 0.5
    loads = [replace(template, worker=i, workers=clients, start_at=start, deadline=start + budget,
                     hard_deadline=start + budget + grace, added_after=tuple(added_after[i::clients]))
             for i in range(clients)]
    merged = Outcome()
    for outcome in pool.map(client_run, loads):
        merged.merge(outcome)
    merged.began = start
    return merged


# --------------------------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(name: str, command: list[str], env: dict[str, str], folder: Path, port: int,
                 probe: str, headers: dict[str, str]) -> Server:
    """Start ``command`` and wait until ``GET probe`` answers 200 (30 s at most)."""
    log = folder / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=folder,
                                   stdin=subprocess.DEVNULL)
    server = Server(name, port, process, log)
    give_up = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", probe, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return server
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > give_up:
            server.stop()
            raise SystemExit(f"{name} did not answer on 127.0.0.1:{port} within 30 s:\n{server.log_tail()}")
        time.sleep(0.1)


def server_env(home: Path, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHALANX_")}
    env["PHALANX_HOME"] = str(home)
    if database_url:
        env["PHALANX_DATABASE_URL"] = database_url
    return env


def start_phalanx(folder: Path, database_url: str = "") -> Server:
    port = free_port()
    command = [sys.executable, "-m", "phalanx", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return start_server("phalanx", command, server_env(folder, database_url), folder, port, "/health", {})


@dataclass(frozen=True)
class Target:
    """One server as the clients see it."""

    name: str
    port: int
    read: tuple[tuple[str, str], ...]
    write: tuple[tuple[str, str], ...]
    collection: str
    """The path of the ``bench`` collection resource (``.../collections/{id}/``)."""


def bearer(key: str, *, body: bool = False) -> tuple[tuple[str, str], ...]:
    headers = [("Accept", TAXII), ("Authorization", f"Bearer {key}")]
    return (*headers, ("Content-Type", TAXII)) if body else tuple(headers)


def basic(user: str, password: str, *, body: bool = False) -> tuple[tuple[str, str], ...]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    headers = [("Accept", TAXII), ("Authorization", f"Basic {token}")]
    return (*headers, ("Content-Type", TAXII)) if body else tuple(headers)


def phalanx_node(folder: Path) -> tuple[str, str, str]:
    """A fresh SQLite node in ``folder``: (the bench collection's id, a producer key, a reader key)."""
    from phalanx.config import Settings
    from phalanx.identity import Role
    from phalanx.service import Node

    node = Node.open(Settings(home=folder), upgrade=True)
    try:
        node.admin.add_community("bench")
        for name in ("Producer Org", "Reader Org"):
            node.admin.add_organization(name)
            node.admin.join("bench", name)
        producer, _ = node.admin.create_key("Producer Org", Role.CONTRIBUTOR, label="bench_taxii producer")
        reader, _ = node.admin.create_key("Reader Org", Role.READER, label="bench_taxii reader")
        return node.admin.collection("bench").id, producer, reader
    finally:
        node.close()


def medallion_files(folder: Path, port: int) -> tuple[Path, str]:
    """medallion's config and memory-backend data file (one API root, one empty collection); the collection id."""
    bench_id = "7a9e1c0e-2b7f-4a4c-9f51-5b3f9e0c1d01"
    root = f"http://127.0.0.1:{port}/api1/"
    collection = {"id": bench_id, "title": "bench", "description": "bench_taxii", "can_read": True,
                  "can_write": True, "media_types": ["application/stix+json;version=2.1"], "objects": [],
                  "manifest": []}

    data = {
        "/discovery": {"title": "bench_taxii", "description": "medallion for bench_taxii.py", "default": root,
                       "api_roots": [root]},
        "api1": {
            "information": {"title": "bench", "description": "bench_taxii", "versions": [TAXII],
                            "max_content_length": 64 * 1024 * 1024},
            "status": [],
            "collections": [collection],
        },
    }
    data_file = folder / "medallion-data.json"
    data_file.write_bytes(orjson.dumps(data))
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(data_file)},
        "users": {"admin": "Password0", "user1": "Password1", "user2": "Password2"},
        "taxii": {"max_page_size": PAGE},
    }
    config_file = folder / "medallion-config.json"
    config_file.write_bytes(orjson.dumps(config))
    return config_file, bench_id


@contextlib.contextmanager
def serving(name: str) -> Iterator[Target]:
    """A running server with its empty collection, in a temporary folder removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-taxii-{name}-", dir=CACHE_DIR))
    server: Server | None = None
    try:
        if name == "phalanx":
            bench_id, producer, reader = phalanx_node(folder)
            server = start_phalanx(folder)
            target = Target(name, server.port, bearer(reader), bearer(producer, body=True),
                            f"/taxii2/api/collections/{bench_id}/")
        else:
            port = free_port()
            config, bench_id = medallion_files(folder, port)
            command = [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port),
                       "--log-level", "WARN", str(config)]
            read = basic(*MEDALLION_USER)
            server = start_server(name, command, server_env(folder), folder, port, "/taxii2/", dict(read))
            target = Target(name, port, read, basic(*MEDALLION_USER, body=True), f"/api1/collections/{bench_id}/")
        yield target
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# Reporting


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank (the largest value when there are few)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    return f"{seconds * 1000:,.2f}" if seconds < 0.01 else f"{seconds * 1000:,.1f}"


def describe(outcome: Outcome) -> str:
    notes = [f"{len(requests_of(outcome)):,} requests in {outcome.wall:,.1f} s"]
    if outcome.walks:
        notes.append(f"{outcome.walks:,} complete walks")
    if outcome.unfinished:
        notes.append(f"{outcome.unfinished} unfinished (abandoned after the grace period)")
    bad = {s: n for s, n in outcome.statuses.items() if s >= 300 or s == 0}
    if bad:
        notes.append("FAILED: " + ", ".join(f"{n} x {f'HTTP {s}' if s else 'no answer'}"
                                            for s, n in sorted(bad.items())))
    return "; ".join(notes)


def requests_of(outcome: Outcome) -> list[float]:
    """The latency of every request answered with success (not the errors, nor the per-walk totals)."""
    return [s for kind, values in outcome.samples.items() if kind != "walk" and not kind.endswith("(error)")
            for s in values]


def request_rate(outcome: Outcome) -> float:
    return len(requests_of(outcome)) / outcome.wall


def object_rate(outcome: Outcome) -> float:
    return sum(outcome.objects.values()) / outcome.wall


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")


# --------------------------------------------------------------------------------------------------------------
# Parts a and b: side by side


@dataclass
class SideResult:
    name: str
    fill_count: int = 0
    fill_seconds: float = 0.0
    tests: dict[str, Outcome] = field(default_factory=dict)


SIDE_TESTS = (
    ("empty", "small GET (collection), server empty"),
    ("small", "small GET (collection)"),
    ("first", f"GET objects/?limit={PAGE}"),
    ("walk", "walk: first + every next page"),
    ("post", f"POST envelopes of {PAGE}"),
)


def fill(target: Target, path: Path, count: int) -> float:
    """POST the first ``count`` corpus objects into the bench collection (envelopes of 100, one connection)."""
    far = time.monotonic() + 3600
    outcome = Outcome()
    client = Client(Load(target.port, target.write, "post", target.collection + "objects/", deadline=far,
                         hard_deadline=far, corpus=str(path), max_objects=count), outcome)
    begin = time.perf_counter()
    try:
        client.run()
    finally:
        client.conn.close()
    if outcome.objects["post"] != count:
        raise SystemExit(f"{target.name}: filling the bench collection accepted {outcome.objects['post']} of "
                         f"{count} objects: {outcome.errors[:3]}")
    return time.perf_counter() - begin


def warm_up(target: Target, path: str) -> None:
    """Untimed: up to 20 requests on one connection, or 2 s (one request, when one takes longer)."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=600)
    stop = time.monotonic() + 2
    try:
        for _ in range(WARMUP):
            conn.request("GET", path, headers=dict(target.read))
            conn.getresponse().read()
            if time.monotonic() > stop:
                break
    finally:
        conn.close()


def late_rate(outcome: Outcome, kind: str, fraction: float = 1 / 3) -> float:
    """Objects per second over the last ``fraction`` of the run (every request of ``kind`` carries as many)."""
    stamps = outcome.stamps.get(kind, [])
    if not stamps:
        return 0.0
    per_request = outcome.objects[kind] / len(stamps)
    since = outcome.began + outcome.wall * (1 - fraction)
    return sum(1 for s in stamps if s >= since) * per_request / (outcome.wall * fraction)


def run_side(name: str, args: argparse.Namespace, pool: Executor, path: Path, parts: set[str]) -> SideResult:
    result = SideResult(name)
    if "a" in parts:
        with serving(name) as target:
            print(f"{name}: serving on 127.0.0.1:{target.port}", flush=True)
            collection = Load(target.port, target.read, "get", target.collection)
            objects = target.collection + f"objects/?limit={PAGE}"
            loads = {
                "empty": collection,
                "small": collection,
                "first": Load(target.port, target.read, "get", objects),
                "walk": Load(target.port, target.read, "walk", objects),
            }
            for key, label in SIDE_TESTS:
                if key == "small":
                    print(f"  filling the collection with {args.objects:,} objects (POST, envelopes of {PAGE})...",
                          flush=True)
                    result.fill_count, result.fill_seconds = args.objects, fill(target, path, args.objects)
                if key == "post":
                    continue
                if key != "walk":
                    warm_up(target, loads[key].path)
                result.tests[key] = run_load(pool, args.clients, loads[key], args.budget, args.grace)
                report(label, result.tests[key])
    if "b" in parts:
        with serving(name) as target:
            print(f"{name}: serving on 127.0.0.1:{target.port} (a fresh server, its collection empty)", flush=True)
            post = Load(target.port, target.write, "post", target.collection + "objects/", corpus=str(path),
                        first_line=args.objects, max_objects=args.post_max)
            result.tests["post"] = run_load(pool, args.clients, post, args.budget, args.grace)
            report(dict(SIDE_TESTS)["post"], result.tests["post"])
    return result


def report(label: str, outcome: Outcome) -> None:
    print(f"  {label}: {describe(outcome)}", flush=True)
    for error in outcome.errors[:3]:
        print(f"    ! {error}")


def side_table(results: list[SideResult]) -> None:
    ours = results[0]
    rows: list[list[str]] = []
    for key, label in SIDE_TESTS:
        if key not in ours.tests:
            continue
        rate_of = object_rate if key == "post" else request_rate
        for r in results:
            outcome = r.tests[key]
            latencies = requests_of(outcome)
            rows.append([f"{label}: {r.name}", f"{len(latencies):,}", f"{outcome.wall:,.1f}",
                         f"{request_rate(outcome):,.1f}", f"{object_rate(outcome):,.0f}",
                         ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.99)),
                         "" if r is ours else f"{ratio(rate_of(ours.tests[key]), rate_of(outcome)):,.0f}x"])
    print(table(["test: server", "requests", "seconds", "requests/s", "objects/s", "p50 ms", "p99 ms",
                 "ours/this"], rows))
    print("(ours/this: requests/s for the GETs, objects/s for the POSTs)")
    for r in results:
        notes = []
        if "small" in r.tests:
            notes.append(f"collection filled with {r.fill_count:,} objects in {r.fill_seconds:,.1f} s")
        if "post" in r.tests:
            post = r.tests["post"]
            notes.append(f"POST: {post.objects['post']:,} objects accepted, {late_rate(post, 'post'):,.0f} "
                         "objects/s over the last third of the run")
        print(f"{r.name}: " + "; ".join(notes))
    if len(results) < 2:
        return
    peer = results[1]
    for key, target in (("first", TARGET_GET), ("walk", TARGET_GET), ("post", TARGET_POST)):
        if key not in ours.tests:
            continue
        rate_of = object_rate if key == "post" else request_rate
        found = ratio(rate_of(ours.tests[key]), rate_of(peer.tests[key]))
        label = dict(SIDE_TESTS)[key]
        print(f"target {label} >= {target:.0f}x medallion: {found:,.0f}x, {'met' if found >= target else 'NOT MET'}")


# --------------------------------------------------------------------------------------------------------------
# Part c: a million objects, several organizations, mixed markings


def store_paths(count: int) -> tuple[Path, Path]:
    label = f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count}"
    return CACHE_DIR / f"taxii-{label}.db", CACHE_DIR / f"taxii-{label}.json"


@dataclass(frozen=True)
class Chunk:
    member: int
    level: str
    organizations: tuple[int, ...]
    people: tuple[int, ...]
    size: int


def plan_chunks(count: int, chunk: int, seed: int) -> list[Chunk]:
    """Who shares which chunk, at which level, to whom: members take turns; levels and recipients at random."""
    rng = random.Random(seed)
    levels = list(LEVEL_WEIGHTS)
    weights = list(LEVEL_WEIGHTS.values())
    chunks: list[Chunk] = []
    for number, start in enumerate(range(0, count, chunk)):
        member = number % MEMBERS
        level = rng.choices(levels, weights)[0]
        others = [m for m in range(MEMBERS) if m != member]
        organizations: tuple[int, ...] = ()
        people: tuple[int, ...] = ()
        if level in ("AMBER", "AMBER_STRICT") and rng.random() < 0.4:
            organizations = tuple(sorted(rng.sample(others, rng.randint(1, 2))))
        elif level == "RED" and rng.random() < 0.75:
            organizations = tuple(sorted(rng.sample(others, rng.randint(1, 3))))
            if rng.random() < 0.3:
                people = (rng.choice(others),)
        chunks.append(Chunk(member, level, organizations, people, min(chunk, count - start)))
    return chunks


def marked_lines(path: Path, chunks: list[Chunk]) -> Iterator[bytes]:
    """The corpus lines, each with ``object_marking_refs`` naming its chunk's TLP 2.0 marking."""
    from phalanx.stix import Tlp

    with path.open("rb") as stream:
        for chunk in chunks:
            ref = b',"object_marking_refs":["' + Tlp[chunk.level].value.encode() + b'"]}'
            for line in itertools.islice(stream, chunk.size):
                yield line.rstrip().removesuffix(b"}") + ref + b"\n"


def build_store(count: int, chunk: int, seed: int) -> dict[str, Any]:
    """Build the store of part c once (kept in benchmarks/.cache/); its description, with the reader key."""
    from bench_query import added_range

    from phalanx.config import Settings
    from phalanx.identity import Actor, Role
    from phalanx.policy import Recipients, Shared, Venue, may_see, principals
    from phalanx.service import Node
    from phalanx.stix import Mode, Tlp, parse_jsonl_parallel

    db, meta_path = store_paths(count)
    if db.exists() and meta_path.exists():
        meta: dict[str, Any] = orjson.loads(meta_path.read_bytes())
        if meta.get("count") == count:
            return meta
    source = corpus(count)
    partial = db.with_suffix(f".{os.getpid()}.tmp")
    for stale in (db, partial):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{stale}{suffix}").unlink(missing_ok=True)
    chunks = plan_chunks(count, chunk, seed)
    print(f"building {db.name}: {count:,} indicators from {MEMBERS} members in chunks of {chunk:,}, mixed TLP "
          "markings and recipients (once; kept for later runs)", flush=True)
    began = time.perf_counter()
    node = Node.open(Settings(database_url=f"sqlite:///{partial}"), upgrade=True)
    try:
        node.admin.add_community("isac", collection="shared")
        orgs = [node.admin.add_organization(f"Member {i + 1}") for i in range(MEMBERS)]
        users = [node.admin.add_user(f"analyst{i + 1}", org_ref=o.id, role=Role.CONTRIBUTOR)
                 for i, o in enumerate(orgs)]
        for org in orgs:
            node.admin.join("isac", org.id)
        reader_key, _ = node.admin.create_key(orgs[0].id, Role.READER, label="bench_taxii reader (member 1)")
        collection = node.admin.collection("shared")
        venue = Venue("isac", frozenset(o.id for o in orgs))
        reader = Actor(orgs[0].id, Role.READER)
        parsed = parse_jsonl_parallel(marked_lines(source, chunks), mode=Mode.STRICT)
        levels: Counter[str] = Counter()
        visible = refused = done = 0
        try:
            for number, c in enumerate(chunks):
                recipients = Recipients(tuple(orgs[i] for i in c.organizations), tuple(users[i] for i in c.people))
                summary = node.ingest.stream(Actor(orgs[c.member].id, Role.CONTRIBUTOR), collection.id,
                                             itertools.islice(parsed, c.size),
                                             organizations=[o.id for o in recipients.organizations],
                                             people=[u.id for u in recipients.people])
                refused += summary.refused
                levels[c.level] += c.size
                shared = Shared(Tlp[c.level], orgs[c.member].id, orgs[c.member].id, principals(recipients), venue)
                visible += c.size if may_see(reader, shared).allowed else 0
                done += c.size
                if (number + 1) % max(1, len(chunks) // 10) == 0 or done == count:
                    print(f"  {done:>9,} objects  {done / (time.perf_counter() - began):,.0f}/s", flush=True)
        finally:
            parsed.close()
        if refused or done != count:
            raise SystemExit(f"building the store: {refused:,} objects refused, {done:,} of {count:,} shared")
        low, high = added_range(node.backend.store, collection.id)
    finally:
        node.close()
    for suffix in ("", "-wal", "-shm"):  # the WAL too, should closing have left one
        if Path(f"{partial}{suffix}").exists():
            Path(f"{partial}{suffix}").replace(f"{db}{suffix}")
    meta = {"count": count, "chunk": chunk, "seed": seed, "collection": collection.id, "reader_key": reader_key,
            "reader_org": orgs[0].id, "levels": dict(levels), "visible_to_reader": visible,
            "date_added": [low, high], "seconds": round(time.perf_counter() - began, 1)}
    meta_path.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    print(f"built in {meta['seconds']:,.0f} s: {db} ({db.stat().st_size / 1e6:,.0f} MB)", flush=True)
    return meta


def run_store(args: argparse.Namespace, pool: Executor) -> tuple[dict[str, Any], Outcome]:
    from phalanx.stix import format_micros

    meta = build_store(args.store_count, args.chunk, args.seed)
    db, _ = store_paths(args.store_count)
    rng = random.Random(args.seed)
    low, high = meta["date_added"]
    stamps = [format_micros(rng.randint(low, high)) for _ in range(args.pages + WARMUP)]
    folder = Path(tempfile.mkdtemp(prefix="bench-taxii-store-", dir=CACHE_DIR))
    server: Server | None = None
    try:
        server = start_phalanx(folder, f"sqlite:///{db}")
        path = f"/taxii2/api/collections/{meta['collection']}/objects/"
        load = Load(server.port, bearer(meta["reader_key"]), "pages", path, follow=args.follow)
        print(f"phalanx: serving {db.name} on 127.0.0.1:{server.port}; {WARMUP} untimed pages, then {args.pages} "
              f"first pages with up to {args.follow} next pages each ({args.store_clients} client(s))", flush=True)
        run_load(pool, 1, replace(load, follow=0), args.store_budget, args.grace, stamps[:WARMUP])
        outcome = run_load(pool, args.store_clients, load, args.store_budget, args.grace, stamps[WARMUP:])
        print(f"  {describe(outcome)}", flush=True)
        for error in outcome.errors[:5]:
            print(f"  ! {error}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return meta, outcome


def store_table(meta: dict[str, Any], outcome: Outcome) -> None:
    count = meta["count"]
    mix = ", ".join(f"{k.replace('_', '+')} {v / count:.0%}" for k, v in meta["levels"].items())
    print(f"store: {count:,} indicators from {MEMBERS} members in chunks of {meta['chunk']:,} ({mix}); "
          f"{meta['visible_to_reader']:,} ({meta['visible_to_reader'] / count:.0%}) visible to member 1")
    rows = []
    for kinds, label in ((("first",), "first page (added_after=t)"), (("next",), "next pages (cursor)"),
                         (("first", "next"), "all pages")):
        samples = [s for k in kinds for s in outcome.samples.get(k, [])]
        if not samples:
            continue
        p99 = percentile(samples, 0.99)
        rows.append([label, f"{len(samples):,}", f"{sum(outcome.objects[k] for k in kinds) / len(samples):,.1f}",
                     ms(percentile(samples, 0.5)), ms(percentile(samples, 0.95)), ms(p99), ms(max(samples)),
                     "met" if p99 * 1000 < TARGET_P99_MS else "NOT MET"])
    print(table(["phalanx: reader of member 1, policy on", "pages", "objects/page", "p50 ms", "p95 ms", "p99 ms",
                 "max ms", f"p99 < {TARGET_P99_MS:.0f} ms"], rows))
    print(f"({request_rate(outcome):,.0f} pages/s over {outcome.wall:,.1f} s)")


# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="abc", help="which parts to run: a, b and/or c (default abc)")
    parser.add_argument("--clients", type=int, default=2, help="client processes for a and b (default 2)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per test and server (default 20)")
    parser.add_argument("--grace", type=float, default=60.0,
                        help="seconds requests in flight at the end of a budget may still take (default 60)")
    parser.add_argument("--objects", type=int, default=2_000, help="objects in the GET collection (default 2,000)")
    parser.add_argument("--post-max", type=int, default=500_000,
                        help="at most this many objects POSTed in part b (default 500,000)")
    parser.add_argument("--no-peer", action="store_true", help="skip medallion (Phalanx alone in a and b)")
    parser.add_argument("--store-count", type=int, default=1_000_000, help="objects in part c (default 1,000,000)")
    parser.add_argument("--chunk", type=int, default=1_000, help="objects per act of sharing in part c (1,000)")
    parser.add_argument("--pages", type=int, default=1_000, help="first pages timed in part c (default 1,000)")
    parser.add_argument("--follow", type=int, default=4, help="next pages followed from each (default 4)")
    parser.add_argument("--store-clients", type=int, default=1, help="client processes in part c (default 1)")
    parser.add_argument("--store-budget", type=float, default=60.0, help="seconds for part c (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    parts = set(args.parts.lower())
    if not parts <= {"a", "b", "c"} or not parts:
        raise SystemExit("--parts takes a, b and/or c")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"{args.clients} client processes, budget {args.budget:g} s per test (+ {args.grace:g} s grace)\n")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)

    context = multiprocessing.get_context("spawn")
    workers = max(args.clients, args.store_clients)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(client_ready, range(workers)))
        side: list[SideResult] = []
        if parts & {"a", "b"}:
            path = corpus(max(args.objects + args.post_max, args.store_count))  # part c's file when it is larger
            print(f"corpus: {path}\n")
            for name in ("phalanx", *(() if args.no_peer else ("medallion",))):
                side.append(run_side(name, args, pool, path, parts))
            print()
            side_table(side)
            print()
        if "c" in parts:
            meta, outcome = run_store(args, pool)
            print()
            store_table(meta, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
