"""Federation and live streams over real processes: how fast an object accepted by one node is visible on a node
that follows it, how fast a follower catches up with a backlog, and how one node fans a stream out to hundreds of
subscribers.

    .venv/bin/python benchmarks/bench_federation.py                       # a, b and c at the default sizes
    .venv/bin/python benchmarks/bench_federation.py --parts abc --objects 5000 --seconds 5 --subscribers 50

Every node is ``python -m phalanx --home HOME serve --host 127.0.0.1 --port P`` in a process of its own (SQLite in
its own home folder, a temporary folder under benchmarks/.cache/ removed afterwards), made with the CLI as an
operator makes it (``init``, ``community add isac``, ``org add``, ``community join``, ``key create``); a follower
B follows A as ``phalanx peer invite b --key-only`` on A and ``phalanx peer add URL --key KEY --name a`` on B
say, and ``phalanx serve`` on B runs the link (TAXII 2.1 catch-up pages, then A's live stream). The load comes
from separate client processes: a poster (one keep-alive ``http.client`` connection, ``POST
/api/v1/collections/isac/objects`` with bundles of ``--batch`` real Maltrail indicators on a fixed schedule of
``--rate`` objects/s: it posts late rather than skipping when a POST takes longer than its slot) and SSE
subscribers (``asyncio.Protocol`` on raw sockets, ``GET /api/v1/stream?collection=isac`` with a reader key of the
node's organization; while the node works each keeps the bytes it receives with their arrival time and only counts
object messages, and parses them after the run, so the clients take little of the machine's two cores; a message
is timed by the arrival of the bytes that completed it). Times are ``time.monotonic()`` (CLOCK_MONOTONIC, one
clock for every process of the machine). An object is *accepted* when the POST that carried it returned 200 with
every object accepted.

a. Propagation. A and B, B follows A. A subscriber on A (A's own live stream) and one on B; a warm-up bundle
   (untimed) goes through first. Then the poster sends ``--rate`` x ``--seconds`` objects to A. Latency of each
   object: its arrival on B's stream minus the return of the POST that carried it to A (on A's stream too, for
   the part of it A's own stream takes). p50, p90, p99, max; the rate achieved; every object must arrive, once.
   Targets: p50 < 100 ms, p99 < 500 ms at 1,000 objects/s sustained.
b. Catch-up. A holds ``--objects`` indicators, imported with ``phalanx import`` before it serves; B is given the
   peer (``peer add``), then its ``phalanx serve`` starts: the time from that process's start until B's peer
   state (``phalanx peer status a`` reads the same record, polled here every 50 ms through the store) counts every
   object received. Objects/s. Target: >= 10,000 objects/s. Baseline, same run, same server, same key (the peer
   key of B on A): taxii2-client 2.3.0 fetching every page, ``as_pages(collection.get_objects, per_request=1000)``
   (one requests session, keep-alive; each page's JSON parsed by ``Response.json``; nothing validated nor
   stored), best of a run before and one after ours.
c. Fan-out. One node, ``--subscribers`` SSE subscribers over ``--client-procs`` processes, then ``--fanout``
   objects posted at ``--rate``: each subscriber must receive every object exactly once. Delivery time from the
   first POST to the last delivery, deliveries/s, latency per delivery (p50, p99, max) and per subscriber (the
   median of their p50s, the worst p99), loss and duplicates (must be 0), lagged subscribers; the rate the poster
   achieved while the node fans out, and the CPU of the node and of the clients.

Flags: ``--stream-buffer N`` sets the nodes' ``stream_buffer`` (default: the node's own default, 10,000);
``--spy DIR`` records the serve processes with py-spy (if installed) during the timed windows and prints their top
functions; ``--keep`` keeps the nodes' folders (and logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import multiprocessing
import os
import platform
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from _corpus import CACHE_DIR, corpus, read_lines, table

COMMUNITY = "isac"
OBJECTS_PATH = f"/api/v1/collections/{COMMUNITY}/objects"
STREAM_PATH = f"/api/v1/stream?collection={COMMUNITY}"
TARGET_P50_MS = 100.0
TARGET_P99_MS = 500.0
TARGET_CATCHUP = 10_000.0
POLL = 0.05
NAN = float("nan")


# --------------------------------------------------------------------------------------------------------------
# Nodes: real `phalanx serve` processes, made with the CLI


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHALANX_")}
    return {**env, **extra}


def cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, "-m", "phalanx", "--home", str(home), *args], capture_output=True,
                          text=True, env=node_env(env or {}), timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"phalanx {' '.join(args[:3])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return NAN
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class NodeProc:
    """One node in its folder: made with the CLI, served by ``phalanx serve`` in a process of its own."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.home = folder / name
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def make(self, org: str, roles: Sequence[str]) -> dict[str, str]:
        """``init``, community ``isac`` (its collection ``isac``), organization ``org`` in it, and a key of
        ``org`` for each role (returned by role)."""
        cli(self.home, "init", env=self.env)
        cli(self.home, "community", "add", COMMUNITY, env=self.env)
        cli(self.home, "org", "add", org, env=self.env)
        cli(self.home, "community", "join", COMMUNITY, org, env=self.env)
        return {role: cli(self.home, "key", "create", "--org", org, "--role", role, env=self.env).strip()
                for role in roles}

    def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "phalanx", "--home", str(self.home), "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=node_env(self.env))

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Wait until /health answers; the monotonic time it did."""
        assert self.process is not None
        give_up = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"node {self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", "/health")
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return time.monotonic()
            except OSError:
                pass
            finally:
                conn.close()
            if time.monotonic() > give_up:
                raise SystemExit(f"node {self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid) if self.process is not None else NAN

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def warnings(self) -> list[str]:
        """Lines the node logged (it logs at warning level: any line is worth a look)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip() and not line.startswith("Phalanx serving on")]


