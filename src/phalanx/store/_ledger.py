"""Where a node keeps its ledger: entries, tiles, checkpoints, cosignatures, keys and witness state.

``LedgerStorage`` is the narrow interface; ``MemoryLedgerStorage`` is here, the SQL one (SQLite and PostgreSQL)
in ``_sql/_ledger.py``; ``tests/conformance/test_ledger_storage.py`` runs one suite on all three.
The storage knows nothing of hashing: ``phalanx.ledger.Ledger`` computes, the storage keeps, atomically.
"""

from __future__ import annotations

__all__ = ["Appended", "LedgerStorage", "MemoryLedgerStorage", "StoredCheckpoint", "WitnessedLog"]

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import Conflict, KeyNotValid, NotFound


@dataclass(frozen=True, slots=True)
class Appended:
    """One entry to append: what it is about (an object's id, or a signing key's) and its leaf data."""

    object_id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    note: str
    """The signed note, with the log's own signature (cosignatures are kept apart and added when served)."""
    created: int


@dataclass(frozen=True, slots=True)
class WitnessedLog:
    """A log this node witnesses: its key, and the latest checkpoint this node cosigned."""

    origin: str
    vkey: str
    size: int
    root: bytes
    note: str


@runtime_checkable
class LedgerStorage(Protocol):
    # -- the log ---------------------------------------------------------------------------------------------
    def state(self) -> tuple[int, int]:
        """(tree size, store cursor): how many entries, and the store seq of the last version logged."""
        ...

    def append(self, expected_size: int, entries: Sequence[Appended], tiles: dict[int, bytes], *,
               cursor: int | None = None, keys: Sequence[tuple[str, str, str, bytes | None]] = ()) -> None:
        """In one transaction: check the size is still ``expected_size`` (else ``Conflict``), add the entries
        (indexes expected_size, ...), write the tiles, move the cursor, and store keys
        (key id, organization, public record JSON, custodial private key file or None)."""
        ...

    def tiles(self, keys: list[int]) -> dict[int, bytes]:
        """The stored tiles among ``keys`` (absent ones are left out)."""
        ...

    def entries(self, start: int, end: int) -> list[bytes]:
        """Leaf data of entries [start, end)."""
        ...

    def find(self, object_id: str) -> list[tuple[int, bytes]]:
        """(index, leaf data) of every entry about ``object_id``, oldest first."""
        ...

    # -- checkpoints -------------------------------------------------------------------------------------------
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        ...

    def checkpoint(self, size: int) -> StoredCheckpoint:
        """The checkpoint signed at ``size`` (``NotFound`` if none was)."""
        ...

    def checkpoint_before(self, size: int) -> StoredCheckpoint | None:
        """The largest checkpoint signed at a size below ``size`` (None if none was): the one before a checkpoint."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint, *, previous: int | None) -> None:
        """Record a newly signed checkpoint if the latest is still the one of size ``previous`` (None: no
        checkpoint yet); else ``Conflict``, and the caller must not publish it."""
        ...

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        """Keep a witness's cosignature line for the checkpoint of ``size`` (replacing that witness's older one)."""
        ...

    def cosignatures(self, size: int) -> list[str]:
        ...

    # -- keys -----------------------------------------------------------------------------------------------
    def key(self, key_id: str) -> tuple[str, bytes | None]:
        """(public record JSON, custodial private key file or None); ``NotFound`` when unknown."""
        ...

    def keys(self, org: str | None = None) -> list[tuple[str, str]]:
        """(key id, public record JSON) of the keys of ``org`` (all organizations when None), oldest first."""
        ...

    def node_key(self) -> tuple[str, str] | None:
        """The node's own checkpoint signing key (signer key text, verifier key text), if made."""
        ...

    def set_node_key(self, signer: str, verifier: str) -> None:
        """Store the node key once (``Conflict`` if one exists: a log keeps its key)."""
        ...

    # -- witnessing ------------------------------------------------------------------------------------------
    def witnesses(self) -> list[tuple[str, str, str, int]]:
        """The witnesses this log asks to cosign: (name, url, verifier key, size they last cosigned)."""
        ...

    def set_witness(self, name: str, url: str, vkey: str) -> None:
        ...

    def remove_witness(self, name: str) -> None:
        ...

    def witness_progress(self, name: str, size: int) -> None:
        ...

    def witnessed(self, origin: str) -> WitnessedLog:
        """A log this node witnesses (``NotFound`` when not configured)."""
        ...

    def witnessed_logs(self) -> list[WitnessedLog]:
        ...

    def set_witnessed(self, log: WitnessedLog, *, previous_size: int | None) -> None:
        """Record the latest cosigned checkpoint of a log if its size is still ``previous_size`` (None: a new
        log to witness), else ``Conflict``."""
        ...


