"""Is the sharing network healthy? The peers this node exchanges with, and its transparency log, as an actor may
see them: what the dashboard's federation and ledger page shows.

Everything comes from what the node keeps (``Peers``: each peer's record, state and latest refusals; the ledger's
storage; the directory for peer keys): no peer is contacted, and every read is bounded (a row per peer, the
latest refusals, O(log n) tiles for the log's checks, at most ``BACKLOG_LIMIT`` versions for its backlog).

What an actor sees is decided by ``phalanx.policy``: ``may_know_peer`` (a member knows of the peers of its
communities) and ``may_see_network_detail`` (counts of objects, refusals, addresses, errors and the log's backlog:
node administrators only). Detail an actor may not see is left out (None), not blanked in a template.
"""

from __future__ import annotations

__all__ = ["Network", "NetworkHealth", "PeerCursor", "PeerDetail", "PeerHealth", "public_url"]

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..identity import Actor, Role
from ..ledger import Ledger
from ..ledger._base64 import encode
from ..policy import Decision, may_know_peer, may_see_network_detail
from ..stix import now_micros
from ..store import PeerRecord, Peers, PeerState, Refusal, Store
from ._admin import Admin
from ._ledger_health import LedgerHealth, ledger_health
from ._sequencer import Sequencer

PEER_ORG_PREFIX = "peer "
"""The name of the organization that stands for a peer here is this and the peer's name (as
``phalanx.federation.PEER_ORG_PREFIX``, which imports this package: a test holds the two together)."""
PUSHED = "push:"
"""Cursors of collections pushed to a peer are kept beside the pulled ones under this prefix (``federation._push``)."""
MAX_PEERS = 200
"""The most peers one report lists (a row and a few reads each)."""


@dataclass(frozen=True, slots=True)
class PeerCursor:
    """Where one collection of a link got to: the ``date_added`` of the last change taken (on the peer, for a
    collection followed) or sent (here, for a collection pushed)."""

    collection: str
    """The peer's collection id (followed), or the title of this node's collection (pushed)."""
    pushed: bool
    at: int


@dataclass(frozen=True, slots=True)
class PeerDetail:
    """What node administrators see of a peer beyond its health."""

    url: str
    """Without credentials, query or fragment (``public_url``); "" for a peer that only follows this node."""
    community: str
    collections: tuple[str, ...]
    """The peer's collections followed (ids or titles as asked; empty: every one it lets this node read)."""
    types: tuple[str, ...]
    cursors: tuple[PeerCursor, ...]
    received: int
    refused: int
    log_size: int
    """The size of the peer's log at the last checkpoint of it this node verified."""
    log_root: str
    """That checkpoint's root hash (base64, as in the note)."""
    last_error: str
    refusals: tuple[Refusal, ...]
    """The latest objects (or checkpoints) refused from the peer, newest first, with their reasons."""
    keys: tuple[str, ...]
    """The ids of the peer keys it holds here (with which it follows this node)."""


@dataclass(frozen=True, slots=True)
class PeerHealth:
    name: str
    follows: bool
    """This node follows the peer (pull)."""
    pushes: bool
    """This node pushes to the peer."""
    followed_by: bool
    """The peer holds a peer key here: it may follow this node."""
    status: str
    """``ok``, ``failing`` (the last attempt failed), ``waiting`` (nothing taken yet) or ``invited`` (it only
    follows this node, which keeps no record of its visits)."""
    last_contact: int | None
    """When this node last took a batch from (or sent one to) the peer, µs; None: never."""
    lag: int | None
    """µs between the peer adding the last change taken and this node storing it; None: unknown."""
    detail: PeerDetail | None
    """None unless the actor may see it (``may_see_network_detail``)."""


@dataclass(frozen=True, slots=True)
class NetworkHealth:
    at: int
    peers: tuple[PeerHealth, ...]
    ledger: LedgerHealth
    detail: Decision
    """Whether the actor sees the operator's detail, and why (or why not)."""
    more_peers: bool = False
    """More than ``MAX_PEERS`` peers: the first ones (by name) are listed."""


