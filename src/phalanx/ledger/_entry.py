"""Log entries: what one leaf of the ledger says, and its bytes (the leaf data the tree hashes).

An entry is a JSON object in RFC 8785 canonical form, so that anyone can rebuild its bytes from its fields:

* ``{"kind": "object", "id", "version", "digest", "contributor", "accepted", "signature"?}`` for every object
  version the node accepted: ``version`` is its ``modified`` (STIX timestamp), ``digest`` is ``sha256:`` and the
  hex SHA-256 of the object's canonical JSON (signature included), ``accepted`` is when the node first stored
  it, and ``signature`` (for signed objects) the signature block: ``key``, ``ed25519``, ``ml_dsa_44``?;
* ``{"kind": "key", "key", "org", "algorithm", "ed25519", "ml_dsa_44"?, "not_before", "not_after"?,
  "compromised_after"?, "accepted"}`` for every published signing key, and again whenever its times change.
"""

from __future__ import annotations

__all__ = ["entry_bytes", "key_entry", "object_entry", "read_entry"]

from typing import Any

import orjson

from ..errors import InvalidProof
from ..stix import canonical, format_micros
from ._keys import PublicKey
from ._signature import carries_signature, signature_block


def object_entry(*, object_id: str, version: int, digest: str, contributor: str, accepted: int,
                 canonical_json: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": "object", "id": object_id, "version": format_micros(version),
                             "digest": "sha256:" + digest, "contributor": contributor,
                             "accepted": format_micros(accepted)}
    if carries_signature(canonical_json):
        block = signature_block(orjson.loads(canonical_json))
        if block is not None:
            entry["signature"] = block
    return entry


def key_entry(key: PublicKey, *, accepted: int) -> dict[str, Any]:
    return {"kind": "key", **key.record(), "accepted": format_micros(accepted)}


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """The leaf data: RFC 8785 JSON of the entry. Its names are ASCII and its values text (or objects of text),
    for which orjson's sorted output is exactly RFC 8785: the reference path is skipped then."""
    plain = all(type(v) is str or (type(v) is dict and all(type(x) is str for x in v.values()))
                for v in entry.values())
    return canonical(entry, slow=not plain)


def read_entry(data: bytes) -> dict[str, Any]:
    try:
        entry = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidProof(f"a log entry is not JSON: {exc}") from exc
    if not isinstance(entry, dict) or entry.get("kind") not in ("object", "key"):
        raise InvalidProof("a log entry must be a JSON object of kind 'object' or 'key'")
    return entry
