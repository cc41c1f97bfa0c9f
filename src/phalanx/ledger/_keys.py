"""Organizations' signing keys: Ed25519, or a hybrid of Ed25519 and ML-DSA-44 (FIPS 204) where both must verify.

A ``PublicKey`` is what a node publishes and logs: the key material, the organization it speaks for, and the
times that bound its use (``not_before``, ``not_after``, ``compromised_after``; microseconds since the epoch).
A ``PrivateKey`` lives with the member (a key file) or, for members that opt in, with the hub (custodial).

The key id binds the material to its organization: ``phx1-`` and the first 16 bytes (hex) of SHA-256(
"phalanx-signing-key/v1\\n" || algorithm || "\\n" || organization || "\\n" || Ed25519 public key || ML-DSA-44
public key). Another organization that publishes the same public key gets another id, which no signature names.
"""

from __future__ import annotations

__all__ = [
    "ED25519",
    "HAVE_MLDSA",
    "HYBRID",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "key_id_of",
]

import functools
import hashlib
from dataclasses import dataclass, replace
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..errors import InvalidSignature, KeyNotValid, UnreadableInput
from ..stix import format_micros, parse_micros
from ._base64 import decode, encode
from ._ed25519 import is_weak

try:
    from cryptography.hazmat.primitives.asymmetric import mldsa as _mldsa

    HAVE_MLDSA = True
except ImportError:  # pragma: no cover - depends on the cryptography build
    HAVE_MLDSA = False

ED25519 = "ed25519"
HYBRID = "ed25519+ml-dsa-44"
_ALGORITHMS = (ED25519, HYBRID)
_FILE_TYPE = "phalanx-signing-key"


# The cryptography key objects, made once per key: building one from its bytes costs a third of a signature.
@functools.lru_cache(maxsize=1024)
def _ed25519_public(raw: bytes) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


@functools.lru_cache(maxsize=1024)
def _mldsa_public(raw: bytes) -> Any:
    return _mldsa.MLDSA44PublicKey.from_public_bytes(raw)


