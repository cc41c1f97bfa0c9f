"""Correlation through the service layer, on every backend: who else reported a value, an object's observables,
its neighbourhood; and never a count, date or organization that stems from an object outside the reader's
audience."""

from __future__ import annotations

from typing import Any

import pytest

from phalanx.errors import InvalidParameter, NotFound
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp
from tests.support import World, bundle

IP = "198.51.100.7"
T0 = "2024-05-01T12:00:00.000Z"


def indicator(n: int, pattern: str, *, tlp: Tlp = Tlp.GREEN, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
            "created": T0, "modified": T0, "pattern": pattern, "pattern_type": "stix", "valid_from": T0,
            "object_marking_refs": [tlp.value], **extra}


def sdo(kind: str, n: int, *, tlp: Tlp = Tlp.GREEN, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--00000000-0000-4000-8000-{n:012d}",
            "created": T0, "modified": T0, "object_marking_refs": [tlp.value], **extra}


def ip_sco(value: str, n: int = 9) -> dict[str, Any]:
    return {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--00000000-0000-5000-8000-{n:012d}",
            "value": value}


def share(world: World, actor: Actor, *objects: dict[str, Any], **recipients: Any) -> None:
    results = world.node.ingest.document(actor, "Test ISAC", bundle(*objects), **recipients)
    assert [r.outcome for r in results] == ["accepted"] * len(objects), [r.detail for r in results]


@pytest.fixture
def collection(world: World) -> str:
    """The community's collection, named "Test ISAC"."""
    world.node.admin.add_collection("Test ISAC", community="isac")
    return "Test ISAC"


def globex_contributor(world: World) -> Actor:
    return Actor(world.globex.id, Role.CONTRIBUTOR)


def test_a_value_reported_by_two_organizations(world: World, collection: str) -> None:
    """Organizations report a value by their indicators; observations (here the address itself) are listed
    among the objects carrying it, but name nobody."""
    share(world, world.contributor, indicator(1, f"[ipv4-addr:value = '{IP}']"))
    share(world, globex_contributor(world), ip_sco(IP),
          indicator(2, f"[ipv4-addr:value = '{IP}' OR domain-name:value = 'evil.example']"),
          indicator(3, f"[ipv4-addr:value = '{IP}']"))
    found = world.node.correlation.of_value(world.reader, f" {IP} ")
    assert found.observable.key == f"ipv4-addr:{IP}"
    assert [(o.name, o.objects) for o in found.organizations] == [("ACME CERT", 1), ("Globex", 2)]
    assert found.first is not None and found.first.name == "ACME CERT"
    assert found.reports == 3 and not found.more
    assert [(o.type, o.name) for o in found.objects] == [("indicator", "ACME CERT"), ("ipv4-addr", None),
                                                         ("indicator", "Globex"), ("indicator", "Globex")]
    assert [o.first_added for o in found.objects] == sorted(o.first_added for o in found.objects)
    limited = world.node.correlation.of_value(world.reader, IP, limit=1)
    assert len(limited.objects) == 1 and limited.more and limited.reports == 3
    domain = world.node.correlation.of_value(world.reader, "EVIL.example.")
    assert [o.name for o in domain.organizations] == ["Globex"]


def test_a_red_indicator_is_never_counted_for_those_outside_its_audience(world: World, collection: str) -> None:
    """TLP:RED with no named recipient (only ACME sees it) and TLP:CLEAR from Globex share a value: Globex sees
    one object from one organization, first reported by itself; ACME sees both."""
    share(world, world.contributor, indicator(1, f"[ipv4-addr:value = '{IP}']", tlp=Tlp.RED))
    share(world, globex_contributor(world), indicator(2, f"[ipv4-addr:value = '{IP}']", tlp=Tlp.CLEAR))
    seen = world.node.correlation.of_value(world.reader, IP)
    assert [(o.name, o.objects) for o in seen.organizations] == [("Globex", 1)]
    assert [o.id[-1] for o in seen.objects] == ["2"]
    assert seen.reports == 1
    own = world.node.correlation.of_value(world.contributor, IP)
    assert [(o.name, o.objects) for o in own.organizations] == [("ACME CERT", 1), ("Globex", 1)]
    assert world.node.correlation.of_value(world.stranger, IP).organizations == ()  # not a member
    with pytest.raises(NotFound):  # as if it did not exist
        world.node.correlation.of_object(world.reader, "indicator--00000000-0000-4000-8000-000000000001")
    with pytest.raises(NotFound):
        world.node.correlation.neighbourhood(world.reader, "indicator--00000000-0000-4000-8000-000000000001")
    mine = world.node.correlation.of_object(world.reader, "indicator--00000000-0000-4000-8000-000000000002")
    assert [(v.observable.key, v.objects, v.reports) for v in mine.observables] == [(f"ipv4-addr:{IP}", (), 1)]


def test_red_for_named_recipients(world: World, collection: str) -> None:
    share(world, world.contributor, indicator(1, f"[ipv4-addr:value = '{IP}']", tlp=Tlp.RED),
          organizations=["Globex"])
    assert [o.name for o in world.node.correlation.of_value(world.reader, IP).organizations] == ["ACME CERT"]


def test_an_objects_observables_and_the_others_carrying_them(world: World, collection: str) -> None:
    share(world, world.contributor, indicator(1, f"[ipv4-addr:value = '{IP}'] AND [url:value = 'http://x.example/a']"))
    share(world, globex_contributor(world), ip_sco(IP), indicator(2, f"[ipv4-addr:value = '{IP}']"))
    found = world.node.correlation.of_object(world.reader, "INDICATOR--00000000-0000-4000-8000-000000000001")
    assert found.type == "indicator"
    by_key = {v.observable.key: v for v in found.observables}
    assert set(by_key) == {f"ipv4-addr:{IP}", "url:http://x.example/a"}
    assert [o.type for o in by_key[f"ipv4-addr:{IP}"].objects] == ["ipv4-addr", "indicator"]  # not itself
    assert [o.name for o in by_key[f"ipv4-addr:{IP}"].organizations] == ["ACME CERT", "Globex"]
    assert by_key["url:http://x.example/a"].objects == ()


