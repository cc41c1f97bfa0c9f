"""Peers: the other nodes this node follows (``phalanx.federation``), and where it is with each.

A peer is followed by one process of the hub at a time (``claim``: a lease that another process takes over
when it lapses). Its state moves forward only: the cursors (the peer's ``date_added`` per collection, of the
last change ingested) and the last checkpoint of its log that this node verified. Refusals of what a peer sent
are logged with their reason.
"""

from __future__ import annotations

__all__ = ["Egress", "MemoryPeers", "PeerRecord", "PeerState", "Peers", "Refusal"]

import threading
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from ..errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class PeerRecord:
    name: str
    """Unique on this node; letters, digits, '-', '_', '.'."""
    url: str
    """The peer's base URL (``http(s)://host:port``)."""
    api_key: str
    """The key this node presents to the peer (a peer key the peer's operator made for this node)."""
    org_id: str
    """The local organization that stands for the peer: what it sends is contributed by it."""
    community: str
    """The local community whose collections receive what the peer sends."""
    home: str
    """The local organization that what the peer sends at AMBER+STRICT or RED is for (the recipient there)."""
    trust: str
    """The peer's log trust (its origin and keys, JSON), pinned when the peer was added."""
    created: int
    collections: tuple[str, ...] = ()
    """The peer's collections (ids or titles) to follow; empty: every one it lets this node read."""
    types: tuple[str, ...] = ()
    """The STIX types taken from the peer; empty: any."""
    direction: str = "pull"
    """``pull`` (follow the peer), ``push`` (send the peer what it may read here) or ``both``."""


@dataclass(frozen=True, slots=True)
class PeerState:
    cursors: dict[str, int] = field(default_factory=dict)
    """The peer's collection id -> the ``date_added`` (on the peer) of the last change taken from it."""
    checkpoint_size: int = 0
    checkpoint_root: bytes = b""
    """The last checkpoint of the peer's log this node verified (consistent with every one before)."""
    received: int = 0
    refused: int = 0
    last_contact: int | None = None
    last_error: str = ""
    lag: int | None = None
    """Microseconds between the peer adding the last change taken and this node storing it."""


@dataclass(frozen=True, slots=True)
class Refusal:
    at: int
    object_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Egress:
    """What this node lets one peer (the organization standing for it here) read, beyond the sharing policy:
    only these collections (ids) and these STIX types. Empty: no narrowing."""

    org_id: str
    collections: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


@runtime_checkable
class Peers(Protocol):
    def add(self, record: PeerRecord) -> None:
        """Raises ``Conflict`` when a peer of that name exists."""
        ...

    def remove(self, name: str) -> None: ...

    def get(self, name: str) -> PeerRecord: ...

    def all(self) -> list[PeerRecord]: ...

    def state(self, name: str) -> PeerState: ...

    def advance(self, name: str, cursors: dict[str, int], *, received: int, refused: int, now: int,
                lag: int | None) -> None:
        """Record a batch taken: cursors only move forward; counts add up; the error clears."""
        ...

    def verified(self, name: str, size: int, root: bytes) -> None:
        """Record the peer's checkpoint this node verified (only a larger size replaces the one kept)."""
        ...

    def failed(self, name: str, error: str, *, now: int) -> None: ...

    def refuse(self, name: str, refusals: list[Refusal]) -> None:
        """Log refusals (the newest ``KEEP_REFUSALS`` per peer are kept)."""
        ...

    def refusals(self, name: str, limit: int = 100) -> list[Refusal]:
        """The latest refusals, newest first."""
        ...

    def set_egress(self, egress: Egress) -> None:
        """Set (replace) the egress allowlists of a peer's organization."""
        ...

    def egress(self, org_id: str) -> Egress | None:
        ...

    def claim(self, name: str, runner: str, *, now: int, ttl: int) -> bool:
        """Take (or renew) the lease to follow ``name`` for ``runner`` until ``now + ttl``; False when another
        runner holds an unexpired lease."""
        ...


KEEP_REFUSALS = 1000


class MemoryPeers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, PeerRecord] = {}
        self._states: dict[str, PeerState] = {}
        self._refusals: dict[str, list[Refusal]] = {}
        self._leases: dict[str, tuple[str, int]] = {}
        self._egress: dict[str, Egress] = {}

    def _known(self, name: str) -> None:
        if name not in self._records:
            raise NotFound(f"no peer {name!r}", hint="List the peers with 'phalanx peer list'.")

    def add(self, record: PeerRecord) -> None:
        with self._lock:
            if record.name in self._records:
                raise Conflict(f"a peer named {record.name!r} exists")
            self._records[record.name] = record
            self._states[record.name] = PeerState()
            self._refusals[record.name] = []

    def remove(self, name: str) -> None:
        with self._lock:
            self._known(name)
            for table in (self._records, self._states, self._refusals, self._leases):
                table.pop(name, None)

    def get(self, name: str) -> PeerRecord:
        with self._lock:
            self._known(name)
            return self._records[name]

    def all(self) -> list[PeerRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.name)

    def state(self, name: str) -> PeerState:
        with self._lock:
            self._known(name)
            return self._states[name]

    def advance(self, name: str, cursors: dict[str, int], *, received: int, refused: int, now: int,
                lag: int | None) -> None:
        with self._lock:
            self._known(name)
            old = self._states[name]
            merged = dict(old.cursors)
            for collection, cursor in cursors.items():
                merged[collection] = max(cursor, merged.get(collection, cursor))
            self._states[name] = replace(old, cursors=merged, received=old.received + received,
                                         refused=old.refused + refused, last_contact=now, last_error="",
                                         lag=old.lag if lag is None else lag)

    def verified(self, name: str, size: int, root: bytes) -> None:
        with self._lock:
            self._known(name)
            old = self._states[name]
            if size > old.checkpoint_size or not old.checkpoint_root:
                self._states[name] = replace(old, checkpoint_size=size, checkpoint_root=root)

    def failed(self, name: str, error: str, *, now: int) -> None:
        with self._lock:
            self._known(name)
            self._states[name] = replace(self._states[name], last_error=error)

    def refuse(self, name: str, refusals: list[Refusal]) -> None:
        with self._lock:
            self._known(name)
            kept = self._refusals[name] + refusals
            self._refusals[name] = kept[-KEEP_REFUSALS:]

    def refusals(self, name: str, limit: int = 100) -> list[Refusal]:
        with self._lock:
            self._known(name)
            return list(reversed(self._refusals[name]))[:limit]

    def claim(self, name: str, runner: str, *, now: int, ttl: int) -> bool:
        with self._lock:
            self._known(name)
            holder = self._leases.get(name)
            if holder is not None and holder[0] != runner and holder[1] > now:
                return False
            self._leases[name] = (runner, now + ttl)
            return True

    def set_egress(self, egress: Egress) -> None:
        with self._lock:
            self._egress[egress.org_id] = egress

    def egress(self, org_id: str) -> Egress | None:
        with self._lock:
            return self._egress.get(org_id)
