"""TAXII 2.1 media types (section 1.6.8): what a request must accept and send, and what every answer is.

Every request says ``Accept: application/taxii+json;version=2.1`` (the version may be left out: it then means
the latest, 2.1); a POST also sends its body as ``Content-Type: application/taxii+json;version=2.1``. Anything
else is answered 406 (Accept) or 415 (Content-Type). Media type names are compared case-insensitively and
parameters may be spaced or quoted, as RFC 9110 allows.
"""

from __future__ import annotations

__all__ = ["STIX", "TAXII", "NotAcceptable", "UnsupportedMediaType", "check_accept", "check_content_type"]

from ..errors import Error

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
_TAXII_TYPE = "application/taxii+json"


class NotAcceptable(Error):
    """The request does not accept TAXII 2.1 (its Accept header)."""

    hint = f"Send 'Accept: {TAXII}'."


class UnsupportedMediaType(Error):
    """The request body is not declared as TAXII 2.1 (its Content-Type header)."""

    hint = f"Send the objects as a TAXII envelope with 'Content-Type: {TAXII}'."


def _parse(item: str) -> tuple[str, dict[str, str]]:
    """A media range: its lower-case type and its parameters (names lower-case, values unquoted)."""
    name, *rest = item.split(";")
    params: dict[str, str] = {}
    for param in rest:
        key, _, value = param.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return name.strip().lower(), params


def _is_taxii_21(item: str) -> bool:
    name, params = _parse(item)
    if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
        return False  # explicitly not acceptable
    return name == _TAXII_TYPE and params.get("version", "2.1") == "2.1"


def check_accept(header: str | None) -> None:
    """Raise ``NotAcceptable`` unless the Accept header accepts TAXII 2.1."""
    if header is None or not header.strip():
        raise NotAcceptable("the request has no Accept header; this server answers only TAXII 2.1")
    if not any(_is_taxii_21(item) for item in header.split(",") if item.strip()):
        raise NotAcceptable(f"the request accepts {header.strip()!r}; this server answers only {TAXII}")


def check_content_type(header: str | None) -> None:
    """Raise ``UnsupportedMediaType`` unless the body is declared as TAXII 2.1."""
    if header is None or not _is_taxii_21(header):
        shown = "no Content-Type" if header is None else f"Content-Type {header.strip()!r}"
        raise UnsupportedMediaType(f"the request body has {shown}; this server takes {TAXII}")
