"""The TAXII 2.1 server: thin handlers that check the media types, identify the caller, parse the URL
parameters, call the service layer, and render TAXII resources. Mounted at ``/taxii2``.

    GET                /taxii2/                                          discovery
    GET                /taxii2/api/                                      API root
    GET                /taxii2/api/status/{id}/                          status of a POST of objects
    GET                /taxii2/api/collections/                          collections the caller may use
    GET                /taxii2/api/collections/{id}/                     one collection
    GET                /taxii2/api/collections/{id}/manifest/            manifest records
    GET, POST, DELETE  /taxii2/api/collections/{id}/objects/             objects (DELETE: Phalanx, by match[id])
    GET, DELETE        /taxii2/api/collections/{id}/objects/{object_id}/ one object
    GET                /taxii2/api/collections/{id}/objects/{object_id}/versions/

Every path answers with and without its trailing slash. Policy lives in the service layer: to a caller that
may not see a collection or an object, it does not exist.
"""

from __future__ import annotations

__all__ = ["ROOT", "allowed_methods", "create_taxii_app", "error_response", "no_taxii_endpoint"]

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import CHALLENGE, credentials, read_body, status_of
from ..errors import (
    AuthenticationError,
    Error,
    InvalidParameter,
    NotFound,
    PermissionDenied,
)
from ..identity import Actor, Role
from ..service import CollectionAccess, Node, Sharing, StatusView
from ..stix import format_micros, parse_document
from ..stix._json import dumps
from ..store import Page, Query, VersionFilter
from . import _filters as params
from . import _resources as render
from ._media import TAXII, NotAcceptable, UnsupportedMediaType, check_accept, check_content_type

ROOT = "api"
"""The one API root's name: /taxii2/api/."""
_LOG = logging.getLogger("phalanx.taxii")
_DEFAULT_LIMIT = 100
Handler = Callable[[Request, str | None], Awaitable[Response]]
"""A handler: the request, and the API key it carries (None: an anonymous caller)."""


class MethodNotAllowed(Error):
    """The endpoint exists but does not take this HTTP method."""

    hint = "See docs/taxii.md for the methods of each endpoint."


def _status_of(exc: Error) -> int:
    for kind, code in ((NotAcceptable, 406), (UnsupportedMediaType, 415), (MethodNotAllowed, 405)):
        if isinstance(exc, kind):
            return code
    return status_of(exc)


def taxii_response(body: bytes | dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
                   ) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status_code, media_type=TAXII, headers=headers)


def error_response(exc: Error) -> Response:
    code = _status_of(exc)
    if code >= 500:
        _LOG.error("TAXII request failed: %s", exc.message)
    headers = {"WWW-Authenticate": CHALLENGE} if code == 401 else None
    return taxii_response(render.error_message(type(exc).__name__, exc.message, code, exc.hint), code, headers)


def allowed_methods(exc: Exception) -> dict[str, str]:
    """The Allow header Starlette put on a 405 (RFC 9110 requires it on every 405)."""
    headers = getattr(exc, "headers", None) or {}
    return {"Allow": headers["Allow"]} if "Allow" in headers else {}


def no_taxii_endpoint(path: str) -> Response:
    return error_response(NotFound(f"no TAXII endpoint {path}",
                                   hint="Start at the discovery endpoint, /taxii2/ (see docs/taxii.md)."))


def _no_object(object_id: str, access: CollectionAccess) -> NotFound:
    return NotFound(f"no object {object_id} in collection {access.collection.title!r}",
                    hint="Check the object id (and match[version]); the collection's objects/ and manifest/ list "
                         "what you may see.")


def _date_headers(page: Page) -> dict[str, str]:
    """X-TAXII-Date-Added-First and -Last: when the first and the last object of this page were added."""
    if not page.items:
        return {}
    return {"X-TAXII-Date-Added-First": format_micros(page.items[0].date_added),
            "X-TAXII-Date-Added-Last": format_micros(page.items[-1].date_added)}


