"""Signed notes, checkpoints, cosignatures and the witness ``add-checkpoint`` bodies (C2SP). Pure: no I/O.

The formats, as the C2SP specifications define them (c2sp.org; the text is in github.com/C2SP/C2SP):

* **signed-note** - a note is a UTF-8 text that ends in a newline, then a blank line, then one or more signature
  lines ``— <key name> <base64(4-byte key hash || signature)>`` (U+2014 em dash, space). The text may hold empty
  lines: the *last* blank line separates it from the signatures. No ASCII control character but the newline may
  appear. Key names are non-empty and hold no Unicode space and no ``+``. The key hash of a key is
  ``SHA-256(key name || 0x0A || signature type || public key)[:4]``. Key strings are those of
  golang.org/x/mod/sumdb/note: ``<name>+<hex key hash>+<base64(type || public key)>`` for verifiers and
  ``PRIVATE+KEY+<name>+<hex key hash>+<base64(type || private key)>`` for signers.
  Verifiers ignore lines whose (name, key hash) they do not know; a line from a known key must verify
  (``open_note`` refuses the whole note otherwise), and at least one known key must have signed.
* **tlog-checkpoint** - the note text of a checkpoint: the origin line, the tree size in decimal without leading
  zeros, the base64 root hash (32 bytes, RFC 6962 SHA-256), then optional non-empty extension lines.
* **tlog-cosignature** - a witness's timestamped signature on a checkpoint. The signature line's bytes after the
  key hash are an 8-byte big-endian POSIX timestamp (at most 2^63 - 1) and the signature.

Signature types (the byte in key hashes and key strings; signed-note "Signature types", tlog-cosignature):

* ``0x01`` Ed25519 over the note text (``Ed25519NoteSigner``, ``Ed25519NoteVerifier``).
* ``0x04`` Ed25519 cosignature/v1 (``CosignatureSigner``, ``CosignatureVerifier``). The signed message is
  ``"cosignature/v1\\n" "time <timestamp>\\n"`` followed by the whole checkpoint text.
* ``0x06`` ML-DSA-44 cosignature (``MLDSA44NoteSigner``, ``MLDSA44NoteVerifier``).

**ML-DSA-44: the choice.** C2SP assigns ML-DSA-44 a type: tlog-cosignature defines ``0x06`` ML-DSA-44
cosignatures (key hash over the 1312-byte public key; the payload is the 8-byte timestamp and the 2420-byte
signature), and the revision of tlog-checkpoint that names them says logs SHOULD use them. transparency-dev/formats
(``note/note_cosigv1.go``, ``algMLDSA44 = 6``) and filippo.io/torchwood implement it, with the private key
encoded as its 32-byte FIPS 204 seed. So this module uses ``0x06`` and not the experimental ``0xff``. As the
specification has it, an ML-DSA-44 signature does not sign the note text but the binary ``cosigned_message``::

    "subtree/v1\\n\\0" || u8 len || cosigner name || u64 timestamp || u8 len || origin || u64 start || u64 end
    || 32-byte root hash                                  (pure ML-DSA-44, FIPS 204, empty context)

with ``start = 0`` and ``end`` the tree size for a checkpoint. Hence ML-DSA-44 signs checkpoints only, and since
it does not cover extension lines, this module neither makes nor accepts an ML-DSA-44 signature on a checkpoint
that has them (the note text would carry lines no signature vouches for). ``verify_subtree``/``sign_subtree``
reach the subtree form (``start > 0``, timestamp 0). ``HAVE_MLDSA`` says whether the installed ``cryptography``
has ML-DSA; without it the ML-DSA classes raise ``InvalidNote`` when built.

Limits: a note has at most ``MAX_SIGNATURES`` (100, as sumdb/note; the specification asks for at least 16)
signature lines and ``MAX_NOTE_BYTES`` (1 MiB) in all. Base64 is the standard alphabet with padding and must be
canonical, so that one note has one encoding and no bit of a signed note can change unnoticed.

**tlog-witness** ``POST <submission prefix>/add-checkpoint`` (``format_add_checkpoint``,
``parse_add_checkpoint``). The request body is ``old <size>\\n`` (decimal, no leading zeros), at most 63
consistency proof lines (one base64 hash each; none when the old size is 0), an empty line, then the signed
checkpoint. The response statuses the specification assigns (the parsing here is only the form of the body):

* **404 Not Found** - the checkpoint's origin is not a log the witness knows.
* **403 Forbidden** - no signature verifies against a key the witness trusts for that origin
  (``open_note`` raises ``InvalidNote``; ``InvalidSignature`` when a trusted key's line does not verify).
* **400 Bad Request** - the old size is larger than the checkpoint size (``parse_add_checkpoint`` refuses it, and
  any other malformed body, with ``InvalidNote``).
* **409 Conflict** - the old size is not the size of the latest checkpoint the witness cosigned for the origin
  (zero if none). The body is that size in decimal and a newline, ``Content-Type: text/x.tlog.size``; a client
  with no idea may send old size 0 to learn it. Also 409 when the old size equals the checkpoint size but the
  root hashes differ.
* **422 Unprocessable Entity** - the consistency proof (RFC 6962 / c2sp.org/merkle-tree) does not verify.
  The witness MAY keep such a request as evidence of log misbehaviour, but MUST NOT cosign.
* **200** - the witness persisted the checkpoint (atomically with the old-size check) and answers one or more
  signature lines (its cosignatures), which the client may append to the checkpoint and open with ``open_note``.
"""

