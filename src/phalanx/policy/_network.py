"""Who may see what of the node's sharing network: its peers (federation) and its transparency log.

Counts of objects per peer (received, refused), the objects refused and why, cursors, the peers' addresses and
errors, and how many stored objects the log has not taken yet, change with objects a member may not see (a
TLP:RED object for another organization arriving from a peer moves them): they are for node administrators.
A member knows of the peers linked to the communities it is a member of (``may_see_community``): their names,
which way they exchange, whether the link works, and its lag in time. The log's signed checkpoint and its
witnesses' cosignatures are public (``GET /api/v1/ledger/checkpoint``): anyone signed in sees them.
"""

from __future__ import annotations

__all__ = ["may_know_peer", "may_see_network_detail"]

from collections.abc import Collection as Members

from ..identity import Actor, Role
from ._access import may_see_community
from ._decision import Decision


def may_know_peer(actor: Actor, *, community: str, members: Members[str]) -> Decision:
    """Know of a peer that exchanges with community ``community`` (its name, direction, health and lag in time):
    node administrators every peer, anyone else the peers of the communities it is a member of."""
    seen = may_see_community(actor, community=community, members=members)
    if not seen.allowed:
        return Decision(False, f"the peer exchanges with community {community!r}, which your organization is not "
                        "a member of")
    return Decision(True, seen.reason)


def may_see_network_detail(actor: Actor) -> Decision:
    """See the operator's detail of federation and the log: peers' addresses, collections, cursors, counts of
    objects received and refused, refusals with their reasons, errors, and the log's backlog. Node administrators
    only."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    return Decision(False, "counts of objects per peer, refusals and the log's backlog change with objects you may "
                    "not see, so only node administrators see them", "Ask a node administrator.")
