"""Defects a review of issue 5 (live streams, webhooks, federation) found, each pinned by its own test now that it
is fixed: gaps in multi-collection catch-up, access decided once, unmarked objects from peers, hostile peers'
answers, bounds on what a peer may send, and robustness of the link and the webhook attempts."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from phalanx.config import Settings
from phalanx.errors import AuthenticationError, NotFound
from phalanx.federation import PeerClient
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.store import Query
from phalanx.streams._sse import Message, read_messages
from tests.federation.sites import Site
from tests.streams.server import Stream, served
from tests.support import INDICATOR, World, bundle, make_world
from tests.webhooks.receiver import receiving

RED = tlp_marking_definition(Tlp.RED)["id"]
STRICT = tlp_marking_definition(Tlp.AMBER_STRICT)["id"]


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-5eed-4b0c-8b5e-0c1f9a55d6aa", **extra)


def eventually(check: Callable[[], bool], *, timeout: float = 8.0) -> bool:
    """Whether ``check()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- one node --------------------------------------------------------------------------------------------------


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(Settings(database_url="memory://", stream_heartbeat_seconds=0.3, webhook_backoff_seconds=0.05,
                            webhook_backoff_max_seconds=0.2, webhook_max_attempts=3, webhook_timeout_seconds=2))
    yield w
    w.node.close()


@pytest.fixture(autouse=True)
def _close_streams() -> Iterator[None]:
    yield
    Stream.close_all()


def messages(stream: Stream, *, seconds: float, until: str | None = None) -> list[Message]:
    """The messages a stream sends within ``seconds`` (heartbeats keep it open, so read until a deadline), or
    up to the one whose object is ``until``."""
    deadline = time.monotonic() + seconds
    found: list[Message] = []

    def lines() -> Iterator[bytes]:
        while time.monotonic() < deadline:
            try:
                line = stream.response.readline()
            except (TimeoutError, OSError):
                return
            if not line:
                return
            yield line

    for message in read_messages(lines()):
        found.append(message)
        if until is not None and until in message.data:
            break
    return found


def object_ids(stream: Stream, *, seconds: float, until: object = None) -> list[str]:
    return [json.loads(m.data)["object"]["id"] for m in messages(stream, seconds=seconds,
                                                                 until=None if until is None else str(until))
            if m.event in ("object-added", "object-revoked", "sighting-added")]


def share(world: World, collection: str, *objects: dict[str, object]) -> None:
    results = world.node.ingest.document(world.contributor, collection, bundle(*objects))
    assert all(r.outcome == "accepted" for r in results), results


def commit_during_the_first_page_read(world: World, first: dict[str, object], second: dict[str, object]) -> None:
    """Make the next multi-collection read race with two writers: right after the first collection's page is
    read, ``first`` is committed into that collection and then ``second`` into the other one (which is read
    next). Both commits come after the read started; ``first`` has the smaller date_added."""
    reader = world.node.reader
    original = reader.page
    done = threading.Event()

    def page(actor: Actor, query: Query) -> Any:
        result = original(actor, query)
        if not done.is_set():
            done.set()
            other = "second" if reader.collection(actor, "isac").collection.id == query.collection else "isac"
            share(world, "isac" if other == "second" else "second", first)
            share(world, other, second)
        return result

    reader.page = page  # type: ignore[method-assign]


def test_a_webhook_gets_a_version_committed_between_the_per_collection_reads(world: World) -> None:
    world.node.admin.add_collection("second", community="isac")
    with receiving() as receiver:
        hooks = world.node.webhooks
        hooks.create(receiver.url, by=Actor(world.globex.id, Role.CONTRIBUTOR))
        share(world, "isac", indicator(1))
        commit_during_the_first_page_read(world, indicator(2), indicator(3))
        for _ in range(5):
            hooks.run_once()
        delivered = receiver.delivered_ids()
        assert indicator(3)["id"] in delivered  # the later one arrives ...
        assert indicator(2)["id"] in delivered  # ... but the earlier one never does


