"""Federation on one node: the peers it follows (add, remove, status), the links that follow them while the node
serves, and invitations for other nodes to follow this one.

A peer is followed with a key the peer's operator made for this node (``phalanx peer invite`` there). On this
node the peer is an organization of its own (``peer NAME``), a member of the community that receives what it
sends: what arrives is contributed by that organization, and checked as anything a member shares is (the
sharing policy, the store's versioning rules) after the peer's signatures and log are checked
(``_ingress``). What may leave a node for a peer is what the peer's key may read there: the sharing policy
decides it, and a peer is never sent back what it sent (docs/federation.md).
"""

from __future__ import annotations

__all__ = ["Federation", "PeerStatus"]

import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import orjson

from ..errors import ConfigError, Error, InvalidParameter, NotFound
from ..identity import Actor, ApiKeyRecord, Organization, Role
from ..ledger._bundle import Trust
from ..service import Node
from ..stix import Mode, now_micros
from ..stix._parallel import default_workers, process_pool
from ..store import Egress, PeerRecord, PeerState, Query, Refusal, VersionFilter
from ._client import PeerClient
from ._ingress import PeerLog
from ._link import PeerLink, Reconciled, local_collection
from ._push import PeerPush

_log = logging.getLogger("phalanx.federation")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PEER_ORG_PREFIX = "peer "
_WATCH_SECONDS = 1.0
T = TypeVar("T")
DIRECTIONS = ("pull", "push", "both")


@dataclass(frozen=True, slots=True)
class PeerStatus:
    record: PeerRecord
    state: PeerState
    refusals: list[Refusal]
    running: bool


