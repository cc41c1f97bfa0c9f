"""The transparency log's health, from what its storage keeps: the last checkpoint and who signed and cosigned
it, whether it is consistent with the one before and with the tree as stored, the witnesses, and (for node
administrators) how far the sequencer is behind the store.

Every read is bounded: the latest checkpoint, the one before it (``LedgerStorage.checkpoint_before``), their
cosignatures, O(log n) tiles for the two checks, and at most ``BACKLOG_LIMIT`` versions for the backlog. The tiles
are read through a reader of its own, so a page never waits for the sequencer's lock while it catches up.
"""

from __future__ import annotations

__all__ = ["BACKLOG_LIMIT", "CheckpointHealth", "Cosigned", "LedgerHealth", "WitnessHealth", "ledger_health"]

from dataclasses import dataclass

from ..errors import Error
from ..ledger import Ledger
from ..ledger._base64 import encode
from ..ledger._merkle import consistency_path, verify_consistency
from ..ledger._note import Checkpoint, Note, Verifier, open_note, verifier_from_key
from ..ledger._tiles import TileReader
from ..store import Store
from ..store._ledger import StoredCheckpoint
from ._sequencer import Sequencer

BACKLOG_LIMIT = 1000
"""The backlog (versions stored, not yet logged) is counted up to this many; beyond, "at least"."""


@dataclass(frozen=True, slots=True)
class Cosigned:
    """One witness's cosignature on a checkpoint."""

    witness: str
    """The witness's name as configured here, or the key name on the line when it is not (any longer)."""
    key: str
    """``name+hash`` of the key that cosigned."""
    at: int | None
    """The time the witness stated it cosigned (µs), None when its line carries none this node can read."""
    verified: bool
    """The line verifies with the key of a witness configured here."""


@dataclass(frozen=True, slots=True)
class CheckpointHealth:
    size: int
    root: str
    """Base64, as in the note."""
    created: int
    """When this node signed it (µs)."""
    signed_by: tuple[str, ...]
    """The verifier keys of the log's signatures that verify on it (C2SP note verifier keys)."""
    cosignatures: tuple[Cosigned, ...]
    previous_size: int | None
    """The size of the checkpoint signed before it; None: it is the first."""
    consistent: bool
    """Its root is the stored tree's at its size, and a consistency proof from the tree as stored shows it
    extends the checkpoint before it."""
    problem: str
    """Why it is not consistent ("" when it is)."""


@dataclass(frozen=True, slots=True)
class WitnessHealth:
    """A witness this log asks to cosign its checkpoints."""

    name: str
    key: str
    """Its cosignature verifier key (public: it is in the log's trust file)."""
    cosigned_size: int
    """The size of the latest checkpoint it cosigned (0: none yet)."""
    url: str | None
    """Node administrators only."""


@dataclass(frozen=True, slots=True)
class LedgerHealth:
    origin: str
    size: int
    """Entries in the log now (a checkpoint may not cover the latest yet)."""
    checkpoint: CheckpointHealth | None
    witnesses: tuple[WitnessHealth, ...]
    backlog: int | None
    """Versions the store accepted that the log has not taken yet, counted up to ``BACKLOG_LIMIT``; node
    administrators only (None otherwise)."""
    backlog_more: bool
    """More than ``BACKLOG_LIMIT`` are waiting."""
    sequencer_error: str | None
    """Why the sequencer last failed ("" when its last round worked); node administrators only."""
    witnessing: tuple[tuple[str, int], ...] | None
    """The logs this node witnesses, with the size it last cosigned; node administrators only."""


