"""The compiled forms of warning-list entries: one structure per list type, each answering "which lists hold this
value?" with the lists' numbers.

- ``NameTable``: exact strings (``string`` lists) and hostnames with all their parent domains (``hostname``
  lists). Small lists are one dict; a list of 100,000 entries or more (Tranco and CrUX top 1M, known-benign
  hashes) is a sorted ``array`` of the entries' string hashes (53 bits kept), searched by bisection: 8 bytes an
  entry instead of ~100 for a ``str`` in a set. A value whose hash equals an entry's without being it would be
  reported as listed: with 53 bits and the 2.2 million entries of the big lists, the odds are about 1 in 4
  billion per value checked.
- ``CidrTable``: per IP version, the listed networks cut into elementary address ranges, each with the lists
  that hold it; an address is one bisection. A network value (``10.0.0.0/8``) is listed when a listed network
  holds any of its addresses.
- ``SubstringTable``: per list, one regular expression built from the trie of its entries (5,000 disposable mail
  domains are searched in one pass of ``re``, not 5,000 ``in`` tests).
- ``RegexTable``: the lists' PCRE-style ``/body/flags`` entries, translated to ``re``.
"""

from __future__ import annotations

__all__ = ["BIG", "CidrTable", "HashArray", "IpValue", "NameTable", "RegexTable", "SubstringTable", "parse_ip"]

import re
import socket
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from operator import methodcaller

BIG = 100_000
"""Lists with at least this many entries are kept as hash arrays (see the module docstring)."""

IpValue = tuple[int, int, int]
"""(IP version, network as an int with the host bits cleared, prefix length)."""


def parse_ip(text: str) -> IpValue | None:
    """``198.51.100.7``, ``2001:db8::/32``, ``10.1.2.3/8`` (host bits are cleared), or None if not an IP."""
    address, slash, length = text.partition("/")
    six = ":" in address
    try:
        packed = socket.inet_pton(socket.AF_INET6 if six else socket.AF_INET, address)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None
    bits = 128 if six else 32
    if slash:
        if not (length.isascii() and length.isdigit()) or int(length) > bits:
            return None
        prefix = int(length)
    else:
        prefix = bits
    host = bits - prefix
    return (6 if six else 4), int.from_bytes(packed, "big") >> host << host, prefix


def _intern(ids: tuple[int, ...], pool: dict[tuple[int, ...], tuple[int, ...]]) -> tuple[int, ...]:
    """One tuple object per distinct set of lists: an entry on five lists does not cost five tuples."""
    return pool.setdefault(ids, ids)


class HashArray:
    """A big list as the sorted hashes of its entries (``hash`` of ``str``, fixed within a process), held as
    doubles: Python sorts floats several times faster than 64-bit ints, and a double keeps 53 bits of the hash."""

    __slots__ = ("hashes", "min_dots")

    def __init__(self, entries: Sequence[str]) -> None:
        self.hashes = array("d", sorted(map(float, map(hash, entries))))
        self.min_dots = min(map(_count_dots, entries), default=0)
        """The fewest dots in an entry: a name with fewer (``com``) is on no list here, and is not looked up."""

    def __contains__(self, value: str) -> bool:
        h = float(hash(value))
        i = bisect_left(self.hashes, h)
        return i < len(self.hashes) and self.hashes[i] == h

    def __len__(self) -> int:
        return len(self.hashes)


class NameTable:
    """Exact entries of several lists. ``exact`` answers for the value itself, ``suffixes`` for a hostname and
    each of its parent domains (``a.b.example.com``, ``b.example.com``, ``example.com``, ``com``)."""

    __slots__ = ("_big", "_small")

    def __init__(self, small: Iterable[tuple[int, Sequence[str]]], big: Iterable[tuple[int, HashArray]] = ()
                 ) -> None:
        pool: dict[tuple[int, ...], tuple[int, ...]] = {}
        entries: dict[str, tuple[int, ...]] = {}
        for number, words in small:
            for word in words:
                known = entries.get(word)
                if known is None:
                    entries[word] = _intern((number,), pool)
                elif number not in known:
                    entries[word] = _intern((*known, number), pool)
        self._small = entries
        self._big = [(hashes, (number,)) for number, hashes in big]

    def exact(self, value: str) -> tuple[int, ...]:
        found = self._small.get(value, ())
        if self._big:
            h = float(hash(value))
            for hashes, number in self._big:
                i = bisect_left(hashes.hashes, h)
                if i < len(hashes.hashes) and hashes.hashes[i] == h:
                    found += number
        return found

    def suffixes(self, host: str) -> tuple[int, ...]:
        small, big = self._small.get, self._big
        found: tuple[int, ...] = ()
        name = host
        dots = host.count(".")
        while True:
            ids = small(name)
            if ids is not None:
                found += ids
            if big:
                h = float(hash(name))
                for hashes, number in big:
                    if dots >= hashes.min_dots:
                        i = bisect_left(hashes.hashes, h)
                        if i < len(hashes.hashes) and hashes.hashes[i] == h:
                            found += number
            dot = name.find(".")
            if dot < 0:
                return found
            name = name[dot + 1:]
            dots -= 1


