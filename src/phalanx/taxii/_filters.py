"""TAXII 2.1 URL parameters (section 3.4): parsed once, against each endpoint's allowlist, into a store query.

``added_after`` (a timestamp), ``limit`` (a positive integer; the server caps it), ``next`` (from the previous
page), and ``match[id]``, ``match[type]``, ``match[version]`` (``first``, ``last``, ``all`` or timestamps) and
``match[spec_version]``: each may be repeated or hold comma-separated values (any of them matches); different
fields must all match. A parameter an endpoint does not take is refused, never ignored.
"""

from __future__ import annotations

__all__ = ["Filters", "filters"]

import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from .._http import check_params, flag, split, timestamp
from ..errors import InvalidParameter
from ..stix import is_identifier
from ..store import VersionFilter


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





def filters(params: QueryParams, allowed: tuple[str, ...], *, default_version: VersionFilter = VersionFilter.LAST
            ) -> Filters:
    """The parameters of one request, checked against what its endpoint takes."""
    check_params(params, allowed)
    versions: list[VersionFilter | int] = []
    for value in split(params, "match[version]"):
        try:
            versions.append(VersionFilter(value))
        except ValueError:
            versions.append(timestamp(value, "match[version]"))
    ids = split(params, "match[id]")
    for object_id in ids:
        if not is_identifier(object_id):
            raise InvalidParameter(f"match[id]: {object_id!r} is not a STIX identifier (type--uuid)")
    types = split(params, "match[type]")
    for type_ in types:
        if not _TYPE.match(type_):
            raise InvalidParameter(f"match[type]: {type_!r} is not a STIX type name (lowercase letters, digits, -)")
    spec_versions = split(params, "match[spec_version]")
    for spec in spec_versions:
        if spec not in _SPEC_VERSIONS:
            raise InvalidParameter(f"match[spec_version]: {spec!r} is not a STIX version (2.0 or 2.1)")
    limit_text = params.get("limit")
    limit = None
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not 0 < int(limit_text) < 2**63:
            raise InvalidParameter(f"limit={limit_text!r} must be a positive whole number")
        limit = int(limit_text)
    added_after = params.get("added_after")
    tolerant = flag(params.get("tolerant"), "tolerant")
    return Filters(
        ids=ids,
        types=types,
        versions=tuple(versions) or (default_version,),
        spec_versions=spec_versions,
        added_after=None if added_after is None else timestamp(added_after, "added_after"),
        limit=limit,
        next=params.get("next"),
        organizations=split(params, "recipients"),
        people=split(params, "people"),
        tolerant=tolerant,
    )
