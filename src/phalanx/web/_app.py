"""ASGI app: thin handlers that parse the request, call the service layer, and render JSON; TAXII 2.1 is
mounted at /taxii2 (``phalanx.taxii``).

    GET /health                                   liveness and version; no key needed
    GET /api/v1/collections                       the collections the caller may read
    GET /api/v1/collections/{ref}/objects         a page of objects (filters: type, id, version,
                                                  spec_version, added_after, limit, next)
    POST /api/v1/collections/{ref}/objects        share a bundle, object, array or JSON lines
"""

from __future__ import annotations

__all__ = ["create_app"]

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .. import __version__
from ..errors import AuthenticationError, Error, InputTooLarge, NotFound, PermissionDenied
from ..identity import Actor
from ..service import Node
from ..stix import format_micros
from ..stix._json import dumps
from ..taxii import create_taxii_app
from ._params import InvalidParameter, query_from_params

Handler = Callable[[Request], Awaitable[Response]]


def _json(payload: object, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise InvalidParameter(f"tolerant={value!r} must be true or false")


def _error(exc: Error) -> Response:
    status = 400
    if isinstance(exc, InputTooLarge):
        status = 413
    elif isinstance(exc, AuthenticationError):
        status = 401
    elif isinstance(exc, PermissionDenied):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    response = _json({"title": type(exc).__name__, "description": exc.message, "hint": exc.hint}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="phalanx"'
    return response


def create_app(node: Node) -> Starlette:
    """The ASGI app over ``node`` (the caller owns the node and closes it)."""

    async def actor_of(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            raise AuthenticationError("no API key: send 'Authorization: Bearer <key>'")
        return await run_in_threadpool(node.admin.authenticate, credentials)

    def guarded(handler: Callable[[Request, Actor], Awaitable[Response]]) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request, await actor_of(request))
            except Error as exc:
                return _error(exc)

        return run

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "version": __version__})

    async def collections(request: Request, actor: Actor) -> Response:
        visible = await run_in_threadpool(node.reader.collections, actor)
        return _json({"collections": [
            {"id": a.collection.id, "title": a.collection.title, "description": a.collection.description,
             "community": a.collection.community, "can_read": a.can_read, "can_write": a.can_write}
            for a in visible
        ]})

    async def add_objects(request: Request, actor: Actor) -> Response:
        limit = node.settings.max_document_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise InputTooLarge(f"the request body is {declared} bytes; the limit is {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise InputTooLarge(f"the request body exceeds the limit of {limit} bytes")
        tolerant = _flag(request.query_params.get("tolerant"))
        results = await run_in_threadpool(node.ingest.document, actor, request.path_params["ref"], bytes(body),
                                          tolerant=tolerant)
        return _json({
            "accepted": sum(r.outcome == "accepted" for r in results),
            "refused": sum(r.outcome == "refused" for r in results),
            "results": [
                {"index": r.index, "id": r.id, "outcome": r.outcome, "detail": r.detail,
                 **({"warnings": list(r.warnings)} if r.warnings else {})}
                for r in results
            ],
        })

    async def objects(request: Request, actor: Actor) -> Response:
        if request.method == "POST":
            return await add_objects(request, actor)
        query = query_from_params(request.path_params["ref"], request.query_params,
                                  default_limit=min(100, node.settings.page_size_max))
        page = await run_in_threadpool(node.reader.page, actor, query)
        body = b'{"objects":[' + b",".join(item.canonical for item in page.items) + b"]"
        body += b',"more":' + (b"true" if page.more else b"false")
        if page.next_cursor is not None:
            body += b',"next":' + dumps(page.next_cursor)
        if page.items:
            body += b',"date_added_first":' + dumps(format_micros(page.items[0].date_added))
            body += b',"date_added_last":' + dumps(format_micros(page.items[-1].date_added))
        return Response(body + b"}", media_type="application/json")

    async def not_found(request: Request, exc: Exception) -> Response:
        return _json({"title": "NotFound", "description": f"no endpoint {request.method} {request.url.path}",
                      "hint": "See docs/api.md for the endpoints."}, 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _json({"title": "MethodNotAllowed", "description": f"{request.method} is not allowed here",
                      "hint": "See docs/api.md for the methods of each endpoint."}, 405)

    return Starlette(exception_handlers={404: not_found, 405: not_allowed}, routes=[
        Route("/health", health),
        Route("/api/v1/collections", guarded(collections)),
        Route("/api/v1/collections/{ref}/objects", guarded(objects), methods=["GET", "POST"]),
        Mount("/taxii2", app=create_taxii_app(node)),
    ])
