"""Sightings over HTTP, in-process over ASGI, on every backend: recording them, the k-anonymous aggregates at k-1
and k, what requests are refused, and an anonymous sighting's organization on every read path another member
has (JSON API, TAXII, aggregates, proof bundles, the live stream, webhooks, the CLI)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from phalanx.cli import cli
from phalanx.config import Settings
from phalanx.identity import Organization, Role
from phalanx.stix import Tlp
from phalanx.web import create_app
from tests.conformance.conftest import postgres_schema
from tests.streams.server import Stream, served
from tests.support import INDICATOR, TAXII, World, bundle, make_world
from tests.webhooks.receiver import receiving


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "postgres":
        with postgres_schema() as url:
            w = make_world(Settings(database_url=url))
            yield w
            w.node.close()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db"
    w = make_world(Settings(database_url=url, home=tmp_path / "home"))
    yield w
    w.node.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node), base_url="http://phalanx.test") as c:
        yield c


def key_of(world: World, org_id: str, role: Role = Role.CONTRIBUTOR) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(org_id, role)
    return {"Authorization": f"Bearer {secret}"}


def member(world: World, name: str) -> Organization:
    org = world.node.admin.add_organization(name)
    world.node.admin.join("isac", org.id)
    return org


def share_indicator(world: World) -> str:
    indicator = {**INDICATOR, "id": f"indicator--{uuid.uuid4()}", "object_marking_refs": [Tlp.GREEN.value]}
    assert world.node.ingest.document(world.contributor, "isac", bundle(indicator))[0].outcome == "accepted"
    return str(indicator["id"])


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/api/v1/sightings", json=body, headers=headers)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_sightings_recorded_over_http_are_counted_from_k(world: World, client: TestClient) -> None:
    indicator = share_indicator(world)
    reader = key_of(world, world.globex.id, Role.READER)
    url = f"/api/v1/objects/{indicator}/sightings"
    for n in range(3):
        org = member(world, f"Member {n}")
        answer = post(client, key_of(world, org.id), {"indicator": indicator, "count": 2,
                                                      "first_seen": "2026-01-02T03:04:05Z",
                                                      "last_seen": f"2026-01-0{n + 2}T04:00:00Z"})
        assert answer["accepted"] == 1 and answer["results"][0]["id"].startswith("sighting--")
        found = client.get(url, headers=reader).json()
        if n < 2:  # k - 1 organizations at most: withheld
            assert found["seen"] == {"organizations": None, "fewer_than": 3}, found
    found = client.get(url, headers=reader).json()
    assert found["seen"] == {"organizations": 3, "sightings": 3, "count": 6,
                             "first_seen": "2026-01-02T03:04:05.000000Z", "last_seen": "2026-01-04T04:00:00.000000Z"}
    assert found["false_positive"] == {"organizations": None, "fewer_than": 3}
    assert found["own"]["seen"] is False and found["k"] == 3
    many = client.get("/api/v1/sightings", params={"ids": f"{indicator},{INDICATOR['id']}"}, headers=reader).json()
    assert [s["id"] for s in many["sightings"]] == [indicator, INDICATOR["id"]]
    assert many["sightings"][0] == found


def test_a_batch_and_the_options(world: World, client: TestClient) -> None:
    indicator = share_indicator(world)
    answer = post(client, key_of(world, world.acme.id), {"collection": "isac", "tlp": "red", "sightings": [
        {"indicator": indicator, "kind": "false-positive"},
        {"indicator": indicator, "kind": "expired", "anonymous": True},
        {"indicator": indicator, "observed": [{"type": "domain-name", "value": "evil.example"}]}]})
    assert answer["accepted"] == 3 and answer["refused"] == 0
    first = world.node.backend.store.get(answer["results"][0]["id"])
    assert json.loads(first.canonical)["object_marking_refs"] == [Tlp.RED.value]
    mine = client.get(f"/api/v1/objects/{indicator}/sightings", headers=key_of(world, world.acme.id)).json()
    assert mine["own"]["false_positive"] is True and mine["own"]["expired"] is True


@pytest.mark.parametrize(("body", "status"), [
    ({}, 400),
    ({"indicator": "not an id"}, 400),
    ({"indicator": INDICATOR["id"], "kind": "maybe"}, 400),
    ({"indicator": INDICATOR["id"], "count": -1}, 400),
    ({"indicator": INDICATOR["id"], "count": True}, 400),
    ({"indicator": INDICATOR["id"], "first_seen": "yesterday"}, 400),
    ({"indicator": INDICATOR["id"], "anonymous": "yes"}, 400),
    ({"indicator": INDICATOR["id"], "colour": "red"}, 400),
    ({"indicator": INDICATOR["id"], "tlp": "purple"}, 400),
    ({"indicator": INDICATOR["id"], "observed": [{"type": "ipv4-addr", "value": "not an address"}]}, 400),
    ({"sightings": []}, 400),
    ({"indicator": f"indicator--{uuid.uuid4()}"}, 404),
    ({"indicator": INDICATOR["id"], "collection": "nope"}, 404),
])
def test_bad_requests_are_refused_with_a_reason(world: World, client: TestClient, body: dict[str, Any],
                                                status: int) -> None:
    world.node.ingest.document(world.contributor, "isac", bundle(INDICATOR))
    answer = post(client, key_of(world, world.acme.id), body, status)
    assert answer["description"] and answer["hint"]


def test_who_may_record_and_read(world: World, client: TestClient) -> None:
    indicator = share_indicator(world)
    post(client, key_of(world, world.globex.id, Role.READER), {"indicator": indicator}, 403)
    post(client, key_of(world, world.outsider.id), {"indicator": indicator}, 404)
    assert client.get(f"/api/v1/objects/{indicator}/sightings",
                      headers=key_of(world, world.outsider.id)).status_code == 404
    assert client.get(f"/api/v1/objects/{indicator}/sightings").status_code == 401
    assert client.get("/api/v1/objects/nope/sightings", headers=key_of(world, world.acme.id)).status_code == 400
    assert client.get("/api/v1/sightings", headers=key_of(world, world.acme.id)).status_code == 400


def test_an_anonymous_sightings_organization_is_on_no_read_path_of_another_member(
        world: World, client: TestClient, tmp_path: Path) -> None:
    hush = member(world, "Hush Corp")
    for n in range(3):
        member(world, f"Member {n}")
    indicator = share_indicator(world)
    with receiving("/globex") as receiver:
        world.node.webhooks.create(receiver.url, org=world.globex.id, cursor=0)
        hush_key = key_of(world, hush.id)
        refused = client.post("/api/v1/sightings", headers=hush_key, json={
            "indicator": indicator, "anonymous": True, "observed": [{"type": "ipv4-addr", "value": "198.51.100.9"}]})
        assert refused.status_code == 400 and "cannot come with observed data" in refused.text  # they would name it
        answer = post(client, hush_key, {"indicator": indicator, "anonymous": True, "count": 7})
        sighting = answer["results"][0]["id"]
        assert world.node.backend.store.get(sighting).contributor == hush.id  # the hub knows
        world.node.sequencer.run_once()
        assert world.node.webhooks.run_once() == 1
        (delivered,) = receiver.wait(1)
    globex = key_of(world, world.globex.id, Role.READER)
    taxii = {**globex, "Accept": TAXII}
    received: list[bytes] = [delivered.body]
    for path, headers in [
        ("/api/v1/collections/isac/objects?version=all", globex),
        (f"/api/v1/objects/{indicator}/sightings", globex),
        (f"/api/v1/sightings?ids={indicator}", globex),
        ("/taxii2/api/collections/isac/objects/?match[version]=all", taxii),
        ("/taxii2/api/collections/isac/manifest/", taxii),
        (f"/taxii2/api/collections/isac/objects/{sighting}/", taxii),
        (f"/taxii2/api/collections/isac/objects/{sighting}/versions/", taxii),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        received.append(response.content)
    # The proof bundle: its log entry names the contributor, so it is for Hush Corp (and the operators) only.
    proof = f"/api/v1/collections/isac/objects/{sighting}/proof"
    refused = client.get(proof, headers=globex)
    assert refused.status_code == 403 and "anonymous sighting" in refused.json()["description"]
    received.append(refused.content)
    assert hush.id.encode() in client.get(proof, headers=hush_key).content
    # The live stream, over a real server (catching up from the start).
    with served(world.node) as base:
        stream = Stream(base, globex["Authorization"].removeprefix("Bearer "), last_event_id="0")
        (message,) = stream.take(1, event="sighting-added")
        stream.close()
    received.append(message.data.encode())
    # The CLI, as Globex's key (a SQLite node in its home folder).
    if world.node.settings.database.startswith("sqlite"):
        secret = globex["Authorization"].removeprefix("Bearer ")
        world.node.settings.home.mkdir(parents=True, exist_ok=True)
        result = CliRunner().invoke(cli, ["--home", str(world.node.settings.home), "sighting", "show", indicator,
                                          "--key", secret, "--json"],
                                    env={"PHALANX_DATABASE_URL": world.node.settings.database},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        received.append(result.output.encode())
    for body in received:
        assert hush.id.encode() not in body and b"Hush Corp" not in body, body[:300]
    assert sum(sighting.encode() in body for body in received) >= 6  # the sighting itself was served
