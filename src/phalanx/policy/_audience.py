"""Who may see an object version shared into a collection: the TLP 2.0 audience rules.

Each rule is a small object with two faces that must agree: ``decide`` answers for one version, with a reason
(``phalanx policy explain``, the redaction of granular markings); ``compile`` says which rows it admits in the
form the store turns into its query (``phalanx.store.Visibility``), so reads never fetch and then filter.
``READ_RULES`` admits a version when any rule allows it; when none applies, it refuses (fail closed).

    TLP:CLEAR          anyone who may read the collection (anonymous readers too, when it is public)
    TLP:GREEN          the organizations of the collection's community
    TLP:AMBER(+STRICT) the recipients: the community, or the organizations the sharer listed (and the
                       organizations of the people it listed)
    TLP:RED            only the named recipients: listed organizations and listed people
    always             the organization that contributed the version, or shared it into this collection;
                       node administrators
    never              a peer node, the versions its organization contributed or shared here (no echo)

Scopes are sets of principals: ``o:<org>`` a listed organization, ``p:<user>`` a listed person, ``a:<org>``
the organization of a listed person (which AMBER reaches, RED does not).
"""

from __future__ import annotations

__all__ = [
    "READ_RULES",
    "AnyOf",
    "ReadRule",
    "Shared",
    "Venue",
    "amber_principals",
    "may_see",
    "red_principals",
    "visibility",
    "visible_up_to",
]

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ..identity import Actor, Role
from ..stix import Tlp
from ..store import LEVELS, Grant, ScopeTest, Visibility
from ._access import may_read
from ._decision import Decision

ORG, PERSON, VIA_PERSON = "o:", "p:", "a:"


@dataclass(frozen=True, slots=True)
class Venue:
    """The collection a version is read through: its community, that community's members, and whether it is
    public."""

    community: str
    members: frozenset[str]
    public: bool = False


@dataclass(frozen=True, slots=True)
class Shared:
    """One version as shared into one collection."""

    level: Tlp
    contributor: str
    sharer: str
    scope: frozenset[str] | None
    venue: Venue


def red_principals(actor: Actor) -> tuple[str, ...]:
    """The scope entries that make ``actor`` a named (RED) recipient."""
    return (ORG + actor.org_id,) + ((PERSON + actor.user_id,) if actor.user_id else ())


def amber_principals(actor: Actor) -> tuple[str, ...]:
    """The scope entries that make ``actor`` an AMBER recipient: every one that makes it a RED recipient (so the
    audiences nest whatever a scope holds), and its organization reached through a listed person."""
    return (*red_principals(actor), VIA_PERSON + actor.org_id)


class ReadRule(Protocol):
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        """Allowed or refused with the reason, or None when the rule says nothing about this version."""
        ...

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        """Every row of ``venue`` this rule lets ``actor`` see."""
        ...


_NOTHING = Visibility()


def _member(actor: Actor, venue: Venue) -> bool:
    return actor.role not in (Role.ANONYMOUS,) and actor.org_id in venue.members


class NodeAdministrators:
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        return Decision(True, "node administrators see everything") if actor.role is Role.ADMIN else None

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        return Visibility(grants=(Grant(LEVELS),)) if actor.role is Role.ADMIN else _NOTHING


class OwnContributions:
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        if actor.role is Role.ANONYMOUS:
            return None
        if actor.org_id == shared.contributor:
            return Decision(True, "your organization contributed it")
        if actor.org_id == shared.sharer:
            return Decision(True, "your organization shared it into this collection")
        return None

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        return _NOTHING if actor.role is Role.ANONYMOUS else Visibility(owner=actor.org_id)


class ClearLevel:
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        if shared.level is not Tlp.CLEAR:
            return None
        venue = shared.venue
        access = may_read(actor, community=venue.community, members=venue.members, public=venue.public)
        if access.allowed:
            return Decision(True, f"TLP:CLEAR: anyone who may read the collection ({access.reason})")
        return Decision(False, f"TLP:CLEAR, but {access.reason}", access.remedy)

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        access = may_read(actor, community=venue.community, members=venue.members, public=venue.public)
        return Visibility(grants=(Grant((Tlp.CLEAR.rank,)),)) if access.allowed else _NOTHING


class GreenLevel:
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        if shared.level is not Tlp.GREEN:
            return None
        community = shared.venue.community
        if _member(actor, shared.venue):
            return Decision(True, f"TLP:GREEN: for the members of community {community!r}, and yours is one")
        return Decision(False, f"TLP:GREEN is for the members of community {community!r}, and your organization "
                        "is not one")

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        return Visibility(grants=(Grant((Tlp.GREEN.rank,)),)) if _member(actor, venue) else _NOTHING


