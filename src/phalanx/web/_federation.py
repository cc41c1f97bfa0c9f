"""Federation over HTTP: answering a peer's reconciliation rounds.

    POST /api/v1/collections/{ref}/reconcile   range-based set reconciliation of the versions the caller may
                                               see in a collection (docs/federation.md)
"""

from __future__ import annotations

__all__ = ["federation_routes"]

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import read_body
from ..errors import InvalidJSON
from ..federation._responder import Responder
from ..identity import Actor
from ..service import Node
from ._params import allow_only
from ._responses import json_response

_MAX_BODY = 16 * 1024 * 1024


def federation_routes(node: Node, guarded: Callable[[Callable[[Request, Actor], Awaitable[Response]]],
                                                    Callable[[Request], Awaitable[Response]]]) -> list[Route]:
    responder = Responder(node.reader)

    async def reconcile(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        body = await read_body(request, _MAX_BODY)
        try:
            wanted: Any = orjson.loads(body or b"null")
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"not valid JSON: {exc}") from None
        answer = await run_in_threadpool(responder.answer, actor, request.path_params["ref"], wanted)
        return json_response(answer)

    return [Route("/api/v1/collections/{ref}/reconcile", guarded(reconcile), methods=["POST"])]
