"""Sightings: what an anonymous sighting may carry, who may learn who made one, and what a reader is told of
the sightings of an object (k-anonymity).

An anonymous sighting (``x_phalanx_anonymous: true``) is known to the node, which records the contributing
organization as it does for every object, but not to the other members: the object names nobody (no
``created_by_ref``, no identity among its ``where_sighted_refs``, no signature, whose key would name the
organization), and nothing that shows an object's contributor shows it for an anonymous sighting to anyone but
that organization and node administrators.

Aggregates are k-anonymous. A reader learns how many organizations saw an object (or reported it a false
positive, or expired) only when at least ``k`` organizations other than its own did, so that whoever reads a
number can never narrow those behind it below ``k``; below that, only "fewer than k". The first and last time
it was seen go with the count (they could point at one organization). Its own organization's sightings a
member always sees. Node administrators see every number.

    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.store import SightingTally, Tally
    >>> tally = SightingTally("indicator--...", Tally(seen=2, sightings=2, count=9), Tally())
    >>> disclose(Actor("identity--a", Role.READER), tally, k=3).seen is None
    True
"""

from __future__ import annotations

__all__ = ["SIGHTING_ANONYMOUS", "SIGHTING_KIND", "Disclosed", "anonymity", "disclose", "is_anonymous",
           "may_attach_observed", "may_learn_contributor", "sighting_level"]

from dataclasses import dataclass
from typing import Any

import orjson

from ..identity import Actor, Role
from ..stix import StixObject, Tlp
from ..store import SightingTally, Tally
from ._decision import Decision

SIGHTING_KIND = "x_phalanx_kind"
"""What a sighting reports: ``seen`` (the default when absent), ``false-positive`` or ``expired``."""
SIGHTING_ANONYMOUS = "x_phalanx_anonymous"
"""``true``: other members must never learn which organization made the sighting."""
_MARK = f'"{SIGHTING_ANONYMOUS}":true'.encode()
_SIGNATURE = b'"extension-definition--c480c8d4-9928-4994-96db-c94d6ff0b831"'  # phalanx.ledger's EXTENSION_ID


def is_anonymous(obj: StixObject | Any) -> bool:
    """Whether ``obj`` (a ``StixObject``, or a stored version with ``type`` and ``canonical``) is an anonymous
    sighting."""
    if obj.type != "sighting" or _MARK not in obj.canonical:
        return False
    return orjson.loads(obj.canonical).get(SIGHTING_ANONYMOUS) is True


def may_attach_observed(anonymous: bool) -> Decision:
    """Whether a sighting may come with observed data (observed-data and observables, made or referred to):
    not an anonymous one, since those objects are shared as its organization's (the log entry of each names it,
    and a custodial key would sign them)."""
    if anonymous:
        return Decision(False, "an anonymous sighting cannot come with observed data: observed-data and "
                               "observables are shared as your organization's (the log entry of each names it, "
                               "and a signature would), so they would tell who saw it")
    return Decision(True, "an attributed sighting may show what was seen")


def sighting_level(sighted: Tlp, default: Tlp) -> Tlp | None:
    """The TLP a sighting takes when its maker names none: the level of the object sighted when it is above
    the node's default (a sighting of a TLP:RED indicator must not reach those the indicator does not), else
    None (the default applies)."""
    return sighted if sighted.rank > default.rank else None


def anonymity(obj: StixObject, contributor: str) -> Decision:
    """Whether ``obj`` may be shared as ``contributor`` (a refusal when it is an anonymous sighting that names
    someone). Other objects are always allowed."""
    if not is_anonymous(obj):
        return Decision(True, "not an anonymous sighting")
    data: dict[str, Any] = orjson.loads(obj.canonical)
    if data.get("created_by_ref") is not None:
        return Decision(False, "an anonymous sighting names no creator, and this one has a created_by_ref",
                        "Remove created_by_ref, or share the sighting attributed (without x_phalanx_anonymous).")
    where = data.get("where_sighted_refs") or []
    if any(isinstance(ref, str) and ref.startswith("identity--") for ref in where):
        named = "your organization" if contributor in where else "an identity"
        return Decision(False, f"an anonymous sighting names no identity, and its where_sighted_refs names {named}",
                        "Keep only locations in where_sighted_refs, or share the sighting attributed.")
    if _SIGNATURE in obj.canonical:
        return Decision(False, "an anonymous sighting carries no signature: its key would name your organization",
                        "Share it unsigned, or share it attributed (signed, without x_phalanx_anonymous).")
    return Decision(True, "an anonymous sighting that names nobody")


def may_learn_contributor(actor: Actor, *, contributor: str, anonymous: bool) -> Decision:
    """Whether ``actor`` may learn which organization contributed a version (a log entry names it): for an
    anonymous sighting, only that organization and node administrators."""
    if not anonymous:
        return Decision(True, "the version is not an anonymous sighting")
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrators know who contributed every version")
    if actor.role is not Role.ANONYMOUS and actor.org_id == contributor:
        return Decision(True, "your organization made this anonymous sighting")
    return Decision(False, "this is an anonymous sighting: which organization made it is known only to that "
                    "organization and to the node's administrators",
                    "Ask a node administrator, who may vouch for it without naming the organization.")


@dataclass(frozen=True, slots=True)
class Disclosed:
    """What one reader is told of the sightings of one object. A count that is None was withheld: fewer than
    ``k`` organizations (other than the reader's) are behind it."""

    sighted: str
    k: int
    seen: int | None
    """Distinct organizations that saw it."""
    sightings: int | None
    count: int | None
    first_seen: int | None
    last_seen: int | None
    false_positive: int | None
    """Distinct organizations that reported it a false positive."""
    expired: int | None
    """Distinct organizations that reported it expired."""
    own: Tally
    """The reader's organization's own sightings of it, always shown to it."""
    reason: str


def _shown(total: int, own: int, k: int) -> bool:
    return k <= 1 or total - own >= k  # k = 1: no threshold, zero included


def disclose(actor: Actor, tally: SightingTally, *, k: int) -> Disclosed:
    """What ``actor`` may learn of ``tally`` (which holds only the sightings it may see)."""
    every, own = tally.everyone, tally.own
    if actor.role is Role.ADMIN:
        return Disclosed(tally.sighted, k, every.seen, every.sightings, every.count, every.first_seen,
                         every.last_seen, every.false_positive, every.expired, own,
                         "node administrators see every count")
    seen = _shown(every.seen, own.seen, k)
    fp = _shown(every.false_positive, own.false_positive, k)
    expired = _shown(every.expired, own.expired, k)
    if k <= 1:
        reason = "sighting_k is 1: every count is shown"
    elif seen and fp and expired:
        reason = f"at least {k} organizations besides yours are behind every count"
    elif not (seen or fp or expired):
        reason = f"fewer than {k} organizations besides yours are behind each count: they are withheld"
    else:
        reason = f"counts with fewer than {k} organizations besides yours behind them are withheld"
    return Disclosed(
        tally.sighted, k,
        every.seen if seen else None,
        every.sightings if seen else None,
        every.count if seen else None,
        every.first_seen if seen else None,
        every.last_seen if seen else None,
        every.false_positive if fp else None,
        every.expired if expired else None,
        own, reason)
