"""Rendering the dashboard: Jinja2 templates with autoescaping on, the same view as JSON, and the security
headers every dashboard response carries.

Everything a page shows comes from a *view*: plain dicts, lists, strings and numbers built by the page's handler
from the service layer. The HTML page is that view through a template; ``?format=json`` (or ``Accept:
application/json``) returns the view itself, so every page has a JSON form and a test can read what the page
was going to show.

Nothing contributed is trusted: templates never mark text safe (the one exception is Markdown, rendered by
``markdown.render`` with raw HTML disabled and links limited to http, https and mailto), and the
Content-Security-Policy allows scripts and styles from this origin only, with no inline script at all.
"""

from __future__ import annotations

__all__ = ["CSP", "SECURITY_HEADERS", "Renderer", "wants_json"]

from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .. import _responses
from ._format import FILTERS

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def wants_json(request: Request) -> bool:
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class Renderer:
    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_template_source),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)

    def page(self, request: Request, template: str, view: Mapping[str, Any], *, chrome: Mapping[str, Any],
             status: int = 200) -> Response:
        """The page: ``view`` as HTML through ``template`` (with ``chrome``: who is signed in, the CSRF token, the
        navigation), or as JSON when the request asks for it."""
        if wants_json(request):
            return secure(_responses.json_response(dict(view), status))
        html = self.env.get_template(template).render(view=view, **chrome)
        return secure(HTMLResponse(html, status))


def _template_source(name: str) -> str:
    if "/" in name or "\\" in name or not name.endswith(".html"):
        raise jinja2.TemplateNotFound(name)
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
