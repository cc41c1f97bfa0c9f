"""TAXII 2.1 URL parameters (section 3.4): parsed once, against each endpoint's allowlist, into a store query.

``added_after`` (a timestamp), ``limit`` (a positive integer; the server caps it), ``next`` (from the previous
page), and ``match[id]``, ``match[type]``, ``match[version]`` (``first``, ``last``, ``all`` or timestamps) and
``match[spec_version]``: each may be repeated or hold comma-separated values (any of them matches); different
fields must all match. A parameter an endpoint does not take is refused, never ignored.
"""

from __future__ import annotations

__all__ = ["Filters", "InvalidParameter", "filters"]

import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from .._http import flag
from ..errors import Error
from ..stix import is_identifier, parse_micros
from ..store import VersionFilter


class InvalidParameter(Error):
    """A URL parameter is unknown to the endpoint, or has a value it cannot use."""

    hint = "See docs/taxii.md for each endpoint's parameters and their formats."


@dataclass(frozen=True, slots=True)
class Filters:
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[VersionFilter | int, ...] = (VersionFilter.LAST,)
    spec_versions: tuple[str, ...] = ()
    added_after: int | None = None
    limit: int | None = None
    next: str | None = None
    organizations: tuple[str, ...] = ()
    """Recipients named on a POST (Phalanx's own parameter ``recipients``)."""
    people: tuple[str, ...] = ()
    """People named on a POST (Phalanx's own parameter ``people``)."""
    tolerant: bool | None = None
    """Validation mode of a POST (Phalanx's own parameter ``tolerant``; None: the hub's ``validation``)."""


PAGING = ("added_after", "limit", "next")
OBJECTS = (*PAGING, "match[id]", "match[type]", "match[version]", "match[spec_version]")
OBJECT = (*PAGING, "match[version]", "match[spec_version]")
VERSIONS = (*PAGING, "match[spec_version]")
DELETE = ("match[version]", "match[spec_version]")
DELETE_MANY = ("match[id]", *DELETE)
POST = ("recipients", "people", "tolerant")
_SPEC_VERSIONS = ("2.0", "2.1")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}$")


def _values(params: QueryParams, name: str) -> tuple[str, ...]:
    return tuple(part.strip() for value in params.getlist(name) for part in value.split(",") if part.strip())


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidParameter(f"{name} may be given once, not {len(values)} times")
    return values[0] if values else None


def _timestamp(text: str, name: str) -> int:
    try:
        return parse_micros(text.strip())
    except ValueError as exc:
        raise InvalidParameter(f"{name}: {exc}") from None


def filters(params: QueryParams, allowed: tuple[str, ...], *, default_version: VersionFilter = VersionFilter.LAST
            ) -> Filters:
    """The parameters of one request, checked against what its endpoint takes."""
    unknown = sorted({name for name in params if name not in allowed})
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}: this endpoint takes {takes}")
    for name in params:  # a filter given with nothing in it would match everything: it is a mistake
        if not _values(params, name):
            raise InvalidParameter(f"{name} is given with no value")
    versions: list[VersionFilter | int] = []
    for value in _values(params, "match[version]"):
        try:
            versions.append(VersionFilter(value))
        except ValueError:
            versions.append(_timestamp(value, "match[version]"))
    ids = _values(params, "match[id]")
    for object_id in ids:
        if not is_identifier(object_id):
            raise InvalidParameter(f"match[id]: {object_id!r} is not a STIX identifier (type--uuid)")
    types = _values(params, "match[type]")
    for type_ in types:
        if not _TYPE.match(type_):
            raise InvalidParameter(f"match[type]: {type_!r} is not a STIX type name (lowercase letters, digits, -)")
    spec_versions = _values(params, "match[spec_version]")
    for spec in spec_versions:
        if spec not in _SPEC_VERSIONS:
            raise InvalidParameter(f"match[spec_version]: {spec!r} is not a STIX version (2.0 or 2.1)")
    limit_text = _one(params, "limit")
    limit = None
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not 0 < int(limit_text) < 2**63:
            raise InvalidParameter(f"limit={limit_text!r} must be a positive whole number")
        limit = int(limit_text)
    added_after = _one(params, "added_after")
    try:
        tolerant = flag(_one(params, "tolerant"), "tolerant")
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None
    return Filters(
        ids=ids,
        types=types,
        versions=tuple(versions) or (default_version,),
        spec_versions=spec_versions,
        added_after=None if added_after is None else _timestamp(added_after, "added_after"),
        limit=limit,
        next=_one(params, "next"),
        organizations=_values(params, "recipients"),
        people=_values(params, "people"),
        tolerant=tolerant,
    )