def test_the_live_stream_gets_a_version_committed_between_the_per_collection_reads(world: World) -> None:
    world.node.admin.add_collection("second", community="isac")
    share(world, "isac", indicator(1))
    with served(world.node) as base:
        key = world.node.admin.create_key(world.globex.id, Role.READER)[0]
        commit_during_the_first_page_read(world, indicator(2), indicator(3))
        stream = Stream(base, key, last_event_id="0", timeout=3)
        got = object_ids(stream, seconds=3.0, until=indicator(3)["id"])  # in date_added order: 1, 2, 3
        assert indicator(3)["id"] in got
        assert indicator(2)["id"] in got


def test_the_live_stream_sends_at_once_a_change_buffered_during_the_last_catch_up_read(world: World) -> None:
    world.node.admin.add_collection("second", community="isac")
    share(world, "isac", indicator(1))
    share(world, "second", indicator(2))  # linked into "isac" below: no new version, so no checkpoint notice
    node = world.node
    reader = node.reader
    original = reader.page
    done = threading.Event()

    def page(actor: Actor, query: Query) -> Any:
        result = original(actor, query)
        if not done.is_set():  # committed just after the subscriber's read: the feed hands it to the buffer
            done.set()
            share(world, "isac", indicator(2))
            (subscriber,) = node.streams._open  # type: ignore[attr-defined]
            assert eventually(lambda: len(subscriber._buffer) > 0, timeout=5)
        return result

    with served(node) as base:
        key = node.admin.create_key(world.globex.id, Role.READER)[0]
        reader.page = page  # type: ignore[method-assign]
        stream = Stream(base, key, params={"collection": "isac"}, last_event_id="0", timeout=3)
        got = object_ids(stream, seconds=1.0, until=indicator(2)["id"])  # three heartbeats
        assert got[:1] == [indicator(1)["id"]]
        assert indicator(2)["id"] in got


@pytest.mark.parametrize("change", ["key revoked", "left the community"])
def test_the_live_stream_stops_sending_once_access_is_withdrawn(world: World, change: str) -> None:
    with served(world.node) as base:
        secret, record = world.node.admin.create_key(world.globex.id, Role.READER)
        stream = Stream(base, secret, timeout=3)
        assert stream.status == 200
        share(world, "isac", indicator(1))
        assert object_ids(stream, seconds=3.0, until=indicator(1)["id"]) == [indicator(1)["id"]]
        if change == "key revoked":
            world.node.admin.revoke_key(record.key_id)
            with pytest.raises(AuthenticationError):  # every other request with it is refused
                world.node.admin.authenticate(secret)
        else:
            world.node.admin.leave("isac", world.globex.id)
            with pytest.raises(NotFound):  # every other read of the collection is refused
                world.node.reader.page(Actor(world.globex.id, Role.READER), Query(collection="isac"))
        share(world, "isac", indicator(2))
        assert indicator(2)["id"] not in object_ids(stream, seconds=0.8, until=indicator(2)["id"])


# -- several nodes ---------------------------------------------------------------------------------------------


def test_an_unmarked_object_from_a_peer_is_kept_for_the_home_organization(
        sites: Callable[..., Site]) -> None:
    a, b = sites("a", default_tlp=Tlp.RED), sites("b")
    b.follow(a)
    peer_b_on_a = a.node.admin.organization("peer b").id
    a.share(indicator(1), recipients=(peer_b_on_a,))  # no marking: RED on A (its default), for B's node only
    other_on_a = a.node.admin.add_organization("Another member of A")
    a.node.admin.join("isac", other_on_a.id)
    assert a.ids(as_org=other_on_a.id) == set()  # RED on A indeed
    b.federation.start()
    assert eventually(lambda: indicator(1)["id"] in b.ids())
    other = b.node.admin.add_organization("Another member of B")
    b.node.admin.join("isac", other.id)
    assert indicator(1)["id"] in b.ids(as_org=b.org.id)
    assert indicator(1)["id"] not in b.ids(as_org=other.id)  # RED: for B's own organization only


