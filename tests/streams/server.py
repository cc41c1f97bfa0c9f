"""A Phalanx node served by uvicorn on a loopback port in a thread, and a line-by-line SSE reader, for tests
of long-lived streams (the in-process test client buffers whole responses)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import uvicorn

from phalanx.service import Node
from phalanx.streams._sse import Message, read_messages
from phalanx.web import create_app


@contextmanager
def served(node: Node) -> Iterator[str]:
    """``node`` served on 127.0.0.1 at a free port; yields the base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        node.streams.stop()
        server.should_exit = True
        thread.join(timeout=10)


class Stream:
    """An open SSE connection; ``next()`` returns the next message. Every one made is closed at the end of the
    test (``close_all``), passed or failed."""

    opened: list[Stream] = []

    def __init__(self, base: str, key: str, *, params: dict[str, str] | None = None,
                 last_event_id: str | None = None, timeout: float = 10) -> None:
        host = base.removeprefix("http://")
        self.conn = http.client.HTTPConnection(host, timeout=timeout)
        Stream.opened.append(self)
        headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/api/v1/stream" + ("?" + urlencode(params) if params else ""), headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self._messages = read_messages(iter(self.response.readline, b""))

    def next(self) -> Message:
        return next(self._messages)

    def take(self, count: int, *, event: str | None = None) -> list[Message]:
        """The next ``count`` messages (of kind ``event``, skipping others)."""
        found: list[Message] = []
        while len(found) < count:
            message = self.next()
            if event is None or message.event == event:
                found.append(message)
        return found

    def close(self) -> None:
        self.response.close()
        self.conn.close()

    @classmethod
    def close_all(cls) -> None:
        while cls.opened:
            cls.opened.pop().close()