def create_taxii_app(node: Node) -> Starlette:
    """The TAXII 2.1 ASGI app over ``node``, to mount at ``/taxii2`` (the caller owns the node)."""
    settings = node.settings
    page_size = min(_DEFAULT_LIMIT, settings.page_size_max)

    def who(key: str | None) -> Actor:
        """The caller behind a key (None: anonymous)."""
        return Actor("", Role.ANONYMOUS) if key is None else node.admin.authenticate(key)

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                check_accept(request.headers.get("accept"))
                return await handler(request, credentials(request.headers.get("authorization")))
            except Error as exc:
                return error_response(exc)

        return run

    def root_url(request: Request) -> str:
        return str(request.url_for("api_root"))

    def need_credentials(what: str) -> AuthenticationError:
        return AuthenticationError(f"{what} needs credentials")

    # Each handler does its service work in one call on a worker thread (a hop costs more than the work of a
    # small request); these helpers run there.

    def usable(actor: Actor, cid: str) -> CollectionAccess:
        """The collection, if the caller may use it; an anonymous caller is asked for credentials instead of
        being told whether it exists."""
        try:
            return node.reader.collection(actor, cid)
        except NotFound:
            if actor.role is Role.ANONYMOUS:
                raise need_credentials("this collection") from None
            raise

    def any_public(actor: Actor) -> None:
        if actor.role is Role.ANONYMOUS and not node.reader.collections(actor):
            raise need_credentials("this server")

    def query_of(cid: str, f: params.Filters, **fixed: Any) -> Query:
        """The query for these filters on collection ``cid``; ``fixed`` replaces what the endpoint decides."""
        limit = min(f.limit or page_size, settings.page_size_max)
        wanted: dict[str, Any] = {"ids": f.ids, "types": f.types, "versions": f.versions, **fixed}
        return Query(collection=cid, spec_versions=f.spec_versions, added_after=f.added_after, limit=limit,
                     cursor=f.next, **wanted)

    def read(key: str | None, cid: str, f: params.Filters, **fixed: Any) -> tuple[CollectionAccess, Page]:
        """One page of a collection as the caller may see it (an anonymous caller is asked for credentials
        instead of being told whether the collection exists)."""
        actor = who(key)
        try:
            return node.reader.read(actor, query_of(cid, f, **fixed))
        except (NotFound, PermissionDenied):
            if actor.role is Role.ANONYMOUS:
                raise need_credentials("this collection") from None
            raise

    # discovery and the API root -----------------------------------------------------------------------

    async def discovery(request: Request, key: str | None) -> Response:
        params.filters(request.query_params, ())
        await run_in_threadpool(lambda: any_public(who(key)))
        return taxii_response(render.discovery(root_url(request)))

    async def api_root(request: Request, key: str | None) -> Response:
        params.filters(request.query_params, ())
        await run_in_threadpool(lambda: any_public(who(key)))
        return taxii_response(render.api_root(settings.max_document_bytes))

    async def status(request: Request, key: str | None) -> Response:
        params.filters(request.query_params, ())
        if key is None:
            raise need_credentials("a status")
        view = await run_in_threadpool(lambda: node.submissions.status(who(key), request.path_params["status_id"]))
        return taxii_response(render.status(view))

    # collections ---------------------------------------------------------------------------------------

    async def collections(request: Request, key: str | None) -> Response:
        params.filters(request.query_params, ())
        found = await run_in_threadpool(lambda: node.reader.collections(who(key)))
        if key is None and not found:
            raise need_credentials("this server")
        return taxii_response({"collections": [render.collection(a) for a in found]} if found else {})

    async def collection(request: Request, key: str | None) -> Response:
        params.filters(request.query_params, ())
        access = await run_in_threadpool(lambda: usable(who(key), request.path_params["id"]))
        return taxii_response(render.collection(access))

    async def manifest(request: Request, key: str | None) -> Response:
        f = params.filters(request.query_params, params.OBJECTS)
        _, page = await run_in_threadpool(read, key, request.path_params["id"], f)
        return taxii_response(render.manifest(page), headers=_date_headers(page))

    # objects -------------------------------------------------------------------------------------------

    async def objects(request: Request, key: str | None) -> Response:
        if request.method == "POST":
            return await add_objects(request, key)
        if request.method == "DELETE":
            f = params.filters(request.query_params, params.DELETE_MANY, default_version=VersionFilter.ALL)
            if not f.ids:
                raise InvalidParameter("DELETE on objects/ needs match[id]: the objects to delete")
            return await delete(request, key, f, f.ids)
        f = params.filters(request.query_params, params.OBJECTS)
        _, page = await run_in_threadpool(read, key, request.path_params["id"], f)
        return taxii_response(render.envelope(page), headers=_date_headers(page))

    async def add_objects(request: Request, key: str | None) -> Response:
        check_content_type(request.headers.get("content-type"))
        f = params.filters(request.query_params, params.POST)
        if key is None:
            raise need_credentials("sharing objects")

        def authorize() -> Sharing:  # before the body is read: nobody makes the node read what it would refuse
            actor = who(key)
            access = usable(actor, request.path_params["id"])
            return node.ingest.authorize(actor, access.collection.id, organizations=f.organizations,
                                         people=f.people, tolerant=f.tolerant)

        sharing = await run_in_threadpool(authorize)
        body = await read_body(request, settings.max_document_bytes)

        def submit() -> StatusView:
            parsed = parse_document(body, mode=node.ingest.mode(f.tolerant), limits=node.ingest.limits(),
                                    envelope=True)
            return node.submissions.submit(sharing, parsed)

        return taxii_response(render.status(await run_in_threadpool(submit)), 202)

    async def delete(request: Request, key: str | None, f: params.Filters, ids: tuple[str, ...]) -> Response:
        if key is None:
            raise need_credentials("deleting objects")

        def work() -> None:
            actor = who(key)
            access = usable(actor, request.path_params["id"])
            node.deletion.delete(actor, access.collection.id, ids, versions=f.versions, spec_versions=f.spec_versions)

        await run_in_threadpool(work)
        return taxii_response(b"", 200)

    async def object_(request: Request, key: str | None) -> Response:
        object_id = request.path_params["object_id"]
        if request.method == "DELETE":
            f = params.filters(request.query_params, params.DELETE, default_version=VersionFilter.ALL)
            return await delete(request, key, f, (object_id,))
        f = params.filters(request.query_params, params.OBJECT)
        access, page = await run_in_threadpool(read, key, request.path_params["id"], f, ids=(object_id,))
        if not page.items and not f.next:
            raise _no_object(object_id, access)
        return taxii_response(render.envelope(page), headers=_date_headers(page))

    async def versions(request: Request, key: str | None) -> Response:
        object_id = request.path_params["object_id"]
        f = params.filters(request.query_params, params.VERSIONS)
        access, page = await run_in_threadpool(read, key, request.path_params["id"], f, ids=(object_id,),
                                               versions=(VersionFilter.ALL,))
        if not page.items and not f.next:
            raise _no_object(object_id, access)
        return taxii_response(render.versions(page), headers=_date_headers(page))

    async def not_found(request: Request, exc: Exception) -> Response:
        return no_taxii_endpoint(request.url.path)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        response = error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"))
        response.headers.update(allowed_methods(exc))
        return response

    routes = []
    for path, handler, methods, name in (
        ("/", discovery, ["GET"], "discovery"),
        (f"/{ROOT}/", api_root, ["GET"], "api_root"),
        (f"/{ROOT}/status/{{status_id}}/", status, ["GET"], "status"),
        (f"/{ROOT}/collections/", collections, ["GET"], "collections"),
        (f"/{ROOT}/collections/{{id}}/", collection, ["GET"], "collection"),
        (f"/{ROOT}/collections/{{id}}/manifest/", manifest, ["GET"], "manifest"),
        (f"/{ROOT}/collections/{{id}}/objects/", objects, ["GET", "POST", "DELETE"], "objects"),
        (f"/{ROOT}/collections/{{id}}/objects/{{object_id}}/", object_, ["GET", "DELETE"], "object"),
        (f"/{ROOT}/collections/{{id}}/objects/{{object_id}}/versions/", versions, ["GET"], "versions"),
    ):
        routes.append(Route(path, endpoint(handler), methods=methods, name=name))
        if path != "/":
            routes.append(Route(path.rstrip("/"), endpoint(handler), methods=methods))
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})

