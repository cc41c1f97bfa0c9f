"""The dashboard's session cookie and its CSRF token.

A session is a small signed record kept by the browser: who signed in (a user, or an API key), a random nonce,
and when it was issued. The cookie is ``base64url(JSON) "." base64url(HMAC-SHA256(secret, JSON))``; nothing in it
is secret, and a change to any byte of it makes it worthless. Each request re-reads the user or key from the
directory (``Admin.session_actor``), so a revoked key or a removed user ends its sessions at once.

Signing out ends the session on the server too: the node's directory records it (``Admin.end_session``, by
``Session.token``, a SHA-256 of the nonce) until it would have expired anyway, and ``session_actor`` refuses it,
so a copy of the cookie taken before is worthless, in every process of the node.

Every visitor gets a session, signed in or not, so that the sign-in form has a CSRF token too. The CSRF token of
a session is ``HMAC(secret, "csrf:" + nonce)``: forms carry it in a hidden field, and a POST whose field does not
match its session's is refused. Signing in and out starts a new nonce (no session fixation).
"""

from __future__ import annotations

__all__ = ["COOKIE", "Session", "SessionCodec", "load_secret"]

import base64
import binascii
import hashlib
import hmac
import math
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from ...errors import ConfigError

COOKIE = "phalanx_session"
_MAX_COOKIE = 1024


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    issued: int
    """Seconds since the epoch."""
    user_id: str | None = None
    key_id: str | None = None
    stamp: str | None = None
    """For a user: the fingerprint of the password it signed in with (``Admin.password_stamp``)."""

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None or self.key_id is not None

    @staticmethod
    def fresh(*, user_id: str | None = None, key_id: str | None = None, stamp: str | None = None) -> Session:
        return Session(secrets.token_urlsafe(16), int(time.time()), user_id, key_id, stamp)

    def signed_out(self) -> Session:
        return Session.fresh()

    @property
    def token(self) -> str:
        """What the directory knows an ended session by: a hash of its nonce (never the cookie)."""
        return hashlib.sha256(self.nonce.encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None for anything forged, expired or malformed)."""

    def __init__(self, secret: bytes, *, lifetime_seconds: float) -> None:
        if len(secret) < 32:
            raise ConfigError("the session secret must be at least 32 bytes",
                              hint="Set PHALANX_SESSION_SECRET to 64 random hex digits, or leave it empty.")
        self._secret = secret
        self.lifetime = lifetime_seconds

    def _mac(self, purpose: bytes, data: bytes) -> bytes:
        return hmac.new(self._secret, purpose + data, hashlib.sha256).digest()

    def encode(self, session: Session) -> str:
        body = orjson.dumps({"n": session.nonce, "t": session.issued, "u": session.user_id, "k": session.key_id,
                             "p": session.stamp})
        return _b64(body) + "." + _b64(self._mac(b"session:", body))

    def decode(self, value: str | None, *, now: float | None = None) -> Session | None:
        if not value or len(value) > _MAX_COOKIE or value.count(".") != 1:
            return None
        body_text, mac_text = value.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(b"session:", body)):
            return None
        try:
            data = orjson.loads(body)
            session = Session(str(data["n"]), int(data["t"]), _opt(data["u"]), _opt(data["k"]), _opt(data.get("p")))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        if not (session.issued - 60 <= current <= session.issued + self.lifetime):
            return None
        return session

    def expires(self, session: Session) -> int:
        """When ``decode`` stops accepting the session (seconds since the epoch)."""
        return session.issued + math.ceil(self.lifetime)

    def csrf_token(self, session: Session) -> str:
        return _b64(self._mac(b"csrf:", session.nonce.encode("utf-8")))

    def csrf_valid(self, session: Session, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode("utf-8"),
                                                             self.csrf_token(session).encode("ascii"))


def _opt(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def load_secret(configured: str, home: Path) -> bytes:
    """The configured secret, or the one kept in ``<home>/session.key`` (made on first use, readable by the owner
    only); a home that cannot be written gets a secret for this process only (sessions end when it stops)."""
    if configured:
        return configured.encode("utf-8")
    path = home / "session.key"
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} does not hold a session key ({exc})",
                          hint="Delete it: a new one is made (everyone signs in again).") from exc
    secret = secrets.token_bytes(32)
    temporary = home / f".session.key.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret.hex())
        os.link(temporary, path)  # whole or not at all; fails when another process made it first
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except OSError:
        return secret  # a home this process cannot write
    finally:
        temporary.unlink(missing_ok=True)
    return secret
