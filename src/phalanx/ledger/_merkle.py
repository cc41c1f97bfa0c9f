"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency version 2.0), section 2.1, as pure functions.

The log is an RFC 9162 Merkle tree over SHA-256 (the hash of RFC 6962, and of its test vectors):

* ``MTH({}) = HASH()``, ``MTH({d(0)}) = HASH(0x00 || d(0))`` and, for ``n > 1`` with ``k`` the largest power of
  two smaller than ``n``, ``MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` (section 2.1.1);
* an inclusion proof ``PATH(m, D_n)`` (section 2.1.3) and a consistency proof ``PROOF(m, D_n)`` (section 2.1.4)
  are lists of 32-byte subtree hashes, the deepest first.

Functions that build proofs do not hold the tree: they ask a ``Subtree`` oracle for ``MTH(D[lo:hi])`` and only
for two kinds of range, so that a store can answer from hashes it keeps: a perfect aligned subtree (``hi - lo`` a
power of two, ``lo`` a multiple of it) or a range on the right edge of the tree (``hi`` is the tree size).

A leaf is always given by its leaf hash ``MTH({d}) = leaf_hash(d)``. Every failure, whether a proof that does not
prove what it claims or arguments no proof can exist for, raises ``phalanx.errors.InvalidProof`` with a message
that says what failed.
"""

from __future__ import annotations

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Subtree",
    "consistency_path",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "root_of",
    "subtree_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import TypeAlias

from ..errors import InvalidProof

HASH_SIZE = 32
"""Bytes in a SHA-256 hash, hence in every leaf hash, node hash, root and proof element."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""``MTH({}) = HASH()``: the root of the empty tree (RFC 9162 section 2.1.1)."""

Subtree: TypeAlias = Callable[[int, int], bytes]
"""An oracle: ``subtree(lo, hi)`` returns ``MTH(D[lo:hi])``, for the ranges the proof algorithms ask for."""

_MAX_SIZE = (1 << 64) - 1  # tree_size and leaf_index are uint64 (RFC 9162 section 4.1 and following)
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``MTH({d}) = HASH(0x00 || d)``: the hash of a leaf (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``HASH(0x01 || left || right)``: the hash of an interior node (RFC 9162 section 2.1.1)."""
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise InvalidProof(f"a node hashes two {HASH_SIZE}-byte hashes, not {len(left)} and {len(right)} bytes")
    return hashlib.sha256(_NODE + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH(D_n)`` (RFC 9162 section 2.1.1) of the leaves with these leaf hashes.

    Iterative and linear: each level pairs nodes from the left and carries an odd last node up unchanged, which
    builds the same tree as the section's recursive split at the largest power of two smaller than ``n``.
    """
    _check_hashes(leaf_hashes, "leaf hash")
    if not leaf_hashes:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    level = list(leaf_hashes)
    while len(level) > 1:
        pairs = iter(level)
        upper = [sha256(_NODE + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if len(level) & 1:
            upper.append(level[-1])
        level = upper
    return level[0]


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """``PATH(m, D_n)``, the inclusion proof of leaf ``m = index`` in the tree of ``n = size`` leaves.

    RFC 9162 section 2.1.3.1, with ``k`` the largest power of two smaller than ``n``::

        PATH(0, {d(0)}) = {}
        PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])       for m < k
        PATH(m, D_n) = PATH(m - k, D[k:n]) : MTH(D[0:k])   for m >= k

    The recursion is unrolled into a walk from the root down to the leaf that collects the siblings, which are
    then reversed into the RFC's order (the leaf's sibling first). Each sibling comes from ``subtree``.
    """
    _check_int("size", size, 1)
    _check_int("index", index, 0)
    if index >= size:
        raise InvalidProof(f"no leaf {index} in a tree of {size} leaves: there is no inclusion proof for it")
    path: list[bytes] = []
    lo, hi = 0, size  # the current D[lo:hi]; index lies in it
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two smaller than hi - lo
        if index - lo < k:  # m < k: PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(_ask(subtree, lo + k, hi))
            hi = lo + k
        else:  # m >= k: PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(_ask(subtree, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_path(old_size: int, new_size: int, subtree: Subtree) -> list[bytes]:
    """``PROOF(m, D_n)``, the consistency proof from the tree of ``m = old_size`` leaves to ``n = new_size``.

    RFC 9162 section 2.1.4.1: ``PROOF(m, D_n) = SUBPROOF(m, D_n, true)`` with, for ``k`` the largest power of two
    smaller than ``n``::

        SUBPROOF(m, D[m], true) = {}
        SUBPROOF(m, D[m], false) = {MTH(D[m])}
        SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])              for m <= k
        SUBPROOF(m, D_n, b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])      for m > k

    The RFC defines the proof for ``0 < m < n``; here ``m = 0`` and ``m = n`` have the empty proof (nothing to
    prove: see ``verify_consistency``), and ``m > n`` raises ``InvalidProof``.
    """
    _check_int("new_size", new_size, 0)
    _check_int("old_size", old_size, 0)
    if old_size > new_size:
        raise InvalidProof(f"a tree of {old_size} leaves cannot grow into one of {new_size}: no consistency proof")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []
    lo, hi, m, b = 0, new_size, old_size, True  # SUBPROOF(m, D[lo:hi], b), 0 < m <= hi - lo
    while m != hi - lo:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two smaller than hi - lo
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.append(_ask(subtree, lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            proof.append(_ask(subtree, lo, lo + k))
            lo += k
            m -= k
            b = False
    if not b:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}; SUBPROOF(m, D[m], true) = {}
        proof.append(_ask(subtree, lo, hi))
    proof.reverse()
    return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from the leaf hash ``leaf`` at ``index`` in a tree of ``size`` leaves.

    Steps 1 to 4 of RFC 9162 section 2.1.3.2 ("Verifying an Inclusion Proof"), whose ``hash`` is ``leaf``; step 5
    (comparing with the expected root) is ``verify_inclusion``. Raises ``InvalidProof`` when the index or size is
    impossible, when the proof does not have the length the RFC's ``PATH`` has for them, or when a hash is not
    32 bytes long.
    """
    _check_int("size", size, 1)
    _check_int("index", index, 0)
    if len(leaf) != HASH_SIZE:
        raise InvalidProof(f"the leaf hash has {len(leaf)} bytes, not {HASH_SIZE}")
    # 1. Compare leaf_index against tree_size. If leaf_index is greater than or equal to tree_size, then fail the
    #    proof verification.
    if index >= size:
        raise InvalidProof(f"leaf index {index} is not in a tree of {size} leaves")
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise InvalidProof(
            f"the inclusion proof of leaf {index} in a tree of {size} leaves has {len(proof)} hashes, not {expected}"
        )
    sha256 = hashlib.sha256
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn = index
    sn = size - 1
    # 3. Set r to hash.
    r = leaf
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        if len(p) != HASH_SIZE:
            raise InvalidProof(f"an inclusion proof hash has {len(p)} bytes, not {HASH_SIZE}")
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise InvalidProof("the inclusion proof is longer than the path from the leaf to the root")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = sha256(_NODE + p + r).digest()
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set or fn
            #     is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        # Otherwise:
        else:
            # i. Set r to HASH(0x01 || r || p).
            r = sha256(_NODE + r + p).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. (first half) Compare sn to 0: a proof that stops short of the root proves nothing.
    if sn != 0:
        raise InvalidProof("the inclusion proof is shorter than the path from the leaf to the root")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``proof`` proves the leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` leaves ``root``.

    RFC 9162 section 2.1.3.2 ("Verifying an Inclusion Proof"): steps 1 to 4 in ``root_from_inclusion``, then
    step 5. Returns nothing; raises ``InvalidProof`` saying what failed.
    """
    if len(root) != HASH_SIZE:
        raise InvalidProof(f"the root hash has {len(root)} bytes, not {HASH_SIZE}")
    r = root_from_inclusion(index, size, leaf, proof)
    # 5. Compare sn to 0 (done by root_from_inclusion). Compare r against the root_hash. If sn is equal to 0 and r
    #    and the root_hash are equal, then the log has proven the inclusion of hash. Otherwise, fail the proof
    #    verification.
    if not hmac.compare_digest(r, root):
        raise InvalidProof(
            f"the inclusion proof of leaf {index} in a tree of {size} leaves leads to root {r.hex()}, "
            f"not to the expected {root.hex()}"
        )


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that ``proof`` proves the tree ``new_root`` of ``new_size`` leaves extends ``old_root`` of ``old_size``.

    RFC 9162 section 2.1.4.2 ("Verifying Consistency between Two Tree Heads") for ``0 < old_size < new_size``,
    where ``first = old_size``, ``second = new_size``, ``first_hash = old_root`` and ``second_hash = new_root``.
    The RFC leaves out the cases with nothing to prove, which take the empty proof here:

    * ``old_size == new_size``: the two roots must be equal (a tree head is consistent with itself only);
    * ``old_size == 0``: ``old_root`` must be ``EMPTY_ROOT``, and every tree extends the empty tree.

    ``old_size > new_size`` is never consistent. Returns nothing; raises ``InvalidProof`` saying what failed.
    """
    _check_int("new_size", new_size, 0)
    _check_int("old_size", old_size, 0)
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        raise InvalidProof(f"a root hash has {len(old_root)} or {len(new_root)} bytes, not {HASH_SIZE}")
    if old_size > new_size:
        raise InvalidProof(f"a tree of {old_size} leaves cannot be consistent with a smaller one of {new_size}")
    if old_size == 0:
        if proof:
            raise InvalidProof(f"the consistency proof from the empty tree must be empty, not {len(proof)} hashes")
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise InvalidProof(f"the root of the empty tree is {EMPTY_ROOT.hex()}, not {old_root.hex()}")
        if new_size == 0 and not hmac.compare_digest(new_root, EMPTY_ROOT):
            raise InvalidProof(f"the root of the empty tree is {EMPTY_ROOT.hex()}, not {new_root.hex()}")
        return
    if old_size == new_size:
        if proof:
            raise InvalidProof(f"the consistency proof between two trees of {old_size} leaves must be empty")
        if not hmac.compare_digest(old_root, new_root):
            raise InvalidProof(
                f"two trees of {old_size} leaves with different roots ({old_root.hex()} and {new_root.hex()}): "
                "the log shows two different histories"
            )
        return
    expected = _consistency_proof_length(old_size, new_size)
    if proof and len(proof) != expected:
        raise InvalidProof(
            f"the consistency proof from {old_size} to {new_size} leaves has {len(proof)} hashes, not {expected}"
        )
    sha256 = hashlib.sha256
    first, second = old_size, new_size
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not proof:
        raise InvalidProof(f"the consistency proof from {old_size} to {new_size} leaves is empty")
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    #    (Without copying the array: the values to iterate over are seed, then proof[start:].)
    if first & (first - 1) == 0:
        seed, start = old_root, 0
    else:
        seed, start = proof[0], 1
    # 3. Set fn to first - 1 and sn to second - 1.
    fn = first - 1
    sn = second - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    if len(seed) != HASH_SIZE:
        raise InvalidProof(f"a consistency proof hash has {len(seed)} bytes, not {HASH_SIZE}")
    fr = sr = seed
    # 6. For each subsequent value c in the consistency_path array:
    for i in range(start, len(proof)):
        c = proof[i]
        if len(c) != HASH_SIZE:
            raise InvalidProof(f"a consistency proof hash has {len(c)} bytes, not {HASH_SIZE}")
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise InvalidProof("the consistency proof is longer than the path to the new root")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).
            fr = sha256(_NODE + c + fr).digest()
            # ii. Set sr to HASH(0x01 || c || sr).
            sr = sha256(_NODE + c + sr).digest()
            # iii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set or
            #      fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        # Otherwise:
        else:
            # i. Set sr to HASH(0x01 || sr || c).
            sr = sha256(_NODE + sr + c).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. After completing iterating through the consistency_path array as described above, verify that the fr
    #    calculated is equal to the first_hash supplied, that the sr calculated is equal to the second_hash
    #    supplied, and that sn is 0.
    if sn != 0:
        raise InvalidProof("the consistency proof is shorter than the path to the new root")
    if not hmac.compare_digest(fr, old_root):
        raise InvalidProof(
            f"the consistency proof from {old_size} to {new_size} leaves leads to old root {fr.hex()}, "
            f"not to the expected {old_root.hex()}"
        )
    if not hmac.compare_digest(sr, new_root):
        raise InvalidProof(
            f"the consistency proof from {old_size} to {new_size} leaves leads to new root {sr.hex()}, "
            f"not to the expected {new_root.hex()}"
        )