def test_in_a_mesh_a_later_version_from_the_origin_is_taken(sites: Callable[..., Site]) -> None:
    a, b, c = sites("a"), sites("b"), sites("c")
    b.follow(a)
    c.follow(b)
    b.federation.start()
    c.federation.start()
    a.share(indicator(1, object_marking_refs=[tlp_marking_definition(Tlp.AMBER)["id"]]))  # A -> B -> C
    assert eventually(lambda: indicator(1)["id"] in c.ids())
    c.follow(a)  # now C hears A directly too (a mesh); serve picks the new peer up within a second
    assert eventually(lambda: c.federation.status("a").running and bool(c.federation.status("a").state.cursors))
    peer_c_on_a = a.node.admin.organization("peer c").id
    a.share(indicator(1, modified="2017-01-01T00:00:00.000Z", object_marking_refs=[STRICT]),
            recipients=(peer_c_on_a,))  # A's new version, for C's node only
    assert eventually(lambda: c.federation.status("a").state.received + c.federation.status("a").state.refused >= 1)
    time.sleep(0.5)
    refusals = [r.reason for r in c.federation.status("a").refusals]
    assert len(c.versions(str(indicator(1)["id"]))) == 2, refusals


def test_a_follower_whose_stream_ends_is_restarted_while_another_lives(sites: Callable[..., Site]) -> None:
    a, b = sites("a"), sites("b")
    other = a.node.admin.add_collection("other", community="isac")
    b.follow(a)
    b.federation.start()
    a.share(indicator(1))
    a.share(indicator(2), collection="other")
    assert eventually(lambda: indicator(1)["id"] in b.ids() and indicator(2)["id"] in b.ids(collection="other"))

    def streaming(collection_id: str) -> list[Any]:
        return [s for s in list(a.node.streams._open)  # type: ignore[attr-defined]
                if collection_id in s.view._by_id and not s.stopped]

    assert eventually(lambda: len(streaming(other.id)) == 1)
    streaming(other.id)[0].stop()  # A ends that one stream (as it does for a subscriber that fell behind)
    a.share(indicator(3), collection="other")
    a.share(indicator(4))
    assert eventually(lambda: indicator(4)["id"] in b.ids())  # the other collection's follower goes on
    assert eventually(lambda: indicator(3)["id"] in b.ids(collection="other"), timeout=2.5)


def test_an_object_signed_with_a_newly_published_key_is_taken(sites: Callable[..., Site]) -> None:
    from phalanx.ledger import generate_key, sign_object

    a, b = sites("a"), sites("b")
    first = generate_key(a.org.id, now=1)
    a.node.provenance.publish(None, first.public)
    a.share(sign_object(indicator(1, created_by_ref=a.org.id), first))
    b.follow(a)
    b.federation.start()
    assert eventually(lambda: indicator(1)["id"] in b.ids())  # B fetched A's keys for it
    second = generate_key(a.org.id, now=2)  # A's organization publishes a new key, and signs with it
    a.node.provenance.publish(None, second.public)
    a.share(sign_object(indicator(2, created_by_ref=a.org.id), second))
    a.share(indicator(3))
    assert eventually(lambda: indicator(3)["id"] in b.ids())
    refusals = [r.reason for r in b.federation.status("a").refusals]
    assert indicator(2)["id"] in b.ids(), refusals


@contextmanager
def fake_peer(answer: Callable[[str, str, bytes], tuple[int, object]]) -> Iterator[tuple[str, list[str]]]:
    """A hostile peer on loopback: ``answer(method, path, body)`` gives each reply (status, JSON); yields its URL
    and the list of paths asked, in order."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            asked.append(f"{method} {self.path}")
            status, value = answer(method, self.path, body)
            data = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """``fn`` running on a daemon thread, and the exception it ended with (if any)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # recorded for the test to look at
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failures


