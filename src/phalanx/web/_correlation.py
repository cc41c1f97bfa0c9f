"""Correlation over HTTP: thin handlers over ``node.correlation`` (docs/correlation.md).

    GET /api/v1/correlation?value=V[&kind=K][&limit=N]            the objects and organizations carrying a value
    GET /api/v1/objects/{object_id}/correlation[?limit=N]          the same for each observable of an object
    GET /api/v1/objects/{object_id}/neighbourhood[?depth=1|2][&limit=N]   the small graph around an object
"""

from __future__ import annotations

__all__ = ["correlation_routes"]

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import check_params
from ..errors import InvalidParameter, NotFound
from ..identity import Actor
from ..service import Node
from ..service._correlation import object_json, value_json
from ..service._neighbourhood import graph_json
from ..stix import is_identifier
from ._responses import json_response

Guard = Callable[[Callable[[Request, Actor], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]
_SINGLE = ("value", "kind", "limit", "depth")


def _whole(request: Request, name: str, default: int, most: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= most:
        raise InvalidParameter(f"{name}={text!r} must be a whole number from 1 to {most}")
    return int(text)


def correlation_routes(node: Node, guarded: Guard) -> list[Route]:
    correlation = node.correlation

    async def of_value(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ("value", "kind", "limit"), single=_SINGLE)
        value = request.query_params.get("value")
        if value is None:
            raise InvalidParameter("value is required: an IP address, domain, URL, e-mail address or hash")
        if "\0" in value:
            raise InvalidParameter("value holds a NUL character: no observable does")
        limit = _whole(request, "limit", 100, 1000)
        found = await run_in_threadpool(lambda: correlation.of_value(
            actor, value, kind=request.query_params.get("kind"), limit=limit))
        return json_response(value_json(found))

    def object_id(request: Request) -> str:
        found: str = request.path_params["object_id"]
        if not is_identifier(found):
            raise NotFound(f"no object {found[:100]!r}", hint="Give a STIX id, e.g. indicator--<uuid>.")
        return found

    async def of_object(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ("limit",), single=_SINGLE)
        limit = _whole(request, "limit", 100, 1000)
        found = await run_in_threadpool(lambda: correlation.of_object(
            actor, object_id(request), limit=limit))
        return json_response(object_json(found))

    async def neighbourhood(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ("depth", "limit"), single=_SINGLE)
        depth, limit = _whole(request, "depth", 1, 2), _whole(request, "limit", 50, 200)
        graph = await run_in_threadpool(lambda: correlation.neighbourhood(
            actor, object_id(request), depth=depth, limit=limit))
        return json_response(graph_json(graph))

    return [
        Route("/api/v1/correlation", guarded(of_value)),
        Route("/api/v1/objects/{object_id}/correlation", guarded(of_object)),
        Route("/api/v1/objects/{object_id}/neighbourhood", guarded(neighbourhood)),
    ]