def test_values_are_detected_or_refused(world: World, collection: str) -> None:
    correlation = world.node.correlation
    assert correlation.observable("D41D8CD98F00B204E9800998ECF8427E").key == "md5:d41d8cd98f00b204e9800998ecf8427e"
    assert correlation.observable("2001:DB8::1").key == "ipv6-addr:2001:db8::1"
    assert correlation.observable("abc", kind="SHA-256").key == "sha256:abc"
    with pytest.raises(InvalidParameter):
        correlation.of_value(world.reader, "not a value at all")
    with pytest.raises(InvalidParameter):
        correlation.of_value(world.reader, IP, kind="file-name")
    with pytest.raises(InvalidParameter):
        correlation.of_value(world.reader, IP, limit=0)


def test_the_neighbourhood_through_observables_relationships_and_references(world: World, collection: str) -> None:
    acme, globex = world.contributor, globex_contributor(world)
    ind = indicator(1, f"[ipv4-addr:value = '{IP}']", name="C2 address")
    malware = sdo("malware", 2, name="Poison Ivy", is_family=True)
    rel = sdo("relationship", 3, relationship_type="indicates", source_ref=ind["id"], target_ref=malware["id"])
    hidden = sdo("relationship", 4, tlp=Tlp.RED, relationship_type="attributed-to", source_ref=malware["id"],
                 target_ref="threat-actor--00000000-0000-4000-8000-000000000005")
    actor = sdo("threat-actor", 5, name="Secret APT", threat_actor_types=["nation-state"])
    sighting = sdo("sighting", 6, sighting_of_ref=ind["id"])
    report = sdo("report", 7, name="Weekly", published=T0, object_refs=[malware["id"]])
    share(world, acme, ind, malware, rel, hidden, actor)
    share(world, globex, ip_sco(IP), sighting, report)
    graph = world.node.correlation.neighbourhood(world.reader, ind["id"])
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {ind["id"], malware["id"], ip_sco(IP)["id"], sighting["id"]}
    assert nodes[ind["id"]].depth == 0 and nodes[ind["id"]].label == "C2 address"
    assert nodes[sighting["id"]].org_id is None  # observations name nobody
    assert nodes[ip_sco(IP)["id"]].org_id is None
    assert nodes[malware["id"]].org_name == "ACME CERT"
    edges = {(e.source, e.target, e.reason, e.via) for e in graph.edges}
    assert edges == {
        (ind["id"], malware["id"], "relationship: indicates", rel["id"]),
        (*sorted((ind["id"], ip_sco(IP)["id"])), f"shares ipv4-addr {IP}", None),
        (sighting["id"], ind["id"], "reference: sighting_of_ref", None),
    }
    assert not graph.truncated
    wider = world.node.correlation.neighbourhood(world.reader, ind["id"], depth=2)
    assert {n.id for n in wider.nodes} == set(nodes) | {report["id"]}  # not the threat actor: RED relationship
    assert (report["id"], malware["id"], "reference: object_refs", None) in {
        (e.source, e.target, e.reason, e.via) for e in wider.edges}
    own = world.node.correlation.neighbourhood(acme, ind["id"], depth=2)
    assert actor["id"] in {n.id for n in own.nodes}  # ACME sees its RED relationship
    small = world.node.correlation.neighbourhood(world.reader, ind["id"], depth=2, limit=2)
    assert len(small.nodes) == 2 and small.truncated
    with pytest.raises(InvalidParameter):
        world.node.correlation.neighbourhood(world.reader, ind["id"], depth=3)


def test_reindex_gives_keys_to_versions_stored_without(world: World, collection: str) -> None:
    """Versions stored before the store kept keys (here: their keys taken away) get them from a reindex."""
    share(world, world.contributor, indicator(1, f"[ipv4-addr:value = '{IP}']"), ip_sco(IP))
    store = world.node.backend.store
    store.set_keys([("indicator--00000000-0000-4000-8000-000000000001", 1714564800000000, ()),
                    (ip_sco(IP)["id"], 0, ())])
    assert world.node.correlation.of_value(world.reader, IP).objects == ()
    seen: list[int] = []
    assert world.node.correlation.reindex(batch=1, progress=seen.append) == 2
    assert seen == [1, 2]
    assert len(world.node.correlation.of_value(world.reader, IP).objects) == 2


def test_an_anonymous_sighting_is_never_attributed(world: World, collection: str) -> None:
    """Globex reports an anonymous sighting of ACME's indicator (anonymous sightings carry no observed data,
    which would name Globex): the sighting is found through the indicator, but nothing names or counts Globex."""
    ind = indicator(1, f"[ipv4-addr:value = '{IP}']")
    share(world, world.contributor, ind)
    result = world.node.sightings.record(globex_contributor(world), ind["id"], anonymous=True,
                                         collection="Test ISAC")
    assert result.outcome == "accepted", result.detail
    correlation = world.node.correlation
    found = correlation.of_value(world.contributor, IP)
    assert [o.type for o in found.objects] == ["indicator"] and world.globex.id not in str(found)
    graph = correlation.neighbourhood(world.contributor, ind["id"], depth=2, limit=200)
    assert {n.type for n in graph.nodes} == {"indicator", "sighting"}
    assert {n.org_id for n in graph.nodes if n.type != "indicator"} == {None}
    assert world.globex.id not in str(graph) and "Globex" not in str(graph)
