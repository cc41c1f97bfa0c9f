"""ASGI app: thin handlers that parse the request, call the service layer, and render JSON; TAXII 2.1 is
mounted at /taxii2 (``phalanx.taxii``).

    GET /health                                   liveness and version; no key needed
    GET /openapi.json                             the OpenAPI 3.1 description of this API; no key needed
    GET /api/v1/collections                       the collections the caller may read
    GET /api/v1/collections/{ref}/objects         a page of objects (filters: type, id, version,
                                                  spec_version, added_after, limit, next)
    POST /api/v1/collections/{ref}/objects        share a bundle, object, array or JSON lines
    GET /api/v1/keys                              the API keys the caller administers
    POST /api/v1/keys                             make a key (node admins; org-admins for their organization)
    DELETE /api/v1/keys/{key_id}                  revoke a key
    /api/v1/ledger/..., /witness/add-checkpoint   the transparency log (``phalanx.web._ledger``)
    GET /api/v1/stream                            the live stream, Server-Sent Events (``phalanx.web._stream``)
    POST /api/v1/collections/{ref}/reconcile      set reconciliation for federation (``phalanx.web._federation``)
    /api/v1/webhooks/...                          webhooks (``phalanx.web._webhooks``)
    /api/v1/correlation, /api/v1/objects/{id}/correlation|neighbourhood   (``phalanx.web._correlation``)
    /api/v1/sightings, /api/v1/objects/{id}/sightings   sightings (``phalanx.web._sightings``)
"""

from __future__ import annotations

__all__ = ["create_app"]

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .. import __version__
from .._http import credentials, flag, read_body, read_json_object
from ..errors import AuthenticationError, Error, InvalidParameter
from ..identity import Actor, ApiKeyRecord, Role
from ..service import Node
from ..stix import format_micros, parse_document
from ..stix._json import dumps
from ..taxii import allowed_methods, create_taxii_app, no_taxii_endpoint
from ._correlation import correlation_routes
from ._federation import federation_routes
from ._ledger import ledger_routes
from ._match import match_routes
from ._params import POST_OBJECTS, allow_only, query_from_params
from ._responses import error_response, json_response
from ._sightings import sighting_routes
from ._stream import stream_route
from ._webhooks import webhook_routes
from .ui import dashboard_routes, html_not_found

Handler = Callable[[Request], Awaitable[Response]]


def _list(request: Request, name: str) -> tuple[str, ...]:
    return tuple(v.strip() for value in request.query_params.getlist(name) for v in value.split(",") if v.strip())


async def _json_body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, 64 * 1024)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string")
    return value


def _key_json(record: ApiKeyRecord) -> dict[str, Any]:
    return {"key_id": record.key_id, "organization": record.org_id, "role": record.role.value,
            "label": record.label, "created": format_micros(record.created),
            "expires": None if record.expires is None else format_micros(record.expires),
            "revoked": None if record.revoked is None else format_micros(record.revoked),
            "user": record.user_id}


def create_app(node: Node) -> Starlette:
    """The ASGI app over ``node`` (the caller owns the node and closes it)."""
    description = resources.files(__package__).joinpath("openapi.json").read_bytes()

    async def actor_of(request: Request) -> Actor:
        key = credentials(request.headers.get("authorization"))
        if key is None:
            raise AuthenticationError("no API key: send 'Authorization: Bearer <key>'")
        return await run_in_threadpool(node.admin.authenticate, key)

    def guarded(handler: Callable[[Request, Actor], Awaitable[Response]]) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request, await actor_of(request))
            except Error as exc:
                return error_response(exc)

        return run

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "version": __version__})

    async def openapi(request: Request) -> Response:
        return Response(description, media_type="application/json")

    async def collections(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        visible = await run_in_threadpool(node.reader.collections, actor)
        return json_response({"collections": [
            {"id": a.collection.id, "title": a.collection.title, "description": a.collection.description,
             "community": a.collection.community, "can_read": a.can_read, "can_write": a.can_write}
            for a in visible
        ]})

    async def add_objects(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, POST_OBJECTS)
        tolerant = flag(request.query_params.get("tolerant"), "tolerant")
        organizations, people = _list(request, "recipients"), _list(request, "people")
        access = await run_in_threadpool(node.reader.collection, actor, request.path_params["ref"])
        sharing = await run_in_threadpool(node.ingest.authorize, actor, access.collection.id,
                                          organizations=organizations, people=people, tolerant=tolerant)
        body = await read_body(request, node.settings.max_document_bytes)
        parsed = await run_in_threadpool(parse_document, body, mode=node.ingest.mode(tolerant),
                                         limits=node.ingest.limits())
        results = await run_in_threadpool(node.ingest.parsed, sharing, parsed)
        return json_response({
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

    async def keys(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        if request.method == "POST":
            wanted = await _json_body(request)
            role = wanted.get("role")
            try:
                parsed_role = None if role is None else Role(role)
            except ValueError:
                raise InvalidParameter(f"role {role!r} is not one of {', '.join(r.value for r in Role)}") from None
            expires = wanted.get("expires_days")
            if expires is not None and (not isinstance(expires, (int, float)) or isinstance(expires, bool)):
                raise InvalidParameter("expires_days must be a number of days")  # the service bounds it
            secret, record = await run_in_threadpool(
                lambda: node.admin.create_key(_text(wanted, "organization"), parsed_role,
                                              label=_text(wanted, "label") or "", expires_days=expires,
                                              user_ref=_text(wanted, "user"), by=actor))
            return json_response({"key": secret, **_key_json(record)}, 201)
        records = await run_in_threadpool(lambda: node.admin.api_keys(by=actor))
        return json_response({"keys": [_key_json(r) for r in records]})

    async def revoke_key(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        record, now = await run_in_threadpool(
            lambda: node.admin.revoke_key(request.path_params["key_id"], by=actor))
        return json_response({**_key_json(record), "revoked_now": now})

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path == "/taxii2" or request.url.path.startswith("/taxii2/"):
            return no_taxii_endpoint(request.url.path)  # a path the mount's pattern does not match (a newline)
        page = html_not_found(request)
        if page is not None:
            return page
        return json_response({"title": "NotFound", "description": f"no endpoint {request.method} {request.url.path}",
                      "hint": "See docs/api.md for the endpoints."}, 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        response = json_response({"title": "MethodNotAllowed", "description": f"{request.method} is not allowed here",
                          "hint": "See docs/api.md for the methods of each endpoint."}, 405)
        response.headers.update(allowed_methods(exc))
        return response

    return Starlette(exception_handlers={404: not_found, 405: not_allowed}, routes=[
        Route("/health", health),
        Route("/openapi.json", openapi),
        Route("/api/v1/collections", guarded(collections)),
        Route("/api/v1/collections/{ref}/objects", guarded(objects), methods=["GET", "POST"]),
        Route("/api/v1/keys", guarded(keys), methods=["GET", "POST"]),
        Route("/api/v1/keys/{key_id}", guarded(revoke_key), methods=["DELETE"]),
        *ledger_routes(node, guarded, _json_body),
        stream_route(node, guarded),
        *federation_routes(node, guarded),
        *webhook_routes(node, guarded, _json_body),
        *correlation_routes(node, guarded),
        *sighting_routes(node, guarded, _json_body),
        *match_routes(node, guarded),
        Mount("/taxii2", app=create_taxii_app(node)),
        *dashboard_routes(node),
    ])
