"""Review of issue 5 (live streams, webhooks, federation): each test shows one defect and is marked
``xfail(strict=True)``, so it passes only while the defect is there."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phalanx.config import Settings
from phalanx.federation import Federation, PeerClient
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.store import Query, VersionFilter
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


@pytest.mark.xfail(strict=True, reason="_PolicyView.items reads each collection in its own query and moves the "
                                       "cursor to the highest date_added seen: a version committed into an "
                                       "already-read collection meanwhile is skipped for ever (webhooks)")
def test_webhook_loses_a_version_committed_between_the_per_collection_reads(world: World) -> None:
    world.node.admin.add_collection("second", community="isac")
    with receiving() as receiver:
        hooks = world.node.webhooks
        view, _ = hooks.create(receiver.url, by=Actor(world.globex.id, Role.CONTRIBUTOR))
        share(world, "isac", indicator(1))
        commit_during_the_first_page_read(world, indicator(2), indicator(3))
        for _ in range(5):
            hooks.run_once()
        delivered = receiver.delivered_ids()
        assert indicator(3)["id"] in delivered  # the later one arrives ...
        assert indicator(2)["id"] in delivered  # ... but the earlier one never does


@pytest.mark.xfail(strict=True, reason="live stream catch-up over several collections skips a version committed "
                                       "into a collection already read (its date_added is below the cursor)")
def test_live_stream_loses_a_version_committed_between_the_per_collection_reads(world: World) -> None:
    world.node.admin.add_collection("second", community="isac")
    share(world, "isac", indicator(1))
    with served(world.node) as base:
        key = world.node.admin.create_key(world.globex.id, Role.READER)[0]
        commit_during_the_first_page_read(world, indicator(2), indicator(3))
        stream = Stream(base, key, last_event_id="0", timeout=3)
        got: list[str] = []
        try:
            while True:
                message = stream.next()
                if message.event == "object-added":
                    got.append(json.loads(message.data)["object"]["id"])
        except (TimeoutError, OSError, StopIteration):
            pass
        assert indicator(3)["id"] in got
        assert indicator(2)["id"] in got
