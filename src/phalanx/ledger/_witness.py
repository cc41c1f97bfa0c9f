"""Witnessing (C2SP tlog-witness and tlog-cosignature): nodes cosign each other's checkpoints.

``Witness`` is this node as a witness of other logs. For each log it watches it keeps the latest checkpoint
it cosigned, and cosigns a new one only after checking, in the order of the specification:

1. the body is a well-formed ``add-checkpoint`` request (else 400);
2. the checkpoint's origin is a log it watches (else 404);
3. the checkpoint is signed by that log's key (else 403);
4. the old size is the size it cosigned last (else 409, answering that size);
5. the checkpoint extends that one: same root at the same size, a consistency proof that verifies otherwise
   (else 409 for a same-size fork, which is recorded as equivocation, or 422);
6. it records the new checkpoint (compare-and-set, so two requests never both advance from one state), then
   returns its cosignature line.

``Submitter`` is this node's log asking its witnesses: it sends each new checkpoint with a consistency proof from
the size that witness cosigned last, learns that size from a 409, and keeps the cosignature lines it gets back.
"""

from __future__ import annotations

__all__ = ["Submitter", "Witness", "WitnessRefusal"]

import hmac
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Conflict, Equivocation, Error, InvalidNote, InvalidProof, InvalidSignature, NotFound
from ..store._ledger import LedgerStorage, StoredCheckpoint, WitnessedLog
from ._merkle import EMPTY_ROOT, verify_consistency
from ._note import (
    Checkpoint,
    Note,
    Signer,
    add_signatures,
    format_add_checkpoint,
    open_note,
    parse_add_checkpoint,
    verifier_from_key,
)

_log = logging.getLogger("phalanx.ledger")


@dataclass(frozen=True, slots=True)
class WitnessRefusal(Exception):
    """The witness's answer when it does not cosign: an HTTP status, a reason, and the body to send."""

    status: int
    reason: str
    body: str = ""


class Witness:
    def __init__(self, storage: LedgerStorage, cosigner: Signer) -> None:
        self._storage = storage
        self.cosigner = cosigner
        self.equivocations: list[Equivocation] = []

    def watch(self, origin: str, vkeys: list[str]) -> None:
        """Start witnessing the log ``origin`` whose checkpoints its keys ``vkeys`` sign (every one required)."""
        for key in vkeys:
            verifier_from_key(key)  # refuse a key that cannot be read now, not at the first checkpoint
        self._storage.set_witnessed(WitnessedLog(origin, "\n".join(vkeys), 0, EMPTY_ROOT, ""), previous_size=None)

    def add_checkpoint(self, body: bytes) -> str:
        """Cosign the checkpoint of a tlog-witness request; return the cosignature line, or raise WitnessRefusal."""
        # 1. A well-formed request.
        try:
            old_size, proof, note = parse_add_checkpoint(body)
            checkpoint = Checkpoint.parse(Note.parse(note).text)
        except InvalidNote as exc:
            raise WitnessRefusal(400, exc.message) from exc
        # 2. A log this witness watches.
        try:
            known = self._storage.witnessed(checkpoint.origin)
        except NotFound as exc:
            raise WitnessRefusal(404, exc.message) from exc
        # 3. Signed by every key of that log.
        verifiers = [verifier_from_key(k) for k in known.vkey.split("\n")]
        try:
            _, signed_by = open_note(note, verifiers)
        except (InvalidNote, InvalidSignature) as exc:
            raise WitnessRefusal(403, exc.message) from exc
        if len(signed_by) != len(verifiers):
            raise WitnessRefusal(403, "the checkpoint lacks a signature by one of the log's keys")
        # 4. From the size this witness cosigned last.
        if old_size != known.size:
            raise WitnessRefusal(409, f"this witness last cosigned size {known.size}, not {old_size}",
                                 f"{known.size}\n")
        # 5. An extension of that checkpoint.
        if checkpoint.size == known.size:
            # The root this witness holds for that size: the last one it cosigned, or the empty tree's at first.
            if not hmac.compare_digest(checkpoint.root, known.root):
                if not known.note:
                    raise WitnessRefusal(409, f"a tree of size {checkpoint.size} has another root")
                evidence = Equivocation(
                    f"the log {checkpoint.origin!r} signed two different trees of size {checkpoint.size}",
                    first=known.note, second=note)
                self.equivocations.append(evidence)
                _log.error("equivocation: %s\n--- first ---\n%s--- second ---\n%s", evidence.message, known.note, note)
                raise WitnessRefusal(409, evidence.message, f"{known.size}\n")
        else:
            try:
                verify_consistency(known.size, checkpoint.size, known.root, checkpoint.root, proof)
            except InvalidProof as exc:
                raise WitnessRefusal(422, exc.message) from exc
        # 6. Record it, then cosign.
        try:
            self._storage.set_witnessed(
                WitnessedLog(known.origin, known.vkey, checkpoint.size, checkpoint.root, note),
                previous_size=known.size)
        except Conflict as exc:
            raise WitnessRefusal(409, exc.message, f"{self._storage.witnessed(checkpoint.origin).size}\n") from exc
        signatures = Note.parse(add_signatures(note, self.cosigner)).signatures
        return "".join(s.line() for s in signatures if s.key_hash == self.cosigner.key_hash)