class CidrTable:
    """The networks of several ``cidr`` lists, per IP version, cut into elementary ranges: the sorted starts of
    the ranges, and for each range the lists that hold all of it. An address is one bisection; a network is the
    union over the ranges it overlaps."""

    __slots__ = ("_ranges",)

    def __init__(self, lists: Iterable[tuple[int, Iterable[IpValue]]]) -> None:
        spans: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for number, networks in lists:
            for version, network, prefix in networks:
                size = 1 << ((32 if version == 4 else 128) - prefix)
                spans[version].append((network, network + size, number))
        self._ranges = {version: _ranges(found) for version, found in spans.items()}

    def hits(self, ip: IpValue) -> tuple[int, ...]:
        version, network, prefix = ip
        starts, lists = self._ranges[version]
        first = bisect_right(starts, network) - 1
        if prefix == (32 if version == 4 else 128):
            return lists[first] if first >= 0 else ()
        last = network + (1 << ((32 if version == 4 else 128) - prefix)) - 1
        found: set[int] = set()
        for ids in set(lists[max(first, 0):bisect_right(starts, last)]):  # few distinct tuples (interned)
            found.update(ids)
        return tuple(sorted(found))


def _ranges(spans: list[tuple[int, int, int]]) -> tuple[list[int], list[tuple[int, ...]]]:
    """Sweep the [start, end) spans of listed networks into elementary ranges: (starts, lists of each)."""
    events: dict[int, list[tuple[int, int]]] = {}
    for start, end, number in spans:
        events.setdefault(start, []).append((1, number))
        events.setdefault(end, []).append((-1, number))
    pool: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
    active: dict[int, int] = {}
    starts: list[int] = []
    lists: list[tuple[int, ...]] = [()]  # a sentinel, dropped below
    for position in sorted(events):
        for delta, number in events[position]:
            count = active.get(number, 0) + delta
            if count:
                active[number] = count
            else:
                del active[number]
        key = tuple(active) if len(active) < 2 else tuple(sorted(active))
        current = pool.setdefault(key, key)  # one tuple object per distinct set of lists
        if lists[-1] is not current:  # else the same lists as the range before: one range
            starts.append(position)
            lists.append(current)
    return starts, lists[1:]


_count_dots = methodcaller("count", ".")
_Trie = dict[str, "_Trie"]


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, as a trie: a shared prefix is tried once. A word that is
    the prefix of another ends the branch (for a search, the shorter match is enough)."""
    end = ""  # the key that marks the end of a word (no character is the empty string)
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[end] = {}

    def emit(node: _Trie) -> str:
        if end in node:
            return ""
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie) if trie else "(?!)"


class SubstringTable:
    """``substring`` lists: the value contains one of the entries. One pattern for all the lists answers first
    (most values are on none); the lists' own patterns only say which."""

    __slots__ = ("_any", "_patterns")

    def __init__(self, lists: Iterable[tuple[int, Sequence[str]]]) -> None:
        given = [(number, entries) for number, entries in lists if entries]
        self._any = re.compile(_trie_pattern(entry for _, entries in given for entry in entries))
        self._patterns = [(re.compile(_trie_pattern(entries)), number) for number, entries in given] \
            if len(given) > 1 else [(self._any, number) for number, _ in given]

    def hits(self, value: str) -> tuple[int, ...]:
        if self._any.search(value) is None:
            return ()
        return tuple(number for pattern, number in self._patterns if pattern.search(value))


_PCRE = re.compile(r"^/(?P<body>.*)/(?P<flags>[a-zA-Z]*)$", re.DOTALL)
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def compile_pcre(entry: str) -> re.Pattern[str] | None:
    """``/^(abuse|noc)\\@.*$/i`` as ``re``, or None when ``re`` cannot read it. ``g`` (global) means nothing
    for a test; other flags are kept when ``re`` has them."""
    match = _PCRE.match(entry)
    body, flags = (match.group("body"), match.group("flags")) if match else (entry, "")
    value = 0
    for flag in flags:
        value |= _FLAGS.get(flag.lower(), 0)
    try:
        return re.compile(body, value)
    except re.error:
        return None


class RegexTable:
    """``regex`` lists: one of the entries matches somewhere in the value."""

    __slots__ = ("_patterns",)

    def __init__(self, lists: Iterable[tuple[int, Sequence[str]]]) -> None:
        self._patterns = [(compiled, number) for number, entries in lists for compiled in map(compile_pcre, entries)
                          if compiled is not None]

    def hits(self, value: str) -> tuple[int, ...]:
        return tuple(dict.fromkeys(number for pattern, number in self._patterns if pattern.search(value)))
