"""STIX identifiers (section 2.9): ``type--UUID``, and deterministic UUIDv5 ids for cyber-observables.

A deterministic SCO id is UUIDv5 in the STIX namespace over the RFC 8785 canonical JSON of the object's
ID contributing properties (those present), with references kept as ids and ``hashes`` reduced to one
entry chosen in the order MD5, SHA-1, SHA-256, SHA-512, else the first.
"""

from __future__ import annotations

__all__ = [
    "IDENTIFIER_RE",
    "ID_CONTRIBUTING_PROPERTIES",
    "SCO_NAMESPACE",
    "deterministic_id",
    "is_identifier",
]

import re
import uuid
from collections.abc import Mapping
from typing import Any

from ._json import canonical

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

IDENTIFIER_RE = re.compile(
    r"([a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)

ID_CONTRIBUTING_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "artifact": ("hashes", "payload_bin"),
    "autonomous-system": ("number",),
    "directory": ("path",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "email-message": ("from_ref", "subject", "body"),
    "file": ("hashes", "name", "extensions", "parent_directory_ref"),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "network-traffic": (
        "start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions",
    ),
    "process": (),
    "software": ("name", "cpe", "swid", "vendor", "version"),
    "url": ("value",),
    "user-account": ("account_type", "user_id", "account_login"),
    "windows-registry-key": ("key", "values"),
    "x509-certificate": ("hashes", "serial_number"),
}

_HASH_PREFERENCE = ("MD5", "SHA-1", "SHA-256", "SHA-512")


def is_identifier(value: object, type_: str | None = None) -> bool:
    """Whether ``value`` is a STIX identifier (of ``type_``, when given)."""
    if not isinstance(value, str) or IDENTIFIER_RE.fullmatch(value) is None:
        return False
    return type_ is None or value.startswith(type_ + "--")


def deterministic_id(sco: Mapping[str, Any]) -> str | None:
    """The UUIDv5 id the spec gives this SCO, or None when its type has no contributing properties present
    (then the producer must use a UUIDv4)."""
    type_ = sco.get("type")
    if not isinstance(type_, str):
        return None
    names = ID_CONTRIBUTING_PROPERTIES.get(type_)
    if not names:
        return None
    contributing: dict[str, Any] = {}
    for name in names:
        if name not in sco:
            continue
        value = sco[name]
        if name == "hashes" and isinstance(value, Mapping) and value:
            value = _one_hash(value)
        contributing[name] = value
    if not contributing:
        return None
    name_bytes = canonical(contributing).decode("utf-8")
    return f"{type_}--{uuid.uuid5(SCO_NAMESPACE, name_bytes)}"


def _one_hash(hashes: Mapping[str, Any]) -> dict[str, Any]:
    for algorithm in _HASH_PREFERENCE:
        if algorithm in hashes:
            return {algorithm: hashes[algorithm]}
    first = next(iter(hashes))
    return {first: hashes[first]}
