"""The JSON API in-process over ASGI: keys, membership, filters and paging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.web import create_app
from tests.support import INDICATOR, World, bundle, make_world


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node), base_url="http://phalanx.test") as c:
        yield c


def key_for(world: World, org_id: str, role: Role = Role.READER) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(org_id, role)
    return {"Authorization": f"Bearer {secret}"}


def share(world: World, n: int) -> list[str]:
    objects = [dict(INDICATOR, id=f"indicator--{i:08x}-0cce-4b0c-8b5e-0c1f9a55d6aa") for i in range(n)]
    results = world.node.ingest.document(world.contributor, "isac", bundle(*objects))
    assert all(r.outcome == "accepted" for r in results)
    return [str(o["id"]) for o in objects]


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer phx_nope",
                                    "Bearer phx_0123456789abcdef_" + "A" * 43])
def test_requests_without_a_valid_key_get_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/collections", headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"] and "Basic" in response.headers["www-authenticate"]
    body = response.json()
    assert body["title"] == "AuthenticationError" and body["hint"]


def test_revoked_and_expired_keys_stop_working(world: World, client: TestClient) -> None:
    secret, record = world.node.admin.create_key(world.globex.id, Role.READER)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/collections", headers=headers).status_code == 200
    world.node.admin.revoke_key(record.key_id)
    response = client.get("/api/v1/collections", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["description"]
    expired, _ = world.node.admin.create_key(world.globex.id, Role.READER, expires_days=1e-12)
    response = client.get("/api/v1/collections", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["description"]


def test_collections_lists_only_the_members_collections(world: World, client: TestClient) -> None:
    world.node.admin.add_community("other")
    member = client.get("/api/v1/collections", headers=key_for(world, world.globex.id)).json()
    assert [c["title"] for c in member["collections"]] == ["isac"]
    outsider = client.get("/api/v1/collections", headers=key_for(world, world.outsider.id)).json()
    assert outsider["collections"] == []


def test_outsiders_may_not_read(world: World, client: TestClient) -> None:
    share(world, 1)
    # To an outsider the collection does not exist: the same answer as for one that does not.
    response = client.get("/api/v1/collections/isac/objects", headers=key_for(world, world.outsider.id))
    assert response.status_code == 404 and response.json()["description"] == "no collection 'isac'"
    response = client.get("/api/v1/collections/nope/objects", headers=key_for(world, world.globex.id))
    assert response.status_code == 404 and response.json()["description"] == "no collection 'nope'"


def test_pages_through_everything_exactly_once(world: World, client: TestClient) -> None:
    ids = share(world, 23)
    headers = key_for(world, world.globex.id)
    seen: list[str] = []
    url = "/api/v1/collections/isac/objects?type=indicator&limit=5"
    params: dict[str, str] = {}
    while True:
        page = client.get(url, params=params, headers=headers).json()
        seen += [o["id"] for o in page["objects"]]
        if not page["more"]:
            assert "next" not in page
            break
        params = {"next": page["next"]}
    assert seen == ids


def test_filters(world: World, client: TestClient) -> None:
    ids = share(world, 3)
    headers = key_for(world, world.globex.id)
    one = client.get(f"/api/v1/collections/isac/objects?id={ids[1]}", headers=headers).json()
    assert [o["id"] for o in one["objects"]] == [ids[1]]
    none = client.get("/api/v1/collections/isac/objects?type=malware,tool", headers=headers).json()
    assert none["objects"] == [] and none["more"] is False
    later = client.get("/api/v1/collections/isac/objects?added_after=2999-01-01T00:00:00Z", headers=headers).json()
    assert later["objects"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "added_after=yesterday", "version=sometime",
                                   "next=garbage"])
def test_bad_parameters_get_400_with_a_hint(world: World, client: TestClient, query: str) -> None:
    share(world, 1)
    response = client.get(f"/api/v1/collections/isac/objects?{query}", headers=key_for(world, world.globex.id))
    assert response.status_code == 400
    assert response.json()["hint"]


def test_post_shares_objects_with_a_result_for_each(world: World, client: TestClient) -> None:
    headers = key_for(world, world.acme.id, Role.CONTRIBUTOR)
    broken = dict(INDICATOR, id="indicator--0f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa", confidence=300)
    response = client.post("/api/v1/collections/isac/objects", content=bundle(INDICATOR, broken), headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["refused"]) == (1, 1)
    assert body["results"][0] == {"index": 0, "id": INDICATOR["id"], "outcome": "accepted", "detail": "added"}
    assert body["results"][1]["outcome"] == "refused" and "confidence" in body["results"][1]["detail"]
    read = client.get("/api/v1/collections/isac/objects", headers=key_for(world, world.globex.id)).json()
    assert [o["id"] for o in read["objects"]] == [INDICATOR["id"]]


@pytest.mark.parametrize(("content", "status", "title"), [
    (b"{not json", 400, "InvalidJSON"),
    (b"\xff\xfe\xfa", 400, "InvalidJSON"),
    (b'{"type": "bundle", "id": "x", "objects": []}', 400, "InvalidSTIX"),
    (b"[" * 1100 + b"]" * 1100, 413, "InputTooLarge"),
])
def test_post_refuses_bad_documents_and_keeps_serving(world: World, client: TestClient, content: bytes,
                                                      status: int, title: str) -> None:
    headers = key_for(world, world.acme.id, Role.CONTRIBUTOR)
    response = client.post("/api/v1/collections/isac/objects", content=content, headers=headers)
    assert response.status_code == status and response.json()["title"] == title
    assert world.node.backend.store.stats().versions == 0
    assert client.get("/health").status_code == 200


def test_post_caps_the_body(world: World) -> None:
    small = make_world(Settings(database_url="memory://", max_document_bytes=1000))
    try:
        with TestClient(create_app(small.node)) as c:
            headers = key_for(small, small.acme.id, Role.CONTRIBUTOR)
            response = c.post("/api/v1/collections/isac/objects", content=b" " * 5000, headers=headers)
            assert response.status_code == 413 and "limit is 1000 bytes" in response.json()["description"]
    finally:
        small.node.close()


def test_post_needs_a_contributing_member(world: World, client: TestClient) -> None:
    """A member reader may not share (403); to an outsider the collection does not exist (404, like TAXII)."""
    for org_id, role, status in ((world.globex.id, Role.READER, 403), (world.outsider.id, Role.CONTRIBUTOR, 404)):
        response = client.post("/api/v1/collections/isac/objects", content=bundle(INDICATOR),
                               headers=key_for(world, org_id, role))
        assert response.status_code == status
    assert world.node.backend.store.stats().versions == 0


def test_post_caps_a_streamed_body_without_content_length(world: World) -> None:
    small = make_world(Settings(database_url="memory://", max_document_bytes=1000))
    try:
        with TestClient(create_app(small.node)) as c:
            headers = key_for(small, small.acme.id, Role.CONTRIBUTOR)

            def chunks() -> Iterator[bytes]:
                for _ in range(10):
                    yield b" " * 500

            response = c.post("/api/v1/collections/isac/objects", content=chunks(), headers=headers)
            assert response.status_code == 413
            assert "exceeds the limit of 1000 bytes" in response.json()["description"]
    finally:
        small.node.close()


def test_post_on_sqlite_keeps_good_objects_beside_odd_ones(tmp_path: Path) -> None:
    w = make_world(Settings(database_url=f"sqlite:///{tmp_path}/api.db"))
    try:
        with TestClient(create_app(w.node)) as c:
            odd = {"type": "x-acme-thing", "spec_version": "2.1", "created_by_ref": {"a": 1},
                   "id": "x-acme-thing--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
                   "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"}
            response = c.post("/api/v1/collections/isac/objects?tolerant=true", content=bundle(odd, INDICATOR),
                              headers=key_for(w, w.acme.id, Role.CONTRIBUTOR))
            assert response.status_code == 200
            assert response.json()["results"][1]["outcome"] == "accepted"
            assert c.get("/api/v1/collections/isac/objects?limit=²",
                         headers=key_for(w, w.globex.id)).status_code == 400
    finally:
        w.node.close()


def test_unknown_endpoints_answer_json(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["title"] == "NotFound"
    response = client.delete("/api/v1/collections")
    assert response.status_code == 405 and response.json()["hint"]


def test_unknown_key_ids_and_wrong_secrets_look_the_same(world: World, client: TestClient) -> None:
    secret, record = world.node.admin.create_key(world.globex.id, Role.READER)
    wrong = secret[:-3] + ("AAA" if not secret.endswith("AAA") else "BBB")
    unknown = "phx_0123456789abcdef_" + secret.split("_", 2)[2]
    answers = [client.get("/api/v1/collections", headers={"Authorization": f"Bearer {k}"}).json()["description"]
               for k in (wrong, unknown)]
    assert answers[0].replace(record.key_id, "ID") == answers[1].replace("0123456789abcdef", "ID")


def test_tlp_red_with_no_named_recipients_is_seen_only_by_its_contributor(world: World,
                                                                          client: TestClient) -> None:
    red = dict(INDICATOR, id="indicator--3a3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa", object_marking_refs=[Tlp.RED.value])
    amber = dict(INDICATOR, object_marking_refs=[Tlp.AMBER_STRICT.value])
    world.node.ingest.document(world.contributor, "isac", bundle(red, amber, tlp_marking_definition(Tlp.RED)))
    url = "/api/v1/collections/isac/objects?type=indicator"
    member = client.get(url, headers=key_for(world, world.globex.id)).json()
    assert [o["id"] for o in member["objects"]] == [amber["id"]]
    source = client.get(url, headers=key_for(world, world.acme.id)).json()
    assert sorted(o["id"] for o in source["objects"]) == sorted([red["id"], amber["id"]])


def test_a_red_default_hides_unmarked_objects_from_other_members() -> None:
    w = make_world(Settings(database_url="memory://", default_tlp=Tlp.RED))
    try:
        w.node.ingest.document(w.contributor, "isac", bundle(INDICATOR))
        with TestClient(create_app(w.node)) as c:
            assert c.get("/api/v1/collections/isac/objects", headers=key_for(w, w.globex.id)).json()["objects"] == []
            mine = c.get("/api/v1/collections/isac/objects", headers=key_for(w, w.acme.id)).json()["objects"]
            assert [o["id"] for o in mine] == [INDICATOR["id"]]
    finally:
        w.node.close()