@functools.lru_cache(maxsize=64)
def _ed25519_private(seed: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


@functools.lru_cache(maxsize=64)
def _mldsa_private(seed: bytes) -> Any:
    return _mldsa.MLDSA44PrivateKey.from_seed_bytes(seed)


def key_id_of(algorithm: str, org: str, ed25519_public: bytes, ml_dsa_public: bytes | None) -> str:
    material = (b"phalanx-signing-key/v1\n" + algorithm.encode() + b"\n" + org.encode() + b"\n" + ed25519_public
                + (ml_dsa_public or b""))
    return "phx1-" + hashlib.sha256(material).digest()[:16].hex()


def _unb64(text: object, what: str) -> bytes:
    try:
        return decode(text)
    except ValueError as exc:
        raise UnreadableInput(f"{what} {exc}") from None


def _require_mldsa() -> None:
    if not HAVE_MLDSA:
        raise KeyNotValid("this build of the cryptography package has no ML-DSA-44",
                          hint="Install cryptography 47 or newer (built against OpenSSL 3.5+), or use Ed25519 keys.")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A published signing key of one organization, and when it may be used."""

    key_id: str
    org: str
    """The organization's STIX identity id."""
    algorithm: str
    ed25519: bytes
    ml_dsa_44: bytes | None
    not_before: int
    not_after: int | None = None
    compromised_after: int | None = None
    """Signatures the log accepted at or after this time are refused; earlier ones still verify."""

    def check_time(self, at: int) -> None:
        """Raise ``KeyNotValid`` unless a signature accepted at ``at`` (microseconds) may use this key."""
        if self.compromised_after is not None and at >= self.compromised_after:
            raise KeyNotValid(f"key {self.key_id} of {self.org} was reported compromised at "
                              f"{format_micros(self.compromised_after)}; this signature dates from "
                              f"{format_micros(at)}")
        if at < self.not_before:
            raise KeyNotValid(f"key {self.key_id} is valid from {format_micros(self.not_before)}, "
                              f"not at {format_micros(at)}")
        if self.not_after is not None and at >= self.not_after:
            raise KeyNotValid(f"key {self.key_id} expired at {format_micros(self.not_after)}")

    def verify(self, message: bytes, ed25519_signature: bytes, ml_dsa_signature: bytes | None) -> None:
        """Raise ``InvalidSignature`` unless every signature this key's algorithm requires verifies (and no other
        is carried: nothing in a signed object goes unchecked)."""
        if self.algorithm == ED25519 and ml_dsa_signature is not None:
            raise InvalidSignature(f"key {self.key_id} is Ed25519 only: the block must not carry an ML-DSA-44 "
                                   "signature")
        try:
            _ed25519_public(self.ed25519).verify(ed25519_signature, message)
        except (_CryptoInvalidSignature, ValueError) as exc:
            raise InvalidSignature(f"the Ed25519 signature does not verify with key {self.key_id}") from exc
        if self.algorithm == HYBRID:
            if ml_dsa_signature is None:
                raise InvalidSignature(f"key {self.key_id} is hybrid: the ML-DSA-44 signature is missing")
            _require_mldsa()
            try:
                _mldsa_public(self.ml_dsa_44 or b"").verify(ml_dsa_signature, message)
            except (_CryptoInvalidSignature, ValueError) as exc:
                raise InvalidSignature(f"the ML-DSA-44 signature does not verify with key {self.key_id}") from exc

    def record(self) -> dict[str, Any]:
        """The JSON form: what is published, logged, and carried in proof bundles."""
        out: dict[str, Any] = {"key": self.key_id, "org": self.org, "algorithm": self.algorithm,
                               "ed25519": encode(self.ed25519), "not_before": format_micros(self.not_before)}
        if self.ml_dsa_44 is not None:
            out["ml_dsa_44"] = encode(self.ml_dsa_44)
        if self.not_after is not None:
            out["not_after"] = format_micros(self.not_after)
        if self.compromised_after is not None:
            out["compromised_after"] = format_micros(self.compromised_after)
        return out

    @classmethod
    def from_record(cls, record: object) -> PublicKey:
        """Read the JSON form back, checking that the key id matches the material."""
        if not isinstance(record, dict):
            raise UnreadableInput("a public key record must be a JSON object")
        try:
            algorithm = record["algorithm"]
            if algorithm not in _ALGORITHMS:
                raise UnreadableInput(f"unknown key algorithm {algorithm!r}: expected one of {', '.join(_ALGORITHMS)}")
            ed = _unb64(record["ed25519"], "ed25519")
            ml = _unb64(record["ml_dsa_44"], "ml_dsa_44") if "ml_dsa_44" in record else None
            key = cls(
                key_id=str(record["key"]), org=str(record["org"]), algorithm=algorithm, ed25519=ed, ml_dsa_44=ml,
                not_before=parse_micros(record["not_before"]),
                not_after=parse_micros(record["not_after"]) if record.get("not_after") else None,
                compromised_after=(parse_micros(record["compromised_after"])
                                   if record.get("compromised_after") else None),
            )
        except KeyError as exc:
            raise UnreadableInput(f"a public key record needs {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise UnreadableInput(f"cannot read the public key record: {exc}") from exc
        if len(ed) != 32 or (algorithm == HYBRID) != (ml is not None):
            raise UnreadableInput(f"key {key.key_id}: the key material does not fit the algorithm {algorithm}")
        if is_weak(ed):
            raise UnreadableInput(f"key {key.key_id}: the Ed25519 public key is a small-order point (or no point): "
                                  "signatures with it prove nothing")
        if not key.org.startswith("identity--"):
            raise UnreadableInput(f"key {key.key_id}: 'org' must be the organization's STIX identity id")
        if key_id_of(algorithm, key.org, ed, ml) != key.key_id:
            raise UnreadableInput(f"key {key.key_id}: the id does not match the key material")
        return key


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A signing key: its public half and the secret material. ``sign`` returns the signatures the algorithm needs."""

    public: PublicKey
    ed25519_seed: bytes
    ml_dsa_seed: bytes | None

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> tuple[bytes, bytes | None]:
        ed = _ed25519_private(self.ed25519_seed).sign(message)
        if self.ml_dsa_seed is None:
            return ed, None
        _require_mldsa()
        return ed, _mldsa_private(self.ml_dsa_seed).sign(message)

    def to_file(self) -> bytes:
        """The key file a member keeps (secret: whoever holds it signs as the organization)."""
        record = self.public.record()
        record["type"] = _FILE_TYPE
        record["ed25519_private"] = encode(self.ed25519_seed)
        if self.ml_dsa_seed is not None:
            record["ml_dsa_44_private"] = encode(self.ml_dsa_seed)
        return orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_file(cls, data: bytes) -> PrivateKey:
        try:
            record = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UnreadableInput(f"not a Phalanx key file (not JSON: {exc})",
                                  hint="Make one with 'phalanx keys generate --org ORG --out FILE'.") from exc
        if not isinstance(record, dict) or record.get("type") != _FILE_TYPE:
            raise UnreadableInput("not a Phalanx key file", hint="Make one with 'phalanx keys generate'.")
        public = PublicKey.from_record(record)
        ed = _unb64(record.get("ed25519_private"), "ed25519_private")
        ml = _unb64(record["ml_dsa_44_private"], "ml_dsa_44_private") if "ml_dsa_44_private" in record else None
        key = cls(public, ed, ml)
        if ed25519.Ed25519PrivateKey.from_private_bytes(ed).public_key().public_bytes_raw() != public.ed25519:
            raise UnreadableInput(f"key file {public.key_id}: the private key does not match the public key")
        return key

    def with_times(self, *, not_before: int | None = None, not_after: int | None = None) -> PrivateKey:
        public = replace(self.public, not_before=self.public.not_before if not_before is None else not_before,
                         not_after=not_after)
        return replace(self, public=public)


def generate_key(org: str, *, now: int, hybrid: bool = False, days: float | None = None) -> PrivateKey:
    """A new signing key for ``org``, valid from ``now`` (for ``days`` if given)."""
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_seed = ed.private_bytes_raw()
    ed_public = ed.public_key().public_bytes_raw()
    ml_seed: bytes | None = None
    ml_public: bytes | None = None
    if hybrid:
        _require_mldsa()
        ml = _mldsa.MLDSA44PrivateKey.generate()
        ml_seed = ml.private_bytes_raw()
        ml_public = ml.public_key().public_bytes_raw()
    algorithm = HYBRID if hybrid else ED25519
    public = PublicKey(key_id_of(algorithm, org, ed_public, ml_public), org, algorithm, ed_public, ml_public,
                       not_before=now, not_after=None if days is None else now + int(days * 86_400_000_000))
    return PrivateKey(public, ed_seed, ml_seed)
