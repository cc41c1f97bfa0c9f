"""The transparency log: signed contributions, an RFC 9162 Merkle tree, C2SP checkpoints, witnesses, proofs.

    signing      ``generate_key``, ``PrivateKey``, ``PublicKey``, ``sign_object``, ``read_signature``
    the log      ``Ledger`` (follows the store, keeps tiles, signs checkpoints), entries in ``_entry``
    proofs       ``_merkle`` (RFC 9162 section 2.1 as pure functions), ``bundle`` / ``verify_bundle``
    notes        ``_note`` (C2SP signed-note, tlog-checkpoint, tlog-cosignature, tlog-witness bodies)
"""

from ._keys import ED25519, HAVE_MLDSA, HYBRID, PrivateKey, PublicKey, generate_key, key_id_of
from ._log import Ledger, Proof
from ._signature import (
    EXTENSION_DEFINITION,
    EXTENSION_ID,
    PHALANX_IDENTITY,
    ObjectSignature,
    carries_signature,
    read_signature,
    sign_object,
    signed_message,
    unsigned,
)

__all__ = [
    "ED25519",
    "EXTENSION_DEFINITION",
    "EXTENSION_ID",
    "HAVE_MLDSA",
    "HYBRID",
    "PHALANX_IDENTITY",
    "Ledger",
    "ObjectSignature",
    "PrivateKey",
    "Proof",
    "PublicKey",
    "carries_signature",
    "generate_key",
    "key_id_of",
    "read_signature",
    "sign_object",
    "signed_message",
    "unsigned",
]
