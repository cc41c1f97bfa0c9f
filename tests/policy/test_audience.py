"""The audience rules: each rule's decision and its compiled form agree, audiences nest, reasons are given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.identity import Actor, Role
from phalanx.policy import (
    READ_RULES,
    AnyOf,
    Shared,
    Venue,
    may_see,
    visibility,
    visible_up_to,
)
from phalanx.stix import Tlp
from phalanx.store import Visibility

ORGS = ["identity--a", "identity--b", "identity--c", "identity--d"]
USERS = ["u1", "u2", "u3"]
PRINCIPALS = [f"o:{o}" for o in ORGS] + [f"a:{o}" for o in ORGS] + [f"p:{u}" for u in USERS]

actors = st.builds(
    Actor,
    org_id=st.sampled_from(ORGS),
    role=st.sampled_from([r for r in Role if r is not Role.ANONYMOUS]),
    user_id=st.one_of(st.none(), st.sampled_from(USERS)),
) | st.just(Actor("", Role.ANONYMOUS))
venues = st.builds(Venue, community=st.just("isac"), members=st.frozensets(st.sampled_from(ORGS)),
                   public=st.booleans())
scopes = st.one_of(st.none(), st.frozensets(st.sampled_from(PRINCIPALS), min_size=1))


@st.composite
def shared_versions(draw: st.DrawFn) -> Shared:
    contributor = draw(st.sampled_from(ORGS))
    sharer = draw(st.sampled_from([contributor, *ORGS]))
    return Shared(draw(st.sampled_from(list(Tlp))), contributor, sharer, draw(scopes), draw(venues))


@settings(max_examples=3000, deadline=None)
@given(actors, shared_versions())
def test_the_decision_and_the_compiled_query_agree(actor: Actor, shared: Shared) -> None:
    """What the store admits (the compiled form, evaluated as the memory store does) is exactly what
    ``may_see`` allows, for every actor and every version."""
    decision = may_see(actor, shared)
    compiled = visibility(actor, shared.venue)
    admitted = compiled.admits(level=shared.level.rank, scope=shared.scope, contributor=shared.contributor,
                               sharer=shared.sharer)
    assert decision.allowed == admitted, (decision, compiled)
    assert decision.reason


@settings(max_examples=2000, deadline=None)
@given(actors, shared_versions())
def test_audiences_nest(actor: Actor, shared: Shared) -> None:
    """Whoever may see a version at one level may see it at every less restrictive one: so the copy served
    is the object without the parts above one level."""
    from dataclasses import replace

    allowed = [may_see(actor, replace(shared, level=level)).allowed for level in Tlp]
    assert allowed == sorted(allowed, reverse=True)
    reach = visible_up_to(actor, shared)
    assert reach is None if not allowed[0] else reach is list(Tlp)[sum(allowed) - 1]


ISAC = Venue("isac", frozenset(ORGS[:3]))
A, B, C, D = (Actor(o, Role.READER) for o in ORGS)


def _shared(level: Tlp, scope: set[str] | None = None, *, venue: Venue = ISAC, by: str = "identity--a") -> Shared:
    return Shared(level, by, by, None if scope is None else frozenset(scope), venue)


@pytest.mark.parametrize(("actor", "shared", "allowed", "reason"), [
    (B, _shared(Tlp.CLEAR), True, "TLP:CLEAR: anyone who may read the collection"),
    (D, _shared(Tlp.CLEAR), False, "not a member"),
    (Actor("", Role.ANONYMOUS), _shared(Tlp.CLEAR, venue=Venue("isac", ISAC.members, True)), True, "public"),
    (Actor("", Role.ANONYMOUS), _shared(Tlp.GREEN, venue=Venue("isac", ISAC.members, True)), False, "TLP:GREEN"),
    (D, _shared(Tlp.CLEAR, venue=Venue("isac", ISAC.members, True)), True, "public"),
    (D, _shared(Tlp.GREEN, venue=Venue("isac", ISAC.members, True)), False, "not one"),
    (B, _shared(Tlp.GREEN, {"o:identity--c"}), True, "TLP:GREEN"),
    (B, _shared(Tlp.AMBER), True, "every organization of community"),
    (B, _shared(Tlp.AMBER, {"o:identity--c"}), False, "yours is not one"),
    (C, _shared(Tlp.AMBER_STRICT, {"o:identity--c"}), True, "recipients the sharer listed"),
    (C, _shared(Tlp.AMBER, {"p:u1", "a:identity--c"}), True, "recipients"),
    (C, _shared(Tlp.RED, {"p:u1", "a:identity--c"}), False, "neither you nor your organization"),
    (Actor("identity--c", Role.READER, user_id="u1"), _shared(Tlp.RED, {"p:u1", "a:identity--c"}), True, "you are"),
    (B, _shared(Tlp.RED), False, "named none"),
    (B, _shared(Tlp.RED, {"o:identity--b"}), True, "your organization is among"),
    (A, _shared(Tlp.RED), True, "contributed it"),
    (Actor("identity--d", Role.ADMIN), _shared(Tlp.RED), True, "node administrators"),
    (D, _shared(Tlp.RED, {"o:identity--d"}), False, "not even a member"),
])
def test_decisions_say_why(actor: Actor, shared: Shared, allowed: bool, reason: str) -> None:
    decision = may_see(actor, shared)
    assert decision.allowed is allowed and reason in decision.reason, decision


def test_an_empty_rule_set_refuses_everything() -> None:
    nothing = AnyOf()
    assert not nothing.decide(A, _shared(Tlp.CLEAR)).allowed
    assert nothing.compile(A, ISAC) == Visibility()
    assert not Visibility().admits(level=0, scope=None, contributor="identity--a", sharer="identity--a")
    assert len(READ_RULES.rules) == 6
