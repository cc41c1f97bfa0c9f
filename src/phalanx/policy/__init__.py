"""Who may do what: small rules that fail closed, each decision carrying its reason.

This is the one place where access is decided. The foundation holds the collection-level rules (which roles
and organizations may read or write a collection); the TLP 2.0 audience rules build on them.

    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.policy import may_write
    >>> may_write(Actor("identity--a", Role.READER), community="isac", members={"identity--a"}).allowed
    False
"""

from __future__ import annotations

__all__ = [
    "Decision",
    "ReadLimits",
    "may_administer",
    "may_grant",
    "may_read",
    "may_write",
    "read_limits",
    "require",
]

from collections.abc import Collection as Members
from dataclasses import dataclass

from ..errors import PermissionDenied
from ..identity import Actor, Role
from ..stix import Tlp, marking_ids

_WRITERS = frozenset({Role.ADMIN, Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.PEER})
_READERS = frozenset({Role.ADMIN, Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.READER, Role.PEER})


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    remedy: str | None = None
    """For refusals: what would change the decision."""


def may_read(actor: Actor, *, community: str, members: Members[str]) -> Decision:
    """Read a collection of ``community``: a member organization with any reading role, or a node admin."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrators may read every collection")
    if actor.role not in _READERS:
        return Decision(False, f"role {actor.role.value} may not read")
    if actor.org_id not in members:
        return Decision(False, f"your organization is not a member of community {community!r}",
                        _join_remedy(community))
    return Decision(True, f"your organization is a member of community {community!r}")


def may_write(actor: Actor, *, community: str, members: Members[str]) -> Decision:
    """Share into a collection of ``community``: a member organization with a contributing role."""
    if actor.role not in _WRITERS:
        return Decision(False, f"role {actor.role.value} may not share objects (contributor or above may)")
    if actor.role is not Role.ADMIN and actor.org_id not in members:
        return Decision(False, f"your organization is not a member of community {community!r}",
                        _join_remedy(community))
    return Decision(True, f"role {actor.role.value} of a member organization of {community!r}")


def may_administer(actor: Actor, *, org_id: str | None = None) -> Decision:
    """Manage organizations, communities and keys (org-admins: only their own organization's keys and users)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is Role.ORG_ADMIN and org_id is not None and org_id == actor.org_id:
        return Decision(True, "administrator of this organization")
    return Decision(False, "only node administrators (or org-admins, for their own organization) may do this")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Which objects of a readable collection ``actor`` must still not see, in a form the store compiles into
    its query (``phalanx.store.Hidden``): objects marked with any of ``hidden_markings`` (and, when
    ``hide_unmarked``, objects with no TLP marking, which count as the node's default level), unless the
    actor's own organization contributed them."""

    hidden_markings: frozenset[str]
    hide_unmarked: bool
    contributor: str
    reason: str


# Until contributors can name recipients (the sharing-scope work), TLP:RED has no recipients but its source:
# it fails closed. AMBER+STRICT and AMBER go to the community, the recipients of what is shared into it.
_HIDDEN_FROM_MEMBERS = frozenset({Tlp.RED})


def read_limits(actor: Actor, *, default_tlp: Tlp) -> ReadLimits | None:
    """None when ``actor`` may see everything it can read (node administrators); else what stays hidden."""
    if actor.role is Role.ADMIN:
        return None
    hidden = frozenset(marking_ids(_HIDDEN_FROM_MEMBERS))
    return ReadLimits(
        hidden_markings=hidden,
        hide_unmarked=default_tlp in _HIDDEN_FROM_MEMBERS,
        contributor=actor.org_id,
        reason="TLP:RED is for its named recipients only, and none can be named yet: only its contributor "
        "sees it" + (f"; unmarked objects count as {default_tlp.title}" if default_tlp in _HIDDEN_FROM_MEMBERS
                     else ""),
    )


_POWER = {Role.READER: 0, Role.CONTRIBUTOR: 1, Role.ORG_ADMIN: 2, Role.ADMIN: 3}


def may_grant(holder: Role, granted: Role) -> Decision:
    """Whether a key with role ``granted`` may be made for a user whose role is ``holder`` (never more power)."""
    if granted is holder:
        return Decision(True, f"the key has the user's own role, {holder.value}")
    if Role.PEER in (holder, granted):
        return Decision(False, "peer keys belong to nodes, not to people, and people's keys cannot be peer keys")
    if _POWER[granted] < _POWER[holder]:
        return Decision(True, f"{granted.value} is narrower than the user's role {holder.value}")
    return Decision(False, f"a user with role {holder.value} cannot hold a key with role {granted.value}")


def _join_remedy(community: str) -> str:
    return (f"Ask the node's operator to add your organization to {community!r} "
            f"(phalanx community join {community} ORGANIZATION).")


def require(decision: Decision) -> None:
    """Raise ``PermissionDenied`` with the reason (and the remedy) unless the decision allows."""
    if not decision.allowed:
        raise PermissionDenied(decision.reason, hint=decision.remedy)
