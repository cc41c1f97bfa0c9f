"""The Merkle tree kept as tiles: how a log of 10^7+ leaves is stored without ever being rebuilt or held whole.

A node (level h, index i) is the hash of the leaves [i * 2^h, (i + 1) * 2^h). Nodes are grouped in tiles of
height 8, as in C2SP tlog-tiles: tile (L, t) holds, for r = 0..7, the nodes of level 8L + r that lie under the
256 nodes of level 8L numbered [256t, 256t + 256) -- 256 + 128 + ... + 2 = 510 hashes (16,320 bytes, 63.75
bytes per leaf at level 0) once full. A tile that is not full yet (the right edge) holds w base nodes and, at
level r, the w >> r complete nodes above them. Full tiles never change again; each level has at most one
partial tile, rewritten as it grows.

``TreeWriter`` keeps the right edge (the base hashes of each level's partial tile) and turns appended leaf
hashes into the tile rows to write. ``TileReader`` answers any complete node from stored tiles (full tiles
cached), and so gives the ``subtree`` oracle the proof algorithms of ``_merkle`` ask.
"""

from __future__ import annotations

__all__ = ["HEIGHT", "WIDTH", "TileReader", "TreeWriter", "tile_key"]

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import StoreError
from ._merkle import EMPTY_ROOT, HASH_SIZE, node_hash

HEIGHT = 8
WIDTH = 1 << HEIGHT
_KEY_SHIFT = 48  # tile (L, t) is stored under the integer key L << 48 | t: 2^48 tiles per level is plenty


def tile_key(level: int, index: int) -> int:
    return (level << _KEY_SHIFT) | index


def build_tile(base: Sequence[bytes]) -> bytes:
    """The stored form of a tile with these base hashes: each level r = 0..7 in turn, left to right."""
    levels = [list(base)]
    for _ in range(1, HEIGHT):
        below = levels[-1]
        levels.append([node_hash(below[j], below[j + 1]) for j in range(0, len(below) - 1, 2)])
    return b"".join(b"".join(level) for level in levels)


def _offset(width: int, r: int) -> int:
    """Where level r starts (in hashes) in a tile of ``width`` base nodes."""
    return sum(width >> j for j in range(r))


_SIZES = {_offset(w, HEIGHT): w for w in range(1, WIDTH + 1)}
"""Hashes in a tile -> its base width (a tile of w base nodes holds the sum of w >> r for r < 8)."""
FULL_TILE_BYTES = _offset(WIDTH, HEIGHT) * HASH_SIZE


