"""A hub as two ``phalanx serve`` processes sharing one PostgreSQL database and one NATS JetStream: a
subscriber attached to process 2 receives, exactly once, what is posted to process 1 (and to process 2)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from phalanx.streams._nats import NatsBus
from tests.conformance.conftest import postgres_schema
from tests.conformance.test_bus import nats_bus
from tests.federation.procs import Proc, cli
from tests.streams.server import Stream
from tests.support import INDICATOR

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Proc, Proc, str]]:
    subject = f"phxtest{uuid.uuid4().hex[:10]}"
    nats_bus(subject).close()  # skips (or fails, with PHALANX_REQUIRE_NATS=1) when no NATS server answers
    with postgres_schema() as url:
        env = {"PHALANX_DATABASE_URL": url, "PHALANX_BUS_URL": "nats://127.0.0.1:4222",
               "PHALANX_BUS_SUBJECT": subject}
        one, two = Proc(tmp_path / "one", "one", env=env), Proc(tmp_path / "two", "two", env=env)
        key = one.init(org="ACME CERT")
        cli(two.home, "init", env=env)  # the same database: nothing to migrate
        try:
            one.start()
            two.start()
            yield one, two, key
        finally:
            one.stop()
            two.stop()
            cleaner = NatsBus("nats://127.0.0.1:4222", subject=subject)
            cleaner.delete_stream()
            cleaner.close()


def indicator(i: int) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-3333-4b0c-8b5e-0c1f9a55d6aa")


def test_a_subscriber_of_process_two_gets_what_process_one_stored_exactly_once(hub: tuple[Proc, Proc, str]) -> None:
    one, two, key = hub
    stream = Stream(two.url, key, timeout=20)
    assert stream.status == 200
    total = 200
    writers = [threading.Thread(target=lambda start=start, proc=proc: [
        proc.post(key, [indicator(i) for i in range(first, first + 10)]) for first in range(start, start + 100, 10)])
        for start, proc in ((0, one), (100, two))]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    got = [json.loads(m.data)["object"]["id"] for m in stream.take(total, event="object-added")]
    assert sorted(got) == sorted(str(indicator(i)["id"]) for i in range(total))  # each once
    one.post(key, [indicator(total)])  # a marker: nothing (no second copy) arrives before it
    assert json.loads(stream.take(1, event="object-added")[0].data)["object"]["id"] == indicator(total)["id"]
    stream.close()
