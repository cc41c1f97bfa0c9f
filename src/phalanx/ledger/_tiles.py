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

__all__ = ["HEIGHT", "WIDTH", "TileReader", "TreeWriter", "tile_key", "tile_of_key"]

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import StoreError
from ._merkle import EMPTY_ROOT, HASH_SIZE, node_hash

HEIGHT = 8
WIDTH = 1 << HEIGHT
_KEY_SHIFT = 48  # tile (L, t) is stored under the integer key L << 48 | t: 2^48 tiles per level is plenty


def tile_key(level: int, index: int) -> int:
    return (level << _KEY_SHIFT) | index


def tile_of_key(key: int) -> tuple[int, int]:
    return key >> _KEY_SHIFT, key & ((1 << _KEY_SHIFT) - 1)


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
        """``edge`` maps each level L to the base hashes of its partial tile (as ``partial_tiles`` names them)."""
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

    @staticmethod
    def partial_tiles(size: int) -> list[tuple[int, int]]:
        """The (level, index) of every partial tile of a tree of ``size`` leaves: what ``__init__`` needs."""
        out = []
        level = 0
        while size >> (HEIGHT * level):
            if (size >> (HEIGHT * level)) & (WIDTH - 1):
                out.append((level, size >> (HEIGHT * (level + 1))))
            level += 1
        return out

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
    """Complete nodes of the tree, read from stored tiles; full tiles are cached (they never change)."""

    def __init__(self, fetch: Callable[[list[int]], dict[int, bytes]], *, cache_tiles: int = 4096) -> None:
        self._fetch = fetch
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._limit = cache_tiles

    def _tiles(self, keys: Iterable[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        missing: list[int] = []
        for key in keys:
            if key in found:
                continue
            blob = self._cache.get(key)
            if blob is None:
                missing.append(key)
            else:
                self._cache.move_to_end(key)
                found[key] = blob
        if missing:
            for key, blob in self._fetch(missing).items():
                found[key] = blob
                if len(blob) == FULL_TILE_BYTES:
                    self._cache[key] = blob
                    if len(self._cache) > self._limit:
                        self._cache.popitem(last=False)
        return found

    @staticmethod
    def _where(level: int, index: int) -> tuple[int, int, int]:
        """(tile key, r, position within level r of the tile) of node (level, index)."""
        tile_level, r = divmod(level, HEIGHT)
        per_tile = WIDTH >> r
        return tile_key(tile_level, index // per_tile), r, index % per_tile

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> list[bytes]:
        """The hashes of complete nodes (level, index), in order."""
        places = [self._where(level, index) for level, index in wanted]
        tiles = self._tiles(key for key, _, _ in places)
        out: list[bytes] = []
        for (level, index), (key, r, position) in zip(wanted, places, strict=True):
            blob = tiles.get(key)
            width = tile_width(blob) if blob is not None else 0
            if blob is None or position >= (width >> r):
                raise StoreError(f"the ledger has no node at level {level}, index {index}",
                                 hint="Ask only for trees no larger than the log; if it is, the log is damaged.")
            start = (_offset(width, r) + position) * HASH_SIZE
            out.append(blob[start : start + HASH_SIZE])
        return out

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a range ``lo`` aligned to a power of two at least ``hi - lo`` (RFC 9162 2.1.1)."""
        if hi <= lo:
            return EMPTY_ROOT
        wanted: list[tuple[int, int]] = []
        start = lo
        while start < hi:  # the perfect subtrees the range is made of, largest first
            size = 1 << ((hi - start).bit_length() - 1)
            while start % size:
                size >>= 1
            level = size.bit_length() - 1
            wanted.append((level, start >> level))
            start += size
        hashes = self.nodes(wanted)
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = node_hash(left, root)
        return root

    def root(self, size: int) -> bytes:
        return self.subtree(0, size)