class Federation:
    def __init__(self, node: Node) -> None:
        self._node = node
        self._peers = node.backend.peers
        self._runner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._links: dict[str, list[tuple[PeerLink | PeerPush, threading.Thread]]] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None

    # -- this node following others ------------------------------------------------------------------------

    def add(self, url: str, api_key: str, *, name: str | None = None, collections: tuple[str, ...] = (),
            types: tuple[str, ...] = (), community: str | None = None, home: str | None = None,
            direction: str = "pull", client: PeerClient | None = None) -> PeerRecord:
        """Follow the node at ``url`` with ``api_key`` (and, with ``direction`` push or both, send it what it may
        read here): check the key reads the collections asked for, pin the peer's log keys and verify its first
        checkpoint, and make the organization that stands for it here."""
        if direction not in DIRECTIONS:
            raise InvalidParameter(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        client = client or PeerClient(url, api_key)
        name = name or _default_name(url)
        if not _NAME.fullmatch(name):
            raise InvalidParameter(f"peer name {name!r} must be letters, digits, '.', '-' or '_' (64 at most)")
        trust_record = client.trust()
        trust = Trust.from_record(trust_record)
        listed = client.collections()
        readable = [c for c in listed if c.get("can_read")]
        if direction != "pull" and not any(c.get("can_write") for c in listed):
            raise ConfigError(f"the key lets this node write into no collection on {url}, so it cannot push there",
                              hint="Ask the peer's operator for a peer key of a member of its community.")
        if not readable:
            raise ConfigError(f"the key lets this node read no collection on {url}",
                              hint="Ask the peer's operator for a peer key of a member of its community "
                                   "('phalanx peer invite' there).")
        names = {str(c.get("id")) for c in readable} | {str(c.get("title")) for c in readable}
        missing = [c for c in collections if c not in names]
        if missing:
            raise NotFound(f"the peer has no collection {missing[0]!r} this node may read",
                           hint="It may read: " + ", ".join(sorted(str(c.get("title")) for c in readable)))
        admin = self._node.admin
        community = community or _only(admin.communities(), "community", "--community").name
        members = admin.members(community)
        if home is None:
            own = [o for o in members if not o.name.startswith(PEER_ORG_PREFIX)]
            home_org = _only(own, f"member organization of {community!r}", "--as")
        else:
            home_org = admin.organization(home)
            if home_org.id not in {o.id for o in members}:
                raise ConfigError(f"{home_org.name!r} is not a member of community {community!r}")
        standing = self._standing_org(name, community)
        record = PeerRecord(name=name, url=client.url, api_key=api_key, org_id=standing.id, community=community,
                            home=home_org.id, trust=orjson.dumps(trust.record()).decode(),
                            created=now_micros(), collections=collections, types=types, direction=direction)
        self._peers.add(record)
        try:
            PeerLog(name, client, trust, self._peers).check()  # the first checkpoint: trusted on first use
            for found in readable:  # the collections that receive it exist from now on (others may follow them)
                if not collections or {str(found.get("id")), str(found.get("title"))} & set(collections):
                    local_collection(admin, str(found.get("title")), record)
        except Error:
            self._peers.remove(name)
            raise
        return record

    def _standing_org(self, name: str, community: str) -> Organization:
        admin = self._node.admin
        org_name = PEER_ORG_PREFIX + name
        try:
            org = admin.organization(org_name)
        except NotFound:
            org = admin.add_organization(org_name)
        if org.id not in {o.id for o in admin.members(community)}:
            admin.join(community, org.id)
        return org

    def remove(self, name: str) -> None:
        """Stop following ``name`` (what it sent stays; so does its organization, which contributed it)."""
        self._peers.remove(name)
        self._stop_link(name)

    def peers(self) -> list[PeerRecord]:
        return self._peers.all()

    def status(self, name: str, *, refusals: int = 10) -> PeerStatus:
        record = self._peers.get(name)
        with self._lock:
            running = name in self._links
        return PeerStatus(record, self._peers.state(name), self._peers.refusals(name, refusals), running)

    def reconcile(self, name: str) -> Reconciled:
        """One repair pass with peer ``name`` now (``phalanx peer reconcile``): find the versions it lets this
        node read that this node lacks, and fetch them."""
        return self._link(self._peers.get(name)).reconcile(self._local_versions)

    def _local_versions(self, collection_id: str, peer_org: str) -> Iterator[tuple[str, int]]:
        """What this node tells a peer it holds, to reconcile: what the peer sent it, and what the policy lets
        the peer's organization read here anyway, never the rest (what is for this node's own people)."""
        query = Query(collection=collection_id, versions=(VersionFilter.ALL,), limit=1000)
        return ((item.id, item.version) for item in self._node.reader.export(query, actor=Actor(peer_org,
                                                                                                 Role.READER)))

    # -- others following this node ------------------------------------------------------------------------

    def invite(self, name: str, *, community: str | None = None, label: str = "", collections: tuple[str, ...] = (),
               types: tuple[str, ...] = ()) -> tuple[str, ApiKeyRecord]:
        """A peer key for the node ``name`` (an organization of its own here, a member of ``community``): what
        its operator passes to ``phalanx peer add``. ``collections`` and ``types`` are its egress allowlists:
        it reads only those (still within the sharing policy); inviting again replaces them. Returns the secret
        (shown once) and the key's record."""
        admin = self._node.admin
        if not _NAME.fullmatch(name):
            raise InvalidParameter(f"peer name {name!r} must be letters, digits, '.', '-' or '_' (64 at most)")
        community = community or _only(admin.communities(), "community", "--community").name
        allowed = tuple(admin.collection(ref).id for ref in collections)  # NotFound for an unknown one
        org = self._standing_org(name, community)
        self._peers.set_egress(Egress(org.id, allowed, types))
        return admin.create_key(org.id, Role.PEER, label=label or f"peer key for {name}")

    # -- running the links (phalanx serve) -----------------------------------------------------------------

    def start(self) -> None:
        """Follow every peer, each on its own thread, and pick up peers added or removed later. Catch-up pages
        are parsed in ``parse_workers`` worker processes (settings.md)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="phalanx-federation", daemon=True)
                self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                wanted = {r.name: r for r in self._peers.all()}
            except Error as exc:
                _log.warning("federation: %s", exc.message)
                wanted = None
            if wanted is not None:
                for name in set(self._links) - set(wanted):
                    self._stop_link(name)
                for name, record in wanted.items():
                    if name not in self._links:
                        self._start_link(record)
            self._stop.wait(_WATCH_SECONDS)

    def _link(self, record: PeerRecord) -> PeerLink:
        settings = self._node.settings
        return PeerLink(record, peers=self._peers, ingest=self._node.ingest, admin=self._node.admin,
                        mode=Mode.STRICT if settings.strict else Mode.TOLERANT, limits=self._node.ingest.limits(),
                        require_signatures=settings.require_signatures, default_tlp=settings.peer_default_tlp,
                        runner=self._runner, local_versions=self._local_versions,
                        reconcile_every=settings.reconcile_seconds, pool=self._parse_pool)

    def _push(self, record: PeerRecord) -> PeerPush:
        return PeerPush(record, peers=self._peers, reader=self._node.reader, feed=self._node.feed,
                        runner=self._runner)

    def push(self, name: str) -> int:
        """Send peer ``name`` now what it may read here and was not sent yet (a push or both peer)."""
        return self._push(self._peers.get(name)).push_pending()

    def _parse_pool(self) -> Executor | None:
        """The worker processes that parse catch-up pages, made when a link first needs them (a node with no
        peer, or nothing to catch up, starts none); None when ``parse_workers`` is 0."""
        workers = self._node.settings.parse_workers
        with self._lock:
            if self._pool is None and workers != 0 and not self._stop.is_set():
                self._pool = process_pool(default_workers() if workers < 0 else workers)
            return self._pool

    def _start_link(self, record: PeerRecord) -> None:
        workers: list[PeerLink | PeerPush] = []
        if record.direction in ("pull", "both"):
            workers.append(self._link(record))
        if record.direction in ("push", "both"):
            workers.append(self._push(record))
        threads = [threading.Thread(target=w.run, name=f"phalanx-link-{record.name}", daemon=True) for w in workers]
        with self._lock:
            self._links[record.name] = list(zip(workers, threads, strict=True))
        for thread in threads:
            thread.start()

    def _stop_link(self, name: str) -> None:
        with self._lock:
            found = self._links.pop(name, [])
        for worker, _ in found:
            worker.stop()
        for _, thread in found:
            thread.join(timeout=10)

    def close(self) -> None:
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout=10)
        for name in list(self._links):
            self._stop_link(name)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'peer'}-{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _only(found: list[T], what: str, option: str) -> T:
    if len(found) != 1:
        raise ConfigError(f"this node has {len(found)} {what}s: name one with {option}" if found
                          else f"this node has no {what}: make one first")
    return found[0]
