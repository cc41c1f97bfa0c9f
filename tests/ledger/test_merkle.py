"""RFC 9162 Merkle trees (phalanx.ledger._merkle): known answers, a naive transcription of the RFC, pymerkle 7,
and properties checked with hypothesis."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.errors import InvalidProof
from phalanx.ledger._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Subtree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_of,
    subtree_from_leaves,
    verify_consistency,
    verify_inclusion,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# ---------------------------------------------------------------------------------------------------------------------
# Known answers. Unless said otherwise, every value below is copied from google/certificate-transparency
# cpp/merkletree/merkle_tree_test.cc (commit 0e901cacd1388fa16f78b184612f6cd16e5ceec1): kSHA256EmptyTreeHash, kInputs,
# kSHA256Roots, kSHA256Paths and kSHA256Proofs. transparency-dev/merkle proof/verify_test.go (commit
# 02194e9afb6c1d95b5381350007963aa70fff472) has the same values (sha256EmptyTreeHash, leaves, roots, inclusionProofs,
# consistencyProofs) and one more consistency proof, 6 -> 7. Both files number leaves from 1: their "leaf 6" is index 5.
# ---------------------------------------------------------------------------------------------------------------------

CT_EMPTY_TREE_HASH = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

CT_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

CT_ROOTS = [  # CT_ROOTS[n - 1] is the root of the tree of the first n inputs
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

CT_PATHS = [  # (leaf number from 1, tree size, path): kSHA256Paths[1:] ({0, 0} is the "invalid path" entry)
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

CT_PROOFS = [  # (old size, new size, proof): kSHA256Proofs, then verify_test.go's 6 -> 7
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# transparency-dev/merkle proof/verify_test.go: sha256SomeHash, the "random root" of its corrupted-proof probes.
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

CT_LEAF_HASHES = [leaf_hash(d) for d in CT_INPUTS]
CT_ORACLE = subtree_from_leaves(CT_LEAF_HASHES)


def test_empty_tree_hash() -> None:
    assert EMPTY_ROOT == CT_EMPTY_TREE_HASH == hashlib.sha256(b"").digest()
    assert root_of([]) == CT_EMPTY_TREE_HASH
    assert HASH_SIZE == 32


def test_hash_functions() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(CT_ROOTS[0], CT_ROOTS[1]) == hashlib.sha256(b"\x01" + CT_ROOTS[0] + CT_ROOTS[1]).digest()
    with pytest.raises(InvalidProof):
        node_hash(b"short", CT_ROOTS[0])


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots(size: int) -> None:
    assert root_of(CT_LEAF_HASHES[:size]) == CT_ROOTS[size - 1]
    assert CT_ORACLE(0, size) == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "path"), CT_PATHS)
def test_ct_inclusion_paths(leaf: int, size: int, path: list[bytes]) -> None:
    index = leaf - 1
    assert inclusion_path(index, size, CT_ORACLE) == path
    assert root_from_inclusion(index, size, CT_LEAF_HASHES[index], path) == CT_ROOTS[size - 1]
    verify_inclusion(index, size, CT_LEAF_HASHES[index], path, CT_ROOTS[size - 1])


@pytest.mark.parametrize(("leaf", "size", "path"), CT_PATHS)
def test_ct_inclusion_probes(leaf: int, size: int, path: list[bytes]) -> None:
    # The corrupted proofs of verify_test.go corruptInclusionProof (and merkle_tree_test.cc VerifierCheck).
    index, root, lh = leaf - 1, CT_ROOTS[size - 1], CT_LEAF_HASHES[leaf - 1]
    probes: list[tuple[int, int, bytes, list[bytes], bytes]] = [
        (index - 1, size, lh, path, root),
        (index + 1, size, lh, path, root),
        (index ^ 2, size, lh, path, root),
        (index, size * 2, lh, path, root),
        (index, size // 2, lh, path, root),
        (index, size, leaf_hash(b"WrongLeaf"), path, root),
        (index, size, b"WrongLeaf", path, root),
        (index, size, lh, path, CT_EMPTY_TREE_HASH),
        (index, size, lh, path, SOME_HASH),
        (index, size, lh, [*path, b""], root),
        (index, size, lh, [*path, root], root),
        (index, size, lh, [b"", *path], root),
        (index, size, lh, [root, *path], root),
    ]
    for i in range(len(path)):
        flipped = [*path]
        flipped[i] = bytes([path[i][0] ^ 8]) + path[i][1:]
        probes.append((index, size, lh, flipped, root))
        probes.append((index, size, lh, [*path[:i], CT_EMPTY_TREE_HASH, *path[i + 1 :]], root))
    if path:
        probes.append((index, size, lh, path[:-1], root))
    if len(path) > 1:
        probes.append((index, size, lh, [SOME_HASH, path[0], *path[1:]], root))
    for probe_index, probe_size, probe_leaf, probe_path, probe_root in probes:
        with pytest.raises(InvalidProof):
            verify_inclusion(probe_index, probe_size, probe_leaf, probe_path, probe_root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_ct_inclusion_invalid_empty_proofs(index: int, size: int) -> None:
    # verify_test.go TestVerifyInclusion: an empty proof never proves SOME_HASH against the empty tree's root.
    # (index, size) = (0, 1) fails because SOME_HASH is not the root of that one-leaf tree; the others are impossible.
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, SOME_HASH, [], CT_EMPTY_TREE_HASH)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, SOME_HASH, [], b"")
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, b"", [], CT_EMPTY_TREE_HASH)


def test_ct_inclusion_single_entry() -> None:
    # verify_test.go TestVerifyInclusionSingleEntry: the root of a one-leaf tree is its leaf hash.
    lh = leaf_hash(b"data")
    verify_inclusion(0, 1, lh, [], lh)
    for leaf, root in [(lh, b""), (b"", lh), (b"", b"")]:
        with pytest.raises(InvalidProof):
            verify_inclusion(0, 1, leaf, [], root)


@pytest.mark.parametrize(("old", "new", "proof"), CT_PROOFS)
def test_ct_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_path(old, new, CT_ORACLE) == proof
    verify_consistency(old, new, CT_ROOTS[old - 1], CT_ROOTS[new - 1], proof)


@pytest.mark.parametrize(("old", "new", "proof"), [p for p in CT_PROOFS if p[2]])
def test_ct_consistency_probes(old: int, new: int, proof: list[bytes]) -> None:
    # The corrupted proofs of verify_test.go corruptConsistencyProof (and merkle_tree_test.cc VerifierConsistencyCheck).
    root1, root2 = CT_ROOTS[old - 1], CT_ROOTS[new - 1]
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old - 1, new, root1, root2, proof),
        (old + 1, new, root1, root2, proof),
        (old ^ 2, new, root1, root2, proof),
        (old, new * 2, root1, root2, proof),
        (old, new // 2, root1, root2, proof),
        (old, new, b"WrongRoot", root2, proof),
        (old, new, root1, b"WrongRoot", proof),
        (old, new, SOME_HASH, root2, proof),
        (old, new, root1, SOME_HASH, proof),
        (old, new, root2, root1, proof),
        (old, new, root1, root2, []),
        (old, new, root1, root2, [*proof, b""]),
        (old, new, root1, root2, [*proof, root1]),
        (old, new, root1, root2, [*proof, root2]),
        (old, new, root1, root2, [*proof, proof[-1]]),
        (old, new, root1, root2, [b"", *proof]),
        (old, new, root1, root2, [root1, *proof]),
        (old, new, root1, root2, [root2, *proof]),
        (old, new, root1, root2, [proof[0], *proof]),
        (old, new, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes.append((old, new, root1, root2, flipped))
        probes.append((old, new, root1, root2, [*proof[:i], CT_EMPTY_TREE_HASH, *proof[i + 1 :]]))
    for probe_old, probe_new, probe_root1, probe_root2, probe_proof in probes:
        with pytest.raises(InvalidProof):
            verify_consistency(probe_old, probe_new, probe_root1, probe_root2, probe_proof)


# verify_test.go TestVerifyConsistency, with two deliberate differences: roots must be 32-byte hashes (its "don't
# care" roots are not), and the old root of a tree of size 0 must be the empty tree's root (verify_test.go ignores it).
ROOT1, ROOT2 = leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2")


@pytest.mark.parametrize(
    ("old", "new", "root1", "root2", "proof", "ok"),
    [
        (0, 0, EMPTY_ROOT, ROOT2, [], False),
        (1, 1, ROOT1, ROOT2, [], False),
        # Sizes that are always consistent.
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 1, EMPTY_ROOT, ROOT2, [], True),
        (1, 1, ROOT2, ROOT2, [], True),
        # Time travel to the past.
        (1, 0, ROOT1, ROOT2, [], False),
        (2, 1, ROOT1, ROOT2, [], False),
        # Empty proof.
        (1, 2, ROOT1, ROOT2, [], False),
        # Roots don't match.
        (0, 0, EMPTY_ROOT, ROOT2, [], False),
        (1, 1, EMPTY_ROOT, ROOT2, [], False),
        # Roots match but the proof is not empty.
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        # Ours: an old tree of size 0 has only one possible root; roots are 32 bytes.
        (0, 1, ROOT1, ROOT2, [], False),
        (0, 0, ROOT1, ROOT1, [], False),
        (1, 1, b"don't care 1", b"don't care 1", [], False),
    ],
)
def test_ct_consistency_special_cases(
    old: int, new: int, root1: bytes, root2: bytes, proof: list[bytes], ok: bool
) -> None:
    if ok:
        verify_consistency(old, new, root1, root2, proof)
    else:
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, root1, root2, proof)


# transparency-dev/merkle proof/proof_test.go (commit 02a3e2029520f515596d5238c54fb0ac9e19bff4), TestInclusion and
# TestConsistency: the nodes a proof is made of, as compact.NodeID(level, index), the subtree of leaves
# [index * 2**level, (index + 1) * 2**level). rehash(begin, end) marks nodes [begin:end) of the list that are hashed
# together into one proof element: the right edge of the tree, not stored as a node. Here a node list is
# ([(level, index), ...], (begin, end)) and (0, 0) means no rehash.
Nodes = tuple[list[tuple[int, int]], tuple[int, int]]

TD_INCLUSION: list[tuple[int, int, Nodes]] = [  # (size, index, nodes)
    (1, 0, ([], (0, 0))),
    (2, 0, ([(0, 1)], (0, 0))),
    (2, 1, ([(0, 0)], (0, 0))),
    (3, 1, ([(0, 0), (0, 2)], (0, 0))),
    (7, 0, ([(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4))),
    (7, 1, ([(0, 0), (1, 1), (0, 6), (1, 2)], (2, 4))),
    (7, 2, ([(0, 3), (1, 0), (0, 6), (1, 2)], (2, 4))),
    (7, 3, ([(0, 2), (1, 0), (0, 6), (1, 2)], (2, 4))),
    (7, 4, ([(0, 5), (0, 6), (2, 0)], (0, 0))),
    (7, 5, ([(0, 4), (0, 6), (2, 0)], (0, 0))),
    (7, 6, ([(1, 2), (2, 0)], (0, 0))),
    (4, 2, ([(0, 3), (1, 0)], (0, 0))),
    (5, 3, ([(0, 2), (1, 0), (0, 4)], (0, 0))),
    (6, 3, ([(0, 2), (1, 0), (1, 2)], (0, 0))),
    (6, 4, ([(0, 5), (2, 0)], (0, 0))),
    (15, 10, ([(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)], (2, 4))),
    (31, 24, ([(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)], (2, 4))),
    (95, 81, ([(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)], (3, 6))),
]

TD_CONSISTENCY: list[tuple[int, int, Nodes]] = [  # (size1, size2, nodes)
    (1, 2, ([(0, 1)], (0, 0))),
    (1, 4, ([(0, 1), (1, 1)], (0, 0))),
    (1, 6, ([(0, 1), (1, 1), (1, 2)], (0, 0))),
    (2, 3, ([(0, 2)], (0, 0))),
    (2, 8, ([(1, 1), (2, 1)], (0, 0))),
    (3, 7, ([(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)], (3, 5))),
    (4, 7, ([(0, 6), (1, 2)], (0, 2))),
    (5, 7, ([(0, 4), (0, 5), (0, 6), (2, 0)], (0, 0))),
    (6, 7, ([(1, 2), (0, 6), (2, 0)], (0, 0))),
    (7, 8, ([(0, 6), (0, 7), (1, 2), (2, 0)], (0, 0))),
    *((size, size, ([], (0, 0))) for size in (1, 2, 3, 4, 5, 7, 8)),
    (2, 4, ([(1, 1)], (0, 0))),
    (3, 5, ([(0, 2), (0, 3), (1, 0), (0, 4)], (0, 0))),
    (3, 6, ([(0, 2), (0, 3), (1, 0), (1, 2)], (0, 0))),
    (4, 6, ([(1, 2)], (0, 0))),
    (1, 7, ([(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4))),
    (10, 15, ([(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)], (2, 4))),
    (24, 31, ([(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)], (1, 4))),
    (81, 95, ([(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)], (4, 7))),
]


def node_ranges(nodes: Nodes) -> list[tuple[int, int]]:
    ids, (begin, end) = nodes
    ranges = [(index << level, (index + 1) << level) for level, index in ids]
    if begin < end:
        merged = ranges[begin:end]
        ranges[begin:end] = [(min(lo for lo, _ in merged), max(hi for _, hi in merged))]
    return ranges


@pytest.mark.parametrize(("size", "index", "nodes"), TD_INCLUSION)
def test_td_inclusion_nodes(size: int, index: int, nodes: Nodes) -> None:
    assert inclusion_path(index, size, ORACLE) == [ORACLE(lo, hi) for lo, hi in node_ranges(nodes)]


@pytest.mark.parametrize(("size", "index"), [(0, 0), (0, 1), (1, 2), (0, 3), (7, 8)])
def test_td_inclusion_errors(size: int, index: int) -> None:
    with pytest.raises(InvalidProof):
        inclusion_path(index, size, ORACLE)


@pytest.mark.parametrize(("old", "new", "nodes"), TD_CONSISTENCY)
def test_td_consistency_nodes(old: int, new: int, nodes: Nodes) -> None:
    assert consistency_path(old, new, ORACLE) == [ORACLE(lo, hi) for lo, hi in node_ranges(nodes)]


@pytest.mark.parametrize(("old", "new"), [(5, 0), (9, 8)])
def test_td_consistency_errors(old: int, new: int) -> None:
    with pytest.raises(InvalidProof):
        consistency_path(old, new, ORACLE)


# ---------------------------------------------------------------------------------------------------------------------
# A naive transcription of RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1, over the entries themselves (not their
# hashes), recursive on lists as the RFC is. Cached so that the exhaustive comparison stays fast.
# ---------------------------------------------------------------------------------------------------------------------

D = tuple[bytes, ...]


def largest_power_of_two_smaller_than(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def mth(entries: D) -> bytes:
    n = len(entries)
    if n == 0:  # MTH({}) = HASH()
        return hashlib.sha256(b"").digest()
    if n == 1:  # MTH({d(0)}) = HASH(0x00 || d(0))
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = largest_power_of_two_smaller_than(n)  # MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


def path(m: int, entries: D) -> list[bytes]:
    n = len(entries)
    if n == 1:  # PATH(0, {d(0)}) = {}
        return []
    k = largest_power_of_two_smaller_than(n)
    if m < k:  # PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]  # PATH(m - k, D[k:n]) : MTH(D[0:k])


def proof(m: int, entries: D) -> list[bytes]:
    return subproof(m, entries, True)  # PROOF(m, D_n) = SUBPROOF(m, D_n, true)


def subproof(m: int, entries: D, b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:  # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
        return [] if b else [mth(entries)]
    k = largest_power_of_two_smaller_than(n)
    if m <= k:  # SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        return [*subproof(m, entries[:k], b), mth(entries[k:])]
    return [*subproof(m - k, entries[k:], False), mth(entries[:k])]  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])


MAX = 128
DATA: D = tuple(i.to_bytes(2, "big") + b"entry" * (i % 3) for i in range(MAX))
LEAF_HASHES = [leaf_hash(d) for d in DATA]
ORACLE = subtree_from_leaves(LEAF_HASHES)
ROOTS = [root_of(LEAF_HASHES[:n]) for n in range(MAX + 1)]


def recording(oracle: Subtree, asked: list[tuple[int, int]]) -> Subtree:
    def subtree(lo: int, hi: int) -> bytes:
        asked.append((lo, hi))
        return oracle(lo, hi)

    return subtree


def check_contract(asked: list[tuple[int, int]], size: int) -> None:
    # Every range asked for is a perfect aligned subtree or ends at the tree size.
    for lo, hi in asked:
        width = hi - lo
        assert width > 0
        perfect = width & (width - 1) == 0 and lo % width == 0
        assert perfect or hi == size, (lo, hi, size)


@pytest.mark.parametrize("size", range(MAX + 1))
def test_against_naive_rfc(size: int) -> None:
    entries = DATA[:size]
    assert ROOTS[size] == root_of(LEAF_HASHES[:size]) == mth(entries)
    assert ORACLE(0, size) == mth(entries)
    for index in range(size):
        asked: list[tuple[int, int]] = []
        got = inclusion_path(index, size, recording(ORACLE, asked))
        assert got == path(index, entries), index
        check_contract(asked, size)
        verify_inclusion(index, size, LEAF_HASHES[index], got, ROOTS[size])
    for old in range(size + 1):
        asked = []
        got = consistency_path(old, size, recording(ORACLE, asked))
        assert got == ([] if old == 0 else proof(old, entries)), old
        check_contract(asked, size)
        verify_consistency(old, size, ROOTS[old], ROOTS[size], got)


def test_oracle_against_naive_rfc() -> None:
    oracle = subtree_from_leaves(LEAF_HASHES[:40])
    for lo in range(41):
        for hi in range(lo, 41):
            assert oracle(lo, hi) == mth(DATA[lo:hi]), (lo, hi)


def test_root_of_many_leaves() -> None:
    # Iterative (no recursion); compared with the naive recursive MTH, whose cache is then emptied.
    entries = tuple(i.to_bytes(4, "big") for i in range((1 << 16) + (1 << 9) + 3))
    try:
        assert root_of([leaf_hash(d) for d in entries]) == mth(entries)
    finally:
        mth.cache_clear()


# ---------------------------------------------------------------------------------------------------------------------
# pymerkle 7 (https://github.com/fmerg/pymerkle): its in-memory tree with SHA-256 and its "security" on, which is
# RFC 9162 hashing (leaves HASH(0x00 || d), nodes HASH(0x01 || left || right), HASH() for the empty tree).
# Its inclusion proofs are [leaf hash] + PATH. Its consistency proofs use another decomposition (they split at
# m >= k where the RFC splits at m > k, and carry the hashes that rebuild the old root), so they are compared by
# what they prove: pymerkle verifies its proof against our roots, and our proofs, built with pymerkle as the
# oracle, are the ones built from our own.
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pymerkle_tree() -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
    for entry in DATA:
        tree.append_entry(entry)
    assert (tree.algorithm, tree.leaf_prefix, tree.node_prefix) == ("sha256", b"\x00", b"\x01")
    return tree


def test_pymerkle_roots_and_inclusion(pymerkle_tree: pymerkle.InmemoryTree) -> None:
    for size in range(MAX + 1):
        assert pymerkle_tree.get_root(size) == ROOTS[size]
    for size in range(1, MAX + 1):
        for index in range(size):
            theirs = pymerkle_tree.prove_inclusion(index + 1, size)  # pymerkle numbers leaves from 1
            assert theirs.path == [LEAF_HASHES[index], *inclusion_path(index, size, ORACLE)], (index, size)


def test_pymerkle_consistency(pymerkle_tree: pymerkle.InmemoryTree) -> None:
    def theirs(lo: int, hi: int) -> bytes:
        value: bytes = pymerkle_tree._get_root(lo, hi)  # MTH(D[lo:hi]) as pymerkle computes it
        return value

    for new in range(1, MAX + 1):
        for old in range(1, new + 1):
            pymerkle.verify_consistency(ROOTS[old], ROOTS[new], pymerkle_tree.prove_consistency(old, new))
            ours = consistency_path(old, new, theirs)
            assert ours == consistency_path(old, new, ORACLE), (old, new)
            verify_consistency(old, new, ROOTS[old], ROOTS[new], ours)


# ---------------------------------------------------------------------------------------------------------------------
# Arguments no proof can exist for.
# ---------------------------------------------------------------------------------------------------------------------

BAD_INTS: list[object] = [-1, True, 1.0, "1", None, 1 << 64]


@pytest.mark.parametrize("bad", BAD_INTS)
def test_bad_integers(bad: object) -> None:
    lh, root = LEAF_HASHES[0], ROOTS[4]
    calls: list[Callable[[], object]] = [
        lambda: inclusion_path(bad, 4, ORACLE),  # type: ignore[arg-type]
        lambda: inclusion_path(0, bad, ORACLE),  # type: ignore[arg-type]
        lambda: consistency_path(bad, 4, ORACLE),  # type: ignore[arg-type]
        lambda: consistency_path(1, bad, ORACLE),  # type: ignore[arg-type]
        lambda: root_from_inclusion(bad, 4, lh, []),  # type: ignore[arg-type]
        lambda: root_from_inclusion(0, bad, lh, []),  # type: ignore[arg-type]
        lambda: verify_inclusion(bad, 4, lh, [], root),  # type: ignore[arg-type]
        lambda: verify_inclusion(0, bad, lh, [], root),  # type: ignore[arg-type]
        lambda: verify_consistency(bad, 4, root, root, []),  # type: ignore[arg-type]
        lambda: verify_consistency(1, bad, root, root, []),  # type: ignore[arg-type]
        lambda: ORACLE(bad, 4),  # type: ignore[arg-type]
        lambda: ORACLE(0, bad),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidProof):
            call()


def test_impossible_arguments() -> None:
    lh = LEAF_HASHES[0]
    with pytest.raises(InvalidProof, match="no leaf 4"):
        inclusion_path(4, 4, ORACLE)
    with pytest.raises(InvalidProof, match="cannot grow"):
        consistency_path(5, 4, ORACLE)
    assert consistency_path(0, 4, ORACLE) == consistency_path(4, 4, ORACLE) == consistency_path(0, 0, ORACLE) == []
    with pytest.raises(InvalidProof, match="not in a tree"):
        root_from_inclusion(4, 4, lh, [])
    with pytest.raises(InvalidProof, match="has 1 hashes, not 2"):
        root_from_inclusion(0, 4, lh, [lh])
    with pytest.raises(InvalidProof, match="33 bytes"):
        root_from_inclusion(0, 2, lh, [lh + b"x"])
    with pytest.raises(InvalidProof, match="31 bytes"):
        verify_inclusion(0, 1, lh[:31], [], lh)
    with pytest.raises(InvalidProof, match="smaller"):
        verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    with pytest.raises(InvalidProof, match="no range"):
        ORACLE(3, 2)
    with pytest.raises(InvalidProof, match="no range"):
        ORACLE(0, MAX + 1)
    with pytest.raises(InvalidProof, match="leaf hash has 3 bytes"):
        root_of([lh, b"abc"])
    with pytest.raises(InvalidProof, match="leaf hash has 3 bytes"):
        subtree_from_leaves([b"abc"])
    with pytest.raises(InvalidProof, match="subtree hash of leaves"):
        inclusion_path(0, 2, lambda lo, hi: b"short")
    with pytest.raises(InvalidProof, match="subtree hash of leaves"):
        consistency_path(1, 2, lambda lo, hi: b"short")
    with pytest.raises(InvalidProof, match="different roots"):
        verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])


def test_oracle_unaligned_ranges() -> None:
    # Ranges no proof asks for are still MTH of the slice.
    assert ORACLE(3, 10) == mth(DATA[3:10])
    assert ORACLE(5, 5) == EMPTY_ROOT


# ---------------------------------------------------------------------------------------------------------------------
# Properties. Two trees: a real one of BIG distinct leaves, and for sizes up to 2**64 - 1 a tree whose leaves are
# all the same, where MTH(D[lo:hi]) depends only on hi - lo and so costs O(log) to compute.
# ---------------------------------------------------------------------------------------------------------------------

BIG = 1500
BIG_LEAF_HASHES = [leaf_hash(i.to_bytes(4, "big")) for i in range(BIG)]
BIG_ORACLE = subtree_from_leaves(BIG_LEAF_HASHES)
SAME_LEAF = leaf_hash(b"same")
PERFECT = [SAME_LEAF]  # PERFECT[h]: MTH of 2**h copies of SAME_LEAF
for _ in range(64):
    PERFECT.append(node_hash(PERFECT[-1], PERFECT[-1]))


def same_leaves(lo: int, hi: int) -> bytes:
    width = hi - lo
    if width == 0:
        return EMPTY_ROOT
    parts = [PERFECT[height] for height in range(width.bit_length() - 1, -1, -1) if width >> height & 1]
    root = parts[-1]
    for part in reversed(parts[:-1]):
        root = node_hash(part, root)
    return root


def flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def tampered(hashes: list[bytes], data: st.DataObject) -> list[list[bytes]]:
    """The proof with one bit of one hash flipped, one hash dropped, and one random hash added."""
    out = []
    if hashes:
        i = data.draw(st.integers(0, len(hashes) - 1))
        out.append([*hashes[:i], flip(hashes[i], data.draw(st.integers(0, 255))), *hashes[i + 1 :]])
        out.append([*hashes[:i], *hashes[i + 1 :]])
    i = data.draw(st.integers(0, len(hashes)))
    out.append([*hashes[:i], data.draw(st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE)), *hashes[i:]])
    return out


@st.composite
def trees(draw: st.DrawFn, least: int = 1) -> tuple[int, Subtree, Callable[[int], bytes]]:
    """(size, oracle, leaf hash of index) for the real tree or the tree of equal leaves."""
    if draw(st.booleans()):
        return draw(st.integers(least, BIG)), BIG_ORACLE, BIG_LEAF_HASHES.__getitem__
    size = draw(st.one_of(st.integers(least, 1 << 20), st.integers(least, (1 << 64) - 1)))
    return size, same_leaves, lambda index: SAME_LEAF


@settings(max_examples=300, deadline=None)
@given(trees(), st.data())
def test_tampered_inclusion_is_refused(tree: tuple[int, Subtree, Callable[[int], bytes]], data: st.DataObject) -> None:
    size, oracle, leaf_of = tree
    index = data.draw(st.integers(0, size - 1))
    leaf, root = leaf_of(index), oracle(0, size)
    hashes = inclusion_path(index, size, oracle)
    verify_inclusion(index, size, leaf, hashes, root)
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1))
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, flip(leaf, bit), hashes, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, leaf, hashes, flip(root, bit))
    for wrong in tampered(hashes, data):
        with pytest.raises(InvalidProof):
            verify_inclusion(index, size, leaf, wrong, root)


@settings(max_examples=300, deadline=None)
@given(trees(least=2), st.data())
def test_tampered_consistency_is_refused(
    tree: tuple[int, Subtree, Callable[[int], bytes]], data: st.DataObject
) -> None:
    new, oracle, _ = tree
    old = data.draw(st.integers(1, new - 1))
    old_root, new_root = oracle(0, old), oracle(0, new)
    hashes = consistency_path(old, new, oracle)
    verify_consistency(old, new, old_root, new_root, hashes)
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1))
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, flip(old_root, bit), new_root, hashes)
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, old_root, flip(new_root, bit), hashes)
    for wrong in tampered(hashes, data):
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, old_root, new_root, wrong)


# A root does not say the size of its tree, so a proof made for one (index, size) also proves a claim about another
# (index', size') when both fold the same hashes in the same order: leaf 1 of 2 and leaf 2 of 3 both compute
# HASH(0x01 || p || leaf). Whether two claims are the same computation is read off the RFC's recursive definitions:
# the expression of the root (for consistency: of both roots) in terms of the leaf (old root) and of proof[i] as i.
Expr = object


def inclusion_expr(m: int, n: int) -> tuple[Expr, int]:
    if n == 1:
        return "leaf", 0
    k = largest_power_of_two_smaller_than(n)
    if m < k:
        inner, count = inclusion_expr(m, k)
        return (inner, count), count + 1
    inner, count = inclusion_expr(m - k, n - k)
    return (count, inner), count + 1


def consistency_expr(m: int, n: int, b: bool = True) -> tuple[Expr, Expr, int]:
    if m == n:
        return ("old", "old", 0) if b else (0, 0, 1)
    k = largest_power_of_two_smaller_than(n)
    if m <= k:
        old, new, count = consistency_expr(m, k, b)
        return old, (new, count), count + 1
    old, new, count = consistency_expr(m - k, n - k, False)
    return (count, old), (count, new), count + 1


@settings(max_examples=500, deadline=None)
@given(st.integers(1, BIG), st.data())
def test_inclusion_for_another_leaf_or_size(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    other_index = data.draw(st.integers(0, BIG))
    other_size = data.draw(st.integers(0, BIG))
    leaf, root = BIG_LEAF_HASHES[index], BIG_ORACLE(0, size)
    hashes = inclusion_path(index, size, BIG_ORACLE)
    if (other_index, other_size) == (index, size):
        return
    if other_index < other_size and inclusion_expr(other_index, other_size) == inclusion_expr(index, size):
        verify_inclusion(other_index, other_size, leaf, hashes, root)  # the same computation
    else:
        with pytest.raises(InvalidProof):
            verify_inclusion(other_index, other_size, leaf, hashes, root)


@settings(max_examples=500, deadline=None)
@given(st.integers(2, BIG), st.data())
def test_consistency_for_other_sizes(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, new - 1))
    other_old = data.draw(st.integers(0, BIG))
    other_new = data.draw(st.integers(0, BIG))
    old_root, new_root = BIG_ORACLE(0, old), BIG_ORACLE(0, new)
    hashes = consistency_path(old, new, BIG_ORACLE)
    if (other_old, other_new) == (old, new):
        return
    if 0 < other_old < other_new and consistency_expr(other_old, other_new) == consistency_expr(old, new):
        verify_consistency(other_old, other_new, old_root, new_root, hashes)  # the same computation
    else:
        with pytest.raises(InvalidProof):
            verify_consistency(other_old, other_new, old_root, new_root, hashes)


def test_same_computation_examples() -> None:
    # The two examples of the comment above, with real hashes: what the RFC algorithms accept, by design.
    lh = LEAF_HASHES
    assert ROOTS[3] == node_hash(ORACLE(0, 2), lh[2])
    verify_inclusion(1, 2, lh[2], [ORACLE(0, 2)], ROOTS[3])
    verify_consistency(2, 4, ROOTS[1], ROOTS[2], consistency_path(1, 2, ORACLE))