from __future__ import annotations

__all__ = [
    "HAVE_MLDSA",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "MLDSA44NoteSigner",
    "MLDSA44NoteVerifier",
    "Note",
    "Signature",
    "Signer",
    "Verifier",
    "add_signatures",
    "format_add_checkpoint",
    "generate_ed25519",
    "generate_mldsa44",
    "open_note",
    "parse_add_checkpoint",
    "sign_note",
    "signer_from_key",
    "verifier_from_key",
]

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..errors import InvalidNote, InvalidSignature
from ._base64 import decode, encode
from ._ed25519 import is_weak

try:
    from cryptography.hazmat.primitives.asymmetric import mldsa as _mldsa

    _mldsa.MLDSA44PrivateKey.from_seed_bytes(bytes(32))  # the module can exist while the OpenSSL build lacks it
    HAVE_MLDSA = True
except (ImportError, UnsupportedAlgorithm):  # pragma: no cover - depends on the cryptography build
    HAVE_MLDSA = False

MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20

_TYPE_ED25519 = 0x01
_TYPE_COSIGNATURE_V1 = 0x04
_TYPE_MLDSA44 = 0x06
_ED25519_KEY = 32
_ED25519_SIGNATURE = 64
_MLDSA44_PUBLIC = 1312
_MLDSA44_SIGNATURE = 2420
_SEED = 32
_TIMESTAMP = 8
_HASH = 32
_MAX_U64 = (1 << 64) - 1
_MAX_TIMESTAMP = (1 << 63) - 1
_MAX_PROOF_LINES = 63
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_DASH = "— "
_SUBTREE_LABEL = b"subtree/v1\n\x00"

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX_HASH = re.compile(r"[0-9a-fA-F]{8}")
_OLD_LINE = re.compile(rb"old (0|[1-9][0-9]{0,19})")

_KEY_HINT = ("Check the key string: a verifier key is <name>+<8 hex digits>+<base64 key>, a signer key starts with "
             "PRIVATE+KEY+ (golang.org/x/mod/sumdb/note).")
_CLOCK_HINT = "The signer's clock must return whole seconds since the Unix epoch, between 0 and 2^63 - 1."


# -- small checks and encodings ---------------------------------------------------------------------------------


def _unb64(text: str, what: str, hint: str | None = None) -> bytes:
    """Canonical standard base64 (RFC 4648 section 4, padded). Never echoes the text: it may be a private key."""
    try:
        return decode(text)
    except ValueError as exc:
        raise InvalidNote(f"{what} {exc}", hint=hint) from None


def _check_utf8(text: str, what: str) -> None:
    bad = _SURROGATE.search(text)
    if bad is not None:
        raise InvalidNote(f"{what} is not valid Unicode: a lone surrogate at offset {bad.start()}")


def _check_name(name: object, what: str = "the key name") -> str:
    if not isinstance(name, str):
        raise InvalidNote(f"{what} must be text, not {type(name).__name__}")
    if not name:
        raise InvalidNote(f"{what} is empty")
    _check_utf8(name, what)
    for char in name:
        if char == "+" or char.isspace() or ord(char) < 0x20:
            raise InvalidNote(f"{what} {name!r} holds {char!r}: key names hold no space, '+' or control character")
    return name


