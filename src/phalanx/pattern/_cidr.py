"""The prefix structure behind ``ISSUBSET``: which of many CIDR blocks hold an address (or a smaller block).

``CidrTable`` keeps, per IP version and prefix length, a hash map from the block's network bits (the address
shifted right past the host bits) to the items registered for that block. A lookup makes one hash probe per
prefix length in use (at most 32 for IPv4, 128 for IPv6, in practice a handful), whatever the number of blocks.

Addresses and blocks are read as the reference matcher reads them (``stix2-matcher``'s ``_ip_or_cidr_in_subnet``):
IPv4 through ``socket.inet_aton`` (so ``10.1`` is 10.0.0.1, as there), a prefix of 1 to 32 decimal digits after
the ``/``, an address without ``/`` is a /32. IPv6 (which the reference cannot compare at all) is read through
``socket.inet_pton``, prefix 1 to 128. Anything else is not an address: it matches no block here, and the
evaluator, which confirms every candidate, decides what the pattern says about it.
"""

from __future__ import annotations

__all__ = ["CidrTable", "parse_block", "parse_value"]

import socket
from typing import Any

from . import _buckets

_V4 = 4
_V6 = 6
_BITS = {_V4: 32, _V6: 128}


def _prefix(text: str, bits: int) -> int | None:
    if not text.isdigit():
        return None
    try:
        prefix = int(text)
    except ValueError:  # str.isdigit accepts digits int() refuses, e.g. superscripts
        return None
    return prefix if 1 <= prefix <= bits else None


def _address(text: str) -> tuple[int, int] | None:
    """(version, address as an int), or None."""
    try:
        return _V4, int.from_bytes(socket.inet_aton(text), "big")
    except (OSError, ValueError):  # ValueError: an embedded NUL
        pass
    if ":" in text:
        try:
            return _V6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        except (OSError, ValueError):
            pass
    return None


def parse_block(text: str) -> tuple[int, int, int] | None:
    """A CIDR block ``address/prefix`` as (version, network bits, prefix length), or None if it is not one."""
    slash = text.find("/")
    if slash == -1:
        return None
    address = _address(text[:slash])
    if address is None:
        return None
    version, value = address
    bits = _BITS[version]
    prefix = _prefix(text[slash + 1:], bits)
    if prefix is None:
        return None
    return version, value >> (bits - prefix), prefix


def parse_value(text: str) -> tuple[int, int, int] | None:
    """An observed address (a /32 or /128) or block, as (version, address as an int, prefix length)."""
    slash = text.find("/")
    if slash == -1:
        address = _address(text)
        if address is None:
            return None
        return address[0], address[1], _BITS[address[0]]
    address = _address(text[:slash])
    if address is None:
        return None
    prefix = _prefix(text[slash + 1:], _BITS[address[0]])
    if prefix is None:
        return None
    return address[0], address[1], prefix


class CidrTable:
    """Items registered under CIDR blocks; ``lookup`` finds those whose block holds an address or block."""

    __slots__ = ("_by_length", "_lengths")

    def __init__(self) -> None:
        # (version, prefix length) -> {network bits: bucket}
        self._by_length: dict[tuple[int, int], dict[int, Any]] = {}
        # version -> the prefix lengths in use, ascending
        self._lengths: dict[int, list[int]] = {_V4: [], _V6: []}

    def __len__(self) -> int:
        return sum(len(table) for table in self._by_length.values())

    def add(self, block: tuple[int, int, int], item: object) -> None:
        version, network, prefix = block
        table = self._by_length.get((version, prefix))
        if table is None:
            table = self._by_length[version, prefix] = {}
            self._lengths[version] = sorted([*self._lengths[version], prefix])
        _buckets.add(table, network, item)

    def discard(self, block: tuple[int, int, int], item: object) -> None:
        version, network, prefix = block
        table = self._by_length.get((version, prefix))
        if table is None:
            return
        _buckets.discard(table, network, item)
        if not table:
            del self._by_length[version, prefix]
            self._lengths[version] = [n for n in self._lengths[version] if n != prefix]

    def lookup(self, text: str) -> list[Any]:
        """The items of every block that holds ``text`` (an address or a block), in no particular order."""
        value = parse_value(text)
        if value is None:
            return []
        version, address, prefix = value
        bits = _BITS[version]
        found: list[Any] = []
        for length in self._lengths[version]:
            if length > prefix:
                break
            held = self._by_length[version, length].get(address >> (bits - length))
            if held is not None:
                found.extend(_buckets.items(held))
        return found
