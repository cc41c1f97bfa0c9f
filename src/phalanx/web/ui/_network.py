"""Federation and ledger health: is our sharing network healthy?

    GET /network[?format=json]   the peers this node exchanges with (direction, health, last contact, lag; for node
                                 administrators also addresses, collections, cursors, counts, errors and refusals)
                                 and the transparency log (size, last checkpoint, its signatures and witness
                                 cosignatures, consistency with the checkpoint before, the sequencer's backlog)

The page shows what ``Network.health`` (``phalanx.service``) reports for the visitor: what a member sees and what
only node administrators see is decided there, by ``phalanx.policy``; this handler only formats it.
"""

from __future__ import annotations

__all__ = ["network_routes"]

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._http import check_params
from ...service._ledger_health import CheckpointHealth, LedgerHealth
from ...service._network import NetworkHealth, PeerDetail, PeerHealth
from ...stix import format_micros
from ._site import Site, Visit

_REFUSALS = 20


def _when(micros: int | None) -> str | None:
    return None if micros is None else format_micros(micros)


def duration(micros: int | None) -> str:
    """A span of time for people: ``850 ms``, ``4.2 s``, ``12 min``, ``3 h``, ``2 d`` ('' when unknown)."""
    if micros is None:
        return ""
    seconds = max(micros, 0) / 1_000_000
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def _directions(peer: PeerHealth) -> list[str]:
    return (["we follow it"] if peer.follows else []) + (["we push to it"] if peer.pushes else []) \
        + (["it follows us"] if peer.followed_by else [])


def _detail(detail: PeerDetail) -> dict[str, Any]:
    return {
        "url": detail.url, "community": detail.community, "collections": list(detail.collections),
        "types": list(detail.types), "keys": list(detail.keys),
        "cursors": [{"collection": c.collection, "pushed": c.pushed, "at": format_micros(c.at)}
                    for c in detail.cursors],
        "received": detail.received, "refused": detail.refused,
        "log_size": detail.log_size, "log_root": detail.log_root, "last_error": detail.last_error,
        "refusals": [{"at": format_micros(r.at), "object_id": r.object_id, "reason": r.reason}
                     for r in detail.refusals],
    }


def _peer(peer: PeerHealth, at: int) -> dict[str, Any]:
    return {
        "name": peer.name, "directions": _directions(peer), "follows": peer.follows, "pushes": peer.pushes,
        "followed_by": peer.followed_by, "status": peer.status,
        "last_contact": _when(peer.last_contact),
        "since_contact": None if peer.last_contact is None else duration(at - peer.last_contact),
        "lag_ms": None if peer.lag is None else round(peer.lag / 1000, 1), "lag": duration(peer.lag),
        "detail": None if peer.detail is None else _detail(peer.detail),
    }


def _checkpoint(checkpoint: CheckpointHealth, at: int) -> dict[str, Any]:
    return {
        "size": checkpoint.size, "root": checkpoint.root, "signed": format_micros(checkpoint.created),
        "age": duration(at - checkpoint.created), "signed_by": list(checkpoint.signed_by),
        "cosignatures": [{"witness": c.witness, "key": c.key, "at": _when(c.at), "verified": c.verified}
                         for c in checkpoint.cosignatures],
        "previous_size": checkpoint.previous_size, "consistent": checkpoint.consistent, "problem": checkpoint.problem,
    }


def _ledger(ledger: LedgerHealth, at: int) -> dict[str, Any]:
    return {
        "origin": ledger.origin, "size": ledger.size,
        "checkpoint": None if ledger.checkpoint is None else _checkpoint(ledger.checkpoint, at),
        "witnesses": [{"name": w.name, "key": w.key, "cosigned_size": w.cosigned_size, "url": w.url}
                      for w in ledger.witnesses],
        "backlog": ledger.backlog, "backlog_more": ledger.backlog_more, "sequencer_error": ledger.sequencer_error,
        "witnessing": None if ledger.witnessing is None else [{"origin": o, "size": s} for o, s in ledger.witnessing],
    }


def network_view(health: NetworkHealth) -> dict[str, Any]:
    """The page's view: plain data (the JSON form is exactly this)."""
    peers = [_peer(p, health.at) for p in health.peers]
    return {
        "at": format_micros(health.at),
        "detail": {"shown": health.detail.allowed, "reason": health.detail.reason},
        "summary": {"peers": len(peers), "failing": sum(p["status"] == "failing" for p in peers),
                    "waiting": sum(p["status"] == "waiting" for p in peers)},
        "peers": peers,
        "more_peers": health.more_peers,
        "ledger": _ledger(health.ledger, health.at),
    }


def network_routes(site: Site) -> list[Route]:
    node = site.node

    async def network(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        check_params(request.query_params, ("format",))
        health = await run_in_threadpool(node.network.health, actor, refusals=_REFUSALS)
        return site.render(request, visit, "network.html", network_view(health), active="network")

    return [Route("/network", site.page(network))]
