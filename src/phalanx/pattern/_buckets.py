"""Buckets: the values of the index's hash maps, kept small because there are millions of them.

A bucket holds one item or several. One item (by far the common case: one indicator per value) is stored as
itself, several as a list, so a million single-item buckets cost no list objects. Items must not be lists.
"""

from __future__ import annotations

__all__ = ["add", "discard", "items"]

from collections.abc import Hashable
from typing import Any


def add(table: dict[Any, Any], key: Hashable, item: object) -> None:
    """Put ``item`` in the bucket of ``key`` (once: adding an item already there does nothing)."""
    held = table.get(key)
    if held is None:
        table[key] = item
    elif type(held) is list:
        if not any(x is item for x in held):
            held.append(item)
    elif held is not item:
        table[key] = [held, item]


def discard(table: dict[Any, Any], key: Hashable, item: object) -> None:
    """Take ``item`` out of the bucket of ``key``; drop the key when its bucket is empty."""
    held = table.get(key)
    if held is None:
        return
    if type(held) is list:
        rest = [x for x in held if x is not item]
        if len(rest) == 1:
            table[key] = rest[0]
        elif rest:
            table[key] = rest
        else:
            del table[key]
    elif held is item:
        del table[key]


def items(held: object) -> tuple[Any, ...] | list[Any]:
    """The items of a bucket (as ``dict.get`` returned it; None for no bucket)."""
    if held is None:
        return ()
    if type(held) is list:
        return held
    return (held,)