def _check_line(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidNote(f"{what} must be text, not {type(value).__name__}")
    if not value:
        raise InvalidNote(f"{what} is empty")
    if "\n" in value:
        raise InvalidNote(f"{what} holds a newline")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise InvalidNote(f"{what} holds the control character U+{ord(bad.group()):04X}")
    _check_utf8(value, what)
    return value


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidNote(f"the note text must be text, not {type(text).__name__}")
    if not text.endswith("\n"):
        raise InvalidNote("the note text must end with a newline")
    bad = _CONTROL.search(text)
    if bad is not None:
        raise InvalidNote(f"the note holds the control character U+{ord(bad.group()):04X} at offset {bad.start()}; "
                          "only the newline is allowed")
    _check_utf8(text, "the note text")
    return text


def _check_u64(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_U64:
        raise InvalidNote(f"{what} must be a whole number from 0 to 2^64 - 1, not {value!r}")
    return value


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise InvalidNote(f"{what} {text[:40]!r} is not a decimal number without leading zeros")
    value = int(text)
    if value > _MAX_U64:
        raise InvalidNote(f"{what} {text} is larger than 2^64 - 1")
    return value


def _key_hash(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _vkey(name: str, key_hash: bytes, sig_type: int, public_key: bytes) -> str:
    return f"{name}+{key_hash.hex()}+{encode(bytes([sig_type]) + public_key)}"


def _skey(name: str, key_hash: bytes, sig_type: int, seed: bytes) -> str:
    return f"{_PRIVATE_PREFIX}{name}+{key_hash.hex()}+{encode(bytes([sig_type]) + seed)}"


def _check_seed(seed: object, what: str) -> bytes:
    if not isinstance(seed, bytes) or len(seed) != _SEED:
        raise InvalidNote(f"{what} private key must be a {_SEED}-byte seed", hint=_KEY_HINT)
    return seed


def _check_public(key: object, size: int, what: str) -> bytes:
    if not isinstance(key, bytes) or len(key) != size:
        got = len(key) if isinstance(key, bytes) else type(key).__name__
        raise InvalidNote(f"{what} public key must be {size} bytes, not {got}", hint=_KEY_HINT)
    if size == _ED25519_KEY and is_weak(key):
        raise InvalidNote(f"{what} public key is not a usable Ed25519 key (a small-order point, or not a point)",
                          hint="Generate the key again: no signer makes such a key.")
    return key


def _require_mldsa() -> None:
    if not HAVE_MLDSA:
        raise InvalidNote("this build of the cryptography package has no ML-DSA-44",
                          hint="Install cryptography 47 or newer (built against OpenSSL 3.5+), or use Ed25519 keys.")


def _system_clock() -> int:
    return int(time.time())


def _now(clock: Callable[[], int]) -> int:
    value = clock()
    if type(value) is not int or not 0 <= value <= _MAX_TIMESTAMP:
        raise InvalidNote(f"the signer's clock returned {value!r}, not a timestamp", hint=_CLOCK_HINT)
    return value


def _checkpoint_of(message: bytes, who: str) -> Checkpoint:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNote(f"{who} signs checkpoints only, and this note text is not UTF-8") from exc
    try:
        return Checkpoint.parse(text)
    except InvalidNote as exc:
        raise InvalidNote(f"{who} signs checkpoints only: {exc.message}") from exc


# -- checkpoints (c2sp.org/tlog-checkpoint) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head, as the text of a signed note: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    """The RFC 6962 root hash, 32 bytes."""
    extensions: tuple[str, ...] = ()
    """Opaque, non-empty lines after the root hash (tlog-checkpoint: NOT RECOMMENDED)."""

    def __post_init__(self) -> None:
        _check_line(self.origin, "the checkpoint origin")
        _check_u64(self.size, "the tree size")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH:
            got = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise InvalidNote(f"the root hash must be {_HASH} bytes (SHA-256), not {got}")
        if not isinstance(self.extensions, tuple):
            raise InvalidNote("the extension lines must be a tuple of lines")
        for number, line in enumerate(self.extensions, 4):
            _check_line(line, f"extension line {number}")

    def body(self) -> str:
        """The note text: one line each, every line ending in a newline."""
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), encode(self.root), *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Read a checkpoint note text strictly; raise ``InvalidNote`` saying what is wrong."""
        if not isinstance(body, str):
            raise InvalidNote(f"a checkpoint is text, not {type(body).__name__}")
        if not body.endswith("\n"):
            raise InvalidNote("a checkpoint text ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidNote(f"a checkpoint has at least three lines (origin, tree size, root hash), not {len(lines)}")
        origin, size_line, root_line, *extensions = lines
        if not origin:
            raise InvalidNote("the checkpoint origin (line 1) is empty")
        size = _parse_decimal(size_line, "the tree size (line 2)")
        root = _unb64(root_line, "the root hash (line 3)")
        if len(root) != _HASH:
            raise InvalidNote(f"the root hash (line 3) is {len(root)} bytes, not {_HASH}")
        for number, line in enumerate(extensions, 4):
            if not line:
                raise InvalidNote(f"line {number} of the checkpoint is empty: extension lines must not be")
        return cls(origin, size, root, tuple(extensions))


# -- signed notes (c2sp.org/signed-note) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: the key's name and 4-byte hash, and the bytes that follow the hash."""

    name: str
    key_hash: bytes
    payload: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.key_hash, bytes) or len(self.key_hash) != 4:
            raise InvalidNote(f"the key hash of {self.name!r} must be 4 bytes")
        if not isinstance(self.payload, bytes) or not self.payload:
            raise InvalidNote(f"the signature of {self.name!r} is empty")

    @property
    def key(self) -> str:
        """``name+hash``, how messages and key strings name a key."""
        return f"{self.name}+{self.key_hash.hex()}"

    def line(self) -> str:
        """The signature line, with its final newline."""
        return f"{_DASH}{self.name} {encode(self.key_hash + self.payload)}\n"

    @classmethod
    def parse_line(cls, line: str, number: int = 1) -> Signature:
        """Read one signature line (without its newline)."""
        if not line.startswith(_DASH):
            raise InvalidNote(f"signature line {number} does not start with an em dash (U+2014) and a space")
        name, space, encoded = line[len(_DASH):].partition(" ")
        if not space:
            raise InvalidNote(f"signature line {number} has no space between the key name and the signature")
        _check_name(name, f"the key name on signature line {number}")
        raw = _unb64(encoded, f"the signature on line {number}")
        if len(raw) < 5:
            raise InvalidNote(f"the signature on line {number} is {len(raw)} bytes: at least a 4-byte key hash and "
                              "one byte of signature are needed")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True, slots=True)
