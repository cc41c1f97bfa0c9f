"""The dashboard: server-rendered pages over the service layer, next to the API (``phalanx serve``).

    /feed            the live feed                      /search          search by value, type, label, ...
    /objects/{id}    one object: TLP, relationships, sightings, correlation, provenance
    /publish         share an indicator or a report     /community       organizations and contributions
    /network         federation and ledger health       /admin           organizations, users, keys, settings
    /signin, /signout

Every page answers ``?format=json`` with the view it renders. Sessions, CSRF and the security headers are in
``_site``, ``_session`` and ``_render``; docs/dashboard.md describes the whole.
"""

from __future__ import annotations

__all__ = ["dashboard_routes", "html_not_found"]

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from ...demo import DEMO_USERS_FILE
from ...service import Node
from ._admin import admin_routes
from ._community import community_routes
from ._feed import feed_routes
from ._network import network_routes
from ._objects import object_routes
from ._publish import publish_routes
from ._render import SECURITY_HEADERS, Renderer, secure
from ._search import search_routes
from ._signin import signin_routes
from ._site import Site


class _Static:
    """The dashboard's CSS and script, with the security headers and a short cache."""

    def __init__(self) -> None:
        self._files = StaticFiles(packages=[("phalanx.web.ui", "static")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"cache-control", b"max-age=300"))
                message = {**message, "headers": headers}
            await send(message)

        await self._files(scope, receive, with_headers)


_RENDERER = Renderer()


def html_not_found(request: Request) -> Response | None:
    """The dashboard's 404 page, for a browser that asked for a page that does not exist (None: answer in JSON,
    as the API does)."""
    if request.url.path.startswith(("/api/", "/taxii2", "/witness/")) or "text/html" not in request.headers.get(
            "accept", ""):
        return None
    view = {"title": "NotFound", "description": "there is no such page", "hint": "The live feed lists what you "
            "may read; the navigation at the top leads to the rest.", "status": 404}
    return _RENDERER.page(request, "error.html", view, chrome={"me": None, "csrf": "", "nav": [], "active": ""},
                          status=404)


def _demo_hint(node: Node) -> str:
    try:
        return (node.settings.home / DEMO_USERS_FILE).read_text(encoding="utf-8").strip()[:500]
    except OSError:
        return ""


def dashboard_routes(node: Node) -> list[BaseRoute]:
    site = Site(node)
    demo_hint = _demo_hint(node)

    async def home(request: Request) -> Response:
        return secure(RedirectResponse("/feed", status_code=303))

    return [
        Route("/", home),
        Mount("/static", app=_Static(), name="static"),
        *signin_routes(site, demo_hint=demo_hint),
        *admin_routes(site),
        *community_routes(site),
        *feed_routes(site),
        *network_routes(site),
        *object_routes(site),
        *publish_routes(site),
        *search_routes(site),
    ]
