"""Plain observables: what kind of value a string is (an IP address, a domain, a URL, an e-mail address, a file
hash), and the STIX object path a pattern would compare it with.

Detection is deliberately conservative: a value is only given a kind when it cannot be much else, because a
wrong kind is a missed match, and a guess on every word of a log line would be noise.
"""

from __future__ import annotations

__all__ = ["KINDS", "Kind", "canonical_ipv4", "detect", "kind_named", "normalize"]

import ipaddress
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of plain observable: its name on the command line and the STIX path it stands for."""

    name: str
    object_type: str
    path: tuple[str, ...]
    """The steps after the object type, e.g. ("value",) or ("hashes", "SHA-256")."""

    @property
    def index_kind(self) -> str:
        """What ``PatternIndex.match_value`` calls it: the object type, or the hash algorithm for files."""
        return self.path[1] if self.object_type == "file" else self.object_type

    @property
    def stix_path(self) -> str:
        steps = "".join(f".'{s}'" if "-" in s else f".{s}" for s in self.path[1:])
        return f"{self.object_type}:{self.path[0]}{steps}"


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("ipv4", "ipv4-addr", ("value",)),
    Kind("ipv6", "ipv6-addr", ("value",)),
    Kind("domain", "domain-name", ("value",)),
    Kind("url", "url", ("value",)),
    Kind("email", "email-addr", ("value",)),
    Kind("md5", "file", ("hashes", "MD5")),
    Kind("sha1", "file", ("hashes", "SHA-1")),
    Kind("sha256", "file", ("hashes", "SHA-256")),
    Kind("sha512", "file", ("hashes", "SHA-512")),
)}

_ALIASES = {"ip": None, "ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain", "hostname": "domain",
            "email-addr": "email", "sha-1": "sha1", "sha-256": "sha256", "sha-512": "sha512", "hash": None}


def kind_named(name: str) -> Kind | None:
    """The kind a user named (``ipv4``, ``domain-name``, ``sha256``...); None for ``ip`` and ``hash``, which
    mean "detect which one"; raises KeyError for an unknown name."""
    lowered = name.strip().lower()
    if lowered in KINDS:
        return KINDS[lowered]
    if lowered in _ALIASES:
        alias = _ALIASES[lowered]
        return None if alias is None else KINDS[alias]
    raise KeyError(name)


_HEX = re.compile(r"[0-9a-fA-F]+")
_HASH_BY_LENGTH = {32: KINDS["md5"], 40: KINDS["sha1"], 64: KINDS["sha256"], 128: KINDS["sha512"]}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})\.?", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]{1,64}@" + _DOMAIN.pattern, re.IGNORECASE)
_URL = re.compile(r"[a-z][a-z0-9+.-]{1,15}://[^\s/?#]+[^\s]*", re.IGNORECASE)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""A dotted quad without leading zeros: an IPv4 address already in its normal form (most of them, in logs)."""


canonical_ipv4 = _CANONICAL_IPV4.fullmatch
"""Whether a text is an IPv4 address in its normal form (a match object, or None)."""


def detect(text: str) -> Kind | None:
    """The kind of ``text``, or None when it is none of them (or could be several)."""
    if _CANONICAL_IPV4.fullmatch(text):
        return KINDS["ipv4"]
    value = text.strip()
    if not value or len(value) > 4096:
        return None
    first = value[0]
    if (first.isdigit() or first == ":" or ":" in value[:5]) and "/" not in value:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            return KINDS["ipv4"] if address.version == 4 else KINDS["ipv6"]
    hashed = _HASH_BY_LENGTH.get(len(value))
    if hashed is not None and _HEX.fullmatch(value):
        return hashed
    if "://" in value:  # defanged ones (hxxp://, evil[.]example) are written not to be used: not URLs
        defanged = value[:5].lower() in ("hxxp:", "hxxps") or "[.]" in value
        return KINDS["url"] if not defanged and _URL.fullmatch(value) else None
    if "@" in value:
        return KINDS["email"] if _EMAIL.fullmatch(value) else None
    if "." in value and _DOMAIN.fullmatch(value):
        return KINDS["domain"]
    return None


def normalize(kind: Kind, value: str) -> str:
    """The form a pattern written by a careful analyst would use: addresses compressed, domains lower case
    without the root's trailing dot, hashes as written (patterns compare hashes case-sensitively, as the
    reference matcher does, so a match on case is the pattern's business)."""
    value = value.strip()
    if kind.object_type == "ipv4-addr" and _CANONICAL_IPV4.fullmatch(value):
        return value
    if kind.object_type in ("ipv4-addr", "ipv6-addr"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if kind.object_type == "domain-name":
        return value.rstrip(".").lower()
    return value
