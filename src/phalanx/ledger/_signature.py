"""Signed STIX objects: a signature that travels inside the object, in a STIX property extension.

The signature covers the RFC 8785 canonical JSON of the object without its signature block, that is without
``extensions[EXTENSION_ID]`` (and without ``extensions`` when nothing else is left in it). It therefore covers
``id``, ``modified``, ``created_by_ref``, the markings and every other property. The block is::

    "extensions": {"extension-definition--c480c8d4-9928-4994-96db-c94d6ff0b831": {
        "extension_type": "property-extension",
        "key": "phx1-...",                      # the signing key's id
        "ed25519": "<base64 signature>",
        "ml_dsa_44": "<base64 signature>"}}     # hybrid keys only: both must verify

Any STIX 2.1 consumer carries it unchanged; ``EXTENSION_DEFINITION`` is the published definition.
"""

from __future__ import annotations

__all__ = [
    "EXTENSION_DEFINITION",
    "EXTENSION_ID",
    "PHALANX_IDENTITY",
    "ObjectSignature",
    "carries_signature",
    "read_signature",
    "sign_object",
    "signature_block",
    "signed_message",
    "unsigned",
]

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidSignature
from ..stix import canonical
from ._base64 import decode, encode
from ._keys import PrivateKey

EXTENSION_ID = "extension-definition--c480c8d4-9928-4994-96db-c94d6ff0b831"
_MARKER = EXTENSION_ID.encode()
_BLOCK_PROPERTIES = {"extension_type", "key", "ed25519", "ml_dsa_44"}

PHALANX_IDENTITY: dict[str, Any] = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--fe9cc52c-ae8b-4868-88ef-d548bd822b03",
    "created": "2026-11-29T00:00:00.000Z",
    "modified": "2026-11-29T00:00:00.000Z",
    "name": "Phalanx",
    "identity_class": "organization",
    "description": "The Phalanx project: open-source software for collective cyber defense.",
}

EXTENSION_DEFINITION: dict[str, Any] = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": EXTENSION_ID,
    "created": "2026-11-29T00:00:00.000Z",
    "modified": "2026-11-29T00:00:00.000Z",
    "created_by_ref": PHALANX_IDENTITY["id"],
    "name": "Phalanx signature",
    "description": "A signature by the organization that contributed this object version.",
    "schema": (
        "Property extension. Properties: 'key' (string, required): the id of the signing key, published by the "
        "node the object was shared through; 'ed25519' (string, required): base64 of the Ed25519 signature "
        "(RFC 8032); 'ml_dsa_44' (string, required for hybrid keys): base64 of the ML-DSA-44 signature (FIPS 204, "
        "empty context). Both sign the RFC 8785 canonical JSON of the object without this extension (and without "
        "'extensions' when this is its only member)."
    ),
    "version": "1.0.0",
    "extension_types": ["property-extension"],
}


@dataclass(frozen=True, slots=True)
class ObjectSignature:
    """The signature block of one object, decoded, and the bytes it signs."""

    key_id: str
    ed25519: bytes
    ml_dsa_44: bytes | None
    message: bytes
    """The canonical JSON of the object without the block."""



def _without_block(obj: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or EXTENSION_ID not in extensions:
        return obj, None
    rest = {k: v for k, v in extensions.items() if k != EXTENSION_ID}
    unsigned = {k: v for k, v in obj.items() if k != "extensions"}
    if rest:
        unsigned["extensions"] = rest
    return unsigned, extensions[EXTENSION_ID]


def unsigned(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without its signature block: what a copy that is no longer the signed object must carry."""
    return _without_block(obj)[0]


def signed_message(obj: dict[str, Any]) -> bytes:
    """The bytes a signature of ``obj`` covers: its canonical JSON without the signature block."""
    return canonical(_without_block(obj)[0])


def sign_object(obj: dict[str, Any], key: PrivateKey) -> dict[str, Any]:
    """A copy of ``obj`` signed with ``key`` (any signature it had is replaced)."""
    unsigned, _ = _without_block(obj)
    ed, ml = key.sign(canonical(unsigned))
    block: dict[str, Any] = {"extension_type": "property-extension", "key": key.key_id,
                             "ed25519": encode(ed)}
    if ml is not None:
        block["ml_dsa_44"] = encode(ml)
    signed = dict(unsigned)
    signed["extensions"] = {**unsigned.get("extensions", {}), EXTENSION_ID: block}
    return signed


def signature_block(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The signature block as the ledger logs it (key and signatures), without checking it; None when unsigned."""
    block = _without_block(obj)[1]
    if not isinstance(block, dict):
        return None
    return {k: v for k, v in block.items() if k in ("key", "ed25519", "ml_dsa_44")}


def _decode(block: dict[str, Any], name: str, object_id: str) -> bytes:
    value = block.get(name)
    if not isinstance(value, str):
        raise InvalidSignature(f"{object_id}: the signature block has no {name!r} text")
    try:
        return decode(value)
    except ValueError as exc:
        raise InvalidSignature(f"{object_id}: the signature block's {name!r} {exc}") from None


def read_signature(obj: dict[str, Any]) -> ObjectSignature | None:
    """The signature ``obj`` carries (None when unsigned); raises ``InvalidSignature`` for a malformed block."""
    unsigned, block = _without_block(obj)
    if block is None:
        return None
    object_id = str(obj.get("id", "<no id>"))
    if not isinstance(block, dict) or not isinstance(block.get("key"), str):
        raise InvalidSignature(f"{object_id}: the signature block must be an object with a 'key'")
    # The block is not under the signature: so that no part of it can change unnoticed, it holds nothing else.
    extra = set(block) - _BLOCK_PROPERTIES
    if extra or block.get("extension_type") != "property-extension":
        raise InvalidSignature(f"{object_id}: the signature block holds only extension_type "
                               f"('property-extension'), key, ed25519 and ml_dsa_44"
                               + (f", not {', '.join(sorted(extra))}" if extra else ""))
    ml = _decode(block, "ml_dsa_44", object_id) if "ml_dsa_44" in block else None
    return ObjectSignature(block["key"], _decode(block, "ed25519", object_id), ml, canonical(unsigned))


def carries_signature(canonical_json: bytes) -> bool:
    """A fast test on stored canonical JSON: False means certainly unsigned."""
    return _MARKER in canonical_json