def subtree_from_leaves(leaf_hashes: Sequence[bytes]) -> Subtree:
    """A ``Subtree`` oracle over leaf hashes held in memory: ``subtree(lo, hi)`` is ``MTH(leaf_hashes[lo:hi])``.

    For tests and small trees. It copies the leaf hashes (later appends are not seen) and hashes every perfect
    aligned subtree once, up front (about ``n`` hashes and ``2n`` hashes of memory); then a perfect aligned
    range, or one that splits into aligned perfect subtrees (as every range the proofs ask for does), costs at
    most ``log2(n)`` hashes. Any other range ``0 <= lo <= hi <= n`` is hashed from its leaves.
    """
    _check_hashes(leaf_hashes, "leaf hash")
    sha256 = hashlib.sha256
    levels = [list(leaf_hashes)]  # levels[h][i] = MTH(D[i * 2**h : (i + 1) * 2**h])
    while len(levels[-1]) > 1:
        pairs = iter(levels[-1])
        levels.append([sha256(_NODE + left + right).digest() for left, right in zip(pairs, pairs, strict=False)])
    size = len(levels[0])

    def subtree(lo: int, hi: int) -> bytes:
        if type(lo) is not int or type(hi) is not int or not 0 <= lo <= hi <= size:
            _check_int("lo", lo, 0)
            _check_int("hi", hi, 0)
            raise InvalidProof(f"no range [{lo}, {hi}) in a tree of {size} leaves")
        width = hi - lo
        if width == 0:
            return EMPTY_ROOT
        top = width.bit_length() - 1
        mask = (1 << top) - 1
        if not width & mask and not lo & mask:  # a perfect aligned subtree
            return levels[top][lo >> top]
        if lo & mask:  # not made of aligned perfect subtrees: hash the leaves
            return root_of(levels[0][lo:hi])
        # D[lo:hi] splits into the aligned perfect subtrees of its width's binary digits, largest first, and its
        # MTH folds them from the right (RFC 9162 section 2.1.1 splits at the largest power of two each time).
        parts = []
        for height in range(top, -1, -1):
            if width >> height & 1:
                parts.append(levels[height][lo >> height])
                lo += 1 << height
        root = parts[-1]
        for part in reversed(parts[:-1]):
            root = sha256(_NODE + part + root).digest()
        return root

    return subtree


def _check_int(name: str, value: int, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidProof(f"{name} must be an integer, not {type(value).__name__}")
    if not least <= value <= _MAX_SIZE:
        raise InvalidProof(f"{name} must be from {least} to 2**64 - 1, not {value}")


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    lengths = set(map(len, hashes))
    lengths.discard(HASH_SIZE)
    if lengths:
        raise InvalidProof(f"a {what} has {min(lengths)} bytes, not {HASH_SIZE}")


def _ask(subtree: Subtree, lo: int, hi: int) -> bytes:
    value = subtree(lo, hi)
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"the subtree hash of leaves [{lo}, {hi}) has {len(value)} bytes, not {HASH_SIZE}")
    return value


def _inclusion_proof_length(index: int, size: int) -> int:
    # Below the level where the paths to leaf `index` and to the last leaf part, every level contributes a
    # sibling; above it, only the levels where the path turns right (a left sibling exists) do.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    # The inclusion proof of the old tree's last leaf in the new tree, without the levels inside the largest
    # perfect subtree ending at old_size, plus that subtree's hash unless it is the whole old tree.
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner - shift + border
