"""API keys: made from 32 random bytes, shown once, stored only as a SHA-256 hash.

A key reads ``phx_<key_id>_<secret>``. ``key_id`` is public (listings and logs show it) and finds the record;
the secret is compared in constant time against the stored hash. A salted slow hash would add nothing: the
secret is 256 random bits, not a password a person chose.
"""

from __future__ import annotations

__all__ = ["MAX_KEY_DAYS", "Actor", "InvalidExpiry", "authenticate", "check_key", "issue_api_key"]

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..errors import AuthenticationError, Error, NotFound
from ._directory import Directory
from ._model import ApiKeyRecord, Role

MAX_KEY_DAYS = 36_525
"""The longest a key may be made to last: a hundred years (a key that never expires is made without a limit)."""


class InvalidExpiry(Error):
    """A key's lifetime is not a positive number of days, or longer than a hundred years."""

    hint = f"Give the number of days the key should last, more than 0 and at most {MAX_KEY_DAYS}, or none."


_KEY_RE = re.compile(r"^phx_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: an organization acting through one key (or user), with one role."""

    org_id: str
    role: Role
    key_id: str | None = None
    user_id: str | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def issue_api_key(
    org_id: str,
    role: Role,
    *,
    now: int,
    label: str = "",
    expires: int | None = None,
    user_id: str | None = None,
) -> tuple[str, ApiKeyRecord]:
    """A new key: the full key (to show once) and the record to store."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id=key_id,
        org_id=org_id,
        role=role,
        label=label,
        secret_hash=_hash(secret),
        created=now,
        expires=expires,
        user_id=user_id,
    )
    return f"phx_{key_id}_{secret}", record


def authenticate(directory: Directory, presented: str, *, now: int) -> Actor:
    """The actor behind ``presented``; raises ``AuthenticationError`` saying why it is refused."""
    match = _KEY_RE.match(presented.strip())
    if match is None:
        raise AuthenticationError("the API key is malformed (expected phx_<id>_<secret>)",
                                  hint="Use a whole key as 'phalanx key create' printed it: phx_<id>_<secret>.")
    key_id, secret = match.groups()
    try:
        record = directory.get_api_key(key_id)
    except NotFound:
        record = None
    # The same answer for an unknown key id and a wrong secret: outsiders learn nothing about which ids exist.
    if record is None or not hmac.compare_digest(record.secret_hash, _hash(secret)):
        raise AuthenticationError(f"API key {key_id} is not valid")
    return check_key(record, now=now)


def check_key(record: ApiKeyRecord, *, now: int) -> Actor:
    """The actor of a stored key that is still in force; ``AuthenticationError`` when it was revoked or has
    expired. ``authenticate`` checks the secret first; a session started with a key checks it again with this."""
    if record.revoked is not None:
        raise AuthenticationError(f"API key {record.key_id} was revoked",
                                  hint="Ask for a new key: phalanx key create.")
    if record.expires is not None and record.expires <= now:
        raise AuthenticationError(f"API key {record.key_id} has expired",
                                  hint="Ask for a new key: phalanx key create.")
    return Actor(org_id=record.org_id, role=record.role, key_id=record.key_id, user_id=record.user_id)