def ledger_health(ledger: Ledger, store: Store, sequencer: Sequencer, *, detail: bool) -> LedgerHealth:
    storage = ledger.storage
    size, cursor = storage.state()
    witnesses = storage.witnesses()
    verifiers: dict[str, Verifier] = {}
    for name, _, vkey, _ in witnesses:
        try:
            verifiers[name] = verifier_from_key(vkey)
        except Error:
            continue  # a key that cannot be read verifies nothing: its lines show as not verified
    latest = storage.latest_checkpoint()
    checkpoint = None if latest is None else _checkpoint(ledger, latest, verifiers)
    shown = tuple(WitnessHealth(name, vkey, cosigned, url if detail else None)
                  for name, url, vkey, cosigned in witnesses)
    if not detail:
        return LedgerHealth(ledger.origin, size, checkpoint, shown, None, False, None, None)
    waiting = len(store.accepted_since(cursor, BACKLOG_LIMIT + 1))
    error = sequencer.last_error
    return LedgerHealth(ledger.origin, size, checkpoint, shown, min(waiting, BACKLOG_LIMIT), waiting > BACKLOG_LIMIT,
                        "" if error is None else error.message,
                        tuple((log.origin, log.size) for log in storage.witnessed_logs()))


def _checkpoint(ledger: Ledger, stored: StoredCheckpoint, witnesses: dict[str, Verifier]) -> CheckpointHealth:
    reader = TileReader(ledger.storage.tiles)
    previous = ledger.storage.checkpoint_before(stored.size)
    signed_by: tuple[str, ...] = ()
    problem = ""
    try:
        # (1) The note is the log's, signed by its keys.
        note, verified = open_note(stored.note, ledger.verifiers)
        signed_by = tuple(key for key, v in zip(ledger.verifier_keys, ledger.verifiers, strict=True)
                          if any(v is w for w in verified))
        checkpoint = Checkpoint.parse(note.text)
    except Error as exc:
        return CheckpointHealth(stored.size, "", stored.created, (), (), None if previous is None else previous.size,
                                False, f"the checkpoint note does not verify: {exc.message}")
    try:
        # (2) The tree as stored has the checkpoint's root at its size.
        if reader.root(checkpoint.size) != checkpoint.root:
            problem = "the tree as stored has another root at this size"
        # (3) It extends the checkpoint signed before it (RFC 9162 2.1.4), by a proof from the tree as stored.
        elif previous is not None:
            before = ledger.parse(previous.note)
            proof = consistency_path(before.size, checkpoint.size, reader.subtree)
            verify_consistency(before.size, checkpoint.size, before.root, checkpoint.root, proof)
    except Error as exc:
        problem = f"not consistent with the checkpoint of size {previous.size if previous else 0}: {exc.message}"
    return CheckpointHealth(checkpoint.size, encode(checkpoint.root), stored.created, signed_by,
                            _cosignatures(ledger, stored, witnesses), None if previous is None else previous.size,
                            not problem, problem)


def _cosignatures(ledger: Ledger, stored: StoredCheckpoint, witnesses: dict[str, Verifier]) -> tuple[Cosigned, ...]:
    lines = ledger.storage.cosignatures(stored.size)
    if not lines:
        return ()
    try:
        note = Note.parse(stored.note + "".join(line if line.endswith("\n") else line + "\n" for line in lines))
    except Error:
        return ()
    own = {(v.name, bytes(v.key_hash)) for v in ledger.verifiers}
    by_key = {(v.name, bytes(v.key_hash)): name for name, v in witnesses.items()}
    found = []
    for signature in note.signatures:
        key = (signature.name, signature.key_hash)
        if key in own:
            continue
        name = by_key.get(key)
        verifier = None if name is None else witnesses[name]
        verified, at = False, None
        if verifier is not None:
            try:
                _, ok = open_note(stored.note + signature.line(), [verifier])
                verified = bool(ok)
                reading = getattr(verifier, "read_timestamp", None)
                stamp = reading(signature.payload) if callable(reading) else None
                at = int(stamp) * 1_000_000 if isinstance(stamp, int) and stamp > 0 else None
            except Error:
                verified = False
        found.append(Cosigned(name or signature.name, signature.key, at, verified))
    return tuple(found)