class Note:
    """A note text and its signatures, verified or not."""

    text: str
    """Ends with a newline; what the signatures sign (not the blank line after it)."""
    signatures: tuple[Signature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)
        if not isinstance(self.signatures, tuple) or not all(isinstance(s, Signature) for s in self.signatures):
            raise InvalidNote("the signatures of a note must be a tuple of Signature")
        if len(self.signatures) > MAX_SIGNATURES:
            raise InvalidNote(f"the note has {len(self.signatures)} signatures: at most {MAX_SIGNATURES} are read")

    def format(self) -> str:
        """The signed note: the text, a blank line, the signature lines."""
        if not self.signatures:
            raise InvalidNote("a signed note needs at least one signature line")
        out = self.text + "\n" + "".join(sig.line() for sig in self.signatures)
        if len(out.encode()) > MAX_NOTE_BYTES:
            raise InvalidNote(f"the signed note would be larger than {MAX_NOTE_BYTES} bytes")
        return out

    @classmethod
    def parse(cls, data: str | bytes) -> Note:
        """Read a signed note without verifying anything; raise ``InvalidNote`` saying what is malformed."""
        if isinstance(data, bytes | bytearray):
            if len(data) > MAX_NOTE_BYTES:
                raise InvalidNote(f"the note is {len(data)} bytes: at most {MAX_NOTE_BYTES} are read")
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidNote(f"the note is not UTF-8: byte {exc.start} ({data[exc.start]:#04x}) "
                                  f"is {exc.reason}") from exc
        elif isinstance(data, str):
            text = data
            _check_utf8(text, "the note")
            if len(text.encode()) > MAX_NOTE_BYTES:
                raise InvalidNote(f"the note is larger than {MAX_NOTE_BYTES} bytes")
        else:
            raise InvalidNote(f"a note is text or UTF-8 bytes, not {type(data).__name__}")
        bad = _CONTROL.search(text)
        if bad is not None:
            raise InvalidNote(f"the note holds the control character U+{ord(bad.group()):04X} at offset "
                              f"{bad.start()}; only the newline is allowed")
        split = text.rfind("\n\n")
        if split < 0:
            raise InvalidNote("the note has no blank line between its text and its signatures")
        body, block = text[:split + 1], text[split + 2:]
        if not block:
            raise InvalidNote("the note has no signature line after its blank line")
        if not block.endswith("\n"):
            raise InvalidNote("the last signature line does not end with a newline")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise InvalidNote(f"the note has {len(lines)} signature lines: at most {MAX_SIGNATURES} are read")
        return cls(body, tuple(Signature.parse_line(line, number) for number, line in enumerate(lines, 1)))


