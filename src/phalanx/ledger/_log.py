"""The node's transparency log: it follows the store, keeps the tree as tiles, and signs checkpoints.

The sequencer (``sync``) reads the versions the store accepted since its cursor, in commit order, and appends
one entry for each, together with the tiles they change and the new cursor, in one transaction of the
ledger's storage that fails if another sequencer (another process of the hub) appended first. So every
version the store acknowledged gets logged, once, even across crashes: after a restart ``sync`` resumes at
the cursor.

``checkpoint`` signs the tree's current size and root (C2SP tlog-checkpoint) with the node key. Before it
signs, it checks that the durable tree still has the root of the last checkpoint it signed at that size, and
it records the new checkpoint (compare-and-set on the latest one) before anyone can see it. A log whose
storage was rolled back or rewritten therefore refuses to sign (``Inconsistent``) rather than equivocate.
"""

from __future__ import annotations

__all__ = ["Ledger", "Proof"]

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, Inconsistent, InvalidProof, NotFound
from ..stix import now_micros
from ..store import Store
from ..store._ledger import Appended, LedgerStorage, StoredCheckpoint
from ._bundle import Trust
from ._entry import entry_bytes, key_entry, object_entry, read_entry
from ._keys import PublicKey
from ._merkle import consistency_path, leaf_hash
from ._note import (
    HAVE_MLDSA,
    Checkpoint,
    generate_ed25519,
    generate_mldsa44,
    open_note,
    sign_note,
    signer_from_key,
    verifier_from_key,
)
from ._tiles import TileReader, TreeWriter

_BATCH = 4096


@dataclass(frozen=True, slots=True)
class Proof:
    """An entry, where it is, and the inclusion proof for a tree of ``size`` leaves."""

    index: int
    size: int
    entry: dict[str, Any]
    data: bytes
    path: list[bytes]


