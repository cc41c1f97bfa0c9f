"""Watching another node's log: each checkpoint seen must extend the last one (RFC 9162 section 2.1.4).

Monitors (``phalanx ledger verify``) and federation (a node following a peer) keep the last checkpoint they
verified, and accept a new one only when it is signed by the log's keys and the log grew from the old one
without rewriting it: a larger size with a consistency proof, or the same size with the same root.
"""

from __future__ import annotations

__all__ = ["check_growth"]

from collections.abc import Callable, Sequence

from ..errors import Inconsistent, InvalidProof
from ._merkle import verify_consistency
from ._note import Checkpoint


def check_growth(old_size: int, old_root: bytes, new: Checkpoint,
                 consistency: Callable[[int, int], Sequence[bytes]]) -> None:
    """Raise ``Inconsistent`` (or ``InvalidProof``) unless ``new`` extends the tree of ``old_size`` entries with
    root ``old_root`` (empty: nothing seen before, and the first checkpoint is trusted on first use);
    ``consistency(old, new)`` fetches the proof from the log."""
    if not old_root:
        return
    if new.size < old_size:
        raise Inconsistent(f"the log of {new.origin!r} shrank from {old_size} to {new.size} entries")
    if new.size == old_size:
        if new.root != old_root:
            raise Inconsistent(f"the log of {new.origin!r} shows two different trees of {new.size} entries")
        return
    if old_size == 0:
        return  # every tree extends the empty one
    try:
        verify_consistency(old_size, new.size, old_root, new.root, consistency(old_size, new.size))
    except InvalidProof as exc:
        raise Inconsistent(f"the log of {new.origin!r} at {new.size} entries does not extend the tree of "
                           f"{old_size} entries seen before: {exc.message}") from exc