class AmberLevels:
    _LEVELS = (Tlp.AMBER, Tlp.AMBER_STRICT)

    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        if shared.level not in self._LEVELS:
            return None
        title = shared.level.title
        if not _member(actor, shared.venue):
            return Decision(False, f"{title} is for recipient organizations of community "
                            f"{shared.venue.community!r}, and your organization is not a member")
        if shared.scope is None:
            return Decision(True, f"{title}: shared with every organization of community {shared.venue.community!r}")
        if any(p in shared.scope for p in amber_principals(actor)):
            return Decision(True, f"{title}: your organization is one of the recipients the sharer listed")
        return Decision(False, f"{title}: the sharer listed the recipient organizations, and yours is not one")

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        if not _member(actor, venue):
            return _NOTHING
        levels = tuple(level.rank for level in self._LEVELS)
        return Visibility(grants=(Grant(levels, ScopeTest.UNSCOPED_OR_LISTED, amber_principals(actor)),))


class RedLevel:
    def decide(self, actor: Actor, shared: Shared) -> Decision | None:
        if shared.level is not Tlp.RED:
            return None
        if not _member(actor, shared.venue):
            return Decision(False, "TLP:RED is for named recipients only, and your organization is not even a "
                            f"member of community {shared.venue.community!r}")
        if shared.scope is None:
            return Decision(False, "TLP:RED is for named recipients only, and the sharer named none: only its "
                            "own organization sees it")
        if any(p in shared.scope for p in red_principals(actor)):
            who = "you are" if actor.user_id and PERSON + actor.user_id in shared.scope else "your organization is"
            return Decision(True, f"TLP:RED: {who} among the named recipients")
        return Decision(False, "TLP:RED is for named recipients only, and neither you nor your organization is one")

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        if not _member(actor, venue):
            return _NOTHING
        return Visibility(grants=(Grant((Tlp.RED.rank,), ScopeTest.LISTED, red_principals(actor)),))


class AnyOf:
    """Allows what any of its rules allows. With no rule that applies, or no rules at all, it refuses."""

    def __init__(self, *rules: ReadRule) -> None:
        self.rules: Sequence[ReadRule] = rules

    def decide(self, actor: Actor, shared: Shared) -> Decision:
        refusals: list[Decision] = []
        for rule in self.rules:
            decision = rule.decide(actor, shared)
            if decision is not None and decision.allowed:
                return decision
            if decision is not None:
                refusals.append(decision)
        if refusals:
            return refusals[0]
        return Decision(False, "no rule lets you see this object")

    def compile(self, actor: Actor, venue: Venue) -> Visibility:
        owner: str | None = None
        grants: list[Grant] = []
        for rule in self.rules:
            part = rule.compile(actor, venue)
            owner = owner or part.owner
            grants.extend(part.grants)
        return Visibility(owner=owner, grants=tuple(grants))


READ_RULES = AnyOf(NodeAdministrators(), OwnContributions(), ClearLevel(), GreenLevel(), AmberLevels(), RedLevel())


def _echo(actor: Actor, shared: Shared) -> bool:
    return actor.role is Role.PEER and actor.org_id in (shared.contributor, shared.sharer)


def may_see(actor: Actor, shared: Shared) -> Decision:
    """Whether ``actor`` may see this version, and why. A peer node is never sent back what it sent (no echo,
    and no loop in any topology of nodes), whatever the rules would allow."""
    if _echo(actor, shared):
        return Decision(False, "your node sent this version here: a peer is never sent back what it sent")
    return READ_RULES.decide(actor, shared)


def visibility(actor: Actor, venue: Venue) -> Visibility:
    """Everything ``actor`` may see in a collection, for the store to compile into its query."""
    compiled = READ_RULES.compile(actor, venue)
    return replace(compiled, not_from=actor.org_id) if actor.role is Role.PEER else compiled


def visible_up_to(actor: Actor, shared: Shared) -> Tlp | None:
    """The most restrictive level at which ``actor`` would still see this version (None: not even CLEAR).
    The audiences nest (RED's within AMBER's, within GREEN's, within CLEAR's), so everything at or below it is
    visible and everything above it is not: parts marked above it are removed from the copy served."""
    best: Tlp | None = None
    for level in Tlp:
        if may_see(actor, replace(shared, level=level)).allowed:
            best = level
        else:
            break
    return best
