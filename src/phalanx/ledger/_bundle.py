"""Offline proof bundles: everything needed to check one object version with no access to the node.

A bundle is a JSON object::

    {"type": "phalanx-proof-bundle", "version": 1,
     "object": {...},                      # the STIX object, as stored (signature block included)
     "entry": {...}, "index": N, "proof": ["<base64>", ...],        # its log entry and inclusion proof
     "key": {"entry": {...}, "index": K, "proof": [...]},           # the signing key's latest log entry (signed only)
     "checkpoint": "<signed note>"}        # the log's checkpoint, with the witnesses' cosignature lines

A ``Trust`` is what the verifier already believes, obtained out of band: the log's origin and public keys,
the witnesses' public keys, and how many of those must have cosigned. ``verify_bundle`` follows numbered steps;
each failure raises an error named by its cause. It is a pure function of the bundle and the trust.
"""

from __future__ import annotations

__all__ = ["Trust", "Verified", "check_equivocation", "make_bundle", "verify_bundle", "verify_checkpoint"]

import hmac
from dataclasses import dataclass, field
from typing import Any

from ..errors import Equivocation, InvalidNote, InvalidProof, InvalidSignature, UnreadableInput
from ..stix import canonical, digest, format_micros, parse_micros
from ..stix._json import measure
from ._base64 import decode, encode
from ._entry import entry_bytes
from ._keys import PublicKey
from ._merkle import leaf_hash, verify_inclusion
from ._note import Checkpoint, open_note, verifier_from_key
from ._signature import read_signature, signature_block

BUNDLE_TYPE = "phalanx-proof-bundle"
_MAX_DEPTH = 200  # far beyond any STIX object a node takes (max_depth), far below what recursion would bear


