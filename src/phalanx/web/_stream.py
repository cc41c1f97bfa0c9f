"""The live stream over Server-Sent Events.

    GET /api/v1/stream[?collection=&type=&label=&min_confidence=&last_event_id=]

Each message is one object version entering a collection the caller may read, as the policy lets it see it
(``phalanx.service.Streams``). Resume with the ``Last-Event-ID`` header (browsers' ``EventSource`` sends it by
itself on reconnecting) or ``last_event_id``; ``0`` replays everything from the start.
"""

from __future__ import annotations

__all__ = ["STREAM_PARAMS", "session_messages", "stream_route"]

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._http import check_params, credentials, split
from ..errors import Error, InvalidParameter
from ..identity import Actor
from ..service import Node
from ..streams._live import Subscriber
from ..streams._sse import HEARTBEAT, StreamFilter, lagged_message, live_message

STREAM_PARAMS = ("collection", "type", "label", "min_confidence", "last_event_id")


def stream_filter(request: Request) -> StreamFilter:
    params = request.query_params
    check_params(params, STREAM_PARAMS, single=("min_confidence", "last_event_id"))
    confidence = params.get("min_confidence")
    if confidence is not None and not (confidence.isascii() and confidence.isdigit() and int(confidence) <= 100):
        raise InvalidParameter(f"min_confidence={confidence!r} must be a whole number from 0 to 100")
    return StreamFilter(split(params, "collection"), split(params, "type"), split(params, "label"),
                        None if confidence is None else int(confidence))


_RECHECK_SECONDS = 1.0
"""How often an open stream's access is decided again (a revoked key, a member that left, new egress rules),
besides at once when this node (or, over NATS, another process of the hub) says the directory changed."""


async def session_messages(node: Node, subscriber: Subscriber,
                           authenticate: Callable[[], Actor | None]) -> AsyncIterator[bytes]:
    """The stream's messages for ``subscriber``; ``authenticate`` decides again who it is (raising once its key
    or session is no longer good), at every recheck."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake() -> None:  # called on the feed's thread
        loop.call_soon_threadsafe(ready.set)

    subscriber.on_ready(wake)
    heartbeat = node.settings.stream_heartbeat_seconds
    try:
        yield b"retry: 2000\n\n"
        checked = wrote = time.monotonic()
        while not subscriber.stopped:
            caught_up = False
            while not subscriber.live and not subscriber.stopped:  # at first, and after a rewind
                caught_up = True
                sent, _ = await run_in_threadpool(subscriber.catch_up)
                if sent:
                    wrote = time.monotonic()
                    yield b"".join(sent)
            if caught_up and subscriber.live:
                yield live_message(subscriber.cursor)
            if subscriber.recheck_due or time.monotonic() - checked > _RECHECK_SECONDS:
                subscriber.recheck_due = False
                checked = time.monotonic()
                try:
                    actor = await run_in_threadpool(authenticate)
                    if actor is not None:
                        await run_in_threadpool(node.streams.recheck, subscriber, actor)
                except Error as exc:  # the key was revoked, or a collection asked for is no longer readable
                    yield b"event: closed\ndata: %s\n\n" % orjson.dumps({"reason": exc.message})
                    return
                if not subscriber.live:  # the rules changed: catch up again under the new ones
                    continue
            # Changes buffered while the last catch-up read ran are sent at once, not at the next change.
            waiting = subscriber.take()
            if waiting:
                wrote = time.monotonic()
                yield b"".join(waiting)
            try:
                await asyncio.wait_for(ready.wait(), min(heartbeat, _RECHECK_SECONDS))
            except TimeoutError:
                if time.monotonic() - wrote >= heartbeat:
                    wrote = time.monotonic()
                    yield HEARTBEAT
                continue
            ready.clear()
            if subscriber.lagged:
                yield lagged_message(subscriber.cursor)
                return
    finally:
        node.streams.close(subscriber)


def stream_route(node: Node, guarded: Callable[[Callable[[Request, Actor], Awaitable[Response]]],
                                               Callable[[Request], Awaitable[Response]]]) -> Route:
    async def stream(request: Request, actor: Actor) -> Response:
        wanted = stream_filter(request)
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        subscriber = await run_in_threadpool(node.streams.open, actor, wanted, last)
        key = credentials(request.headers.get("authorization"))

        def authenticate() -> Actor | None:
            return node.admin.authenticate(key) if key else None

        return StreamingResponse(session_messages(node, subscriber, authenticate), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return Route("/api/v1/stream", guarded(stream))



