"""What a peer sends is hostile until checked: its log must only grow, and what it signed must verify.

``PeerLog`` accepts a checkpoint of the peer's log only when the peer's keys (pinned when the peer was added)
signed it and it extends the last one this node verified (``ledger._monitor.check_growth``); a checkpoint that
does not is refused, logged, and changes nothing. ``PeerKeys`` checks the signature an object carries against
the signing keys the peer published, as made when the peer accepted it: the key must have been valid then, not
reported compromised, and be the key of the object's creator.
"""

from __future__ import annotations

__all__ = ["PeerKeys", "PeerLog"]

import threading
from typing import Any

from ..errors import Error, InvalidSignature, PeerUnavailable, UnknownKey
from ..ledger import PublicKey, carries_signature, read_signature
from ..ledger._bundle import Trust, verify_checkpoint
from ..ledger._monitor import check_growth
from ..stix import StixObject, now_micros
from ..store import Peers
from ._client import PeerClient

_SKEW = 5_000_000
"""How far apart (µs) two nodes' clocks may be."""


class PeerLog:
    def __init__(self, name: str, client: PeerClient, trust: Trust, peers: Peers) -> None:
        self._name = name
        self._client = client
        self._trust = trust
        self._peers = peers

    def check(self) -> int:
        """Verify the peer's latest checkpoint against the last one verified; return its size. Raises
        ``Inconsistent``/``InvalidSignature``/``InvalidNote`` (the checkpoint is refused, nothing recorded),
        ``PeerUnavailable``."""
        note = self._client.checkpoint()
        checkpoint, _ = verify_checkpoint(note, Trust(self._trust.origin, self._trust.log_keys))
        state = self._peers.state(self._name)
        check_growth(state.checkpoint_size, state.checkpoint_root, checkpoint, self._client.consistency)
        self._peers.verified(self._name, checkpoint.size, checkpoint.root)
        return checkpoint.size


class PeerKeys:
    def __init__(self, client: PeerClient, *, require_signatures: bool) -> None:
        self._client = client
        self._require = require_signatures
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] = {}
        self._fetched = 0
        """When (µs, this node's clock) the peer's key list was last fetched."""

    def _key(self, key_id: str, at: int) -> PublicKey:
        with self._lock:
            key = self._keys.get(key_id)
            # The peer accepted the object at ``at`` (its clock), after it published the key: a list fetched
            # before then (give or take the clocks' skew) may lack it, so fetch again; a later one is the answer.
            if key is None and self._fetched < at + _SKEW:
                # A failed fetch (PeerUnavailable) is not an answer: the batch is retried, nothing refused.
                fetched = now_micros()
                self._keys = {k.key_id: k for k in _readable(self._client.keys())}
                self._fetched = fetched
                key = self._keys.get(key_id)
        if key is None:
            raise UnknownKey(f"the peer published no signing key {key_id}")
        return key

    def check(self, obj: StixObject, *, at: int) -> StixObject | str:
        """``obj`` when its signature verifies (or it carries none and none is required), else why not."""
        if not carries_signature(obj.canonical):
            if self._require:
                return "unsigned: this node accepts only signed objects, from peers too"
            return obj
        try:
            signature = read_signature(obj.properties())
            if signature is None:
                return obj
            key = self._key(signature.key_id, at)
            key.check_time(at)
            key.verify(signature.message, signature.ed25519, signature.ml_dsa_44)
            if obj.created_by_ref is not None and obj.created_by_ref != key.org:
                raise InvalidSignature(f"{obj.id} names {obj.created_by_ref} as its creator but is signed with a "
                                       f"key of {key.org}")
        except PeerUnavailable:
            raise  # the peer's keys could not be fetched: try the batch again later, refuse nothing
        except Error as exc:
            return "signature: " + exc.message
        return obj


def _readable(records: list[dict[str, Any]]) -> list[PublicKey]:
    keys = []
    for record in records:
        try:
            keys.append(PublicKey.from_record(record))
        except Error:
            continue  # a record this node cannot read names no key it will accept
    return keys
