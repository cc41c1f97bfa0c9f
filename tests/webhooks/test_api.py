"""Webhooks over the JSON API, in-process: who may see and manage them, what is shown, bad input refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.identity import Role
from phalanx.web import create_app
from tests.support import World
from tests.webhooks.helpers import indicator, share
from tests.webhooks.receiver import Receiver


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node)) as c:
        yield c


def key(world: World, org: str, role: Role) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(org, role)
    return {"Authorization": f"Bearer {secret}"}


def test_make_list_show_log_and_remove(world: World, client: TestClient, receiver: Receiver) -> None:
    contributor, reader = key(world, "Globex", Role.CONTRIBUTOR), key(world, "Globex", Role.READER)
    made = client.post("/api/v1/webhooks", headers=contributor,
                       json={"url": receiver.url, "collections": ["isac"], "types": ["indicator"], "labels": ["apt"],
                             "min_confidence": 20, "last_event_id": "0"})
    assert made.status_code == 201, made.text
    body = made.json()
    hook_id, secret = body["id"], body["secret"]
    isac = world.node.reader.collection(world.reader, "isac").collection.id
    assert secret.startswith("whsec_")
    assert (body["organization"], body["collections"], body["types"], body["labels"], body["min_confidence"],
            body["active"], body["last_event_id"], body["pending"]) == (
        world.globex.id, [isac], ["indicator"], ["apt"], 20, True, "0", None)
    listed = client.get("/api/v1/webhooks", headers=reader).json()["webhooks"]
    assert [w["id"] for w in listed] == [hook_id] and "secret" not in listed[0]
    shown = client.get(f"/api/v1/webhooks/{hook_id}", headers=reader).json()
    assert shown == {k: v for k, v in body.items() if k != "secret"}
    share(world, indicator(1, labels=["apt"], confidence=50))
    world.node.webhooks.run_once()
    (delivery,) = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=reader).json()["deliveries"]
    assert (delivery["outcome"], delivery["status"], delivery["events"], delivery["attempt"]) == (
        "delivered", 204, 1, 1)
    assert delivery["delivery"] == receiver.wait(1)[0].delivery
    assert client.get(f"/api/v1/webhooks/{hook_id}/dead-letters", headers=reader).json() == {"dead_letters": []}
    assert client.post(f"/api/v1/webhooks/{hook_id}/pause", headers=contributor).json()["active"] is False
    assert client.post(f"/api/v1/webhooks/{hook_id}/resume", headers=contributor).json()["active"] is True
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=reader).status_code == 403  # sees, may not change
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=contributor).json() == {"id": hook_id,
                                                                                          "deleted": True}
    assert client.get(f"/api/v1/webhooks/{hook_id}", headers=reader).status_code == 404


def test_dead_letters_show_their_payload_and_are_redelivered(world: World, client: TestClient,
                                                             receiver: Receiver) -> None:
    contributor = key(world, "Globex", Role.CONTRIBUTOR)
    hook_id = client.post("/api/v1/webhooks", headers=contributor, json={"url": receiver.url}).json()["id"]
    receiver.fail(3, 500)
    share(world, indicator(1))
    for _ in range(3):
        world.node.webhooks.run_once()
        time.sleep(0.21)
    (letter,) = client.get(f"/api/v1/webhooks/{hook_id}/dead-letters", headers=contributor).json()["dead_letters"]
    assert (letter["attempts"], letter["events"], letter["last_error"]) == (3, 1, "HTTP 500 Internal Server Error: no")
    assert letter["payload"]["webhook"] == hook_id
    assert [e["object"]["id"] for e in letter["payload"]["events"]] == [indicator(1)["id"]]
    url = f"/api/v1/webhooks/{hook_id}/dead-letters/{letter['delivery']}/redeliver"
    again = client.post(url, headers=contributor)
    assert again.status_code == 200 and again.json()["outcome"] == "delivered" and again.json()["attempt"] == 4
    assert client.post(url, headers=contributor).status_code == 404  # not a dead letter any more


def test_other_organizations_get_404_as_if_there_were_no_webhook(world: World, client: TestClient) -> None:
    hook_id = client.post("/api/v1/webhooks", headers=key(world, "Globex", Role.ORG_ADMIN),
                          json={"url": "https://siem.example.org/hook"}).json()["id"]
    for outsider in (key(world, "ACME CERT", Role.ORG_ADMIN), key(world, "Outsider Inc", Role.CONTRIBUTOR)):
        assert client.get("/api/v1/webhooks", headers=outsider).json() == {"webhooks": []}
        for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"),
                             ("GET", "/deliveries"), ("GET", "/dead-letters"), ("POST", "/dead-letters/d/redeliver")):
            answer = client.request(method, f"/api/v1/webhooks/{hook_id}{path}", headers=outsider)
            assert answer.status_code == 404, (method, path)
            assert answer.json()["description"] == f"no webhook {hook_id}"
    admin = key(world, "ACME CERT", Role.ADMIN)  # node administrators see every webhook
    assert [w["id"] for w in client.get("/api/v1/webhooks", headers=admin).json()["webhooks"]] == [hook_id]
    made = client.post("/api/v1/webhooks", headers=admin, json={"url": "https://a.example/", "organization": "Globex"})
    assert made.status_code == 201 and made.json()["organization"] == world.globex.id


@pytest.mark.parametrize(("body", "status", "title", "says"), [
    ({"url": "ftp://example.org/hook"}, 400, "InvalidTarget", "not http:// or https://"),
    ({"url": "https://user:pw@example.org/hook"}, 400, "InvalidTarget", "credentials"),
    ({}, 400, "InvalidParameter", "url"),
    ({"url": "https://example.org/", "collections": ["nowhere"]}, 404, "NotFound", "no collection 'nowhere'"),
    ({"url": "https://example.org/", "collections": "isac"}, 400, "InvalidParameter", "list"),
    ({"url": "https://example.org/", "min_confidence": 101}, 400, "InvalidParameter", "min_confidence"),
    ({"url": "https://example.org/", "min_confidence": "high"}, 400, "InvalidParameter", "min_confidence"),
    ({"url": "https://example.org/", "last_event_id": "yesterday"}, 400, "InvalidParameter", "last_event_id"),
    ({"url": "https://example.org/", "organization": "ACME CERT"}, 404, "NotFound", "no organization"),
])
def test_bad_input_is_refused_with_the_reason(world: World, client: TestClient, body: dict[str, Any], status: int,
                                             title: str, says: str) -> None:
    answer = client.post("/api/v1/webhooks", headers=key(world, "Globex", Role.ORG_ADMIN), json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["title"] == title and says in answer.json()["description"]
    assert answer.json()["hint"]


def test_a_reader_may_not_make_one_and_limits_are_checked(world: World, client: TestClient) -> None:
    answer = client.post("/api/v1/webhooks", headers=key(world, "Globex", Role.READER),
                         json={"url": "https://example.org/"})
    assert answer.status_code == 403 and "contributor" in answer.json()["description"]
    hook_id = client.post("/api/v1/webhooks", headers=key(world, "Globex", Role.CONTRIBUTOR),
                          json={"url": "https://example.org/"}).json()["id"]
    reader = key(world, "Globex", Role.READER)
    for query in ("limit=0", "limit=1001", "limit=x", "colour=red", "limit=1&limit=2"):
        assert client.get(f"/api/v1/webhooks/{hook_id}/deliveries?{query}", headers=reader).status_code == 400
    assert client.get(f"/api/v1/webhooks/{hook_id}/deliveries?limit=5", headers=reader).status_code == 200