def public_url(url: str) -> str:
    """``url`` as it may be shown: scheme, host, port and path; never credentials, a query or a fragment."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return ""
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme and host else ""


class Network:
    def __init__(self, peers: Peers, ledger: Ledger, store: Store, admin: Admin, sequencer: Sequencer, *,
                 clock: Callable[[], int] = now_micros) -> None:
        self._peers = peers
        self._ledger = ledger
        self._store = store
        self._admin = admin
        self._sequencer = sequencer
        self._clock = clock

    def health(self, actor: Actor, *, refusals: int = 20) -> NetworkHealth:
        """The peers ``actor`` may know of, each with its health (and, for node administrators, its detail and
        latest ``refusals``), and the transparency log's state."""
        detail = may_see_network_detail(actor)
        records = self._peers.all()
        more = len(records) > MAX_PEERS
        by_name: dict[str, PeerRecord] = {r.name: r for r in records[:MAX_PEERS]}
        org_of = {r.org_id: r.name for r in by_name.values()}
        keys = self._peer_keys()
        names = {org.id: org.name for org in self._admin.organizations() if org.id in keys}
        followers = {org_of.get(org_id) or names[org_id].removeprefix(PEER_ORG_PREFIX): org_id
                     for org_id in keys if org_id in names}
        members = {c.name: {o.id for o in self._admin.members(c.name)} for c in self._admin.communities()}
        found = []
        for name in sorted(set(by_name) | set(followers))[:MAX_PEERS]:
            record = by_name.get(name)
            org_id = record.org_id if record is not None else followers[name]
            communities = [record.community] if record is not None else \
                [c for c, orgs in members.items() if org_id in orgs]
            if not any(may_know_peer(actor, community=c, members=members.get(c, set())).allowed
                       for c in communities):
                continue
            found.append(self._peer(name, record, keys.get(org_id, ()), detail.allowed, refusals))
        ledger = ledger_health(self._ledger, self._store, self._sequencer, detail=detail.allowed)
        return NetworkHealth(self._clock(), tuple(found), ledger, detail, more_peers=more)

    def _peer_keys(self) -> dict[str, tuple[str, ...]]:
        """Organization id -> the ids of its usable peer keys (not revoked, not expired)."""
        now = self._clock()
        keys: dict[str, list[str]] = {}
        for key in self._admin.api_keys():
            if key.role is Role.PEER and key.revoked is None and (key.expires is None or key.expires > now):
                keys.setdefault(key.org_id, []).append(key.key_id)
        return {org: tuple(ids) for org, ids in keys.items()}

    def _peer(self, name: str, record: PeerRecord | None, keys: tuple[str, ...], detail: bool,
              refusals: int) -> PeerHealth:
        if record is None:
            shown = PeerDetail("", "", (), (), (), 0, 0, 0, "", "", (), keys) if detail else None
            return PeerHealth(name, False, False, True, "invited", None, None, shown)
        state = self._peers.state(name)
        status = "failing" if state.last_error else "waiting" if state.last_contact is None else "ok"
        follows, pushes = record.direction in ("pull", "both"), record.direction in ("push", "both")
        shown = self._detail(record, state, keys, refusals) if detail else None
        return PeerHealth(name, follows, pushes, bool(keys), status, state.last_contact, state.lag, shown)

    def _detail(self, record: PeerRecord, state: PeerState, keys: tuple[str, ...], refusals: int) -> PeerDetail:
        titles = {c.id: c.title for c in self._admin.collections()} if any(
            c.startswith(PUSHED) for c in state.cursors) else {}
        cursors = tuple(sorted(
            (PeerCursor(titles.get(c[len(PUSHED):], c[len(PUSHED):]), True, at) if c.startswith(PUSHED)
             else PeerCursor(c, False, at) for c, at in state.cursors.items()),
            key=lambda cursor: (cursor.pushed, cursor.collection)))
        return PeerDetail(
            url=public_url(record.url), community=record.community, collections=record.collections,
            types=record.types, cursors=cursors, received=state.received, refused=state.refused,
            log_size=state.checkpoint_size, log_root=encode(state.checkpoint_root) if state.checkpoint_root else "",
            last_error=state.last_error, refusals=tuple(self._peers.refusals(record.name, refusals)), keys=keys)
