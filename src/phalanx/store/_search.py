"""Text search in the store: what every backend checks of a ``TextQuery`` before it runs one.

Terms are any strings (``phalanx.analysis.text_terms`` makes them); the memory store keeps them as they are,
the SQL backends as fixed-size hashes (``_sql/_search.py``), so that no term ever reaches an index's query
language. The answer is the same on every backend (tests/conformance/test_search.py).
"""

from __future__ import annotations

__all__ = ["MAX_CONTRIBUTORS", "MAX_LIMIT", "MAX_QUERY_TERMS", "check_text_query"]

from ..errors import InvalidQuery
from ._protocol import TextQuery, is_int64

MAX_QUERY_TERMS = 64
"""Terms one query names at most (``all_of`` and ``none_of`` each)."""
MAX_CONTRIBUTORS = 100
MAX_LIMIT = 1000


def check_text_query(query: TextQuery) -> TextQuery:
    """The query with each term once; refuses one without ``all_of``, with too many terms, or with bounds or a
    limit the store cannot take."""
    all_of = tuple(dict.fromkeys(query.all_of))
    none_of = tuple(t for t in dict.fromkeys(query.none_of) if t not in all_of)
    if not all_of:
        raise InvalidQuery("a text search needs at least one term to look for")
    if len(all_of) > MAX_QUERY_TERMS or len(none_of) > MAX_QUERY_TERMS:
        raise InvalidQuery(f"a text search names at most {MAX_QUERY_TERMS} terms to look for, and to leave out")
    if not all(isinstance(t, str) for t in (*all_of, *none_of)):
        raise InvalidQuery("search terms are text")
    if len(query.contributors) > MAX_CONTRIBUTORS:
        raise InvalidQuery(f"a text search names at most {MAX_CONTRIBUTORS} contributors")
    if not (is_int64(query.limit) and 1 <= query.limit <= MAX_LIMIT):
        raise InvalidQuery(f"limit {query.limit!r} must be a whole number from 1 to {MAX_LIMIT}")
    for name, bound in (("after", query.after), ("before", query.before)):
        if bound is not None and not is_int64(bound):
            raise InvalidQuery(f"{name} {bound!r} must be a signed 64-bit integer (microseconds)")
    return TextQuery(all_of, none_of, tuple(dict.fromkeys(query.contributors)), query.after, query.before,
                     query.limit)
