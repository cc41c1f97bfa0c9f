"""A real HTTP receiver for webhook tests: an ``http.server`` on a loopback port, in a thread, that records each
request and answers what it is told (fail the next N requests, or answer one status for a while)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float
    """time.monotonic() when it arrived."""
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    """What the receiver answered."""

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def delivery(self) -> str:
        return self.headers["x-phalanx-delivery"]

    def object_ids(self) -> list[str]:
        return [event["object"]["id"] for event in self.payload["events"]]


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    """Statuses to answer to the next requests, one each (then 204)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def fail(self, times: int, status: int = 500) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def answer(self) -> int:
        with self.lock:
            return self.failures.pop(0) if self.failures else 204

    def record(self, received: Received) -> None:
        with self.lock:
            self.requests.append(received)
            self.arrived.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} requests arrived, not {count}: {self.requests}")
                self.arrived.wait(left)
            return list(self.requests)

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def delivered_ids(self) -> list[str]:
        return [oid for r in self.delivered() for oid in r.object_ids()]


@contextmanager
def receiving(path: str = "/hook") -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 at a free port; its ``url`` ends with ``path``."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer()
            # Recorded before answering: once the node has the answer, the test sees the request.
            receiver.record(Received(time.monotonic(), self.path, {k.lower(): v for k, v in self.headers.items()},
                                     body, status))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if status >= 300 else b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
