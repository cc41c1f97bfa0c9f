"""The tiled tree: whatever the batch sizes, the stored tiles give the roots and proofs of RFC 9162."""

from __future__ import annotations

import hashlib
import random

import pytest

from phalanx.errors import StoreError
from phalanx.ledger._merkle import (
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_of,
    subtree_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from phalanx.ledger._tiles import FULL_TILE_BYTES, TileReader, TreeWriter, tile_key


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


class _Tiles:
    """A tile store that also counts reads, and a writer that restarts from it (as after a crash)."""

    def __init__(self) -> None:
        self.tiles: dict[int, bytes] = {}

    def fetch(self, keys: list[int]) -> dict[int, bytes]:
        return {k: self.tiles[k] for k in keys if k in self.tiles}

    def writer(self, size: int) -> TreeWriter:
        return TreeWriter.resume(size, self.fetch)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_batches_give_the_roots_and_proofs_of_the_whole_list(seed: int) -> None:
    rng = random.Random(seed)
    leaves = _leaves(70_000)  # past 256 (level-1 tiles) and 65,536 (level-2 tiles)
    store = _Tiles()
    size = 0
    writer = TreeWriter(0, {})
    oracle = subtree_from_leaves(leaves)
    while size < len(leaves):
        step = rng.choice([1, 2, 7, 255, 256, 257, 1000, 5000])
        batch = leaves[size : size + step]
        store.tiles.update(writer.append(batch))
        size += len(batch)
        if rng.random() < 0.3:
            writer = store.writer(size)  # a restart reads the right edge back from the stored tiles
        reader = TileReader(store.fetch)
        assert reader.root(size) == oracle(0, size), size
        old = rng.randrange(0, size + 1)
        assert reader.root(old) == oracle(0, old)
        index = rng.randrange(size)
        assert inclusion_path(index, size, reader.subtree) == inclusion_path(index, size, oracle)
        assert reader.inclusion(index, size) == inclusion_path(index, size, oracle)
        proof = consistency_path(old, size, reader.subtree)
        verify_consistency(old, size, oracle(0, old), oracle(0, size), proof)
    assert root_of(leaves) == TileReader(store.fetch).root(len(leaves))


def test_storage_is_under_a_hundred_bytes_per_leaf() -> None:
    store = _Tiles()
    writer = TreeWriter(0, {})
    n = 65_536 + 1000
    store.tiles.update(writer.append(_leaves(n)))
    per_leaf = sum(len(b) for b in store.tiles.values()) / n
    assert 63 < per_leaf < 65
    # 259 full leaf tiles, and the level-1 tile over the first 256 of them
    assert sum(len(b) == FULL_TILE_BYTES for b in store.tiles.values()) == 259 + 1


def test_every_proof_of_a_small_tree_verifies() -> None:
    for n in range(1, 300, 7):
        leaves = _leaves(n)
        store = _Tiles()
        store.tiles.update(TreeWriter(0, {}).append(leaves))
        reader = TileReader(store.fetch)
        root = reader.root(n)
        assert root == root_of(leaves)
        for i in range(n):
            path = reader.inclusion(i, n)
            assert path == inclusion_path(i, n, reader.subtree)
            verify_inclusion(i, n, leaves[i], path, root)


def test_a_cached_partial_tile_is_read_again_when_it_grew() -> None:
    leaves = _leaves(600)
    store = _Tiles()
    writer = TreeWriter(0, {})
    store.tiles.update(writer.append(leaves[:300]))
    reader = TileReader(store.fetch)  # one reader across appends, as the ledger keeps it
    assert reader.root(300) == root_of(leaves[:300])
    written = 300
    for n in (301, 302, 400, 511, 512, 600):
        store.tiles.update(writer.append(leaves[written:n]))
        written = n
        assert reader.root(n) == root_of(leaves[:n])
        assert reader.inclusion(n - 1, n) == inclusion_path(n - 1, n, subtree_from_leaves(leaves[:n]))


def test_a_missing_or_damaged_edge_is_named() -> None:
    store = _Tiles()
    store.tiles.update(TreeWriter(0, {}).append(_leaves(300)))
    del store.tiles[tile_key(0, 1)]
    with pytest.raises(StoreError, match="partial tile"):
        store.writer(300)
    with pytest.raises(StoreError, match="no node"):
        TileReader(store.fetch).root(300)
    store.tiles[tile_key(0, 1)] = hashlib.sha256(b"x").digest()[:31]
    with pytest.raises(StoreError, match="no valid width"):
        TileReader(store.fetch).root(300)
