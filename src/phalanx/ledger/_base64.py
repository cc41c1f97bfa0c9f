"""Base64 as every format of the ledger writes it: the standard alphabet, padded (RFC 4648 section 4), and only
in its canonical form when read, so that one value has one encoding and no bit of a signed or proved text can
change unnoticed (a non-canonical encoding differs only in padding bits that decoding drops)."""

from __future__ import annotations

__all__ = ["decode", "encode"]

import base64
import binascii


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode(text: object) -> bytes:
    """The bytes ``text`` encodes. ``ValueError`` saying why not ("is not base64 ..." or "is not canonical
    base64 ..."), for the caller to raise as its own error, after what it was reading."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("is not base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64 (RFC 4648 standard alphabet, padded)") from None
    if encode(raw) != text:
        raise ValueError("is not canonical base64: its padding bits are not zero")
    return raw