class Signer(Protocol):
    """Signs note texts with one key. ``sign`` returns the payload: the signature line's bytes after the key hash."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks the signatures of one key. ``verify`` gets the note text and the payload; it returns, never raises."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> bytes: ...

    def verify(self, message: bytes, payload: bytes) -> bool: ...


# -- Ed25519 (type 0x01) -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ed25519NoteVerifier:
    """Verifies Ed25519 signatures (type 0x01, RFC 8032) over the note text, by one key."""

    name: str
    public_key: bytes
    key_hash: bytes = field(init=False)
    _key: ed25519.Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_public(self.public_key, _ED25519_KEY, "an Ed25519")
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_ED25519, self.public_key))
        object.__setattr__(self, "_key", ed25519.Ed25519PublicKey.from_public_bytes(self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        return _vkey(self.name, self.key_hash, _TYPE_ED25519, self.public_key)

    def verify(self, message: bytes, payload: bytes) -> bool:
        if not isinstance(payload, bytes) or len(payload) != _ED25519_SIGNATURE:
            return False
        try:
            self._key.verify(payload, message)
        except (_CryptoInvalidSignature, TypeError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Ed25519NoteSigner:
    """Makes Ed25519 signatures (type 0x01) over the note text, deterministic (RFC 8032)."""

    name: str
    seed: bytes = field(repr=False)
    key_hash: bytes = field(init=False)
    public_key: bytes = field(init=False)
    _key: ed25519.Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        key = ed25519.Ed25519PrivateKey.from_private_bytes(_check_seed(self.seed, "an Ed25519"))
        public = key.public_key().public_bytes_raw()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_ED25519, public))

    @property
    def skey(self) -> str:
        """The signer key string (secret)."""
        return _skey(self.name, self.key_hash, _TYPE_ED25519, self.seed)

    def verifier(self) -> Ed25519NoteVerifier:
        return Ed25519NoteVerifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


# -- Ed25519 cosignature/v1 (type 0x04, c2sp.org/tlog-cosignature) ----------------------------------------------


def _cosignature_message(timestamp: int, body: bytes) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + body


def _read_timestamp(payload: bytes, size: int, what: str) -> int:
    if not isinstance(payload, bytes) or len(payload) != _TIMESTAMP + size:
        got = len(payload) if isinstance(payload, bytes) else type(payload).__name__
        raise InvalidNote(f"{what} is {_TIMESTAMP + size} bytes (timestamp and signature), not {got}")
    timestamp = int.from_bytes(payload[:_TIMESTAMP], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise InvalidNote(f"the timestamp of {what} is {timestamp}, more than 2^63 - 1")
    return timestamp


def _latest(note: Note, name: str, key_hash: bytes, size: int, what: str) -> int | None:
    times = [_read_timestamp(sig.payload, size, what) for sig in note.signatures
             if sig.name == name and sig.key_hash == key_hash]
    return max(times, default=None)


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """Verifies Ed25519 cosignature/v1 signatures (type 0x04) of one witness on checkpoints.

    The timestamp a verified line carries is ``timestamp_in(note)`` (or ``read_timestamp(payload)``); the
    verifier holds no state, so one can serve many threads. Refusing timestamps in the future is the caller's
    choice (tlog-cosignature: verifiers MAY).
    """

    name: str
    public_key: bytes
    key_hash: bytes = field(init=False)
    _key: ed25519.Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_public(self.public_key, _ED25519_KEY, "an Ed25519 cosigner")
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_COSIGNATURE_V1, self.public_key))
        object.__setattr__(self, "_key", ed25519.Ed25519PublicKey.from_public_bytes(self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        return _vkey(self.name, self.key_hash, _TYPE_COSIGNATURE_V1, self.public_key)

    @staticmethod
    def read_timestamp(payload: bytes) -> int:
        """The POSIX timestamp in a cosignature/v1 payload (not verified); ``InvalidNote`` if it is not one."""
        return _read_timestamp(payload, _ED25519_SIGNATURE, "an Ed25519 cosignature")

    def timestamp_in(self, note: Note) -> int | None:
        """The latest timestamp among this key's lines in ``note`` (after ``open_note`` verified them)."""
        return _latest(note, self.name, self.key_hash, _ED25519_SIGNATURE, "an Ed25519 cosignature")

    def verify(self, message: bytes, payload: bytes) -> bool:
        try:
            timestamp = self.read_timestamp(payload)
            self._key.verify(payload[_TIMESTAMP:], _cosignature_message(timestamp, message))
        except (InvalidNote, _CryptoInvalidSignature, TypeError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    """Makes Ed25519 cosignature/v1 signatures (type 0x04) on checkpoints, stamped with ``clock()``."""

    name: str
    seed: bytes = field(repr=False)
    clock: Callable[[], int] = field(default=_system_clock, repr=False, compare=False)
    """Returns the time in whole seconds since the Unix epoch."""
    key_hash: bytes = field(init=False)
    public_key: bytes = field(init=False)
    _key: ed25519.Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not callable(self.clock):
            raise InvalidNote("the cosigner's clock must be a function", hint=_CLOCK_HINT)
        key = ed25519.Ed25519PrivateKey.from_private_bytes(_check_seed(self.seed, "an Ed25519 cosigner"))
        public = key.public_key().public_bytes_raw()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_COSIGNATURE_V1, public))

    @property
    def skey(self) -> str:
        """The signer key string (secret)."""
        return _skey(self.name, self.key_hash, _TYPE_COSIGNATURE_V1, self.seed)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Timestamp || Ed25519 signature of the cosigned message; ``InvalidNote`` if ``message`` is no checkpoint."""
        _checkpoint_of(message, "an Ed25519 cosigner")
        timestamp = _now(self.clock)
        return timestamp.to_bytes(_TIMESTAMP, "big") + self._key.sign(_cosignature_message(timestamp, message))


# -- ML-DSA-44 cosignatures (type 0x06, c2sp.org/tlog-cosignature) ------------------------------------------------


def _subtree_message(cosigner: str, timestamp: int, origin: str, start: int, end: int, root: bytes) -> bytes:
    name, log = cosigner.encode(), origin.encode()
    if not 1 <= len(name) <= 255:
        raise InvalidNote(f"an ML-DSA-44 cosigner name is 1 to 255 bytes, not {len(name)}")
    if not 1 <= len(log) <= 255:
        raise InvalidNote(f"an ML-DSA-44 cosignature covers origins of 1 to 255 bytes, not {len(log)}")
    _check_u64(start, "the subtree start")
    _check_u64(end, "the subtree end")
    if start and timestamp:
        raise InvalidNote("a subtree cosignature with a non-zero start has timestamp 0")
    if not isinstance(root, bytes) or len(root) != _HASH:
        raise InvalidNote(f"the root hash must be {_HASH} bytes")
    return (_SUBTREE_LABEL + bytes([len(name)]) + name + timestamp.to_bytes(8, "big") + bytes([len(log)]) + log
            + start.to_bytes(8, "big") + end.to_bytes(8, "big") + root)


@dataclass(frozen=True, slots=True)
class MLDSA44NoteVerifier:
    """Verifies ML-DSA-44 cosignatures (type 0x06) of one cosigner on checkpoints without extension lines."""

    name: str
    public_key: bytes
    key_hash: bytes = field(init=False)
    _key: _mldsa.MLDSA44PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_mldsa()
        _check_name(self.name)
        if len(self.name.encode()) > 255:
            raise InvalidNote("an ML-DSA-44 cosigner name is at most 255 bytes")
        _check_public(self.public_key, _MLDSA44_PUBLIC, "an ML-DSA-44")
        try:
            key = _mldsa.MLDSA44PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise InvalidNote("the ML-DSA-44 public key is not valid", hint=_KEY_HINT) from exc
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_MLDSA44, self.public_key))
        object.__setattr__(self, "_key", key)

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        return _vkey(self.name, self.key_hash, _TYPE_MLDSA44, self.public_key)

    @staticmethod
    def read_timestamp(payload: bytes) -> int:
        """The POSIX timestamp in an ML-DSA-44 cosignature payload (not verified; 0 means no time statement)."""
        return _read_timestamp(payload, _MLDSA44_SIGNATURE, "an ML-DSA-44 cosignature")

    def timestamp_in(self, note: Note) -> int | None:
        """The latest timestamp among this key's lines in ``note`` (after ``open_note`` verified them)."""
        return _latest(note, self.name, self.key_hash, _MLDSA44_SIGNATURE, "an ML-DSA-44 cosignature")

    def verify(self, message: bytes, payload: bytes) -> bool:
        """True if ``payload`` cosigns the checkpoint ``message``; False for a checkpoint with extension lines."""
        try:
            checkpoint = _checkpoint_of(message, "an ML-DSA-44 cosigner")
        except (InvalidNote, AttributeError):
            return False
        if checkpoint.extensions:
            return False
        return self.verify_subtree(checkpoint.origin, 0, checkpoint.size, checkpoint.root, payload)

    def verify_subtree(self, origin: str, start: int, end: int, root: bytes, payload: bytes) -> bool:
        """True if ``payload`` cosigns the subtree [start, end) of the log ``origin`` with root hash ``root``."""
        try:
            timestamp = self.read_timestamp(payload)
            message = _subtree_message(self.name, timestamp, origin, start, end, root)
            self._key.verify(payload[_TIMESTAMP:], message)
        except (InvalidNote, _CryptoInvalidSignature, AttributeError, TypeError, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class MLDSA44NoteSigner:
    """Makes ML-DSA-44 cosignatures (type 0x06) on checkpoints without extension lines, stamped with ``clock()``."""

    name: str
    seed: bytes = field(repr=False)
    """The 32-byte FIPS 204 key generation seed (the private key encoding of transparency-dev and torchwood)."""
    clock: Callable[[], int] = field(default=_system_clock, repr=False, compare=False)
    key_hash: bytes = field(init=False)
    public_key: bytes = field(init=False)
    _key: _mldsa.MLDSA44PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_mldsa()
        _check_name(self.name)
        if len(self.name.encode()) > 255:
            raise InvalidNote("an ML-DSA-44 cosigner name is at most 255 bytes")
        if not callable(self.clock):
            raise InvalidNote("the cosigner's clock must be a function", hint=_CLOCK_HINT)
        key = _mldsa.MLDSA44PrivateKey.from_seed_bytes(_check_seed(self.seed, "an ML-DSA-44"))
        public = key.public_key().public_bytes_raw()
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "key_hash", _key_hash(self.name, _TYPE_MLDSA44, public))

    @property
    def skey(self) -> str:
        """The signer key string (secret)."""
        return _skey(self.name, self.key_hash, _TYPE_MLDSA44, self.seed)

    def verifier(self) -> MLDSA44NoteVerifier:
        return MLDSA44NoteVerifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Timestamp || ML-DSA-44 signature; ``InvalidNote`` unless ``message`` is a checkpoint without extensions."""
        checkpoint = _checkpoint_of(message, "an ML-DSA-44 cosigner")
        if checkpoint.extensions:
            raise InvalidNote("an ML-DSA-44 cosignature does not cover extension lines: refusing to sign a "
                              "checkpoint that has them", hint="Sign checkpoints with extension lines with Ed25519.")
        return self.sign_subtree(checkpoint.origin, 0, checkpoint.size, checkpoint.root,
                                 timestamp=_now(self.clock))

    def sign_subtree(self, origin: str, start: int, end: int, root: bytes, *, timestamp: int = 0) -> bytes:
        """Cosign the subtree [start, end) of the log ``origin``; a non-zero ``start`` needs timestamp 0."""
        if type(timestamp) is not int or not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise InvalidNote(f"the timestamp {timestamp!r} is not between 0 and 2^63 - 1")
        if not isinstance(origin, str):
            raise InvalidNote("the origin must be text")
        message = _subtree_message(self.name, timestamp, origin, start, end, root)
        return timestamp.to_bytes(_TIMESTAMP, "big") + self._key.sign(message)


# -- key strings --------------------------------------------------------------------------------------------------


def _split_key(text: str, what: str) -> tuple[str, bytes, int, bytes]:
    name, plus, rest = text.partition("+")
    hash_hex, plus2, encoded = rest.partition("+")
    if not (plus and plus2):
        raise InvalidNote(f"{what} does not have the form <name>+<key hash>+<key>", hint=_KEY_HINT)
    try:
        _check_name(name, f"the name in {what}")
    except InvalidNote as exc:
        raise InvalidNote(exc.message, hint=_KEY_HINT) from exc
    if not _HEX_HASH.fullmatch(hash_hex):
        raise InvalidNote(f"the key hash in {what} is not 8 hexadecimal digits", hint=_KEY_HINT)
    key = _unb64(encoded, f"the key in {what}", hint=_KEY_HINT)
    if not key:
        raise InvalidNote(f"the key in {what} is empty", hint=_KEY_HINT)
    return name, bytes.fromhex(hash_hex), key[0], key[1:]


def _check_hash(claimed: bytes, actual: bytes, what: str) -> None:
    if claimed != actual:
        raise InvalidNote(f"the key hash in {what} is {claimed.hex()}, but the key's is {actual.hex()}",
                          hint=_KEY_HINT)


def verifier_from_key(vkey: str) -> Verifier:
    """The verifier a verifier key string names: type 0x01, 0x04 or 0x06; ``InvalidNote`` if it is malformed."""
    if not isinstance(vkey, str):
        raise InvalidNote(f"a verifier key is text, not {type(vkey).__name__}", hint=_KEY_HINT)
    name, claimed, sig_type, public = _split_key(vkey, "the verifier key")
    verifier: Ed25519NoteVerifier | CosignatureVerifier | MLDSA44NoteVerifier
    if sig_type == _TYPE_ED25519:
        verifier = Ed25519NoteVerifier(name, public)
    elif sig_type == _TYPE_COSIGNATURE_V1:
        verifier = CosignatureVerifier(name, public)
    elif sig_type == _TYPE_MLDSA44:
        verifier = MLDSA44NoteVerifier(name, public)
    else:
        raise InvalidNote(f"the verifier key has signature type {sig_type:#04x}; known are 0x01 (Ed25519), "
                          "0x04 (Ed25519 cosignature/v1) and 0x06 (ML-DSA-44 cosignature)", hint=_KEY_HINT)
    _check_hash(claimed, verifier.key_hash, "the verifier key")
    return verifier


def signer_from_key(skey: str, *, clock: Callable[[], int] | None = None) -> Signer:
    """The signer a signer key string holds; ``clock`` stamps cosignatures (default: the system clock)."""
    if not isinstance(skey, str) or not skey.startswith(_PRIVATE_PREFIX):
        raise InvalidNote("a signer key starts with PRIVATE+KEY+", hint=_KEY_HINT)
    name, claimed, sig_type, seed = _split_key(skey[len(_PRIVATE_PREFIX):], "the signer key")
    stamp = clock if clock is not None else _system_clock
    signer: Ed25519NoteSigner | CosignatureSigner | MLDSA44NoteSigner
    if sig_type == _TYPE_ED25519:
        signer = Ed25519NoteSigner(name, seed)
    elif sig_type == _TYPE_COSIGNATURE_V1:
        signer = CosignatureSigner(name, seed, stamp)
    elif sig_type == _TYPE_MLDSA44:
        signer = MLDSA44NoteSigner(name, seed, stamp)
    else:
        raise InvalidNote(f"the signer key has signature type {sig_type:#04x}; known are 0x01 (Ed25519), "
                          "0x04 (Ed25519 cosignature/v1) and 0x06 (ML-DSA-44 cosignature)", hint=_KEY_HINT)
    _check_hash(claimed, signer.key_hash, "the signer key")
    return signer


def generate_ed25519(name: str, *, cosignature: bool = False) -> tuple[str, str]:
    """A new Ed25519 key: (signer key string, verifier key string). Type 0x01, or 0x04 with ``cosignature``."""
    seed = secrets.token_bytes(_SEED)
    if cosignature:
        cosigner = CosignatureSigner(name, seed)
        return cosigner.skey, cosigner.verifier().vkey
    signer = Ed25519NoteSigner(name, seed)
    return signer.skey, signer.verifier().vkey


def generate_mldsa44(name: str) -> tuple[str, str]:
    """A new ML-DSA-44 cosigner key (type 0x06): (signer key string, verifier key string)."""
    _require_mldsa()
    signer = MLDSA44NoteSigner(name, secrets.token_bytes(_SEED))
    return signer.skey, signer.verifier().vkey


# -- signing and opening ------------------------------------------------------------------------------------------


def _signatures(text: str, signers: Sequence[Signer]) -> list[Signature]:
    if not signers:
        raise InvalidNote("no signer was given")
    message = text.encode()
    out: list[Signature] = []
    for signer in signers:
        sig = Signature(signer.name, signer.key_hash, signer.sign(message))
        if any(sig.key == other.key for other in out):
            raise InvalidNote(f"the key {sig.key} is given twice")
        out.append(sig)
    return out


def sign_note(text: str, *signers: Signer) -> str:
    """The signed note: ``text`` (ending in a newline), a blank line, one signature line per signer."""
    _check_text(text)
    return Note(text, tuple(_signatures(text, signers))).format()


def add_signatures(note: str, *signers: Signer) -> str:
    """``note`` with the signers' lines appended; a line of the same key already there is replaced."""
    parsed = Note.parse(note)
    new = _signatures(parsed.text, signers)
    keys = {sig.key for sig in new}
    kept = tuple(sig for sig in parsed.signatures if sig.key not in keys)
    return Note(parsed.text, kept + tuple(new)).format()