class MemoryLedgerStorage:
    """Everything in lists and dictionaries under one lock: for tests, demos and as the reference model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[bytes] = []
        self._by_object: dict[str, list[int]] = {}
        self._tiles: dict[int, bytes] = {}
        self._cursor = 0
        self._checkpoints: dict[int, StoredCheckpoint] = {}
        self._latest: int | None = None
        self._cosignatures: dict[int, dict[str, str]] = {}
        self._keys: dict[str, tuple[str, str, bytes | None]] = {}
        self._node_key: tuple[str, str] | None = None
        self._witnesses: dict[str, tuple[str, str, str, int]] = {}
        self._witnessed: dict[str, WitnessedLog] = {}

    def state(self) -> tuple[int, int]:
        with self._lock:
            return len(self._entries), self._cursor

    def append(self, expected_size: int, entries: Sequence[Appended], tiles: dict[int, bytes], *,
               cursor: int | None = None, keys: Sequence[tuple[str, str, str, bytes | None]] = ()) -> None:
        with self._lock:
            if len(self._entries) != expected_size:
                raise Conflict(f"the ledger has {len(self._entries)} entries, not {expected_size}: another "
                               "sequencer appended first")
            for key_id, org, _, _ in keys:
                if self._keys.get(key_id, (org,))[0] != org:
                    raise KeyNotValid(f"key {key_id} is published for another organization")
            for entry in entries:
                if entry.object_id:
                    self._by_object.setdefault(entry.object_id, []).append(len(self._entries))
                self._entries.append(entry.data)
            self._tiles.update(tiles)
            if cursor is not None:
                self._cursor = cursor
            for key_id, org, record, private in keys:
                kept = self._keys.get(key_id, (org, record, None))[2]
                self._keys[key_id] = (org, record, kept if private is None else private)

    def tiles(self, keys: list[int]) -> dict[int, bytes]:
        with self._lock:
            return {key: self._tiles[key] for key in keys if key in self._tiles}

    def entries(self, start: int, end: int) -> list[bytes]:
        with self._lock:
            return self._entries[max(start, 0) : max(end, 0)]

    def find(self, object_id: str) -> list[tuple[int, bytes]]:
        with self._lock:
            return [(i, self._entries[i]) for i in self._by_object.get(object_id, [])]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self._lock:
            return None if self._latest is None else self._checkpoints[self._latest]

    def checkpoint(self, size: int) -> StoredCheckpoint:
        with self._lock:
            if size not in self._checkpoints:
                raise NotFound(f"the log signed no checkpoint of size {size}")
            return self._checkpoints[size]

    def checkpoint_before(self, size: int) -> StoredCheckpoint | None:
        with self._lock:
            below = [s for s in self._checkpoints if s < size]
            return self._checkpoints[max(below)] if below else None

    def add_checkpoint(self, checkpoint: StoredCheckpoint, *, previous: int | None) -> None:
        with self._lock:
            if self._latest != previous:
                raise Conflict(f"the latest checkpoint is of size {self._latest}, not {previous}")
            if checkpoint.size in self._checkpoints:
                raise Conflict(f"a checkpoint of size {checkpoint.size} was signed already")
            self._checkpoints[checkpoint.size] = checkpoint
            self._latest = checkpoint.size

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        with self._lock:
            self._cosignatures.setdefault(size, {})[witness] = line

    def cosignatures(self, size: int) -> list[str]:
        with self._lock:
            return [line for _, line in sorted(self._cosignatures.get(size, {}).items())]

    def key(self, key_id: str) -> tuple[str, bytes | None]:
        with self._lock:
            if key_id not in self._keys:
                raise NotFound(f"no signing key {key_id}")
            _, record, private = self._keys[key_id]
            return record, private

    def keys(self, org: str | None = None) -> list[tuple[str, str]]:
        with self._lock:
            return [(kid, record) for kid, (owner, record, _) in self._keys.items() if org is None or owner == org]

    def node_key(self) -> tuple[str, str] | None:
        with self._lock:
            return self._node_key

    def set_node_key(self, signer: str, verifier: str) -> None:
        with self._lock:
            if self._node_key is not None:
                raise Conflict("the node has a ledger key already")
            self._node_key = (signer, verifier)

    def witnesses(self) -> list[tuple[str, str, str, int]]:
        with self._lock:
            return sorted(self._witnesses.values())

    def set_witness(self, name: str, url: str, vkey: str) -> None:
        with self._lock:
            self._witnesses[name] = (name, url, vkey, 0)

    def remove_witness(self, name: str) -> None:
        with self._lock:
            if self._witnesses.pop(name, None) is None:
                raise NotFound(f"no witness {name!r}")

    def witness_progress(self, name: str, size: int) -> None:
        with self._lock:
            if name in self._witnesses:
                n, url, vkey, _ = self._witnesses[name]
                self._witnesses[name] = (n, url, vkey, size)

    def witnessed(self, origin: str) -> WitnessedLog:
        with self._lock:
            if origin not in self._witnessed:
                raise NotFound(f"this node does not witness the log {origin!r}")
            return self._witnessed[origin]

    def witnessed_logs(self) -> list[WitnessedLog]:
        with self._lock:
            return [self._witnessed[o] for o in sorted(self._witnessed)]

    def set_witnessed(self, log: WitnessedLog, *, previous_size: int | None) -> None:
        with self._lock:
            current = self._witnessed.get(log.origin)
            if (None if current is None else current.size) != previous_size:
                raise Conflict(f"the witnessed state of {log.origin!r} changed meanwhile")
            self._witnessed[log.origin] = log