def test_a_hostile_reconcile_answer_ends_the_repair_pass(sites: Callable[..., Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a)
    record = b.node.backend.peers.get("a")
    never_same = {"split": [{"lo": "0", "hi": "10000000000000000", "count": 1, "fp": "1"}]}

    def answer(method: str, path: str, body: bytes) -> tuple[int, object]:
        if path.startswith("/api/v1/collections/x/reconcile"):
            return 200, {"answers": [never_same for _ in json.loads(body)["ranges"]]}
        if path.startswith("/api/v1/collections"):
            return 200, {"collections": [{"id": "x", "title": "isac", "can_read": True, "can_write": False}]}
        return 404, {"title": "no"}

    with fake_peer(answer) as (url, asked):
        link = b.federation._link(record)  # type: ignore[attr-defined]
        link.client = PeerClient(url, record.api_key)
        thread, _ = in_thread(lambda: link.reconcile(b.federation._local_versions))  # type: ignore[attr-defined]
        eventually(lambda: not thread.is_alive() or len(asked) > 500, timeout=10)
        link.stop()
        rounds = len([p for p in asked if p.startswith("POST")])
        assert not thread.is_alive() and rounds <= 100, f"{rounds} rounds and counting"
    thread.join(timeout=5)  # the peer is gone: the next round fails


def test_a_malformed_push_status_does_not_kill_the_push_thread(sites: Callable[..., Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a, direction="push")
    record = b.node.backend.peers.get("a")

    def answer(method: str, path: str, body: bytes) -> tuple[int, object]:
        if method == "POST" and path.startswith("/taxii2/api/collections/x/objects/"):
            return 202, {"id": "status--1", "status": "complete", "total_count": 1, "success_count": 1,
                         "failure_count": 0, "pending_count": 0, "failures": None}
        if path.startswith("/api/v1/collections"):
            return 200, {"collections": [{"id": "x", "title": "isac", "can_read": True, "can_write": True}]}
        return 404, {"title": "no"}

    with fake_peer(answer) as (url, asked):
        push = b.federation._push(record)  # type: ignore[attr-defined]
        push.client = PeerClient(url, record.api_key)
        thread, failures = in_thread(push.run)
        try:
            b.share(indicator(1))
            assert eventually(lambda: any(p.startswith("POST") for p in asked))
            time.sleep(0.5)
            assert thread.is_alive() and not failures, failures
        finally:
            push.stop()
            thread.join(timeout=5)


def test_reconciling_tells_the_peer_nothing_it_may_not_see(sites: Callable[..., Site],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = sites("a"), sites("b")
    a.share(indicator(1))
    b.follow(a)
    sent: list[list[dict[str, Any]]] = []
    original = PeerClient.reconcile

    def recording(self: PeerClient, collection: str, ranges: list[dict[str, Any]]) -> Any:
        sent.append(ranges)
        return original(self, collection, ranges)

    monkeypatch.setattr(PeerClient, "reconcile", recording)
    b.federation.reconcile("a")  # fetches indicator 1
    assert indicator(1)["id"] in b.ids()
    sent.clear()
    b.federation.reconcile("a")
    before = sent[0]
    b.share(indicator(2, object_marking_refs=[RED]))  # B's own, for B's organization only
    sent.clear()
    b.federation.reconcile("a")
    assert sent[0] == before, f"{before} became {sent[0]}"  # A learns B holds one more version


@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on loopback that hands each connection to ``handle`` (on its own thread); yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=lambda c=conn: _serve(c), daemon=True).start()

    def _serve(conn: socket.socket) -> None:
        try:
            handle(conn)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)


def test_a_trickling_webhook_receiver_is_cut_at_the_timeout() -> None:
    from phalanx.streams._webhook import HttpPoster

    def tarpit(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n")
        for _ in range(8):  # one byte every 0.2 s: each read returns well within the timeout
            time.sleep(0.2)
            conn.sendall(b"x")

    with raw_server(tarpit) as url:
        reply = HttpPoster(timeout=0.5).post(url + "/hook", b"{}", {"Content-Type": "application/json"})
    assert reply.duration < 1.2 * 1_000_000, f"the attempt took {reply.duration / 1e6:.1f} s with a 0.5 s timeout"


def test_a_peer_live_stream_message_is_bounded() -> None:
    line = b"data: " + b"x" * (1024 * 1024) + b"\n"

    def huge(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        for _ in range(80):  # one message of 80 MiB, more than max_document_bytes and the per-line cap
            conn.sendall(line)
        conn.sendall(b"\n")
        time.sleep(3)

    sizes: list[int] = []
    with raw_server(huge) as url:
        stream = PeerClient(url, "phx_key").stream(["x"], last_event_id=0, idle=2.0)
        try:
            for message in stream:
                sizes.append(len(message.data))
                break
        except Exception:  # refusing the message is what should happen
            pass
        finally:
            stream.close()
    assert not sizes or max(sizes) <= 64 * 1024 * 1024, f"a message of {max(sizes) >> 20} MiB was assembled"


def test_an_oversized_event_id_from_a_peer_is_refused_and_the_link_goes_on(sites: Callable[..., Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a)
    record = b.node.backend.peers.get("a")

    def message(event_id: str, i: int) -> bytes:
        return b"id: %s\nevent: object-added\ndata: %s\n\n" % (
            event_id.encode(), json.dumps({"collection": "x", "object": indicator(i)}).encode())

    def handle(conn: socket.socket) -> None:
        head = conn.recv(65536).split(b"\r\n", 1)[0].decode()
        path = head.split(" ")[1]
        if path.startswith("/api/v1/stream"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            conn.sendall(message("1" + "0" * 25, 1))  # an id no date_added can be
            time.sleep(0.5)
            conn.sendall(message(str(int(time.time() * 1e6)), 2))  # then a good one
            time.sleep(1.5)
            return
        if path.startswith("/api/v1/collections"):
            body: object = {"collections": [{"id": "x", "title": "isac", "can_read": True, "can_write": False}]}
        elif path.startswith("/taxii2/api/collections/x/objects/"):
            body = {"more": False}
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            return
        data = json.dumps(body).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(data), data))

    with raw_server(handle) as url:
        link = b.federation._link(record)  # type: ignore[attr-defined]
        link.client = PeerClient(url, record.api_key)
        link.keys._client = link.client
        thread, _ = in_thread(link.run)
        try:
            stored = eventually(lambda: indicator(2)["id"] in b.ids(), timeout=2.0)
        finally:
            link.stop()
            thread.join(timeout=10)
    assert stored, [r.reason for r in b.federation.status("a").refusals]


def test_a_pushed_amber_strict_object_never_travels_on_at_the_receiving_node(sites: Callable[..., Site]) -> None:
    """A node pushed to could only keep an AMBER+STRICT or RED object for its whole community: such objects go by
    pull only (where the receiving node keeps them for its own organization), never by push."""
    a, b = sites("a"), sites("b")
    b.follow(a, direction="push")  # only B can reach A: B pushes
    peer_a_on_b = b.node.admin.organization("peer a").id
    b.share(indicator(1, object_marking_refs=[STRICT]), recipients=(peer_a_on_b,))  # for A's node only
    b.share(indicator(2))
    b.federation.start()
    assert eventually(lambda: indicator(2)["id"] in a.ids())
    time.sleep(0.5)
    assert indicator(1)["id"] not in a.ids()  # stays on B: not pushed where it would reach A's whole community


def test_reconciliation_takes_versions_signed_with_a_key_that_expired_since(sites: Callable[..., Site]) -> None:
    from phalanx.ledger import generate_key, sign_object
    from phalanx.stix import now_micros

    a, b = sites("a"), sites("b")
    key = generate_key(a.org.id, now=now_micros() - 1_000_000, days=2.0 / 86_400)  # valid for one more second
    a.node.provenance.publish(None, key.public)
    a.share(sign_object(indicator(1, created_by_ref=a.org.id), key))  # valid when A accepted it
    b.follow(a)
    assert key.public.not_after is not None
    time.sleep(max(0.0, (key.public.not_after - now_micros()) / 1e6) + 0.1)
    report = b.federation.reconcile("a")
    assert report.missing == 1
    refusals = [r.reason for r in b.federation.status("a").refusals]
    assert indicator(1)["id"] in b.ids(), refusals  # catching up over TAXII would have taken it


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_broken_parse_pool_does_not_stop_catch_up(sites: Callable[..., Site]) -> None:
    import os
    import signal

    a, b = sites("a"), sites("b", parse_workers=1)
    b.follow(a)
    a.share(*(indicator(i) for i in range(200)))  # one page of more than 64 KiB: parsed by the worker
    b.federation.start()
    assert eventually(lambda: len(b.ids()) == 200, timeout=15)
    pool = b.federation._pool  # type: ignore[attr-defined]
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)  # the worker dies (out of memory, an operator's mistake...)
    assert eventually(lambda: bool(pool._broken))
    (stream,) = [s for s in list(a.node.streams._open) if not s.stopped]  # type: ignore[attr-defined]
    stream.stop()  # B's live stream ends; B catches up over TAXII again
    a.share(*(indicator(i) for i in range(200, 400)))
    assert eventually(lambda: len(b.ids()) == 400, timeout=3)