def open_note(data: str | bytes, verifiers: Sequence[Verifier]) -> tuple[Note, tuple[Verifier, ...]]:
    """Parse a signed note and verify the lines of the keys in ``verifiers``; lines of other keys are ignored.

    Returns the note (every signature line, verified or not) and the verifiers whose lines verified.
    ``InvalidSignature`` if a line names a known key (name and key hash) and does not verify; ``InvalidNote``
    if the note is malformed or no known key signed it.
    """
    parsed = Note.parse(data)
    known: dict[tuple[str, bytes], Verifier | None] = {}
    for verifier in verifiers:
        key = (verifier.name, bytes(verifier.key_hash))
        known[key] = verifier if known.get(key, verifier) is verifier else None  # None: two verifiers, one key
    message = parsed.text.encode()
    verified: list[Verifier] = []
    for sig in parsed.signatures:
        key = (sig.name, sig.key_hash)
        if key not in known:
            continue
        match = known[key]
        if match is None:
            raise InvalidNote(f"two of the verifiers given have the key {sig.key}: which one signed is ambiguous",
                              hint="Configure each key once.")
        if not match.verify(message, sig.payload):
            raise InvalidSignature(f"the signature of {sig.key} does not verify on this note")
        if not any(match is seen for seen in verified):
            verified.append(match)
    if not verified:
        signed_by = ", ".join(sorted({sig.key for sig in parsed.signatures}))
        expected = ", ".join(sorted({f"{name}+{key_hash.hex()}" for name, key_hash in known})) or "none"
        raise InvalidNote(f"no signature on this note is from a known key: it is signed by {signed_by}; the keys "
                          f"known are {expected}",
                          hint="Get the note from the log again, or configure the key that signs it.")
    return parsed, tuple(verified)