def tile_width(blob: bytes) -> int:
    """The number of base nodes of a stored tile, from its length."""
    width = _SIZES.get(len(blob) // HASH_SIZE)
    if width is None or len(blob) % HASH_SIZE:
        raise StoreError(f"a ledger tile of {len(blob)} bytes has no valid width",
                         hint="Restore the database from a backup.")
    return width


class TreeWriter:
    """The right edge of the tree: append leaf hashes, get back the tiles to store (full and partial)."""

    def __init__(self, size: int, edge: Mapping[int, Sequence[bytes]]) -> None:
        """``edge`` maps each level L to the base hashes of its partial tile (``resume`` reads them back)."""
        self.size = size
        self._edge: list[list[bytes]] = []
        level = 0
        while size >> (HEIGHT * level):
            width = (size >> (HEIGHT * level)) & (WIDTH - 1)
            base = list(edge.get(level, ()))[:width]
            if len(base) != width:
                raise StoreError(f"the ledger's partial tile at level {level} has {len(base)} of {width} hashes",
                                 hint="Restore the database from a backup.")
            self._edge.append(base)
            level += 1

    @classmethod
    def resume(cls, size: int, fetch: Callable[[list[int]], dict[int, bytes]]) -> TreeWriter:
        """The writer of a stored tree of ``size`` leaves: its right edge read back from the partial tiles."""
        partial = [(level, tile_key(level, size >> (HEIGHT * (level + 1))))
                   for level in range(size.bit_length() // HEIGHT + 1)
                   if (size >> (HEIGHT * level)) & (WIDTH - 1)]
        tiles = fetch([key for _, key in partial])
        edge = {level: [tiles[key][i * HASH_SIZE : (i + 1) * HASH_SIZE]
                        for i in range((size >> (HEIGHT * level)) & (WIDTH - 1))]
                for level, key in partial if key in tiles}
        return cls(size, edge)

    def append(self, leaves: Iterable[bytes]) -> dict[int, bytes]:
        """Add leaf hashes; return the tiles that changed (key -> stored form): completed ones and the new edge."""
        changed: dict[int, bytes] = {}
        touched: set[int] = set()
        for leaf in leaves:
            carry: bytes | None = leaf
            level = 0
            while carry is not None:
                if level == len(self._edge):
                    self._edge.append([])
                base = self._edge[level]
                base.append(carry)
                touched.add(level)
                carry = None
                if len(base) == WIDTH:
                    tile = build_tile(base)
                    t = self._tile_index(level)
                    changed[tile_key(level, t)] = tile
                    # The tile's root, one level above its top stored level, is a base node of the next tile.
                    carry = node_hash(tile[-2 * HASH_SIZE : -HASH_SIZE], tile[-HASH_SIZE:])
                    base.clear()
                    touched.discard(level)
                    level += 1
            self.size += 1
        for level in touched:
            base = self._edge[level]
            if base:
                changed[tile_key(level, self.size >> (HEIGHT * (level + 1)))] = build_tile(base)
        return changed

    def _tile_index(self, level: int) -> int:
        # Called while the leaf that completes the tile is being added (self.size not yet counting it).
        return self.size >> (HEIGHT * (level + 1))


class TileReader:
    """Complete nodes of the tree, read from stored tiles. Full tiles never change and are cached; a partial tile
    is cached too, and read again only when a node beyond the width it had is asked for. Not thread-safe: the
    ledger calls it under its lock."""

    def __init__(self, fetch: Callable[[list[int]], dict[int, bytes]], *, cache_tiles: int = 4096) -> None:
        self._fetch = fetch
        self._cache: OrderedDict[int, _Tile] = OrderedDict()
        self._partial: dict[int, _Tile] = {}
        self._limit = cache_tiles
        # Nodes above the leaf tiles, and right-edge ranges, asked for again and again by proofs: they are few
        # (a 10^7-leaf tree has ~80,000 nodes above level 8) and never change (a range's end is in its key).
        self._upper: dict[tuple[int, int], bytes] = {}
        self._edges: dict[tuple[int, int], bytes] = {}

    def _load(self, keys: set[int], found: dict[int, _Tile]) -> None:
        for key, blob in self._fetch(sorted(keys)).items():
            tile = _tile(blob)
            found[key] = tile
            if tile[1] == WIDTH:
                self._partial.pop(key, None)
                self._cache[key] = tile
                if len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
            else:
                self._partial[key] = tile

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> list[bytes]:
        """The hashes of complete nodes (level, index), in order; one read for the tiles not cached."""
        upper = self._upper
        out: list[bytes | None] = [upper.get(node) if node[0] >= HEIGHT else None for node in wanted]
        places: list[tuple[int, int, int, int]] = []
        found: dict[int, _Tile] = {}
        missing: set[int] = set()
        cache, partial = self._cache, self._partial
        for i, (level, index) in enumerate(wanted):
            if out[i] is not None:
                continue
            r = level & (HEIGHT - 1)
            shift = HEIGHT - r
            key = ((level >> 3) << _KEY_SHIFT) | (index >> shift)
            position = index & ((1 << shift) - 1)
            places.append((i, key, r, position))
            if key in missing:
                continue
            tile = found.get(key) or cache.get(key) or partial.get(key)
            if tile is None or position >= (tile[1] >> r):
                missing.add(key)  # not cached, or cached when it was narrower: read it again
                found.pop(key, None)
                continue
            found[key] = tile
        if missing:
            self._load(missing, found)
        for i, key, r, position in places:
            tile = found.get(key)
            if tile is None or position >= (tile[1] >> r):
                level, index = wanted[i]
                raise StoreError(f"the ledger has no node at level {level}, index {index}",
                                 hint="Ask only for trees no larger than the log; if it is, the log is damaged.")
            start = (tile[2][r] + position) * HASH_SIZE
            node = tile[0][start : start + HASH_SIZE]
            out[i] = node
            if wanted[i][0] >= HEIGHT:
                if len(upper) >= _MAX_UPPER:
                    upper.clear()
                upper[wanted[i]] = node
        return out  # type: ignore[return-value]  # every None was filled in (or StoreError raised)

    @staticmethod
    def _perfect(lo: int, hi: int) -> list[tuple[int, int]]:
        """The perfect subtrees [lo, hi) is made of, largest first (lo aligned, as RFC 9162's ranges are)."""
        wanted: list[tuple[int, int]] = []
        while lo < hi:
            size = 1 << ((hi - lo).bit_length() - 1)
            while lo % size:
                size >>= 1
            level = size.bit_length() - 1
            wanted.append((level, lo >> level))
            lo += size
        return wanted

    @staticmethod
    def _fold(hashes: Sequence[bytes]) -> bytes:
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = node_hash(left, root)
        return root

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a range ``lo`` aligned to a power of two at least ``hi - lo`` (RFC 9162 2.1.1)."""
        if hi <= lo:
            return EMPTY_ROOT
        found = self._edges.get((lo, hi))
        if found is None:
            found = self._fold(self.nodes(self._perfect(lo, hi)))
            if len(self._edges) >= _MAX_EDGES:
                self._edges.clear()
            self._edges[(lo, hi)] = found
        return found

    def root(self, size: int) -> bytes:
        return self.subtree(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 2.1.3.1 from the stored nodes, every one fetched at once: the
        siblings of the leaf's ancestors below the level where its path leaves the last perfect subtree (the
        right-most one may be a range ending at ``size``, made of perfect subtrees), then the left siblings above.
        Equal to ``_merkle.inclusion_path`` with this reader as the oracle (a test holds them together)."""
        return self.inclusions([index], size)[0]

    def inclusions(self, indexes: Sequence[int], size: int) -> list[list[bytes]]:
        """``inclusion`` for many leaves of one tree, with one read for all the tiles they need."""
        plans = [self._plan(index, size) for index in indexes]
        hashes = self.nodes([node for wanted, _ in plans for node in wanted])
        paths: list[list[bytes]] = []
        at = 0
        for wanted, edge in plans:
            path = hashes[at : at + len(wanted)]
            at += len(wanted)
            if edge is not None:
                path.insert(edge[0], self.subtree(edge[1], size))
            paths.append(path)
        return paths

    @staticmethod
    def _plan(index: int, size: int) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
        """The perfect nodes of a path, and where a right-edge range (its start) goes in it."""
        if not 0 <= index < size:
            raise StoreError(f"no leaf {index} in a tree of {size}")
        inner = (index ^ (size - 1)).bit_length()
        wanted: list[tuple[int, int]] = []
        edge: tuple[int, int] | None = None
        for level in range(inner):
            sibling = (index >> level) ^ 1
            if (sibling + 1) << level <= size:
                wanted.append((level, sibling))
            else:
                edge = (len(wanted), sibling << level)
        for level in range(inner, size.bit_length()):
            if (index >> level) & 1:
                wanted.append((level, (index >> level) ^ 1))
        return wanted, edge


_MAX_UPPER = 1 << 20
_MAX_EDGES = 4096
_Tile = tuple[bytes, int, tuple[int, ...]]
"""A stored tile, read: its hashes, its width, and where each level r starts (in hashes)."""


@functools.lru_cache(maxsize=WIDTH)
def _offsets(width: int) -> tuple[int, ...]:
    return tuple(_offset(width, r) for r in range(HEIGHT))


def _tile(blob: bytes) -> _Tile:
    width = tile_width(blob)
    return blob, width, _offsets(width)
