"""Opaque paging cursors, and the errors a malformed query raises.

A cursor names the position after the last row of a page: its ``date_added``, which is unique across the
whole store. The next page continues strictly after it, so rows added meanwhile show up at the end.
"""

from __future__ import annotations

__all__ = [
    "InvalidCursor",
    "InvalidQuery",
    "check_changes",
    "check_query",
    "decode_cursor",
    "encode_cursor",
    "version_chosen",
]

import base64
import binascii
import re

from ..errors import InvalidCursor, InvalidQuery
from ._protocol import INT64_MAX, Query, VersionFilter, is_int64

_PREFIX = "p1."
_SHAPE = re.compile(r"^p1\.[A-Za-z0-9_-]{1,40}$")


def encode_cursor(date_added: int) -> str:
    raw = f"d{date_added}".encode("ascii")
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The ``date_added`` a cursor names; ``InvalidCursor`` when it is not one of ours."""
    if not isinstance(cursor, str) or not _SHAPE.match(cursor):
        raise InvalidCursor(f"invalid paging cursor {cursor!r}")
    body = cursor[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(f"invalid paging cursor {cursor!r}") from exc
    if not raw.startswith("d") or not raw[1:].isdigit() or len(raw) > 21 or int(raw[1:]) > INT64_MAX:
        raise InvalidCursor(f"invalid paging cursor {cursor!r}")
    return int(raw[1:])


def check_query(query: Query) -> int | None:
    """Validate ``query``; return the exclusive lower bound on ``date_added`` (added_after, cursor).

    Every integer must fit in a signed 64-bit integer (``INT64_MIN``..``INT64_MAX``), on every backend."""
    _check_limit(query.limit)
    for item in query.versions:
        if not isinstance(item, VersionFilter) and not is_int64(item):
            raise InvalidQuery(f"unknown version filter {item!r} (a version is a 64-bit integer)")
    if query.visibility is not None and query.collection is None:
        raise InvalidQuery("a query limited to what a reader may see must name a collection (scopes belong to "
                           "the memberships of a collection)")
    if query.added_after is not None and not is_int64(query.added_after):
        raise InvalidQuery(f"added_after must be a 64-bit integer (microseconds), not {query.added_after!r}")
    after = query.added_after
    if query.cursor is not None:
        position = decode_cursor(query.cursor)
        after = position if after is None else max(after, position)
    return after


def check_changes(after: int, limit: int) -> None:
    """Validate the arguments of ``Store.changes`` as ``check_query`` validates ``added_after`` and ``limit``."""
    if not is_int64(after):
        raise InvalidQuery(f"after must be a 64-bit integer (a date_added, microseconds), not {after!r}")
    _check_limit(limit)


def _check_limit(limit: int) -> None:
    if not is_int64(limit) or limit < 1:
        raise InvalidQuery(f"limit must be a positive 64-bit integer, not {limit!r}")


def version_chosen(ver: int, held: list[int], wanted: tuple[VersionFilter | int, ...]) -> bool:
    """Whether version ``ver`` of an id whose versions (in a collection) are ``held``, sorted, is ``wanted``."""
    return any(
        f is VersionFilter.ALL
        or (f is VersionFilter.FIRST and ver == held[0])
        or (f is VersionFilter.LAST and ver == held[-1])
        or (not isinstance(f, VersionFilter) and ver == f)
        for f in wanted
    )
