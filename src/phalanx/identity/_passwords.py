"""Users' passwords: hashed with Argon2id (RFC 9106), checked for strength before they are set.

A password a person chose is guessable, unlike an API key's 256 random bits: it is stored only as a salted,
memory-hard Argon2id hash (argon2-cffi's ``PasswordHasher`` defaults, RFC 9106's second recommended option:
64 MiB, 3 passes, 4 lanes), in the PHC string format that carries its own salt and parameters.

    >>> stored = hash_password("correct horse battery staple")
    >>> stored.startswith("$argon2id$"), verify_password(stored, "correct horse battery staple")
    (True, True)
    >>> verify_password(stored, "wrong"), verify_password("not a hash", "wrong")
    (False, False)
"""

from __future__ import annotations

__all__ = ["MAX_PASSWORD_CHARS", "MIN_PASSWORD_CHARS", "check_password", "dummy_hash", "hash_password",
           "needs_rehash", "verify_password"]

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from ..errors import WeakPassword

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
"""Longer passwords are refused: hashing a megabyte at every sign-in would be a way to load the node."""

_HASHER = PasswordHasher()


def check_password(password: str, username: str) -> None:
    """Raise ``WeakPassword`` unless ``password`` is fit for user ``username``: at least 12 and at most 1024
    characters, not containing the user name (compared case-insensitively), no NUL, valid UTF-8."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password has {len(password)} characters; it needs at least {MIN_PASSWORD_CHARS}")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password has {len(password)} characters; at most {MAX_PASSWORD_CHARS} are taken")
    if "\x00" in password:
        raise WeakPassword("the password contains a NUL character")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in password):
        raise WeakPassword("the password is not valid Unicode (it holds a lone surrogate)")
    name = username.strip().casefold()
    if name and name in password.casefold():
        raise WeakPassword("the password contains the user name")


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (a PHC string with a new random salt) to store."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False, never an error, for a mismatch or a stored hash that
    is malformed or not Argon2. The comparison takes as long whatever the password."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (Argon2Error, InvalidHashError, UnicodeError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than today's (or is unreadable): hash the password
    again, the next time it is known, to bring it up to date."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (Argon2Error, InvalidHashError):
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret nobody knows, with today's parameters: verifying against it when there is no
    user (or no password) takes as long as a real check, so timing tells nothing about which users exist."""
    return hash_password(secrets.token_urlsafe(32))
