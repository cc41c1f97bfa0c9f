"""JSON answers, and errors as JSON named by their cause: the same for every handler of the web app."""

from __future__ import annotations

__all__ = ["error_response", "json_response"]

from starlette.responses import Response

from .._http import CHALLENGE, status_of
from ..errors import Error
from ..stix._json import dumps


def json_response(payload: object, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


def error_response(exc: Error) -> Response:
    status = status_of(exc)
    response = json_response({"title": type(exc).__name__, "description": exc.message, "hint": exc.hint}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response