# -- tlog-witness add-checkpoint bodies ---------------------------------------------------------------------------


def _check_witness_request(old_size: int, proof: Sequence[bytes], checkpoint: Checkpoint) -> None:
    if old_size == 0 and proof:
        raise InvalidNote("the consistency proof must be empty when the old size is 0")
    if old_size > checkpoint.size:
        raise InvalidNote(f"the old size {old_size} is larger than the checkpoint size {checkpoint.size}",
                          hint="tlog-witness: answer 400 Bad Request.")


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The body of a tlog-witness ``add-checkpoint`` request; ``InvalidNote`` if it would not be a valid one."""
    _check_u64(old_size, "the old size")
    hashes = list(proof)
    if len(hashes) > _MAX_PROOF_LINES:
        raise InvalidNote(f"the consistency proof has {len(hashes)} hashes: at most {_MAX_PROOF_LINES} are sent")
    for number, digest in enumerate(hashes, 1):
        if not isinstance(digest, bytes) or len(digest) != _HASH:
            raise InvalidNote(f"hash {number} of the consistency proof is not {_HASH} bytes")
    if not isinstance(note, str):
        raise InvalidNote(f"the checkpoint note is text, not {type(note).__name__}")
    checkpoint = Checkpoint.parse(Note.parse(note).text)
    _check_witness_request(old_size, hashes, checkpoint)
    head = f"old {old_size}\n" + "".join(f"{encode(digest)}\n" for digest in hashes) + "\n"
    return head.encode("ascii") + note.encode()


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """Read a tlog-witness ``add-checkpoint`` request body: (old size, consistency proof, signed checkpoint note).

    Checks the form only (the note must be a signed checkpoint; its signatures are not verified): ``InvalidNote``
    says what is wrong, and the witness answers 400 Bad Request.
    """
    if not isinstance(body, bytes | bytearray):
        raise InvalidNote(f"the request body is bytes, not {type(body).__name__}")
    data = bytes(body)
    if len(data) > MAX_NOTE_BYTES + (_MAX_PROOF_LINES + 1) * 64:
        raise InvalidNote(f"the request body is {len(data)} bytes: too large")
    end = data.find(b"\n")
    if end < 0:
        raise InvalidNote("the request body has no old size line ending in a newline")
    match = _OLD_LINE.fullmatch(data[:end])
    if match is None:
        raise InvalidNote("the first line is not 'old <size>' (decimal, no leading zeros)")
    old_size = int(match.group(1))
    if old_size > _MAX_U64:
        raise InvalidNote(f"the old size {old_size} is larger than 2^64 - 1")
    proof: list[bytes] = []
    start = end + 1
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            raise InvalidNote("no empty line ends the consistency proof before the checkpoint")
        line, start = data[start:end], end + 1
        if not line:
            break
        if len(proof) == _MAX_PROOF_LINES:
            raise InvalidNote(f"the consistency proof has more than {_MAX_PROOF_LINES} lines")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidNote(f"consistency proof line {len(proof) + 1} is not base64") from exc
        digest = _unb64(text, f"consistency proof line {len(proof) + 1}")
        if len(digest) != _HASH:
            raise InvalidNote(f"consistency proof line {len(proof) + 1} is {len(digest)} bytes, not {_HASH}")
        proof.append(digest)
    note = Note.parse(data[start:])
    checkpoint = Checkpoint.parse(note.text)
    _check_witness_request(old_size, proof, checkpoint)
    return old_size, proof, data[start:].decode("utf-8")