Post = Callable[[str, bytes], tuple[int, bytes]]
"""Send a request body to a URL; return the status and the response body (the network, replaceable)."""


_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)


def http_post(url: str, body: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


class Submitter:
    """This log's side: hand each new checkpoint to the configured witnesses and keep their cosignatures."""

    def __init__(self, storage: LedgerStorage, consistency: Callable[[int, int], list[bytes]],
                 post: Post = http_post, clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._consistency = consistency
        self._post = post
        self._clock = clock
        self._retry: dict[str, tuple[float, float]] = {}  # witness -> (not before, next delay)

    def submit(self, checkpoint: StoredCheckpoint) -> dict[str, str]:
        """Ask every witness that has not cosigned this checkpoint to do so; return, per witness asked, "ok" or
        why it did not. A witness that failed is asked again after a delay that doubles each time (1 s to 5
        minutes), so that one that is down never holds the log up."""
        outcome: dict[str, str] = {}
        for name, url, vkey, size in self._storage.witnesses():
            if size >= checkpoint.size or self._clock() < self._retry.get(name, (0.0, 0.0))[0]:
                continue
            try:
                outcome[name] = self._one(checkpoint, name, url, vkey, size)
            except (Error, OSError, ValueError) as exc:
                outcome[name] = f"unreachable: {exc}"
            if outcome[name] == "ok":
                self._retry.pop(name, None)
            else:
                delay = self._retry.get(name, (0.0, 0.5))[1] * 2
                self._retry[name] = (self._clock() + delay, min(delay, 300.0))
                _log.warning("witness %s did not cosign checkpoint %d: %s", name, checkpoint.size, outcome[name])
        return outcome

    def _one(self, checkpoint: StoredCheckpoint, name: str, url: str, vkey: str, old: int) -> str:
        verifier = verifier_from_key(vkey)
        for _ in range(2):  # a 409 tells the size the witness has: try once more from there
            if old > checkpoint.size:
                return f"the witness has a newer checkpoint (size {old}) than this one"
            body = format_add_checkpoint(old, self._consistency(old, checkpoint.size) if old else [],
                                         checkpoint.note)
            status, answer = self._post(url.rstrip("/") + "/add-checkpoint", body)
            if status == 409:
                told = answer.decode(errors="replace").strip()
                if not _DECIMAL.fullmatch(told):
                    return f"409 Conflict: {answer[:200]!r}"
                old = int(told)
                continue
            if status != 200:
                return f"{status}: {answer[:200].decode(errors='replace')}"
            # Keep only this witness's own lines: anything else it sends (a line in the log's name, say) would
            # be served with the checkpoint and could make every verifier refuse it.
            try:
                theirs = [s.line() for s in Note.parse(checkpoint.note + answer.decode()).signatures
                          if s.name == verifier.name and s.key_hash == verifier.key_hash]
            except (InvalidNote, UnicodeDecodeError) as exc:
                return f"its answer is not a cosignature: {exc}"
            lines = theirs[-1:]
            try:
                open_note(checkpoint.note + "".join(lines), [verifier])
            except (InvalidNote, InvalidSignature) as exc:
                return f"its answer does not verify with its key: {exc.message}"
            self._storage.add_cosignature(checkpoint.size, name, "".join(lines))
            self._storage.witness_progress(name, checkpoint.size)
            return "ok"
        return "the witness keeps answering 409 Conflict"
