"""What a writer may do to objects other organizations contributed, and what it may delete.

TLP 2.0 says how far information may travel from its recipients: TLP:CLEAR anywhere; TLP:GREEN within the
community but not through public channels; TLP:AMBER and AMBER+STRICT only within the recipient's own
organization; TLP:RED nowhere. So a member may pass on (share into another collection) a version someone else
contributed only when every part of it is CLEAR, or GREEN into a collection that is not public. And only an
object's contributor may add versions to it, which is also how an object is revoked. Node administrators (the
operator, importing feeds) are not limited. Peer nodes write as members like any other: what a node receives from
a peer is contributed, on it, by the organization that stands for that peer (docs/federation.md).
"""

from __future__ import annotations

__all__ = ["delete_owner", "may_pass_on", "stays_with_recipients", "write_guard"]

from dataclasses import replace

from ..errors import PermissionDenied
from ..identity import Actor, Role
from ..stix import Tlp
from ..store import LEVELS, WriteGuard
from ._audience import Venue, visibility
from ._decision import Decision

_UNLIMITED = frozenset({Role.ADMIN})


def _pass_on_levels(public: bool) -> tuple[Tlp, ...]:
    return (Tlp.CLEAR,) if public else (Tlp.CLEAR, Tlp.GREEN)


def write_guard(actor: Actor, venue: Venue, *, relays: frozenset[str] = frozenset()) -> WriteGuard:
    """What the store must refuse when ``actor`` shares into a collection of ``venue``: versioning others'
    objects, passing on what may not travel, and naming others' versions it does not see whole there.
    ``relays`` are the organizations standing for peer nodes: a peer node may add versions to objects another
    peer node relayed (in a mesh, an object's next version may come by another way than its first), never to
    those of this node's members."""
    # What a writer sent it may name again: the echo rule (a peer is not sent back what it sent) is about reads.
    sees = replace(visibility(actor, venue), not_from=None)
    if actor.role in _UNLIMITED:
        return WriteGuard(may_version_others=True, pass_on=LEVELS, sees=sees)
    return WriteGuard(may_version_others=False, pass_on=tuple(t.rank for t in _pass_on_levels(venue.public)),
                      sees=sees, relays=relays if actor.role is Role.PEER else frozenset())


def stays_with_recipients(level: Tlp, top: Tlp) -> bool:
    """Whether a version (at ``level``, with parts up to ``top``) is AMBER+STRICT or RED, in whole or in part:
    it is for its recipient organization alone and travels no further. A node that receives it from a peer keeps
    it for its own organization, never passes it on, and never pushes it to a peer (which could only keep it
    for its whole community)."""
    return level in _RECIPIENTS_ONLY or top in _RECIPIENTS_ONLY


_RECIPIENTS_ONLY = (Tlp.AMBER_STRICT, Tlp.RED)


def may_pass_on(actor: Actor, *, level: Tlp, own: bool, public: bool) -> Decision:
    """Whether ``actor`` may share a version at ``level`` into a collection (public or not); ``own``: its own
    organization contributed the version."""
    if own:
        return Decision(True, "your organization contributed it")
    if actor.role in _UNLIMITED:
        return Decision(True, f"role {actor.role.value} relays what it receives")
    if level in _pass_on_levels(public):
        return Decision(True, f"{level.title} may be passed on" + (" (but not publicly)" if level is Tlp.GREEN
                                                                    else ""))
    where = "into a public collection" if level is Tlp.GREEN else "by its recipients"
    return Decision(False, f"{level.title} may not be passed on {where}: only its contributor may share it here",
                    "Ask the contributing organization to share it into this collection.")


def delete_owner(actor: Actor) -> str | None:
    """Whose versions ``actor`` may delete: None for node administrators (any), else its own organization's
    (those it contributed or shared into the collection). Raises ``PermissionDenied`` for readers."""
    if actor.role is Role.ADMIN:
        return None
    if actor.role in (Role.CONTRIBUTOR, Role.ORG_ADMIN):
        return actor.org_id
    raise PermissionDenied(f"role {actor.role.value} may not delete objects",
                           hint="Objects are deleted by their contributing organization (contributor role or above).")
