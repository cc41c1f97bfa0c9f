"""Opaque paging cursors, and the errors a malformed query raises.

A cursor names the position after the last row of a page: its ``date_added``, which is unique across the
whole store. The next page continues strictly after it, so rows added meanwhile show up at the end.

A newest-first query (``Query.newest_first``) pages the other way: its cursor names the last row's
``date_added`` too, and the next page continues strictly before it (rows added meanwhile are not in the
listing: they are newer than its first page). The cursor says which way it goes ("d" for oldest first,
"b" for newest first, inside the base64): given to a query going the other way, it is refused.
"""

from __future__ import annotations

__all__ = [
    "InvalidCursor",
    "InvalidQuery",
    "check_changes",
    "check_limit",
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


_ASCENDING = "d"
"""The letter that starts an oldest-first cursor (the only kind there was: its form is kept as it was)."""
_DESCENDING = "b"
"""The letter that starts a newest-first cursor: the next page continues before the position."""


def encode_cursor(date_added: int, *, newest_first: bool = False) -> str:
    raw = f"{_DESCENDING if newest_first else _ASCENDING}{date_added}".encode("ascii")
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, bool]:
    """The ``date_added`` a cursor names, and whether it continues a newest-first listing; ``InvalidCursor``
    when it is not one of ours."""
    if not isinstance(cursor, str) or not _SHAPE.match(cursor):
        raise InvalidCursor(f"invalid paging cursor {cursor!r}")
    body = cursor[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(f"invalid paging cursor {cursor!r}") from exc
    if raw[:1] not in (_ASCENDING, _DESCENDING) or not raw[1:].isdigit() or len(raw) > 21 \
            or int(raw[1:]) > INT64_MAX:
        raise InvalidCursor(f"invalid paging cursor {cursor!r}")
    return int(raw[1:]), raw[0] == _DESCENDING


def _order(newest_first: bool) -> str:
    return "newest first" if newest_first else "oldest first"


def check_query(query: Query) -> tuple[int | None, int | None]:
    """Validate ``query``; return the exclusive bounds on ``date_added``: (after, before). ``after`` is
    ``added_after``, raised by an oldest-first cursor; ``before`` is what a newest-first cursor names (None
    otherwise).

    Every integer must fit in a signed 64-bit integer (``INT64_MIN``..``INT64_MAX``), on every backend."""
    check_limit(query.limit)
    for item in query.versions:
        if not isinstance(item, VersionFilter) and not is_int64(item):
            raise InvalidQuery(f"unknown version filter {item!r} (a version is a 64-bit integer)")
    if query.visibility is not None and query.collection is None:
        raise InvalidQuery("a query limited to what a reader may see must name a collection (scopes belong to "
                           "the memberships of a collection)")
    if query.added_after is not None and not is_int64(query.added_after):
        raise InvalidQuery(f"added_after must be a 64-bit integer (microseconds), not {query.added_after!r}")
    if not isinstance(query.newest_first, bool):
        raise InvalidQuery(f"newest_first must be True or False, not {query.newest_first!r}")
    after, before = query.added_after, None
    if query.cursor is not None:
        position, newest_first = decode_cursor(query.cursor)
        if newest_first != query.newest_first:
            raise InvalidCursor(
                f"paging cursor {query.cursor!r} continues a listing ordered {_order(newest_first)}, but this "
                f"query asks for {_order(query.newest_first)}",
                hint=f"Ask again {_order(newest_first)} (newest_first={newest_first}) to follow this cursor, "
                     "or start again without a cursor.")
        if newest_first:
            before = position
        else:
            after = position if after is None else max(after, position)
    return after, before


def check_changes(after: int, limit: int) -> None:
    """Validate the arguments of ``Store.changes`` as ``check_query`` validates ``added_after`` and ``limit``."""
    if not is_int64(after):
        raise InvalidQuery(f"after must be a 64-bit integer (a date_added, microseconds), not {after!r}")
    check_limit(limit)


def check_limit(limit: int) -> None:
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
