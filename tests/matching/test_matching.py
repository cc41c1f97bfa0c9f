"""Matching on the hub (``node.matching``, ``POST /api/v1/match``): the latest version of every indicator,
kept current from the feed, each member seeing only the matches of indicators it may read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.matching._extract import Record
from phalanx.matching._kinds import KINDS
from phalanx.web import create_app
from tests.support import World, bundle, make_world

RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(Settings(database_url="memory://"))
    yield w
    w.node.close()


def indicator(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08x}-7d3b-4b0c-8b5e-0c1f9a55d6aa",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": f"n{n}",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", **extra}


def share(world: World, *objects: dict[str, Any], recipients: tuple[str, ...] = ()) -> None:
    results = world.node.ingest.document(world.contributor, "isac", bundle(*objects), organizations=recipients)
    assert all(r.outcome == "accepted" for r in results), results


def ip(value: str, at: int | None = None, line: int = 1) -> Record:
    return Record(line, KINDS["ipv4"], value, "", at)


def fired(world: World, actor: Actor | None, *records: Record) -> list[str]:
    return sorted(m.indicator.name or "" for m in world.node.matching.match(actor, list(records)))


def test_members_get_the_matches_of_indicators_they_may_read(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '45.137.21.9']"))
    share(world, indicator(2, "[ipv4-addr:value = '45.137.21.9']", object_marking_refs=[RED]),
          recipients=(world.acme.id,))
    share(world, indicator(3, "[ipv4-addr:value ISSUBSET '45.137.21.0/24']"))
    record = ip("45.137.21.9")
    assert fired(world, world.reader, record) == ["n1", "n3"]  # Globex: not a recipient of the RED one
    assert fired(world, world.contributor, record) == ["n1", "n2", "n3"]  # ACME shared them all
    assert fired(world, world.stranger, record) == []  # not a member of the community
    assert fired(world, None, record) == ["n1", "n2", "n3"]  # the operator
    assert fired(world, world.reader, ip("45.137.21.8")) == ["n3"]
    assert fired(world, world.reader, ip("45.137.22.7")) == []


def test_new_versions_revocations_and_new_indicators_take_effect_at_once(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '45.137.21.9']"))
    assert fired(world, world.reader, ip("45.137.21.9")) == ["n1"]  # the index is built on first use
    share(world, indicator(2, "[ipv4-addr:value = '194.26.29.5']"))
    share(world, indicator(1, "[ipv4-addr:value = '91.92.109.9']", modified="2026-02-01T00:00:00.000Z"))
    deadline = time.monotonic() + 5
    while fired(world, world.reader, ip("194.26.29.5")) != ["n2"] and time.monotonic() < deadline:
        time.sleep(0.01)  # the feed hands new versions over on its own thread
    assert fired(world, world.reader, ip("194.26.29.5")) == ["n2"]
    assert fired(world, world.reader, ip("45.137.21.9")) == []
    assert fired(world, world.reader, ip("91.92.109.9")) == ["n1"]
    share(world, indicator(1, "[ipv4-addr:value = '91.92.109.9']", modified="2026-03-01T00:00:00.000Z",
                           revoked=True))
    while fired(world, world.reader, ip("91.92.109.9")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fired(world, world.reader, ip("91.92.109.9")) == []


def test_an_indicator_matches_only_while_it_is_valid(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '45.137.21.9']", valid_until="2026-06-01T00:00:00Z"))
    may = 1_778_000_000_000_000  # 2026-05-05
    july = 1_783_000_000_000_000  # 2026-07-02
    assert fired(world, world.reader, ip("45.137.21.9", may)) == ["n1"]
    assert fired(world, world.reader, ip("45.137.21.9", july)) == []
    assert fired(world, world.reader, ip("45.137.21.9", 1_700_000_000_000_000)) == []  # before valid_from


def test_the_api_matches_observables_and_observed_data(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '45.137.21.9']"),
          indicator(2, "[domain-name:value = 'evil.example'] AND [ipv4-addr:value = '194.26.29.5']"))
    secret, _ = world.node.admin.create_key(world.globex.id, Role.READER)
    client = TestClient(create_app(world.node))
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.post("/api/v1/match", headers=headers, json={
        "observables": ["10.1.1.1", {"kind": "ip", "value": "45.137.21.9", "time": "2026-11-29T12:00:00Z"}]})
    assert answer.status_code == 200, answer.text
    [found] = answer.json()["matches"]
    assert found["observable"] == 1 and found["value"] == "45.137.21.9" and found["indicator"]["name"] == "n1"
    assert found["time"] == "2026-11-29T12:00:00.000000Z"

    def sco(kind: str, n: int, value: str) -> dict[str, Any]:
        return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{n:08x}-1111-4111-8111-111111111111",
                "value": value}

    def observed(n: int, ref: str) -> dict[str, Any]:
        return {"type": "observed-data", "spec_version": "2.1",
                "id": f"observed-data--{n:08x}-2222-4222-8222-222222222222",
                "created": "2026-11-29T12:00:00Z", "modified": "2026-11-29T12:00:00Z",
                "first_observed": "2026-11-29T12:00:00Z", "last_observed": "2026-11-29T12:00:00Z",
                "number_observed": 1, "object_refs": [ref]}

    objects = [sco("domain-name", 1, "evil.example"), sco("ipv4-addr", 2, "194.26.29.5")]
    objects += [observed(1, objects[0]["id"]), observed(2, objects[1]["id"])]
    answer = client.post("/api/v1/match", headers=headers, json={"type": "bundle", "objects": objects})
    assert answer.status_code == 200, answer.text
    assert {m["indicator"]["name"] for m in answer.json()["matches"]} == {"n2"}

    for body, problem in (({"observables": ["hello"]}, "is not an IP address"),
                          ({"observables": [{"kind": "mac", "value": "x"}]}, "not a kind of observable"),
                          ({"observables": "1.2.3.4"}, "must be lists"),
                          ({"observables": ["1.1.1.1"] * 10_001}, "more than 10,000"),
                          ({"values": []}, "unknown field")):
        answer = client.post("/api/v1/match", headers=headers, json=body)
        assert answer.status_code == 400 and problem in json.dumps(answer.json()), answer.text
    assert client.post("/api/v1/match", json={"observables": []}).status_code == 401


def test_indicators_on_a_warning_list_alert_only_when_asked(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '8.8.8.8']"),  # Google's public resolver: on MISP's lists
          indicator(2, "[ipv4-addr:value = '45.137.21.9']"),
          indicator(3, "[ipv4-addr:value = '198.51.100.7']"))  # RFC 5737, for documentation: on a list too
    assert fired(world, world.reader, ip("8.8.8.8"), ip("45.137.21.9"), ip("198.51.100.7")) == ["n2"]
    [flagged] = world.node.matching.match(world.reader, [ip("8.8.8.8")], flagged=True)
    assert flagged.indicator.name == "n1" and any("DNS" in name for name in flagged.indicator.flags)


def test_a_match_names_the_organization_that_made_the_indicator(world: World) -> None:
    share(world, indicator(1, "[ipv4-addr:value = '45.137.21.9']", created_by_ref=world.acme.id))
    [found] = world.node.matching.match(world.reader, [ip("45.137.21.9")])
    assert found.indicator.created_by_ref == world.acme.id and found.source == "ACME CERT"


def test_bare_scos_are_one_observation_and_broken_observed_data_is_refused_not_fatal(world: World) -> None:
    share(world, indicator(1, "[domain-name:value = 'evil.example']"))
    secret, _ = world.node.admin.create_key(world.globex.id, Role.READER)
    client = TestClient(create_app(world.node))
    headers = {"Authorization": f"Bearer {secret}"}
    scos = [{"type": "domain-name", "spec_version": "2.1", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
             "value": "evil.example"}]
    answer = client.post("/api/v1/match", headers=headers, json={"type": "bundle", "objects": scos})
    assert [m["indicator"]["name"] for m in answer.json()["matches"]] == ["n1"]
    broken = {"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
              "number_observed": 1, "object_refs": [scos[0]["id"]]}  # no first_observed, last_observed
    answer = client.post("/api/v1/match", headers=headers, json={"objects": [broken, *scos]})
    assert answer.status_code == 400 and "first_observed" in answer.text
    from phalanx.matching._detector import Detector

    detector = Detector()
    detector.offer(indicator(1, "[domain-name:value = 'evil.example']"))
    assert detector.match([Record(7, None, broken["id"], "observed-data", None, (broken, *scos))]) == []
    assert detector.unreadable == 1 and detector.last_problem is not None
    assert detector.last_problem.startswith("line 7:")
