"""What every HTTP edge (TAXII, the JSON API) shares: reading the caller's key, and reading a bounded body.

A key comes as a bearer token or as the password of HTTP Basic (RFC 7617; the user name is not used, so any
client that only knows user and password can send a key). No Authorization header at all is an anonymous
caller, who may read public collections only.
"""

from __future__ import annotations

__all__ = ["CHALLENGE", "SINGLE", "check_params", "credentials", "flag", "read_body", "split", "status_of", "timestamp"]

import base64
import binascii
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request

from .errors import (
    AuthenticationError,
    Error,
    InputTooLarge,
    InvalidJSON,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    StoreError,
    StoreUnavailable,
)
from .stix import parse_micros

_STATUS = ((InputTooLarge, 413), (AuthenticationError, 401), (PermissionDenied, 403), (NotFound, 404),
           (StoreUnavailable, 503), (StoreError, 500))


def status_of(exc: Error) -> int:
    """The HTTP status of an error, by its cause: the caller's fault is 4xx (400 unless more specific), the
    node's 5xx."""
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return 400

CHALLENGE = 'Basic realm="phalanx", charset="UTF-8", Bearer realm="phalanx"'
"""The WWW-Authenticate value of a 401: both ways of sending a key."""


def credentials(authorization: str | None) -> str | None:
    """The API key an Authorization header carries; None when there is no header (an anonymous caller).
    Raises ``AuthenticationError`` for a header that carries no usable key."""
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("the Basic credentials are not base64 of 'user:password'") from None
        _, sep, password = decoded.partition(":")
        if sep and password:
            return password
        raise AuthenticationError("the Basic credentials carry no API key: send it as the password")
    raise AuthenticationError("unsupported Authorization header: send 'Bearer KEY', or Basic with the key as "
                              "password")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (``InputTooLarge``) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InputTooLarge(f"the request body is {declared} bytes; the limit is {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InputTooLarge(f"the request body exceeds the limit of {limit} bytes")
    return bytes(body)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``): ``InputTooLarge`` beyond ``limit`` bytes,
    ``InvalidJSON`` when it is not JSON, ``InvalidParameter`` when it is not an object."""
    body = await read_body(request, limit)
    try:
        value = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidParameter("the body must be a JSON object")
    return value


def flag(value: str | None, name: str) -> bool | None:
    """A yes/no URL parameter: true/false, 1/0, yes/no in any case (None: not given); ``InvalidParameter``
    saying what to send, else."""
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise InvalidParameter(f"{name}={value!r} must be true or false")


def split(params: QueryParams, name: str) -> tuple[str, ...]:
    """The values of a parameter that may be repeated or hold comma-separated values."""
    return tuple(part.strip() for value in params.getlist(name) for part in value.split(",") if part.strip())


SINGLE = ("added_after", "limit", "next", "tolerant")
"""The parameters (of either API) that take one value."""


def check_params(params: QueryParams, allowed: tuple[str, ...], *, single: tuple[str, ...] = SINGLE) -> None:
    """Refuse (``InvalidParameter``) a parameter the endpoint does not take (an allowlist: nothing unknown is
    ignored), one of ``single`` given twice, and one given with no value (a filter with nothing in it would
    match everything)."""
    unknown = sorted({name for name in params if name not in allowed})
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}: this endpoint takes {takes}")
    for name in params:
        count = len(params.getlist(name))
        if name in single and count > 1:
            raise InvalidParameter(f"{name} may be given once, not {count} times")
        if not split(params, name):
            raise InvalidParameter(f"{name} is given with no value")


def timestamp(text: str, name: str) -> int:
    """A timestamp parameter in microseconds; ``InvalidParameter`` saying what to send."""
    try:
        return parse_micros(text.strip())
    except ValueError as exc:
        raise InvalidParameter(f"{name}: {exc}") from None