@dataclass(frozen=True, slots=True)
class Trust:
    """What a verifier trusts before it looks at a bundle: the log and its witnesses."""

    origin: str
    log_keys: tuple[str, ...]
    """C2SP note verifier keys of the log: every one must have signed the checkpoint (Ed25519, and ML-DSA-44
    when the log is hybrid)."""
    witness_keys: tuple[str, ...] = ()
    quorum: int = 0
    """How many of the witnesses must have cosigned the checkpoint."""

    def record(self) -> dict[str, Any]:
        return {"type": "phalanx-trust", "origin": self.origin, "log_keys": list(self.log_keys),
                "witness_keys": list(self.witness_keys), "quorum": self.quorum}

    @classmethod
    def from_record(cls, record: object) -> Trust:
        if not isinstance(record, dict) or record.get("type") != "phalanx-trust":
            raise UnreadableInput("not a Phalanx trust file",
                                  hint="Get one from the node's operator ('phalanx ledger trust').")
        try:
            trust = cls(str(record["origin"]), tuple(str(k) for k in record["log_keys"]),
                        tuple(dict.fromkeys(str(k) for k in record.get("witness_keys", ()))),
                        int(record.get("quorum", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableInput(f"cannot read the trust file: {exc}") from exc
        if not trust.log_keys:
            raise UnreadableInput("the trust file names no log key")
        if not 0 <= trust.quorum <= len(trust.witness_keys):
            raise UnreadableInput(f"the trust file asks for {trust.quorum} of {len(trust.witness_keys)} witnesses")
        return trust


@dataclass(frozen=True, slots=True)
class Verified:
    """What a bundle proved."""

    object_id: str
    version: str
    digest: str
    accepted: str
    index: int
    size: int
    origin: str
    signer: str | None
    """The organization whose key signed the object (None: unsigned)."""
    key_id: str | None
    witnesses: tuple[str, ...] = field(default=())
    """The names of the trusted witnesses that cosigned the checkpoint."""


def _b64s(values: list[bytes]) -> list[str]:
    return [encode(v) for v in values]


def make_bundle(obj: dict[str, Any], entry: dict[str, Any], index: int, proof: list[bytes], checkpoint: str,
                key: tuple[dict[str, Any], int, list[bytes]] | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"type": BUNDLE_TYPE, "version": 1, "object": obj, "entry": entry, "index": index,
                              "proof": _b64s(proof), "checkpoint": checkpoint}
    if key is not None:
        bundle["key"] = {"entry": key[0], "index": key[1], "proof": _b64s(key[2])}
    return bundle


def _proof(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise UnreadableInput(f"the bundle's {what} must be a list of base64 hashes")
    try:
        return [decode(v) for v in value]
    except ValueError as exc:
        raise UnreadableInput(f"a hash in the bundle's {what} {exc}") from None


def _index(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UnreadableInput(f"the bundle's {what} must be a whole number")
    return value


def _time(value: object, what: str) -> int:
    try:
        return parse_micros(str(value))
    except ValueError as exc:
        raise InvalidProof(f"the {what} is not a timestamp: {exc}") from None


def verify_checkpoint(note: str, trust: Trust) -> tuple[Checkpoint, tuple[str, ...]]:
    """Steps 2 to 4 of ``verify_bundle``, on their own: the checkpoint and the witnesses that cosigned it."""
    log_verifiers = [verifier_from_key(k) for k in trust.log_keys]
    # 2. Every key of the log must have signed the checkpoint (a hybrid log: Ed25519 and ML-DSA-44).
    opened, signed_by = open_note(note, log_verifiers)
    missing = [v.name for v in log_verifiers if v not in signed_by]
    if missing:
        raise InvalidSignature(f"the checkpoint lacks a signature by {len(missing)} of the log's keys")
    # 3. The checkpoint is of the log the verifier trusts.
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != trust.origin:
        raise InvalidNote(f"the checkpoint is of the log {checkpoint.origin!r}, not {trust.origin!r}")
    # 4. At least ``quorum`` of the trusted witnesses cosigned this checkpoint.
    witnesses: list[str] = []
    for key in dict.fromkeys(trust.witness_keys):  # a witness listed twice counts once
        verifier = verifier_from_key(key)
        if verifier.name in witnesses:
            continue
        try:
            open_note(note, [verifier])  # raises unless this witness's line is there and verifies
        except (InvalidNote, InvalidSignature):
            continue
        witnesses.append(verifier.name)
    if len(witnesses) < trust.quorum:
        raise InvalidSignature(f"the checkpoint carries {len(witnesses)} trusted witness cosignatures; "
                               f"{trust.quorum} are required",
                               hint="Ask the node for a newer checkpoint once its witnesses have cosigned it.")
    return checkpoint, tuple(witnesses)


def verify_bundle(bundle: object, trust: Trust) -> Verified:
    """Check a proof bundle against what the verifier trusts; raise an error named by the cause, or return what
    the bundle proves."""
    # 1. The bundle is one, and whole.
    if not isinstance(bundle, dict) or bundle.get("type") != BUNDLE_TYPE or bundle.get("version") != 1:
        raise UnreadableInput("not a Phalanx proof bundle (version 1)",
                              hint="Get one with 'phalanx ledger prove --object ID --out FILE'.")
    depth, _ = measure(bundle)  # iterative: a hostile nesting is refused before anything recursive sees it
    if depth > _MAX_DEPTH:
        raise UnreadableInput(f"the bundle nests {depth} levels deep; a STIX object takes at most {_MAX_DEPTH - 2}")
    obj, entry = bundle.get("object"), bundle.get("entry")
    if not isinstance(obj, dict) or not isinstance(entry, dict) or not isinstance(bundle.get("checkpoint"), str):
        raise UnreadableInput("the bundle needs an object, its entry and a checkpoint")
    index, proof = _index(bundle.get("index"), "index"), _proof(bundle.get("proof"), "proof")
    # 2-4. The checkpoint: signed by the log, of the trusted log, cosigned by enough witnesses.
    checkpoint, witnesses = verify_checkpoint(bundle["checkpoint"], trust)
    # 5. The entry describes this object: its id, its version and the digest of its canonical JSON.
    text = canonical(obj)
    version = obj.get("modified") or obj.get("created")
    if entry.get("kind") != "object" or entry.get("id") != obj.get("id") or entry.get("digest") != (
            "sha256:" + digest(text)):
        raise InvalidProof("the log entry does not describe this object (id or digest differ): the object was "
                           "changed after the node logged it")
    if version is not None and _time(entry.get("version"), "entry's version") != _time(version, "object's version"):
        raise InvalidProof("the log entry names another version of the object")
    # 6. The entry is in the tree the checkpoint commits to (RFC 9162 2.1.3.2).
    verify_inclusion(index, checkpoint.size, leaf_hash(entry_bytes(entry)), proof, checkpoint.root)
    # 7. The signature, if any: the one logged, by a key logged in the same tree, valid when the log accepted it.
    signature = read_signature(obj)
    if (signature is None) != ("signature" not in entry):
        raise InvalidProof("the object's signature and the logged one differ")
    signer = key_id = None
    if signature is not None:
        if entry["signature"] != signature_block(obj):
            raise InvalidProof("the object's signature and the logged one differ")
        key_part = bundle.get("key")
        if not isinstance(key_part, dict) or not isinstance(key_part.get("entry"), dict):
            raise UnreadableInput("the object is signed but the bundle carries no key entry")
        key_entry = key_part["entry"]
        verify_inclusion(_index(key_part.get("index"), "key index"), checkpoint.size,
                         leaf_hash(entry_bytes(key_entry)), _proof(key_part.get("proof"), "key proof"),
                         checkpoint.root)
        if key_entry.get("kind") != "key":
            raise InvalidProof("the bundle's key entry is not a key")
        key = PublicKey.from_record({k: v for k, v in key_entry.items() if k not in ("kind", "accepted")})
        if key.key_id != signature.key_id:
            raise InvalidProof(f"the bundle carries key {key.key_id}, the object names {signature.key_id}")
        key.verify(signature.message, signature.ed25519, signature.ml_dsa_44)
        key.check_time(_time(entry.get("accepted"), "entry's acceptance time"))
        if obj.get("created_by_ref") not in (None, key.org):
            raise InvalidSignature(f"the object names {obj.get('created_by_ref')} as its creator but is signed "
                                   f"with a key of {key.org}")
        signer, key_id = key.org, key.key_id
    return Verified(str(obj["id"]), format_micros(_time(entry.get("version"), "entry's version")),
                    str(entry["digest"]),
                    str(entry["accepted"]), index, checkpoint.size, checkpoint.origin, signer, key_id, witnesses)


def check_equivocation(first: str, second: str, trust: Trust) -> None:
    """Raise ``Equivocation`` (with both notes as evidence) when two checkpoints the log signed give one size
    two roots. Checkpoints of different sizes need a consistency proof instead (``verify_consistency``)."""
    a, _ = verify_checkpoint(first, Trust(trust.origin, trust.log_keys))
    b, _ = verify_checkpoint(second, Trust(trust.origin, trust.log_keys))
    if a.size == b.size and not hmac.compare_digest(a.root, b.root):
        raise Equivocation(f"the log {a.origin!r} signed two different trees of size {a.size}: it showed "
                           "different histories to different parties", first=first, second=second)

