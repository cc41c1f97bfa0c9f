"""Who is who on a node: organizations, communities, collections, users and API keys.

These are plain immutable records; ``Directory`` (in ``_directory.py``) stores them, and ``phalanx.identity``
builds them through constructors that validate.
"""

from __future__ import annotations

__all__ = ["ApiKeyRecord", "Collection", "Community", "Organization", "Role", "User"]

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """What an actor may do. ADMIN runs the node; ORG_ADMIN runs its organization's users and keys;
    CONTRIBUTOR reads and shares; READER only reads; PEER is another node exchanging objects."""

    ADMIN = "admin"
    ORG_ADMIN = "org-admin"
    CONTRIBUTOR = "contributor"
    READER = "reader"
    PEER = "peer"
    ANONYMOUS = "anonymous"
    """A caller with no credentials: reads public collections only. No key or user can have this role."""


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    """The organization's STIX identity id (``identity--<uuid>``)."""
    name: str
    sectors: tuple[str, ...]
    created: int
    """Microseconds since the epoch."""


@dataclass(frozen=True, slots=True)
class Community:
    name: str
    """A short unique name (letters, digits, ``-``, ``_``), e.g. ``energy-isac``."""
    title: str
    created: int


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    """A UUID (the TAXII collection id)."""
    title: str
    description: str
    community: str
    """The community whose members share through this collection."""
    created: int
    public: bool = False
    """Readable without credentials (TLP:CLEAR objects only; members still see what their membership allows)."""
    types: tuple[str, ...] = ()
    """The filter it carries: the STIX types it takes and serves (empty: any)."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    org_id: str
    username: str
    role: Role
    created: int
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored: never the secret itself, only its SHA-256."""

    key_id: str
    """The public part of the key, shown in listings (``phx_<key_id>_<secret>``)."""
    org_id: str
    role: Role
    label: str
    secret_hash: str
    created: int
    expires: int | None = None
    revoked: int | None = None
    """When the key was revoked (microseconds), or None."""
    user_id: str | None = None
