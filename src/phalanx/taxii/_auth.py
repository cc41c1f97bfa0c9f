"""Who is calling a TAXII endpoint: an API key sent as a bearer token or as the password of HTTP Basic
(RFC 7617; the user name is not used, so any client that only knows user and password can send a key), or
nobody (an anonymous caller, who may read public collections only)."""

from __future__ import annotations

__all__ = ["CHALLENGE", "credentials"]

import base64
import binascii

from ..errors import AuthenticationError

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