@contextlib.contextmanager
def workspace(args: argparse.Namespace, label: str) -> Iterator[Path]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-federation-{label}-", dir=CACHE_DIR))
    try:
        yield folder
    finally:
        if args.keep:
            print(f"  (kept {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def follow(follower: NodeProc, followed: NodeProc, name: str) -> str:
    """``peer invite`` on the followed node, ``peer add`` on the follower (the followed node must be serving)."""
    key = cli(followed.home, "peer", "invite", follower.name, "--key-only", env=followed.env).strip()
    cli(follower.home, "peer", "add", followed.url, "--key", key, "--name", name, env=follower.env)
    return key


def bundle(lines: Sequence[bytes]) -> bytes:
    return b'{"type":"bundle","id":"bundle--%s","objects":[%s]}' % (str(uuid.uuid4()).encode(), b",".join(lines))


def post_once(port: int, key: str, lines: Sequence[bytes]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", OBJECTS_PATH, bundle(lines), headers={"Authorization": f"Bearer {key}",
                                                                   "Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    answer = orjson.loads(body) if response.status == 200 else {}
    if answer.get("accepted") != len(lines):
        raise SystemExit(f"POST to 127.0.0.1:{port}: HTTP {response.status}: {body[:300]!r}")


def object_id(line: bytes) -> str:
    return str(orjson.loads(line)["id"])


# --------------------------------------------------------------------------------------------------------------
# The poster: its own process, one keep-alive connection, bundles on a fixed schedule


def run_poster(port: int, key: str, path: str, first: int, count: int, batch: int, rate: float,
               give_up_after: float, results: Any) -> None:
    lines = read_lines(Path(path), first + count)[first:]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    interval = batch / rate
    done: list[tuple[int, int, float, float, int, int]] = []
    error = ""
    begin = time.monotonic()
    try:
        for k, start in enumerate(range(0, count, batch)):
            due = begin + k * interval
            now = time.monotonic()
            if now > begin + give_up_after:
                error = f"gave up after {give_up_after:.0f} s with {count - start:,} objects not posted"
                break
            if due > now:
                time.sleep(due - now)
            chunk = lines[start:start + batch]
            sent = time.monotonic()
            conn.request("POST", OBJECTS_PATH, bundle(chunk), headers=headers)
            response = conn.getresponse()
            body = response.read()
            returned = time.monotonic()
            accepted = orjson.loads(body).get("accepted", 0) if response.status == 200 else 0
            done.append((start, len(chunk), sent, returned, response.status, accepted))
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    results.put(("posted", 0, {"batches": done, "error": error, "begin": begin}))


@dataclass
class Posted:
    """What the poster did: per object (index in the id list), when its POST was sent and returned."""

    sent: list[float]
    returned: list[float]
    accepted: list[bool]
    begin: float
    error: str
    statuses: Counter[int] = field(default_factory=Counter)

    @classmethod
    def of(cls, report: dict[str, Any], count: int) -> Posted:
        sent, returned, accepted = [NAN] * count, [NAN] * count, [False] * count
        statuses: Counter[int] = Counter()
        for start, size, s, r, status, ok in report["batches"]:
            statuses[status] += 1
            for i in range(start, start + size):
                sent[i], returned[i], accepted[i] = s, r, ok == size
        return cls(sent, returned, accepted, report["begin"], report["error"], statuses)

    @property
    def count(self) -> int:
        return sum(self.accepted)

    @property
    def seconds(self) -> float:
        """From the first POST sent to the last one returned."""
        finished = [r for r in self.returned if r == r]
        return max(finished) - min(s for s in self.sent if s == s) if finished else NAN

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else NAN


# --------------------------------------------------------------------------------------------------------------
# SSE subscribers: asyncio, raw sockets, several per process


_OBJECT_EVENT = b"\nevent: object-added\n"
"""Each object message has this line right after its ``id:`` line; ``data:`` is one line of JSON, which holds no
raw newline, so the bytes occur nowhere else."""


class SseClient(asyncio.Protocol):
    """One live-stream subscriber, as light as it can be while the node works: each piece of bytes is kept with the
    time it arrived, and object messages are counted (to know when everything came); the messages are parsed
    after the run (``messages``), each timed by the arrival of the piece that completed it."""

    def __init__(self, target: int, request: bytes) -> None:
        self.target = target
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.status = b""
        self.chunked = False
        self.pieces: list[tuple[float, bytes]] = []
        self.seen = 0
        self._tail = b""
        self.connected = False
        self.closed = False
        self.error = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.connected:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end], self.head[end + 4:]
            self.status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in self.status + b" ":
                self.error = f"{self.status.decode(errors='replace')}: {data[:300]!r}"
                self.close()
                return
            self.chunked = b"transfer-encoding: chunked" in head.lower()
            self.connected = True
            if not data:
                return
        self.pieces.append((now, data))
        joined = self._tail + data
        self.seen += joined.count(_OBJECT_EVENT) - self._tail.count(_OBJECT_EVENT)
        self._tail = joined[-len(_OBJECT_EVENT):]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def body(self) -> Iterator[tuple[float, bytes]]:
        """The response body (chunked transfer decoded), each part with the time its last byte arrived."""
        if not self.chunked:
            yield from self.pieces
            return
        buffer, need = b"", -1
        for when, data in self.pieces:
            buffer += data
            out = []
            while True:
                if need < 0:
                    line_end = buffer.find(b"\r\n")
                    if line_end < 0:
                        break
                    size = int(buffer[:line_end].split(b";")[0].strip() or b"0", 16)
                    buffer = buffer[line_end + 2:]
                    if size == 0:
                        break
                    need = size + 2
                if len(buffer) < need:
                    break
                out.append(buffer[:need - 2])
                buffer, need = buffer[need:], -1
            if out:
                yield when, b"".join(out)

    def summary(self, index: dict[bytes, int], count: int) -> dict[str, Any]:
        """Arrival time per id (NaN: never), duplicates, other messages."""
        times = array("d", [NAN]) * count
        found: Counter[str] = Counter()
        pending = b""
        for when, data in self.body():
            pending += data
            cut = pending.rfind(b"\n\n")
            if cut < 0:
                continue
            block, pending = pending[:cut], pending[cut + 2:]
            for message in block.split(b"\n\n"):
                event, payload = b"", b""
                for line in message.split(b"\n"):
                    if line.startswith(b"data: "):
                        payload = line[6:]
                    elif line.startswith(b"event: "):
                        event = line[7:]
                    elif line.startswith(b":"):
                        found["heartbeats"] += 1
                if not payload:
                    continue
                if event == b"lagged":
                    found["lagged"] += 1
                elif event in (b"object-added", b"object-revoked", b"sighting-added"):
                    start = payload.find(b'"id":"', payload.find(b'"object":')) + 6
                    number = index.get(payload[start:payload.find(b'"', start)])
                    if number is None:
                        found["others"] += 1
                    elif times[number] == times[number]:
                        found["duplicates"] += 1
                    else:
                        times[number] = when
                else:
                    found["notices"] += 1
        return {"target": self.target, "times": times, "duplicates": found["duplicates"], "others": found["others"],
                "notices": found["notices"], "heartbeats": found["heartbeats"], "lagged": bool(found["lagged"]),
                "connected": self.connected, "closed": self.closed and self.seen < count, "error": self.error}


async def _subscribers(targets: Sequence[tuple[int, str]], number: int, ids: Sequence[str], warm: int,
                       results: Any, stop: Any, hard_deadline: float) -> None:
    loop = asyncio.get_running_loop()
    subs: list[SseClient] = []
    for t, (port, key) in enumerate(targets):
        request = (f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
                   "Accept: text/event-stream\r\n\r\n").encode()
        sub = SseClient(t, request)
        try:
            await loop.create_connection(lambda sub=sub: sub, "127.0.0.1", port)
        except OSError as exc:
            sub.error = f"{type(exc).__name__}: {exc}"
        subs.append(sub)

    def done(sub: SseClient) -> bool:
        return sub.seen >= len(ids) or sub.closed or bool(sub.error)

    said_ready = said_warm = False
    cpu_start = cpu_end = time.process_time()
    while time.monotonic() < hard_deadline and not stop.is_set():
        if not said_ready and all(s.connected or s.error or s.closed for s in subs):
            results.put(("ready", number, sum(s.connected for s in subs)))
            said_ready = True
        if said_ready and not said_warm and all(s.seen >= warm or done(s) for s in subs):
            results.put(("warm", number, sum(s.seen >= warm for s in subs)))
            said_warm = True
            cpu_start = time.process_time()
        cpu_end = time.process_time()
        if all(done(s) for s in subs):
            break
        await asyncio.sleep(0.02)
    for sub in subs:
        sub.close()
    index = {oid.encode(): n for n, oid in enumerate(ids)}
    results.put(("result", number, {"subs": [s.summary(index, len(ids)) for s in subs], "cpu": cpu_end - cpu_start}))


def run_subscribers(targets: Sequence[tuple[int, str]], number: int, ids: Sequence[str], warm: int, results: Any,
                    stop: Any, hard_deadline: float) -> None:
    """One subscriber per (port, key) of ``targets`` in this process, until each has seen as many object
    messages as ``ids`` holds (or lost its stream), ``stop`` is set, or ``hard_deadline`` (monotonic) passes.
    Reports "ready" (all connected), "warm" (each has the first ``warm`` objects), then "result"."""
    asyncio.run(_subscribers(targets, number, ids, warm, results, stop, hard_deadline))


class Clients:
    """The client processes of one part, and the queue they report on."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.results = self.context.Queue()
        self.stop = self.context.Event()
        self.processes: list[Any] = []
        self.pending: list[tuple[str, int, Any]] = []

    def _start(self, target: Any, *args: Any) -> None:
        process = self.context.Process(target=target, args=args, daemon=True)
        process.start()
        self.processes.append(process)

    def subscribers(self, targets: Sequence[tuple[int, str]], number: int, ids: Sequence[str], warm: int,
                    hard_deadline: float) -> None:
        """A process holding one subscriber per (port, key) of ``targets`` (see ``run_subscribers``)."""
        self._start(run_subscribers, list(targets), number, list(ids), warm, self.results, self.stop, hard_deadline)

    def poster(self, port: int, key: str, path: Path, first: int, count: int, batch: int, rate: float,
               give_up_after: float) -> None:
        """A process posting ``count`` corpus lines from ``first`` (see ``run_poster``)."""
        self._start(run_poster, port, key, str(path), first, count, batch, rate, give_up_after, self.results)

    def wait(self, kind: str, count: int, timeout: float) -> list[Any]:
        """The next ``count`` reports of ``kind`` (others are kept for later); stops at ``timeout``."""
        found: list[Any] = []
        keep: list[tuple[str, int, Any]] = []
        for item in self.pending:
            (found if item[0] == kind and len(found) < count else keep).append(item)
        self.pending = keep
        give_up = time.monotonic() + timeout
        while len(found) < count:
            left = give_up - time.monotonic()
            if left <= 0:
                break
            try:
                item = self.results.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            (found if item[0] == kind else self.pending).append(item)
        return [item[2] for item in found]

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


# --------------------------------------------------------------------------------------------------------------
# py-spy (optional)


class Spy:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.running: list[tuple[subprocess.Popen[bytes], Path, str]] = []
        self.binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if folder is not None and not Path(self.binary).exists():
            print("  (py-spy not found: --spy ignored; pip install py-spy into the venv)")
            self.folder = None

    def start(self, pid: int, label: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        out = self.folder / f"{label}.txt"
        process = subprocess.Popen([self.binary, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                                    "--output", str(out), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.running.append((process, out, label))

    def finish(self) -> None:
        for process, out, label in self.running:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            summarize_spy(out, label)
        self.running = []


def summarize_spy(path: Path, label: str, top: int = 12) -> None:
    """Top functions of a py-spy raw (collapsed) profile: by own samples and by inclusive samples."""
    if not path.exists():
        print(f"  py-spy {label}: no profile written")
        return
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        threads[frames[0]] += count
        own[frames[-1]] += count
        for frame in set(frames[1:]):
            inclusive[frame] += count
    if not total:
        print(f"  py-spy {label}: no samples")
        return
    print(f"  py-spy {label}: {total:,} samples (200/s, idle threads left out); {path}")
    print("    by thread: " + ", ".join(f"{t} {n / total:.0%}" for t, n in threads.most_common(6)))
    for name, counter in (("own", own), ("inclusive", inclusive)):
        print(f"    top by {name} samples:")
        for frame, count in counter.most_common(top):
            print(f"      {count / total:6.1%}  {frame}")


# --------------------------------------------------------------------------------------------------------------
# Reporting


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank."""
    if not values:
        return NAN
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    return f"{seconds * 1000:,.2f}" if abs(seconds) < 0.01 else f"{seconds * 1000:,.1f}"


def num(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


@dataclass
class Row:
    part: str
    measure: str
    ours: str
    peer: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


SUMMARY: list[Row] = []


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


@dataclass
class Delivery:
    """One subscriber's deliveries measured against the POSTs."""

    latencies: list[float]
    missing: int
    duplicates: int
    others: int
    lagged: bool
    error: str
    last: float


def deliveries(summary: dict[str, Any], posted: Posted, warm: int) -> Delivery:
    times = summary["times"]
    latencies, missing, last = [], 0, NAN
    for i in range(warm, len(times)):
        if not posted.accepted[i - warm]:
            continue
        t = times[i]
        if t != t:
            missing += 1
            continue
        latencies.append(t - posted.returned[i - warm])
        last = t if last != last else max(last, t)
    error = summary["error"] or ("stream ended early" if summary["closed"] else "")
    return Delivery(latencies, missing, summary["duplicates"], summary["others"], summary["lagged"], error, last)


def posting_line(posted: Posted, count: int, args: argparse.Namespace) -> str:
    post = [r - s for r, s in zip(posted.returned, posted.sent, strict=True) if r == r][::args.batch]
    return (f"posting: {posted.count:,} objects accepted of {count:,} in {posted.seconds:,.2f} s = "
            f"{posted.rate:,.0f} objects/s (asked {args.rate:,.0f}/s); per POST of {args.batch}: p50 "
            f"{ms(percentile(post, 0.5))} ms, p99 {ms(percentile(post, 0.99))} ms, max {ms(max(post, default=NAN))} "
            f"ms; HTTP {dict(posted.statuses)}" + (f"; {posted.error}" if posted.error else ""))


# --------------------------------------------------------------------------------------------------------------
# Part a: propagation latency A -> B


def part_a(args: argparse.Namespace, path: Path, env: dict[str, str]) -> None:
    count = int(args.rate * args.seconds)
    lines = read_lines(path, args.batch + count)
    warm_lines = lines[:args.batch]
    ids = [object_id(line) for line in lines]
    print(f"a. propagation: {count:,} objects to A at {args.rate:,.0f}/s ({args.batch} per POST) for "
          f"{args.seconds:g} s; B follows A; one SSE subscriber on A, one on B", flush=True)
    spy = Spy(args.spy)
    with workspace(args, "a") as folder:
        a, b = NodeProc(folder, "a", env), NodeProc(folder, "b", env)
        clients = Clients()
        try:
            a_keys = a.make("A CERT", ("contributor", "reader"))
            b_keys = b.make("B CERT", ("reader",))
            a.start()
            follow(b, a, "a")
            b.start()
            deadline = time.monotonic() + 60 + args.seconds * 3 + args.drain
            clients.subscribers([(a.port, a_keys["reader"]), (b.port, b_keys["reader"])], 0, ids, args.batch,
                                deadline)
            if not clients.wait("ready", 1, 30):
                raise SystemExit("a: the subscribers did not connect within 30 s")
            warm_at = time.monotonic()
            post_once(a.port, a_keys["contributor"], warm_lines)  # untimed: the link and both streams are live
            if not clients.wait("warm", 1, 90):
                raise SystemExit(f"a: the warm-up objects did not reach B within 90 s:\n{b.log_tail()}")
            warm_seconds, b_age = time.monotonic() - warm_at, warm_at - b.started
            time.sleep(0.5)
            cpu = (a.cpu(), b.cpu())
            for node in (a, b):
                spy.start(node.pid, f"a-{node.name}")
            clients.poster(a.port, a_keys["contributor"], path, args.batch, count, args.batch, args.rate,
                           args.seconds * 2 + 10)
            reports = clients.wait("posted", 1, args.seconds * 2 + 80)
            if not reports:
                raise SystemExit("a: the poster did not report")
            posted = Posted.of(reports[0], count)
            results = clients.wait("result", 1, args.drain)
            cpu_used = (a.cpu() - cpu[0], b.cpu() - cpu[1])
            spy.finish()
            if not results:
                clients.stop.set()
                results = clients.wait("result", 1, 15)
            status = orjson.loads(cli(b.home, "peer", "status", "a", "--json", env=b.env))
            notes = [*a.warnings(), *b.warnings()]
        finally:
            clients.close()
            for node in (b, a):
                node.stop()
    if not results:
        raise SystemExit("a: the subscribers did not report")
    by_target = {s["target"]: deliveries(s, posted, args.batch) for s in results[0]["subs"]}
    on_a, on_b = by_target[0], by_target[1]
    rows = []
    for label, d in (("on A's own stream (the node accepting)", on_a), ("on B (follows A)", on_b)):
        rows.append([label, f"{len(d.latencies):,}/{posted.count:,}", ms(percentile(d.latencies, 0.5)),
                     ms(percentile(d.latencies, 0.9)), ms(percentile(d.latencies, 0.99)),
                     ms(max(d.latencies, default=NAN)), ms(min(d.latencies, default=NAN)), f"{d.duplicates}"])
    print(table(["accepted on A -> visible", "arrived", "p50 ms", "p90 ms", "p99 ms", "max ms", "min ms",
                 "duplicates"], rows))
    b_times = next(s for s in results[0]["subs"] if s["target"] == 1)["times"]
    sent_latency = [b_times[i + args.batch] - posted.sent[i] for i in range(count)
                    if posted.accepted[i] and b_times[i + args.batch] == b_times[i + args.batch]]
    print(posting_line(posted, count, args))
    print(f"from the POST being sent (not returned) to B: p50 {ms(percentile(sent_latency, 0.5))} ms, "
          f"p99 {ms(percentile(sent_latency, 0.99))} ms")
    print(f"warm-up (untimed): {args.batch} objects posted {b_age:,.1f} s after B started reached B in "
          f"{warm_seconds * 1000:,.0f} ms")
    print(f"CPU during the timed part: A {cpu_used[0]:,.1f} s, B {cpu_used[1]:,.1f} s "
          f"(over {posted.seconds:,.1f} s of posting plus the drain)")
    print(f"B's peer status afterwards: received {status['received']:,}, refused {status['refused']}, "
          f"lag {status['lag_ms']} ms, last error {status['last_error'] or '-'}")
    for d, where in ((on_a, "A"), (on_b, "B")):
        if d.missing or d.duplicates or d.lagged or d.error:
            print(f"! on {where}: {d.missing} missing, {d.duplicates} duplicates, lagged {d.lagged}, {d.error}")
    for note in notes[:10]:
        print(f"  node log: {note}")
    p50, p99 = percentile(on_b.latencies, 0.5) * 1000, percentile(on_b.latencies, 0.99) * 1000
    complete = on_b.missing == 0 and on_b.duplicates == 0 and posted.count == count
    SUMMARY.extend([
        Row("a", f"A -> B p50 at {posted.rate:,.0f} objects/s", f"{p50:,.1f} ms", target=f"< {TARGET_P50_MS:.0f} ms",
            met=verdict(p50 < TARGET_P50_MS)),
        Row("a", "A -> B p99", f"{p99:,.1f} ms", target=f"< {TARGET_P99_MS:.0f} ms", met=verdict(p99 < TARGET_P99_MS)),
        Row("a", "A -> B max", f"{max(on_b.latencies, default=NAN) * 1000:,.1f} ms"),
        Row("a", "arrived on B, once each", f"{len(on_b.latencies):,}/{count:,}, {on_b.duplicates} dup",
            target="all", met=verdict(complete)),
        Row("a", "rate sustained", f"{posted.rate:,.0f}/s", target=f"{args.rate:,.0f}/s",
            met=verdict(posted.rate >= 0.97 * args.rate)),
    ])


# --------------------------------------------------------------------------------------------------------------
# Part b: catching up with a backlog


class PeerPoll:
    """Poll a peer's state with one open backend (as ``phalanx peer status`` reads it)."""

    def __init__(self, home: Path, name: str) -> None:
        from phalanx.config import Settings
        from phalanx.store import open_backend

        self.name = name
        self.backend = open_backend(Settings(home=home).database)

    def __call__(self) -> tuple[int, int]:
        try:
            state = self.backend.peers.state(self.name)
        except Exception:  # the follower's serve holds the write lock for a moment: ask again
            return -1, -1
        return state.received, state.refused

    def close(self) -> None:
        self.backend.close()


def taxii_baseline(port: int, collection_id: str, key: str, per_request: int) -> tuple[int, float, int]:
    """taxii2-client: every page of the collection, as ``as_pages`` fetches them; (objects, seconds, pages)."""
    import requests
    from taxii2client.v21 import Collection, as_pages

    class Bearer(requests.auth.AuthBase):
        def __call__(self, r: Any) -> Any:
            r.headers["Authorization"] = f"Bearer {key}"
            return r

    began = time.perf_counter()
    collection = Collection(f"http://127.0.0.1:{port}/taxii2/api/collections/{collection_id}/", auth=Bearer())
    objects = pages = 0
    for envelope in as_pages(collection.get_objects, per_request=per_request):
        objects += len(envelope.get("objects", []))
        pages += 1
    seconds = time.perf_counter() - began
    collection.close()
    return objects, seconds, pages


def collection_id(port: int, key: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/v1/collections", headers={"Authorization": f"Bearer {key}"})
        found = orjson.loads(conn.getresponse().read())["collections"]
    finally:
        conn.close()
    return str(next(c["id"] for c in found if c["title"] == COMMUNITY))


def stored_count(home: Path, env: dict[str, str]) -> int:
    """Objects B stores, as ``phalanx stats --json`` counts them."""
    stats = orjson.loads(cli(home, "stats", "--json", env=env))
    return int(stats.get("objects", -1)) if isinstance(stats, dict) else -1


def part_b(args: argparse.Namespace, path: Path, env: dict[str, str]) -> None:
    count = args.objects
    print(f"b. catch-up: A holds {count:,} indicators (phalanx import); B follows it (peer add, then serve)",
          flush=True)
    spy = Spy(args.spy)
    with workspace(args, "b") as folder:
        a, b = NodeProc(folder, "a", env), NodeProc(folder, "b", env)
        poll: PeerPoll | None = None
        try:
            a.make("A CERT", ())
            b.make("B CERT", ())
            source = path
            if sum(1 for _ in path.open("rb")) != count:
                source = folder / f"backlog-{count}.jsonl"
                source.write_bytes(b"\n".join(read_lines(path, count)) + b"\n")
            began = time.perf_counter()
            cli(a.home, "import", str(source), "--org", "A CERT", "--collection", COMMUNITY, env=a.env)
            imported = time.perf_counter() - began
            print(f"  A: imported {count:,} objects in {imported:,.1f} s ({count / imported:,.0f}/s, untimed)",
                  flush=True)
            a.start()
            peer_key = follow(b, a, "a")
            cid = collection_id(a.port, peer_key)
            baselines = []
            got, seconds, pages = taxii_baseline(a.port, cid, peer_key, args.per_request)
            baselines.append((got, seconds, pages))
            print(f"  taxii2-client (before): {got:,} objects in {pages} pages, {seconds:,.2f} s", flush=True)
            poll = PeerPoll(b.home, "a")
            a_cpu = a.cpu()
            b.spawn()
            give_up = b.started + args.catchup_timeout
            first = done = NAN
            ready: list[float] = []
            threading.Thread(target=lambda: ready.append(b.wait_ready(60)), daemon=True).start()
            received = refused = 0
            spying = False
            while time.monotonic() < give_up:
                received, refused = poll()
                now = time.monotonic()
                if received > 0 and first != first:
                    first = now
                if not spying and received > 0:
                    spy.start(b.pid, "b-catchup-b")
                    spy.start(a.pid, "b-catchup-a")
                    spying = True
                if received + refused >= count:
                    done = now
                    break
                if b.process is not None and b.process.poll() is not None:
                    raise SystemExit(f"b: B exited:\n{b.log_tail()}")
                time.sleep(POLL)
            cpu_b, cpu_a = b.cpu(), a.cpu() - a_cpu
            spy.finish()
            stored = stored_count(b.home, b.env)
            got, seconds, pages = taxii_baseline(a.port, cid, peer_key, args.per_request)
            baselines.append((got, seconds, pages))
            print(f"  taxii2-client (after): {got:,} objects in {pages} pages, {seconds:,.2f} s", flush=True)
            notes = [*a.warnings(), *b.warnings()]
        finally:
            if poll is not None:
                poll.close()
            for node in (b, a):
                node.stop()
    total = done - b.started
    best = min(baselines, key=lambda r: r[1])
    ours = count / total if total == total else NAN
    peer = best[0] / best[1]
    rows = [
        ["phalanx: B's serve started -> B holds all", f"{received:,}", num(total, 2), num(ours)],
        ["  (from its first object received)", "", num(done - first, 2), num(count / (done - first))],
        [f"taxii2-client as_pages(per_request={args.per_request}), best of 2", f"{best[0]:,}", num(best[1], 2),
         num(peer)],
    ]
    print(table(["catch-up of the backlog", "objects", "seconds", "objects/s"], rows))
    health = ready[0] - b.started if ready else NAN
    print(f"B: /health answered {num(health, 2)} s after its start, first object stored after "
          f"{num(first - b.started, 2)} s; {received:,} received, {refused:,} refused, {stored:,} objects stored "
          f"(phalanx stats); CPU B {cpu_b:,.1f} s, A {cpu_a:,.1f} s over the catch-up")
    print(f"ours / taxii2-client: {ours / peer:,.2f}x (taxii2-client only fetches and parses the pages; B "
          "also validates every object strictly, checks the sharing policy, stores it and logs it in its ledger)")
    if done != done:
        print(f"! B did not hold all {count:,} objects within {args.catchup_timeout:g} s")
    for note in notes[:10]:
        print(f"  node log: {note}")
    SUMMARY.extend([
        Row("b", f"catch-up of {count:,} objects", f"{ours:,.0f}/s", f"{peer:,.0f}/s", f"{ours / peer:,.2f}x",
            f">= {TARGET_CATCHUP:,.0f}/s", verdict(ours >= TARGET_CATCHUP and stored == count)),
    ])


# --------------------------------------------------------------------------------------------------------------
# Part c: fan-out


def part_c(args: argparse.Namespace, path: Path, env: dict[str, str]) -> None:
    count, subscribers = args.fanout, args.subscribers
    procs = max(1, min(args.client_procs, subscribers))
    lines = read_lines(path, args.batch + count)
    ids = [object_id(line) for line in lines]
    print(f"c. fan-out: {subscribers:,} SSE subscribers over {procs} client processes; {count:,} objects posted at "
          f"{args.rate:,.0f}/s ({args.batch} per POST)", flush=True)
    spy = Spy(args.spy)
    with workspace(args, "c") as folder:
        node = NodeProc(folder, "hub", env)
        clients = Clients()
        try:
            keys = node.make("Hub CERT", ("contributor", "reader"))
            node.start()
            deadline = time.monotonic() + 240 + subscribers * 0.2 + count / args.rate * 10 + args.drain
            target = (node.port, keys["reader"])
            shares = [subscribers // procs + (i < subscribers % procs) for i in range(procs)]
            connect_began = time.monotonic()
            for number, share in enumerate(shares):
                clients.subscribers([target] * share, number, ids, args.batch, deadline)
            ready = clients.wait("ready", procs, 60 + subscribers * 0.2)
            connected = sum(ready)
            connect_seconds = time.monotonic() - connect_began
            if len(ready) < procs or connected < subscribers:
                raise SystemExit(f"c: {connected} of {subscribers} subscribers connected:\n{node.log_tail()}")
            post_once(node.port, keys["contributor"], lines[:args.batch])
            warm = clients.wait("warm", procs, 60)
            if len(warm) < procs:
                raise SystemExit(f"c: the warm-up did not reach every subscriber within 60 s:\n{node.log_tail()}")
            time.sleep(0.5)
            cpu = node.cpu()
            spy.start(node.pid, "c-hub")
            clients.poster(node.port, keys["contributor"], path, args.batch, count, args.batch, args.rate,
                           count / args.rate * 10 + 60)
            reports = clients.wait("posted", 1, count / args.rate * 10 + 120)
            if not reports:
                raise SystemExit("c: the poster did not report")
            posted = Posted.of(reports[0], count)
            results = clients.wait("result", procs, args.drain)
            cpu_used = node.cpu() - cpu
            spy.finish()
            if len(results) < procs:
                clients.stop.set()
                results += clients.wait("result", procs - len(results), 15)
            notes = node.warnings()
        finally:
            clients.close()
            node.stop()
    subs = [deliveries(s, posted, args.batch) for report in results for s in report["subs"]]
    client_cpu = sum(report["cpu"] for report in results)
    every = [lat for d in subs for lat in d.latencies]
    expected = len(subs) * posted.count
    missing = sum(d.missing for d in subs) + (subscribers - len(subs)) * posted.count
    duplicates = sum(d.duplicates for d in subs)
    lagged = sum(d.lagged for d in subs)
    errors = [d.error for d in subs if d.error]
    last = max((d.last for d in subs if d.last == d.last), default=NAN)
    first_post = min(s for s in posted.sent if s == s)
    fanout = last - first_post
    tail = last - max(r for r in posted.returned if r == r)
    others = sum(d.others for d in subs)
    p50s = [percentile(d.latencies, 0.5) for d in subs if d.latencies]
    p99s = [percentile(d.latencies, 0.99) for d in subs if d.latencies]
    rows = [
        ["every delivery", f"{len(every):,}", ms(percentile(every, 0.5)), ms(percentile(every, 0.9)),
         ms(percentile(every, 0.99)), ms(max(every, default=NAN))],
        ["per subscriber: median of p50 / p99", f"{len(subs):,}", ms(percentile(p50s, 0.5)), "",
         ms(percentile(p99s, 0.5)), ""],
        ["per subscriber: worst p50 / p99", "", ms(max(p50s, default=NAN)), "", ms(max(p99s, default=NAN)), ""],
    ]
    print(table(["accepted -> delivered", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    print(posting_line(posted, count, args))
    print(f"{len(subs):,} subscribers connected in {connect_seconds:,.1f} s; deliveries {len(every):,} of "
          f"{expected:,} expected: "
          f"missing {missing:,}, duplicates {duplicates:,}, unexpected {others:,}, lagged subscribers {lagged}, "
          f"errors {len(errors)}")
    print(f"fan-out: first POST sent -> last delivery {fanout:,.2f} s ({tail:,.2f} s after the last POST returned), "
          f"{len(every) / fanout:,.0f} deliveries/s; "
          f"node CPU {cpu_used:,.1f} s over that ({cpu_used / fanout:.0%} of one core), the {procs} client processes "
          f"{client_cpu:,.1f} s"
          + (f"; stream_buffer {args.stream_buffer:,}" if args.stream_buffer else "; stream_buffer default"))
    for error in errors[:5]:
        print(f"! {error}")
    for note in notes[:10]:
        print(f"  node log: {note}")
    complete = missing == 0 and duplicates == 0 and lagged == 0 and others == 0 and not errors
    post = [r - s for r, s in zip(posted.returned, posted.sent, strict=True) if r == r][::args.batch]
    SUMMARY.extend([
        Row("c", f"{subscribers:,} subscribers x {count:,} objects, loss / dup",
            f"{missing:,} / {duplicates:,}", target="0 / 0", met=verdict(complete)),
        Row("c", "first POST -> last delivery", f"{fanout:,.2f} s ({len(every) / fanout:,.0f}/s)"),
        Row("c", "posting during the fan-out", f"{posted.rate:,.0f}/s, POST p50 {percentile(post, 0.5) * 1000:,.0f} ms",
            target=f"{args.rate:,.0f}/s asked"),
        Row("c", "delivery p50 / p99",
            f"{percentile(every, 0.5) * 1000:,.0f} / {percentile(every, 0.99) * 1000:,.0f} ms"),
    ])


# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="abc", help="which parts to run: a, b and/or c (default abc)")
    parser.add_argument("--rate", type=float, default=1000.0, help="objects/s posted in a and c (default 1,000)")
    parser.add_argument("--batch", type=int, default=10, help="objects per POST (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of posting in a (default 20)")
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds a and c wait for deliveries after the last POST (default 60)")
    parser.add_argument("--objects", type=int, default=100_000, help="backlog of part b (default 100,000)")
    parser.add_argument("--per-request", type=int, default=1000, help="page size of the baseline in b (1,000)")
    parser.add_argument("--catchup-timeout", type=float, default=300.0,
                        help="seconds b waits for B to hold the backlog (default 300)")
    parser.add_argument("--subscribers", type=int, default=500, help="SSE subscribers in c (default 500)")
    parser.add_argument("--fanout", type=int, default=2000, help="objects posted in c (default 2,000)")
    parser.add_argument("--client-procs", type=int, default=4, help="processes holding c's subscribers (4)")
    parser.add_argument("--stream-buffer", type=int, default=0,
                        help="set the nodes' stream_buffer (default: leave the node's default)")
    parser.add_argument("--spy", type=Path, default=None, help="record the nodes with py-spy into this folder")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' folders")
    args = parser.parse_args(argv)
    parts = set(args.parts.lower())
    if not parts <= {"a", "b", "c"} or not parts:
        raise SystemExit("--parts takes a, b and/or c")
    env = {"PHALANX_STREAM_BUFFER": str(args.stream_buffer)} if args.stream_buffer else {}
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, SQLite "
          f"{sqlite3.sqlite_version}; parts {''.join(sorted(parts))}\n")
    need = max(args.objects if "b" in parts else 0, args.batch + int(args.rate * args.seconds) if "a" in parts else 0,
               args.batch + args.fanout if "c" in parts else 0)
    path = corpus(need)
    print(f"corpus: {path}\n", flush=True)
    began = time.perf_counter()
    for part, run in (("a", part_a), ("b", part_b), ("c", part_c)):
        if part in parts:
            run(args, path, env)
            print(flush=True)
    print(table(["part", "measure", "phalanx", "peer", "ours/peer", "target", ""],
                [[r.part, r.measure, r.ours, r.peer, r.ratio, r.target, r.met] for r in SUMMARY]))
    print(f"\n(run took {time.perf_counter() - began:,.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
