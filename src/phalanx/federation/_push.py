"""Pushing to a peer: for a peer this node can reach but that cannot reach it (behind NAT, a one-way firewall),
send it what it would read here if it followed this node.

What may leave is decided exactly as for a peer that pulls: the sharing policy and egress allowlists for the
organization that stands for the peer here (``Reader``, as that organization with the peer role), so what the
peer sent is never sent back. Each of this node's collections that the peer may read goes, over TAXII 2.1, to the
peer's collection of the same title that this node's key may write; the peer checks it as anything a member
shares. The cursor per collection moves once the peer has answered for a batch; what the peer refused is logged
with its reason. The feed wakes the pusher when something is stored.
"""

from __future__ import annotations

__all__ = ["PeerPush"]

import contextlib
import logging
import random
import threading
from collections.abc import Callable

from ..errors import Error
from ..identity import Actor, Role
from ..policy import sharing_levels, stays_with_recipients
from ..service import Reader
from ..stix import Mode, StixObject, Tlp, now_micros
from ..store import PeerRecord, Peers, Query, Refusal, StoredVersion, VersionFilter
from ..streams._feed import Feed
from ._client import PeerClient

_JITTER = random.Random()
"""Our own: the module-level generator's state is the program's (and hypothesis checks it is left alone)."""

_log = logging.getLogger("phalanx.federation")
BATCH = 500
LEASE_SECONDS = 10.0
PUSH = "push:"
"""Cursors of pushed collections are kept beside the pulled ones, under this prefix."""


class PeerPush:
    def __init__(self, record: PeerRecord, *, peers: Peers, reader: Reader, feed: Feed, runner: str,
                 clock: Callable[[], int] = now_micros, client: PeerClient | None = None) -> None:
        self.record = record
        self._peers = peers
        self._reader = reader
        self._feed = feed
        self._runner = runner
        self._clock = clock
        self.client = client or PeerClient(record.url, record.api_key)
        self._actor = Actor(record.org_id, Role.PEER)
        self._stop = threading.Event()
        self._wake = threading.Event()

    def run(self) -> None:
        self._feed.watch(self._moved)
        delay = 1.0
        try:
            while not self._stop.is_set():
                try:
                    if self._peers.claim(self.record.name, self._runner, now=self._clock(),
                                         ttl=int(LEASE_SECONDS * 1_000_000)):
                        self.push_pending()
                    delay = 1.0
                    self._wake.wait(1.0)
                    self._wake.clear()
                except Exception as exc:  # whatever the peer answered, the pusher lives on and tries again
                    message = exc.message if isinstance(exc, Error) else f"unexpected failure: {exc!r}"
                    _log.warning("peer %s (push): %s", self.record.name, message)
                    with contextlib.suppress(Error):
                        self._peers.failed(self.record.name, message, now=self._clock())
                    self._stop.wait(delay * (1 + _JITTER.random() / 4))
                    delay = min(delay * 2, 60.0)
        finally:
            self._feed.unwatch(self._moved)

    def _moved(self, date_added: int) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def targets(self) -> list[tuple[str, str]]:
        """(this node's collection id, the peer's collection id) for each collection pushed."""
        writable = {str(c.get("title")): str(c.get("id")) for c in self.client.collections() if c.get("can_write")}
        wanted = set(self.record.collections)
        return [(a.collection.id, writable[a.collection.title]) for a in self._reader.collections(self._actor)
                if a.can_read and a.collection.title in writable
                and (not wanted or {a.collection.id, a.collection.title} & wanted)]

    def push_pending(self) -> int:
        """Send everything not sent yet; return how many versions went."""
        sent = 0
        for local, remote in self.targets():
            cursor = self._peers.state(self.record.name).cursors.get(PUSH + local, 0)
            while not self._stop.is_set():
                page = self._reader.page(self._actor, Query(collection=local, versions=(VersionFilter.ALL,),
                                                            added_after=cursor, types=self.record.types,
                                                            limit=BATCH))
                if not page.items:
                    break
                cursor = page.items[-1].date_added
                travels = [item for item in page.items if _may_travel(item)]
                status = self.client.push(remote, [item.canonical for item in travels]) if travels else {}
                now = self._clock()
                failures = status.get("failures")
                refusals = [Refusal(now, str(f.get("id") or "") or None,
                                    "pushed, refused by the peer: " + str(f.get("message") or "no reason given"))
                            for f in (failures if isinstance(failures, list) else []) if isinstance(f, dict)]
                if refusals:
                    self._peers.refuse(self.record.name, refusals)
                self._peers.advance(self.record.name, {PUSH + local: cursor}, received=0, refused=len(refusals),
                                    now=now, lag=None)
                sent += len(travels)
        return sent


def _may_travel(item: StoredVersion) -> bool:
    """Whether a version may be pushed: not one that stays with its recipients (``policy.stays_with_recipients``).
    Its parts' levels are read only when it has granular markings."""
    level = top = Tlp.of_rank(item.level)
    if b'"granular_markings"' in item.canonical:
        _, top = sharing_levels(StixObject.from_json(item.canonical, mode=Mode.TOLERANT), default=level, strict=False)
    return not stays_with_recipients(level, top)
