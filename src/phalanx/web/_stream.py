"""The live stream over Server-Sent Events.

    GET /api/v1/stream[?collection=&type=&label=&min_confidence=&last_event_id=]

Each message is one object version entering a collection the caller may read, as the policy lets it see it
(``phalanx.service.Streams``). Resume with the ``Last-Event-ID`` header (browsers' ``EventSource`` sends it by
itself on reconnecting) or ``last_event_id``; ``0`` replays everything from the start.
"""

from __future__ import annotations

__all__ = ["STREAM_PARAMS", "stream_route"]

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._http import check_params, split
from ..errors import InvalidParameter
from ..identity import Actor
from ..service import Node
from ..streams._live import Subscriber
from ..streams._sse import HEARTBEAT, StreamFilter, lagged_message

STREAM_PARAMS = ("collection", "type", "label", "min_confidence", "last_event_id")


def stream_filter(request: Request) -> StreamFilter:
    params = request.query_params
    check_params(params, STREAM_PARAMS, single=("min_confidence", "last_event_id"))
    confidence = params.get("min_confidence")
    if confidence is not None and not (confidence.isascii() and confidence.isdigit() and int(confidence) <= 100):
        raise InvalidParameter(f"min_confidence={confidence!r} must be a whole number from 0 to 100")
    return StreamFilter(split(params, "collection"), split(params, "type"), split(params, "label"),
                        None if confidence is None else int(confidence))


async def _messages(node: Node, subscriber: Subscriber, request: Request) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake() -> None:  # called on the feed's thread
        loop.call_soon_threadsafe(ready.set)

    subscriber.on_ready(wake)
    heartbeat = node.settings.stream_heartbeat_seconds
    try:
        yield b"retry: 2000\n\n"
        more = True
        while more and not subscriber.stopped:
            sent, more = await run_in_threadpool(subscriber.catch_up)
            if sent:
                yield b"".join(sent)
        while not subscriber.stopped:
            try:
                await asyncio.wait_for(ready.wait(), heartbeat)
            except TimeoutError:
                yield HEARTBEAT
                continue
            ready.clear()
            if subscriber.lagged:
                yield lagged_message(subscriber.cursor)
                return
            waiting = subscriber.take()
            if waiting:
                yield b"".join(waiting)
    finally:
        node.streams.close(subscriber)


def stream_route(node: Node, guarded: Callable[[Callable[[Request, Actor], Awaitable[Response]]],
                                               Callable[[Request], Awaitable[Response]]]) -> Route:
    async def stream(request: Request, actor: Actor) -> Response:
        wanted = stream_filter(request)
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        subscriber = await run_in_threadpool(node.streams.open, actor, wanted, last)
        return StreamingResponse(_messages(node, subscriber, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return Route("/api/v1/stream", guarded(stream))



