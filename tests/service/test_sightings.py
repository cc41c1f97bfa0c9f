"""Sightings through the real service, on every backend: recording them, k-anonymous aggregates (at k-1 and k),
false positives, revocation, the sharing policy, and anonymity at ingest."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import orjson
import pytest

from phalanx.errors import InvalidParameter, NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.ledger import generate_key, read_signature, sign_object
from phalanx.policy import disclose
from phalanx.service._sightings import SightingReport, facts_of
from phalanx.stix import StixObject, Tlp, format_micros, now_micros, parse_micros
from phalanx.store import Sighted, SightingKind, SightingTally, Tally
from tests.support import INDICATOR, World, bundle

FP, EXPIRED = SightingKind.FALSE_POSITIVE, SightingKind.EXPIRED


def share_indicator(world: World, level: Tlp = Tlp.GREEN) -> str:
    indicator = {**INDICATOR, "id": f"indicator--{uuid.uuid4()}", "object_marking_refs": [level.value]}
    (result,) = world.node.ingest.document(world.contributor, "isac", bundle(indicator))
    assert result.outcome == "accepted"
    return str(indicator["id"])


def members(world: World, n: int) -> list[Actor]:
    """``n`` more member organizations of the ISAC, each as a contributor."""
    found = []
    for _ in range(n):
        org = world.node.admin.add_organization(f"Member {uuid.uuid4().hex[:8]}")
        world.node.admin.join("isac", org.id)
        found.append(Actor(org.id, Role.CONTRIBUTOR))
    return found


def sight(world: World, actor: Actor, indicator: str, **options: Any) -> dict[str, Any]:
    result = world.node.sightings.record(actor, indicator, **options)
    assert result.outcome == "accepted", result
    stored = world.node.backend.store.get(result.id)
    data: dict[str, Any] = orjson.loads(stored.canonical)
    return data


def test_a_recorded_sighting_is_a_stix_sighting_of_the_organization(world: World) -> None:
    indicator = share_indicator(world)
    first, last = parse_micros("2026-01-02T03:04:05Z"), parse_micros("2026-01-02T04:00:00Z")
    data = sight(world, world.contributor, indicator, count=4, first_seen=first, last_seen=last)
    assert data["type"] == "sighting" and data["sighting_of_ref"] == indicator
    assert data["created_by_ref"] == world.acme.id and data["where_sighted_refs"] == [world.acme.id]
    assert (data["count"], data["first_seen"], data["last_seen"]) == (4, format_micros(first), format_micros(last))
    assert "x_phalanx_kind" not in data and "x_phalanx_anonymous" not in data  # plain STIX
    fp = sight(world, world.contributor, indicator, kind="false-positive")
    assert fp["x_phalanx_kind"] == "false-positive"
    # It is an object like any other: logged, and readable by the community.
    world.node.sequencer.run_once()
    assert world.node.ledger.find(data["id"])
    assert world.node.sightings.of(world.reader, indicator).own == Tally()


def test_counts_are_shown_from_k_organizations_and_not_at_k_minus_one(world: World) -> None:
    indicator = share_indicator(world)
    a, b, c, d = members(world, 4)
    reader = world.reader  # Globex: saw nothing
    for actor in (a, b):
        sight(world, actor, indicator, count=2)
        sight(world, actor, indicator, count=1)  # an organization counts once, however many sightings
    below = world.node.sightings.of(reader, indicator)
    assert (below.k, below.seen, below.sightings, below.count, below.first_seen, below.last_seen) == (
        3, None, None, None, None, None)
    sight(world, c, indicator, count=5)
    at_k = world.node.sightings.of(reader, indicator)
    assert (at_k.seen, at_k.sightings, at_k.count) == (3, 5, 11)
    assert at_k.first_seen is not None and at_k.last_seen is not None
    # A member that saw it needs k others behind the count: c sees 2 others, then (d too) 3.
    assert world.node.sightings.of(c, indicator).seen is None
    assert world.node.sightings.of(c, indicator).own == replace(Tally(seen=1, sightings=1, count=5),
                                                                first_seen=at_k.last_seen, last_seen=at_k.last_seen)
    sight(world, d, indicator)
    assert world.node.sightings.of(c, indicator).seen == 4
    # The operator sees every count, whatever k.
    admin = Actor(world.acme.id, Role.ADMIN)
    assert world.node.sightings.tallies(admin, [indicator])[indicator].seen == 4


def test_false_positives_have_their_own_threshold(world: World) -> None:
    indicator = share_indicator(world)
    a, b, c = members(world, 3)
    for actor in (a, b, c):
        sight(world, actor, indicator)
    sight(world, a, indicator, kind=FP)
    sight(world, b, indicator, kind="false-positive")
    shown = world.node.sightings.of(world.reader, indicator)
    assert (shown.seen, shown.false_positive, shown.expired) == (3, None, None)
    sight(world, c, indicator, kind=FP)
    sight(world, c, indicator, kind=EXPIRED)
    shown = world.node.sightings.of(world.reader, indicator)
    assert (shown.seen, shown.false_positive, shown.expired, shown.sightings) == (3, 3, None, 3)
    assert world.node.sightings.of(c, indicator).own == replace(
        world.node.sightings.of(c, indicator).own, seen=1, false_positive=1, expired=1)


def test_a_revoked_sighting_stops_counting_and_a_new_version_replaces_the_old(world: World) -> None:
    indicator = share_indicator(world)
    a, b, c = members(world, 3)
    for actor in (a, b):
        sight(world, actor, indicator)
    last = sight(world, c, indicator, count=3)
    assert world.node.sightings.of(world.reader, indicator).count == 5
    later = format_micros(parse_micros(last["modified"]) + 1000)
    changed = {**last, "modified": later, "count": 10}
    (result,) = world.node.ingest.document(c, "isac", bundle(changed))
    assert result.detail == "added"
    assert world.node.sightings.of(world.reader, indicator).count == 12
    revoked = {**changed, "modified": format_micros(parse_micros(later) + 1000), "revoked": True}
    (result,) = world.node.ingest.document(c, "isac", bundle(revoked))
    assert result.detail == "added"
    assert world.node.sightings.of(world.reader, indicator).seen is None  # two organizations left: below k
    admin = Actor(world.acme.id, Role.ADMIN)
    assert world.node.sightings.of(admin, indicator).seen == 2


def test_a_red_sighting_a_member_may_not_see_is_not_counted(world: World) -> None:
    """No inference outside the audience: a sighting counts for a reader only when the reader could read it."""
    indicator = share_indicator(world)
    a, b, c = members(world, 3)
    sight(world, a, indicator)
    sight(world, b, indicator)
    sight(world, c, indicator, tlp=Tlp.RED)  # RED, no recipients: only c's organization sees it
    assert world.node.sightings.of(world.reader, indicator).seen is None
    assert world.node.sightings.of(c, indicator).own.seen == 1
    assert world.node.sightings.of(Actor(c.org_id, Role.ADMIN), indicator).seen == 3
    # Named as a RED recipient, the reader sees it, and so it counts.
    result = world.node.ingest.document(c, "isac", bundle({
        "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "sighting_of_ref": indicator, "object_marking_refs": [Tlp.RED.value]}),
        organizations=[world.globex.id])
    assert result[0].outcome == "accepted"
    assert world.node.sightings.of(world.reader, indicator).seen == 3
    assert world.node.sightings.of(a, indicator).seen is None  # a sees its own and b's only: 1 other


def test_recording_needs_an_object_the_caller_reads_in_a_collection_it_writes(world: World) -> None:
    indicator = share_indicator(world)
    with pytest.raises(NotFound):
        world.node.sightings.record(world.contributor, f"indicator--{uuid.uuid4()}")
    with pytest.raises(NotFound):  # an outsider does not see it: the same answer as for none
        world.node.sightings.record(world.stranger, indicator)
    with pytest.raises(PermissionDenied):  # a reader may not share
        world.node.sightings.record(world.reader, indicator)
    red = share_indicator(world, Tlp.RED)
    (globex,) = members(world, 1)
    with pytest.raises(NotFound):
        world.node.sightings.record(globex, red)
    with pytest.raises(InvalidParameter):
        world.node.sightings.record(world.contributor, indicator, kind="maybe")
    with pytest.raises(InvalidParameter):
        world.node.sightings.record(world.contributor, indicator, count=0)
    with pytest.raises(InvalidParameter):
        world.node.sightings.record(world.contributor, indicator, first_seen=10, last_seen=5)


def test_many_at_once_with_observed_values(world: World) -> None:
    first, second = share_indicator(world), share_indicator(world)
    results = world.node.sightings.record_many(world.contributor, [
        SightingReport(first, count=2, observed=({"type": "ipv4-addr", "value": "198.51.100.7"},)),
        SightingReport(second, kind=FP, anonymous=True),
    ])
    assert [r.outcome for r in results] == ["accepted", "accepted"] and [r.index for r in results] == [0, 1]
    data = orjson.loads(world.node.backend.store.get(results[0].id).canonical)
    (observed_id,) = data["observed_data_refs"]
    observed = orjson.loads(world.node.backend.store.get(observed_id).canonical)
    assert observed["number_observed"] == 2 and observed["created_by_ref"] == world.acme.id
    (sco,) = observed["object_refs"]
    assert orjson.loads(world.node.backend.store.get(sco).canonical)["value"] == "198.51.100.7"
    anonymous = orjson.loads(world.node.backend.store.get(results[1].id).canonical)
    assert anonymous["x_phalanx_anonymous"] is True and "created_by_ref" not in anonymous
    assert "where_sighted_refs" not in anonymous


def test_anonymous_sightings_name_nobody(world: World) -> None:
    indicator = share_indicator(world)
    base = {"type": "sighting", "spec_version": "2.1", "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z", "sighting_of_ref": indicator, "x_phalanx_anonymous": True}

    def share(**extra: Any) -> str:
        obj = {**base, "id": f"sighting--{uuid.uuid4()}", **extra}
        (result,) = world.node.ingest.document(world.contributor, "isac", bundle(obj))
        return result.detail

    assert share() == "added"
    assert share(created_by_ref=world.acme.id).startswith("anonymous: an anonymous sighting names no creator")
    assert share(where_sighted_refs=[world.acme.id]).startswith("anonymous: an anonymous sighting names no identity")
    assert share(where_sighted_refs=["location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"]) == "added"
    key = generate_key(world.acme.id, now=now_micros())
    world.node.provenance.publish(None, key.public)
    signed = sign_object({**base, "id": f"sighting--{uuid.uuid4()}"}, key)
    (result,) = world.node.ingest.document(world.contributor, "isac", bundle(signed))
    assert result.detail.startswith("anonymous: an anonymous sighting carries no signature")
    # The hub signs an opted-in organization's objects with its custodial key, never its anonymous sightings.
    world.node.provenance.custodial(None, world.acme.id)
    attributed = sight(world, world.contributor, indicator)
    anonymous = sight(world, world.contributor, indicator, anonymous=True)
    assert read_signature(attributed) is not None and read_signature(anonymous) is None


def test_facts_fall_back_to_what_the_sighting_says() -> None:
    base = {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
            "sighting_of_ref": INDICATOR["id"]}
    created = parse_micros("2026-01-01T00:00:00Z")
    first, last = parse_micros("2025-12-01T00:00:00Z"), parse_micros("2025-12-02T00:00:00.5Z")

    def facts(**extra: Any) -> Sighted | None:
        return facts_of(StixObject.from_dict({**base, **extra}))

    assert facts() == Sighted(str(INDICATOR["id"]), SightingKind.SEEN, 1, created, created)
    assert facts(first_seen="2025-12-01T00:00:00Z") == Sighted(str(INDICATOR["id"]), SightingKind.SEEN, 1, first,
                                                                first)
    assert facts(last_seen="2025-12-02T00:00:00.5Z", count=3, x_phalanx_kind="expired") == Sighted(
        str(INDICATOR["id"]), EXPIRED, 3, last, last)
    assert facts(count=0) is None  # seen 0 times: reports nothing
    assert facts(count=0, x_phalanx_kind="false-positive") is not None
    assert facts_of(StixObject.from_dict(INDICATOR)) is None


def test_disclosure_rules() -> None:
    reader, admin = Actor("identity--r", Role.READER), Actor("identity--x", Role.ADMIN)
    tally = SightingTally("indicator--x", Tally(seen=3, false_positive=2, expired=3, sightings=4, count=9,
                                                first_seen=1, last_seen=2), Tally(seen=1, sightings=1, count=1))
    shown = disclose(reader, tally, k=3)
    assert (shown.seen, shown.false_positive, shown.expired) == (None, None, 3)  # 2 others saw it
    assert "withheld" in shown.reason
    shown = disclose(reader, tally, k=2)
    assert (shown.seen, shown.count, shown.first_seen, shown.false_positive) == (3, 9, 1, 2)
    assert disclose(admin, tally, k=100).seen == 3
    alone = Tally(seen=1, sightings=1, count=1)
    nobody_else = SightingTally("indicator--x", alone, alone)
    assert disclose(reader, nobody_else, k=2).seen is None
    assert disclose(reader, nobody_else, k=1).seen == 1  # k = 1: no threshold
    assert disclose(reader, SightingTally("indicator--x", Tally(), Tally()), k=1).false_positive == 0
