"""The Bus conformance suite: the same expectations on MemoryBus and NatsBus.

NATS tests connect to PHALANX_TEST_NATS (default nats://127.0.0.1:4222), each on its own subject (so its own
stream, deleted afterwards). When no server with JetStream answers they skip, saying why; with
PHALANX_REQUIRE_NATS=1 they fail instead.

A hub is several processes sharing one bus: ``hub.open()`` gives one more process's bus (for memory, the one
in-process bus: a single process is the whole hub).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from phalanx.errors import ConfigError, StoreUnavailable
from phalanx.streams import OBJECT_ADDED, OBJECT_REVOKED, SIGHTING_ADDED, Bus, Event, MemoryBus, open_bus
from phalanx.streams._nats import NatsBus

NATS_URL = os.environ.get("PHALANX_TEST_NATS", "nats://127.0.0.1:4222")
BUSES = ["memory", "nats"]
DEADLINE = 5.0  # seconds to wait for an event that must arrive
QUIET = 0.3  # seconds to watch for an event that must not arrive
_unreachable: str | None = None  # set to the reason once a connection failed


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def event(n: int, kind: str = OBJECT_ADDED) -> Event:
    return Event(kind, {"collection": "c1", "date_added": n, "id": f"indicator--{n}", "version": n,
                        "type": "indicator"})


class Recorder:
    """A handler that keeps what it is given (it is called on a bus thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def __call__(self, ev: Event) -> None:
        with self._lock:
            self._events.append(ev)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def got(self, ev: Event) -> bool:
        return ev in self.events

    def wait(self, ev: Event) -> bool:
        return wait_until(lambda: self.got(ev))


def nats_bus(subject: str) -> NatsBus:
    """A NatsBus on PHALANX_TEST_NATS; skips (or fails, with PHALANX_REQUIRE_NATS=1) when none answers."""
    global _unreachable
    if _unreachable is None:
        try:
            return NatsBus(NATS_URL, subject=subject, connect_timeout=3.0)
        except StoreUnavailable as exc:
            _unreachable = f"{exc.message} (set PHALANX_TEST_NATS)"
    if os.environ.get("PHALANX_REQUIRE_NATS") == "1":
        pytest.fail(f"PHALANX_REQUIRE_NATS=1 but {_unreachable}")
    pytest.skip(_unreachable)


class Hub:
    """The buses of one hub's processes; closes them (and deletes the stream) at the end."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.subject = f"phxtest{uuid.uuid4().hex[:10]}"
        self.buses: list[Bus] = []

    def open(self) -> Bus:
        if self.kind == "memory":
            if not self.buses:
                self.buses.append(MemoryBus())
            return self.buses[0]
        bus = nats_bus(self.subject)
        self.buses.append(bus)
        return bus

    def close(self) -> None:
        """Close every bus; the last NATS one (or a new one, when the test closed them) deletes the stream."""
        nats = [bus for bus in self.buses if isinstance(bus, NatsBus)]
        try:
            for bus in self.buses[:-1]:
                bus.close()
            if nats:
                cleaner = nats[-1] if not nats[-1]._closed else NatsBus(NATS_URL, subject=self.subject)
                cleaner.delete_stream()
                cleaner.close()
        finally:
            for bus in self.buses:
                bus.close()
        assert not [bus for bus in nats if bus._thread.is_alive()]


@pytest.fixture(params=BUSES)
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    if request.param == "nats":
        request.applymarker(pytest.mark.nats)
    h = Hub(request.param)
    try:
        yield h
    finally:
        h.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("phalanx-nats-")]


@pytest.fixture
def bus(hub: Hub) -> Bus:
    return hub.open()


def test_an_event_reaches_every_subscriber_once(bus: Bus) -> None:
    first, second = Recorder(), Recorder()
    bus.subscribe(first)
    bus.subscribe(second)
    ev = Event(SIGHTING_ADDED, {"collection": "c1", "date_added": 7, "id": "sighting--1", "note": "é ✓"})
    bus.publish(ev)
    bus.publish(marker := event(8))  # events from one publisher keep their order: after it, no copy of ev comes
    assert first.wait(marker) and second.wait(marker)
    assert first.events == second.events == [ev, marker]
    got = first.events[0]
    assert (got.kind, got.data, got.key) == (ev.kind, ev.data, ev.key)


def test_the_processes_of_a_hub_receive_each_others_events(hub: Hub) -> None:
    one, two = hub.open(), hub.open()
    heard_by_one, heard_by_two = Recorder(), Recorder()
    one.subscribe(heard_by_one)
    two.subscribe(heard_by_two)
    from_one, from_two = event(1), event(2, OBJECT_REVOKED)
    one.publish(from_one)
    two.publish(from_two)
    for recorder in (heard_by_one, heard_by_two):
        assert recorder.wait(from_one) and recorder.wait(from_two)
        assert sorted(e.key for e in recorder.events) == sorted([from_one.key, from_two.key])


def test_events_from_one_publisher_keep_their_order(bus: Bus) -> None:
    recorder = Recorder()
    bus.subscribe(recorder)
    sent = [event(n, (OBJECT_ADDED, SIGHTING_ADDED, OBJECT_REVOKED)[n % 3]) for n in range(200)]
    for ev in sent:
        bus.publish(ev)
    assert recorder.wait(sent[-1])
    assert recorder.events == sent


def test_a_closed_subscription_receives_nothing_more(bus: Bus) -> None:
    closing, staying = Recorder(), Recorder()
    subscription = bus.subscribe(closing)
    bus.subscribe(staying)
    bus.publish(before := event(1))
    assert closing.wait(before)
    subscription.close()
    subscription.close()  # idempotent
    bus.publish(after := event(2))
    assert staying.wait(after)
    assert not wait_until(lambda: closing.got(after), timeout=QUIET)
    assert closing.events == [before]


def test_a_subscription_closes_from_another_thread(bus: Bus) -> None:
    recorder = Recorder()
    subscription = bus.subscribe(recorder)
    closers = [threading.Thread(target=subscription.close) for _ in range(4)]
    for t in closers:
        t.start()
    for t in closers:
        t.join()
    bus.publish(ev := event(1))
    assert not wait_until(lambda: recorder.got(ev), timeout=QUIET)


def test_a_failing_handler_stops_neither_the_others_nor_later_events(bus: Bus) -> None:
    calls: list[Event] = []

    def broken(ev: Event) -> None:
        calls.append(ev)
        raise RuntimeError("broken consumer")

    recorder = Recorder()
    bus.subscribe(broken)
    bus.subscribe(recorder)
    sent = [event(1), event(2), event(3)]
    for ev in sent:
        bus.publish(ev)
    assert recorder.wait(sent[-1])
    assert recorder.events == sent
    assert wait_until(lambda: len(calls) == 3)


def test_an_event_published_before_subscribing_is_not_delivered(bus: Bus) -> None:
    watcher = Recorder()
    bus.subscribe(watcher)
    bus.publish(old := event(1))
    assert watcher.wait(old)  # delivered to a subscriber: the bus has it
    late = Recorder()
    bus.subscribe(late)
    bus.publish(new := event(2))
    assert late.wait(new)
    assert late.events == [new]


def test_close_is_idempotent_and_publish_after_close_does_nothing(hub: Hub) -> None:
    watching = hub.open()  # another process (for memory, the same bus)
    recorder = Recorder()
    watching.subscribe(recorder)
    closing = hub.open()
    closing.close()
    closing.close()
    closing.publish(ev := event(1))  # no error, no event
    if watching is not closing:
        watching.publish(marker := event(2))
        assert recorder.wait(marker)
    assert not wait_until(lambda: recorder.got(ev), timeout=QUIET)


# -- NATS only ----------------------------------------------------------------------------------------------------


@pytest.fixture
def nats_hub() -> Iterator[Hub]:
    h = Hub("nats")
    try:
        yield h
    finally:
        h.close()


@pytest.mark.nats
def test_nats_drops_a_second_publication_of_the_same_event(nats_hub: Hub) -> None:
    one, two = nats_hub.open(), nats_hub.open()
    recorder = Recorder()
    one.subscribe(recorder)
    ev = event(1)
    one.publish(ev)
    two.publish(Event(ev.kind, dict(ev.data)))  # the same key, from another process
    one.publish(ev)
    one.publish(marker := event(2))
    assert recorder.wait(marker)
    assert [e.key for e in recorder.events].count(ev.key) == 1


@pytest.mark.nats
def test_nats_bus_reuses_the_stream_of_its_subject(nats_hub: Hub) -> None:
    first = nats_hub.open()
    assert isinstance(first, NatsBus) and first.stream == f"{nats_hub.subject.upper()}_EVENTS"
    second = nats_hub.open()
    assert isinstance(second, NatsBus) and second.stream == first.stream


@pytest.mark.nats
def test_open_bus_gives_a_nats_bus(nats_hub: Hub) -> None:
    nats_bus(nats_hub.subject).close()  # skips when no server answers
    bus = open_bus(NATS_URL, subject=nats_hub.subject)
    nats_hub.buses.append(bus)
    assert isinstance(bus, NatsBus)


def test_an_unreachable_nats_server_is_reported_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        NatsBus("nats://phalanx:s3cret@127.0.0.1:1", connect_timeout=0.5)
    assert time.monotonic() - start < 3
    text = raised.value.diagnostics()
    assert "nats://phalanx:***@127.0.0.1:1" in text and "s3cret" not in text
    assert "nats-server -js" in text and "memory://" in text
    assert not [t for t in threading.enumerate() if t.name.startswith("phalanx-nats-")]


@pytest.mark.parametrize("url", ["nats://127.0.0.1:notaport", "nats://", "http://127.0.0.1:4222",
                                 "nats://127.0.0.1:4222/path"])
def test_a_malformed_nats_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="malformed NATS URL"):
        NatsBus(url)


@pytest.mark.parametrize("subject", ["", "a b", "phalanx.>", "phalanx.*", "phalanx..events"])
def test_an_invalid_subject_is_a_config_error(subject: str) -> None:
    with pytest.raises(ConfigError, match="invalid NATS subject"):
        NatsBus(NATS_URL, subject=subject)