class Ledger:
    def __init__(self, storage: LedgerStorage, store: Store, *, origin: str = "", hybrid: bool = False,
                 clock: Callable[[], int] = now_micros) -> None:
        self._storage = storage
        self._store = store
        self._clock = clock
        self._lock = threading.RLock()
        self._reader = TileReader(storage.tiles)
        self._writer: TreeWriter | None = None
        signers, verifiers = (keys.split("\n") for keys in self._node_keys(origin, hybrid))
        # The last key is the node's witness key (cosignature/v1): it cosigns other logs, never its own.
        self.signers = [signer_from_key(k) for k in signers[:-1]]
        self.verifiers = [verifier_from_key(k) for k in verifiers[:-1]]
        self.cosigner = signer_from_key(signers[-1])
        self.witness_key = verifiers[-1]
        """The node's public witness key: what logs this node witnesses give their verifiers."""
        self.verifier_keys = verifiers[:-1]
        """The node's public checkpoint keys (C2SP note verifier keys): what verifiers and witnesses trust."""
        self.origin = self.signers[0].name

    def _node_keys(self, origin: str, hybrid: bool) -> tuple[str, str]:
        found = self._storage.node_key()
        if found is not None:
            return found
        name = origin or f"phalanx.local/{secrets.token_hex(6)}"
        pairs = [generate_ed25519(name)]
        if hybrid and HAVE_MLDSA:
            pairs.append(generate_mldsa44(name))
        pairs.append(generate_ed25519(f"{name}/witness", cosignature=True))
        keys = ("\n".join(s for s, _ in pairs), "\n".join(v for _, v in pairs))
        try:
            self._storage.set_node_key(*keys)
        except Conflict:  # another process of the hub made it first: use that one
            found = self._storage.node_key()
            assert found is not None
            return found
        return keys

    @property
    def storage(self) -> LedgerStorage:
        """Where this log is kept (keys and witnesses are read and written there directly)."""
        return self._storage

    # -- appending -------------------------------------------------------------------------------------------

    def _edge(self, size: int) -> TreeWriter:
        if self._writer is None or self._writer.size != size:
            self._writer = TreeWriter.resume(size, self._storage.tiles)
        return self._writer

    def _append(self, size: int, entries: list[tuple[str, dict[str, Any]]], *, cursor: int | None = None,
                keys: list[tuple[str, str, str, bytes | None]] | None = None) -> None:
        datas = [entry_bytes(entry) for _, entry in entries]
        writer = self._edge(size)
        try:
            tiles = writer.append(leaf_hash(d) for d in datas)
            self._storage.append(size, [Appended(oid, d) for (oid, _), d in zip(entries, datas, strict=True)],
                                 tiles, cursor=cursor, keys=keys or [])
        except BaseException:
            self._writer = None  # the edge may be ahead of what was stored: read it again next time
            raise

    def sync(self, *, limit: int | None = None) -> int:
        """Log every version the store accepted since the last one logged; return how many were appended."""
        appended = 0
        with self._lock:
            while limit is None or appended < limit:
                size, cursor = self._storage.state()
                batch = self._store.accepted_since(cursor, _BATCH if limit is None else min(_BATCH, limit - appended))
                if not batch:
                    break
                entries = [(a.id, object_entry(object_id=a.id, version=a.version, digest=a.digest,
                                               contributor=a.contributor, accepted=a.seq,
                                               canonical_json=a.canonical)) for a in batch]
                try:
                    self._append(size, entries, cursor=batch[-1].seq)
                except Conflict:
                    continue  # another process logged them: read the state again
                appended += len(batch)
        return appended

    def logged(self) -> int:
        """Log everything the store accepted; return the cursor (the store seq of the last version logged)."""
        self.sync()
        return self._storage.state()[1]

    def publish_key(self, key: PublicKey, *, private: bytes | None = None) -> int:
        """Record an organization's key (new, or with changed times) and log it; return its entry's index."""
        with self._lock:
            self.sync()
            while True:
                size, _ = self._storage.state()
                try:
                    self._append(size, [(key.key_id, key_entry(key, accepted=self._clock()))],
                                 keys=[(key.key_id, key.org, entry_bytes(key.record()).decode(), private)])
                except Conflict:
                    continue
                return size

    # -- reading ---------------------------------------------------------------------------------------------

    def size(self) -> int:
        return self._storage.state()[0]

    def root(self, size: int) -> bytes:
        with self._lock:
            return self._reader.root(size)

    def entry(self, index: int) -> dict[str, Any]:
        found = self._storage.entries(index, index + 1)
        if not found:
            raise NotFound(f"the log has no entry {index}")
        return read_entry(found[0])

    def find(self, object_id: str) -> list[tuple[int, dict[str, Any], bytes]]:
        """Every entry about ``object_id`` (an object id, or a signing key's id): (index, entry, leaf data),
        oldest first."""
        out = []
        for index, data in self._storage.find(object_id):
            entry = read_entry(data)
            if object_id in (entry.get("id"), entry.get("key")):  # found by 64 bits of a hash: compare the id
                out.append((index, entry, data))
        return out

    def prove(self, index: int, size: int) -> Proof:
        """The entry at ``index`` and its inclusion proof in the tree of ``size`` leaves."""
        if not 0 <= index < size <= self.size():
            raise InvalidProof(f"no proof for entry {index} in a tree of {size}: the log has {self.size()} entries")
        data = self._storage.entries(index, index + 1)[0]
        with self._lock:
            path = self._reader.inclusion(index, size)
        return Proof(index, size, read_entry(data), data, path)

    def inclusions(self, indexes: list[int], size: int) -> list[list[bytes]]:
        """The inclusion proofs of many entries in the tree of ``size`` leaves, their nodes read at once."""
        if not 0 < size <= self.size() or not all(0 <= i < size for i in indexes):
            raise InvalidProof(f"no proofs for those entries in a tree of {size}: the log has {self.size()} entries")
        with self._lock:
            return self._reader.inclusions(indexes, size)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        if not 0 <= old_size <= new_size <= self.size():
            raise InvalidProof(f"no consistency proof from {old_size} to {new_size}: the log has {self.size()} entries")
        with self._lock:
            return consistency_path(old_size, new_size, self._reader.subtree)

    # -- checkpoints -----------------------------------------------------------------------------------------

    def latest(self) -> StoredCheckpoint | None:
        return self._storage.latest_checkpoint()

    def checkpoint(self) -> StoredCheckpoint:
        """Sign the tree as it is now, unless the latest checkpoint has its size already; return the latest."""
        with self._lock:
            for _ in range(10):
                try:
                    return self._sign()
                except Conflict:
                    continue  # another process signed meanwhile: look again from its checkpoint
            return self._sign()

    def _sign(self) -> StoredCheckpoint:
        size, _ = self._storage.state()
        latest = self._storage.latest_checkpoint()
        if latest is not None:
            last = self.parse(latest.note)
            if size < last.size or self.root(last.size) != last.root:
                raise Inconsistent(
                    f"the log's tree does not extend the checkpoint it signed at size {last.size}: refusing to "
                    "sign a new one", hint="Restore the database from a backup taken after that checkpoint.")
            if size == last.size:
                return latest
        root = self.root(size)
        note = sign_note(Checkpoint(self.origin, size, root).body(), *self.signers)
        stored = StoredCheckpoint(size, note, self._clock())
        # Recorded (compare-and-set on the latest) before anyone can see it: two processes never both publish.
        self._storage.add_checkpoint(stored, previous=None if latest is None else latest.size)
        return stored

    def trust(self, quorum: int = 0) -> Trust:
        """What verifiers of this log trust: its origin and keys, and the keys of the witnesses it asks."""
        return Trust(self.origin, tuple(self.verifier_keys),
                     tuple(vkey for _, _, vkey, _ in self._storage.witnesses()), quorum)

    def parse(self, note: str) -> Checkpoint:
        """The checkpoint in one of this log's notes, its signature checked."""
        opened, _ = open_note(note, self.verifiers)
        return Checkpoint.parse(opened.text)

    def cosigned(self, stored: StoredCheckpoint) -> str:
        """The checkpoint's note with the witnesses' cosignature lines it has collected."""
        lines = self._storage.cosignatures(stored.size)
        if not lines:
            return stored.note
        return stored.note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)
