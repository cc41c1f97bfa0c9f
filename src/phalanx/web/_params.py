"""Query-string filters -> a store ``Query``: parsed once here, with errors that say what to send."""

from __future__ import annotations

__all__ = ["GET_OBJECTS", "POST_OBJECTS", "allow_only", "query_from_params"]

from starlette.datastructures import QueryParams

from .._http import check_params, split, timestamp
from ..errors import InvalidParameter
from ..stix import parse_micros
from ..store import Query, VersionFilter

GET_OBJECTS = ("type", "id", "version", "spec_version", "added_after", "limit", "next")
POST_OBJECTS = ("tolerant", "recipients", "people")


def allow_only(params: QueryParams, allowed: tuple[str, ...]) -> None:
    """Refuse a parameter the endpoint does not take, a single one given twice, or one with no value."""
    check_params(params, allowed)



def query_from_params(collection: str, params: QueryParams, *, default_limit: int) -> Query:
    allow_only(params, GET_OBJECTS)
    versions: list[VersionFilter | int] = []
    for value in split(params, "version"):
        try:
            versions.append(VersionFilter(value))
        except ValueError:
            try:
                versions.append(parse_micros(value))
            except ValueError:
                raise InvalidParameter(
                    f"version={value!r} must be last, first, all, or a 'modified' timestamp like "
                    "2024-01-31T12:00:00.000Z") from None
    limit_text = params.get("limit")
    limit = default_limit
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or int(limit_text) < 1:
            raise InvalidParameter(f"limit={limit_text!r} must be a positive whole number")
        limit = int(limit_text)
    added_after = params.get("added_after")
    return Query(
        collection=collection,
        ids=split(params, "id"),
        types=split(params, "type"),
        spec_versions=split(params, "spec_version"),
        versions=tuple(versions) or (VersionFilter.LAST,),
        added_after=timestamp(added_after, "added_after") if added_after else None,
        limit=limit,
        cursor=params.get("next"),
    )
