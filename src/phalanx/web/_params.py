"""Query-string filters -> a store ``Query``: parsed once here, with errors that say what to send."""

from __future__ import annotations

__all__ = ["GET_OBJECTS", "POST_OBJECTS", "InvalidParameter", "allow_only", "query_from_params"]

from starlette.datastructures import QueryParams

from ..errors import Error
from ..stix import parse_micros
from ..store import Query, VersionFilter


class InvalidParameter(Error):
    """A query parameter has a value the API cannot use."""

    hint = "See docs/api.md for the filters and their formats."


GET_OBJECTS = ("type", "id", "version", "spec_version", "added_after", "limit", "next")
POST_OBJECTS = ("tolerant", "recipients", "people")


_SINGLE = ("added_after", "limit", "next", "tolerant")


def allow_only(params: QueryParams, allowed: tuple[str, ...]) -> None:
    """Refuse any parameter the endpoint does not take (an allowlist: nothing unknown is ignored), a single one
    given twice, and one given with no value."""
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}: this endpoint takes {takes}")
    for name in params:
        values = params.getlist(name)
        if name in _SINGLE and len(values) > 1:
            raise InvalidParameter(f"{name} may be given once, not {len(values)} times")
        if not any(v.strip() for value in values for v in value.split(",")):
            raise InvalidParameter(f"{name} is given with no value")


def _split(params: QueryParams, name: str) -> tuple[str, ...]:
    raw = params.getlist(name)
    return tuple(part.strip() for value in raw for part in value.split(",") if part.strip())


def _timestamp(text: str, name: str) -> int:
    try:
        return parse_micros(text)
    except ValueError as exc:
        raise InvalidParameter(f"{name}: {exc}") from None


def query_from_params(collection: str, params: QueryParams, *, default_limit: int) -> Query:
    allow_only(params, GET_OBJECTS)
    versions: list[VersionFilter | int] = []
    for value in _split(params, "version"):
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
        ids=_split(params, "id"),
        types=_split(params, "type"),
        spec_versions=_split(params, "spec_version"),
        versions=tuple(versions) or (VersionFilter.LAST,),
        added_after=_timestamp(added_after, "added_after") if added_after else None,
        limit=limit,
        cursor=params.get("next"),
    )
