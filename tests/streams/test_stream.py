"""The live stream over a real HTTP server: policy per subscriber, filters, resuming with no gap and no
duplicate, heartbeats, and a slow subscriber told it fell behind."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp, tlp_marking_definition
from tests.streams.server import Stream, served
from tests.support import INDICATOR, World, bundle, make_world


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(Settings(database_url="memory://", stream_heartbeat_seconds=0.3))
    yield w
    w.node.close()


@pytest.fixture
def base(world: World) -> Iterator[str]:
    with served(world.node) as url:
        yield url


def key(world: World, org_id: str, role: Role = Role.READER) -> str:
    return world.node.admin.create_key(org_id, role)[0]


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-0cce-4b0c-8b5e-0c1f9a55d6aa", **extra)


def share(world: World, *objects: dict[str, object], recipients: tuple[str, ...] = ()) -> None:
    results = world.node.ingest.document(world.contributor, "isac", bundle(*objects), organizations=recipients)
    assert all(r.outcome == "accepted" for r in results), results


def ids(messages: list) -> list[str]:  # type: ignore[type-arg]
    return [json.loads(m.data)["object"]["id"] for m in messages]


def test_a_subscriber_receives_what_is_shared_after_it_connects(world: World, base: str) -> None:
    share(world, indicator(0))  # before: not replayed without Last-Event-ID
    stream = Stream(base, key(world, world.globex.id))
    assert stream.status == 200
    share(world, indicator(1), indicator(2))
    first, second = stream.take(2, event="object-added")
    assert ids([first, second]) == [indicator(1)["id"], indicator(2)["id"]]
    data = json.loads(first.data)
    assert data["collection"] == world.node.reader.collection(world.reader, "isac").collection.id
    assert data["date_added"].endswith("Z") and data["object"]["type"] == "indicator"
    assert int(first.id or 0) < int(second.id or 0)
    stream.close()


def test_each_subscriber_sees_only_its_audience(world: World, base: str) -> None:
    red = tlp_marking_definition(Tlp.RED)["id"]
    globex = Stream(base, key(world, world.globex.id))
    acme = Stream(base, key(world, world.acme.id))
    share(world, indicator(1, object_marking_refs=[red]))  # RED, no named recipient: only ACME
    share(world, indicator(2))
    assert ids(acme.take(2, event="object-added")) == [indicator(1)["id"], indicator(2)["id"]]
    assert ids(globex.take(1, event="object-added")) == [indicator(2)["id"]]
    world.node.admin.add_community("own", title="The outsider's own")
    world.node.admin.join("own", world.outsider.id)
    world.node.admin.add_collection("own-collection", community="own")
    outsider = Stream(base, key(world, world.outsider.id))
    share(world, indicator(3))
    marker = indicator(4)
    assert world.node.ingest.document(replace(world.stranger), "own", bundle(marker))[0].outcome == "accepted"
    assert ids(outsider.take(1, event="object-added")) == [marker["id"]]  # and nothing of the ISAC's before it
    for s in (globex, acme, outsider):
        s.close()


def test_a_collection_the_caller_may_not_read_is_refused(world: World, base: str) -> None:
    stream = Stream(base, key(world, world.outsider.id), params={"collection": "isac"})
    assert stream.status == 404
    stream.close()


@pytest.mark.parametrize(("params", "expected"), [
    ({"type": "malware"}, [5]),
    ({"label": "apt"}, [2]),
    ({"min_confidence": "60"}, [3]),
    ({"type": "indicator", "label": "apt,other"}, [2]),
])
def test_filters(world: World, base: str, params: dict[str, str], expected: list[int]) -> None:
    stream = Stream(base, key(world, world.globex.id), params=params)
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--00000005-0cce-4b0c-8b5e-0c1f9a55d6aa",
               "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "name": "Ivy",
               "is_family": True}
    share(world, indicator(1), indicator(2, labels=["apt"]), indicator(3, confidence=80),
          indicator(4, confidence=10), malware)
    share(world, indicator(9, labels=["end"], confidence=99))  # a marker no filter above admits but one
    received = [json.loads(m.data)["object"]["id"] for m in stream.take(len(expected), event="object-added")]
    wanted = [malware["id"] if i == 5 else indicator(i)["id"] for i in expected]
    assert received == wanted
    stream.close()


@pytest.mark.parametrize("params", [{"min_confidence": "high"}, {"min_confidence": "101"}, {"colour": "red"},
                                    {"type": ""}])
def test_bad_parameters_are_refused_with_a_reason(world: World, base: str, params: dict[str, str]) -> None:
    stream = Stream(base, key(world, world.globex.id), params=params)
    assert stream.status == 400
    assert json.loads(stream.response.read())["description"]
    stream.close()


def test_a_bad_last_event_id_is_refused(world: World, base: str) -> None:
    stream = Stream(base, key(world, world.globex.id), last_event_id="yesterday")
    assert stream.status == 400
    stream.close()


def test_resuming_misses_nothing_and_repeats_nothing(world: World, base: str) -> None:
    reader = key(world, world.globex.id)
    share(world, *(indicator(i) for i in range(5)))
    stream = Stream(base, reader, last_event_id="0")  # 0: everything from the start
    got = stream.take(3, event="object-added")
    stream.close()
    share(world, *(indicator(i) for i in range(5, 8)))
    again = Stream(base, reader, last_event_id=got[-1].id)
    rest = again.take(5, event="object-added")
    assert ids(got + rest) == [indicator(i)["id"] for i in range(8)]
    again.close()


def test_reconnecting_during_a_stream_of_writes_delivers_each_exactly_once(world: World, base: str) -> None:
    reader = key(world, world.globex.id)
    total = 300
    stop = threading.Event()

    def write() -> None:
        for start in range(0, total, 10):
            share(world, *(indicator(i) for i in range(start, start + 10)))
        stop.set()

    stream = Stream(base, reader, last_event_id="0")
    writer = threading.Thread(target=write)
    writer.start()
    received: list[str] = []
    last: str | None = "0"
    while len(received) < total:
        for message in stream.take(7, event="object-added") if total - len(received) >= 7 else stream.take(
                total - len(received), event="object-added"):
            received.append(json.loads(message.data)["object"]["id"])
            last = message.id
        stream.close()  # drop the connection, and resume where we were
        stream = Stream(base, reader, last_event_id=last)
    writer.join()
    stream.close()
    assert received == [indicator(i)["id"] for i in range(total)]


def stream_cursor(line: bytes) -> int:
    return int(json.loads(line.removeprefix(b"data: "))["last_event_id"])


def test_heartbeats_keep_an_idle_stream_alive(world: World, base: str) -> None:
    stream = Stream(base, key(world, world.globex.id))
    lines = [stream.response.readline() for _ in range(6)]
    assert lines[2] == b"event: live\n" and stream_cursor(lines[3]) > 0  # caught up (with nothing to send)
    assert b": keep-alive\n" in lines  # after the catch-up (nothing to send), only heartbeats
    stream.close()


def test_checkpoints_are_announced(world: World, base: str) -> None:
    stream = Stream(base, key(world, world.globex.id))
    share(world, indicator(1))
    stream.take(1, event="object-added")  # the subscriber is live
    share(world, indicator(2))
    world.node.sequencer.run_once()
    message = stream.take(1, event="checkpoint-published")[0]
    data = json.loads(message.data)
    assert data["size"] >= 1 and data["origin"] == world.node.ledger.origin
    stream.close()


def test_a_slow_subscriber_is_told_it_fell_behind_and_resumes_without_loss(world: World) -> None:
    world.node.settings = replace(world.node.settings, stream_buffer=3)
    world.node.streams._settings = world.node.settings
    with served(world.node) as base:
        reader = key(world, world.globex.id)
        stream = Stream(base, reader)
        stream.take(1, event="live")  # subscribed: what is shared next comes live (else it would start after it)
        share(world, *(indicator(i) for i in range(20)))  # 20 at once: more than the buffer holds
        messages = []
        while not messages or messages[-1].event != "lagged":
            messages.append(stream.next())
        stream.close()
        resume = json.loads(messages[-1].data)["last_event_id"]
        assert "Last-Event-ID" in json.loads(messages[-1].data)["hint"]
        delivered = ids([m for m in messages if m.event == "object-added"])
        again = Stream(base, reader, last_event_id=resume)
        rest = again.take(20 - len(delivered), event="object-added")
        assert delivered + ids(rest) == [indicator(i)["id"] for i in range(20)]
        again.close()


def test_the_documented_client_reads_the_stream(world: World, base: str) -> None:
    import re
    import subprocess
    import sys

    from tests.support import ROOT

    text = (ROOT / "docs" / "streams.md").read_text(encoding="utf-8")
    section = text[text.index("A client in a few lines"):]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:1]
    port = base.rsplit(":", 1)[1]
    snippet = snippet.replace('"127.0.0.1", 8800', f'"127.0.0.1", {port}').replace(
        "phx_...", key(world, world.globex.id))
    share(world, indicator(1))
    client = subprocess.Popen([sys.executable, "-u", "-c", snippet], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        assert client.stdout.readline().split() == ["object-added", str(indicator(1)["id"])]
    finally:
        client.kill()
        client.communicate()  # closes its pipe


def test_a_stop_from_a_signal_handler_interrupting_the_streams_lock_does_not_deadlock(world: World) -> None:
    """``Streams.stop`` runs in signal handlers, on the main thread, which may be inside ``Streams``' own lock when
    the signal comes (a second SIGTERM while the first was handled hung ``make demo`` under ``timeout``)."""
    from phalanx.streams._sse import StreamFilter

    streams = world.node.streams
    subscriber = streams.open(Actor(world.globex.id, Role.READER), StreamFilter())
    done = threading.Event()

    def interrupted() -> None:
        with streams._lock:  # the main thread, inside the lock, when the handler runs
            streams.stop()
        done.set()

    threading.Thread(target=interrupted, daemon=True).start()
    assert done.wait(5), "stop() deadlocked"
    assert subscriber.stopped
