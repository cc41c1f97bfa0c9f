"""The TAXII 2.1 server, endpoint by endpoint, as the specification says: media types, credentials, errors,
filters, paging, headers, status resources and deletion (in process; tests/taxii/test_interop.py uses the
reference clients over real HTTP)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.errors import NotFound
from phalanx.identity import Role
from phalanx.stix import Tlp, format_micros, now_micros, parse_micros
from phalanx.store import StatusOutcome
from phalanx.web import create_app
from tests.support import INDICATOR, World, make_world

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api"


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    w = make_world(Settings(database_url=f"sqlite:///{tmp_path}/node.db", batch_size=5))
    yield w
    w.node.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node)) as c:
        yield c


class Caller:
    def __init__(self, client: TestClient, key: str | None) -> None:
        self.client, self.key = client, key

    def headers(self, **extra: str) -> dict[str, str]:
        found = {"Accept": TAXII, **extra}
        if self.key:
            found["Authorization"] = f"Bearer {self.key}"
        return found

    def get(self, path: str, **params: str) -> Any:
        return self.client.get(path, headers=self.headers(), params=params)

    def post(self, path: str, objects: list[dict[str, Any]], **params: str) -> Any:
        return self.client.post(path, headers=self.headers(**{"Content-Type": TAXII}), params=params,
                                content=json.dumps({"objects": objects}))

    def delete(self, path: str, **params: str) -> Any:
        return self.client.delete(path, headers=self.headers(), params=params)


def caller(world: World, client: TestClient, org_id: str, role: Role = Role.CONTRIBUTOR) -> Caller:
    key, _ = world.node.admin.create_key(org_id, role)
    return Caller(client, key)


def indicator(n: int, *, modified: str = "2024-01-01T00:00:00.000Z", **extra: Any) -> dict[str, Any]:
    return {**INDICATOR, "id": f"indicator--00000000-0000-4000-8000-{n:012d}", "modified": modified, **extra}


def collection_id(world: World) -> str:
    return world.node.admin.collection("isac").id


# media types, credentials, errors ----------------------------------------------------------------------------


ENDPOINTS = ["/taxii2/", f"{ROOT}/", f"{ROOT}/collections/", f"{ROOT}/collections/{{c}}/",
             f"{ROOT}/collections/{{c}}/objects/", f"{ROOT}/collections/{{c}}/manifest/",
             f"{ROOT}/collections/{{c}}/objects/{INDICATOR['id']}/",
             f"{ROOT}/collections/{{c}}/objects/{INDICATOR['id']}/versions/"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/taxii+json;version=2.0",
                                    "application/taxii+json;version=2.1;q=0", "application/stix+json;version=2.1"])
def test_every_endpoint_answers_406_unless_taxii_21_is_accepted(world: World, client: TestClient,
                                                                accept: str | None) -> None:
    member = caller(world, client, world.acme.id)
    for path in ENDPOINTS:
        headers = {"Authorization": f"Bearer {member.key}", **({"Accept": accept} if accept else {})}
        response = client.get(path.format(c=collection_id(world)), headers=headers)
        assert response.status_code == 406, (path, accept)
        assert response.headers["content-type"] == TAXII
        assert response.json()["title"] == "NotAcceptable" and response.json()["http_status"] == "406"


@pytest.mark.parametrize("accept", [TAXII, "application/taxii+json", "Application/TAXII+JSON; Version=\"2.1\"",
                                    "text/html, application/taxii+json;version=2.1;q=0.5"])
def test_taxii_21_in_any_spelling_is_accepted(world: World, client: TestClient, accept: str) -> None:
    member = caller(world, client, world.acme.id)
    response = client.get("/taxii2/", headers={"Accept": accept, "Authorization": f"Bearer {member.key}"})
    assert response.status_code == 200 and response.headers["content-type"] == TAXII


@pytest.mark.parametrize("content_type", [None, "application/json", "application/stix+json;version=2.1",
                                          "application/taxii+json;version=2.0"])
def test_a_post_of_another_media_type_is_415(world: World, client: TestClient, content_type: str | None) -> None:
    member = caller(world, client, world.acme.id)
    headers = member.headers(**({"Content-Type": content_type} if content_type else {}))
    response = client.post(f"{ROOT}/collections/{collection_id(world)}/objects/", headers=headers,
                           content=json.dumps({"objects": [INDICATOR]}))
    assert response.status_code == 415 and response.json()["title"] == "UnsupportedMediaType"
    assert world.node.reader.stats().versions == 0


@pytest.mark.parametrize("authorization", [
    "Bearer phx_nope", "Basic !!!", "Basic " + base64.b64encode(b"user").decode(), "Digest abc",
    "Bearer phx_0123456789abcdef_" + "A" * 43])
def test_bad_credentials_get_a_taxii_401(world: World, client: TestClient, authorization: str) -> None:
    response = client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": authorization})
    assert response.status_code == 401 and response.headers["content-type"] == TAXII
    assert "Basic" in response.headers["www-authenticate"] and "Bearer" in response.headers["www-authenticate"]
    body = response.json()
    assert body["title"] == "AuthenticationError" and body["http_status"] == "401" and body["details"]["what_to_do"]


def test_no_credentials_and_nothing_public_is_401_everywhere(world: World, client: TestClient) -> None:
    anonymous = Caller(client, None)
    for path in [*ENDPOINTS, f"{ROOT}/status/00000000-0000-4000-8000-000000000000/"]:
        assert anonymous.get(path.format(c=collection_id(world))).status_code == 401, path


def test_http_basic_carries_the_key_as_its_password(world: World, client: TestClient) -> None:
    member = caller(world, client, world.globex.id, Role.READER)
    basic = base64.b64encode(f"anyone:{member.key}".encode()).decode()
    response = client.get(f"{ROOT}/collections/", headers={"Accept": TAXII, "Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert response.json()["collections"][0]["can_write"] is False


def test_discovery_and_api_root(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    discovery = member.get("/taxii2/").json()
    assert discovery["default"] == discovery["api_roots"][0] == "http://testserver/taxii2/api/"
    root = member.get(f"{ROOT}/").json()
    assert root["versions"] == [TAXII] and root["max_content_length"] == world.node.settings.max_document_bytes


def test_every_path_answers_without_its_trailing_slash(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    member.post(f"{ROOT}/collections/{collection_id(world)}/objects/", [INDICATOR])
    for path in ENDPOINTS[1:]:
        with_slash = member.get(path.format(c=collection_id(world)))
        without = client.get(path.format(c=collection_id(world)).rstrip("/"), headers=member.headers(),
                             follow_redirects=False)
        assert with_slash.status_code == without.status_code == 200, path
        assert with_slash.json().keys() == without.json().keys()


def test_unknown_paths_and_methods_are_taxii_errors(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    missing = member.get(f"{ROOT}/nothing/here/")
    assert missing.status_code == 404 and missing.headers["content-type"] == TAXII
    put = client.put(f"{ROOT}/collections/", headers=member.headers())
    assert put.status_code == 405 and put.json()["title"] == "MethodNotAllowed"


def test_a_body_over_max_content_length_is_413(tmp_path: Any) -> None:
    w = make_world(Settings(database_url="memory://", max_document_bytes=2000))
    try:
        with TestClient(create_app(w.node)) as c:
            member = caller(w, c, w.acme.id)
            response = member.post(f"{ROOT}/collections/{collection_id(w)}/objects/",
                                   [indicator(n) for n in range(10)])
            assert response.status_code == 413 and response.json()["title"] == "InputTooLarge"
    finally:
        w.node.close()


def test_a_post_must_carry_an_envelope_or_a_bundle(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    path = f"{ROOT}/collections/{collection_id(world)}/objects/"
    for body in [b'{"nothing": 1}', json.dumps(INDICATOR).encode(), b"[]", b"{broken", b'{"objects": 3}']:
        response = client.post(path, headers=member.headers(**{"Content-Type": TAXII}), content=body)
        assert response.status_code == 400, body
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [INDICATOR]}
    response = client.post(path, headers=member.headers(**{"Content-Type": TAXII}), content=json.dumps(bundle))
    assert response.status_code == 202 and response.json()["success_count"] == 1


# collections ---------------------------------------------------------------------------------------------------


def test_collections_say_what_the_caller_may_do(world: World, client: TestClient) -> None:
    world.node.admin.add_community("other")
    reader = caller(world, client, world.globex.id, Role.READER)
    contributor = caller(world, client, world.acme.id)
    outsider = caller(world, client, world.outsider.id)
    [mine] = reader.get(f"{ROOT}/collections/").json()["collections"]
    assert (mine["title"], mine["can_read"], mine["can_write"]) == ("isac", True, False)
    assert mine["media_types"] == ["application/stix+json;version=2.1"]
    assert contributor.get(f"{ROOT}/collections/{mine['id']}/").json()["can_write"] is True
    assert outsider.get(f"{ROOT}/collections/").json() == {}
    hidden = outsider.get(f"{ROOT}/collections/{mine['id']}/")
    unknown = outsider.get(f"{ROOT}/collections/00000000-0000-4000-8000-000000000000/")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["description"].replace(mine["id"], "X") == unknown.json()["description"].replace(
        "00000000-0000-4000-8000-000000000000", "X")


def test_a_public_collection_serves_clear_objects_to_anyone(world: World, client: TestClient) -> None:
    public = world.node.admin.add_collection("open feed", community="isac", public=True)
    member = caller(world, client, world.acme.id)
    objects = [indicator(1, object_marking_refs=[Tlp.CLEAR.value]), indicator(2, object_marking_refs=[Tlp.GREEN.value]),
               indicator(3)]
    assert member.post(f"{ROOT}/collections/{public.id}/objects/", objects).json()["success_count"] == 3
    anonymous = Caller(client, None)
    listed = anonymous.get(f"{ROOT}/collections/").json()["collections"]
    assert [(c["title"], c["can_read"], c["can_write"]) for c in listed] == [("open feed", True, False)]
    seen = anonymous.get(f"{ROOT}/collections/{public.id}/objects/").json()["objects"]
    assert [o["id"] for o in seen] == [objects[0]["id"]]
    assert anonymous.get("/taxii2/").status_code == 200
    outsider = caller(world, client, world.outsider.id)
    assert [o["id"] for o in outsider.get(f"{ROOT}/collections/{public.id}/objects/").json()["objects"]] == [
        objects[0]["id"]]
    assert len(member.get(f"{ROOT}/collections/{public.id}/objects/").json()["objects"]) == 3
    refused = anonymous.post(f"{ROOT}/collections/{public.id}/objects/", [indicator(4)])
    assert refused.status_code == 401


def test_a_filtered_collection_takes_and_serves_only_its_types(world: World, client: TestClient) -> None:
    only = world.node.admin.add_collection("indicators", community="isac", types=("indicator",))
    member = caller(world, client, world.acme.id)
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc",
               "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "x",
               "is_family": True}
    status = member.post(f"{ROOT}/collections/{only.id}/objects/", [indicator(1), malware]).json()
    assert status["success_count"] == 1 and status["failures"][0]["message"].startswith("filtered:")
    assert member.get(f"{ROOT}/collections/{only.id}/objects/", **{"match[type]": "malware"}).json() == {
        "more": False}


# objects: filters, paging, headers ----------------------------------------------------------------------------


@pytest.fixture
def shared(world: World, client: TestClient) -> tuple[Caller, str, list[dict[str, Any]]]:
    member = caller(world, client, world.acme.id)
    cid = collection_id(world)
    versions = [indicator(1, modified=f"2024-01-0{d}T00:00:00.000Z") for d in (1, 2, 3)]
    others = [indicator(n) for n in range(2, 6)]
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc",
               "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "x",
               "is_family": True}
    for batch in ([versions[0], *others], [versions[1], malware], [versions[2]]):
        assert member.post(f"{ROOT}/collections/{cid}/objects/", batch).json()["failure_count"] == 0
    return member, cid, [*versions, *others, malware]


def _ids(response: Any) -> list[tuple[str, str]]:
    return [(o["id"][-2:], o.get("modified", "")[:10]) for o in response.json().get("objects", [])]


def test_match_filters_repeated_and_comma_separated(shared: tuple[Caller, str, list[dict[str, Any]]]) -> None:
    member, cid, objs = shared
    path = f"{ROOT}/collections/{cid}/objects/"
    assert len(member.get(path).json()["objects"]) == 6  # the latest version of each object
    assert len(member.get(path, **{"match[version]": "all"}).json()["objects"]) == 8
    first_last = member.get(path, **{"match[id]": objs[0]["id"], "match[version]": "first,last"})
    assert _ids(first_last) == [("01", "2024-01-01"), ("01", "2024-01-03")]
    exact = member.get(path, **{"match[version]": "2024-01-02T00:00:00Z"})
    assert _ids(exact) == [("01", "2024-01-02")]
    by_type = member.client.get(path, headers=member.headers(),
                                params=[("match[type]", "malware"), ("match[type]", "report,indicator")])
    assert len(by_type.json()["objects"]) == 6
    assert member.get(path, **{"match[type]": "malware"}).json()["objects"][0]["type"] == "malware"
    ids = f"{objs[3]['id']},{objs[4]['id']}"
    assert {o["id"] for o in member.get(path, **{"match[id]": ids}).json()["objects"]} == {objs[3]["id"], objs[4]["id"]}
    assert member.get(path, **{"match[spec_version]": "2.0"}).json() == {"more": False}
    assert len(member.get(path, **{"match[spec_version]": "2.1,2.0"}).json()["objects"]) == 6


@pytest.mark.parametrize(("name", "value"), [
    ("limit", "0"), ("limit", "-1"), ("limit", "ten"), ("added_after", "yesterday"), ("next", "not-ours"),
    ("match[version]", "newest"), ("match[id]", "indicator--nope"), ("match[type]", "Indicator'--"),
    ("match[spec_version]", "3.0"), ("match[created_by_ref]", "identity--x"), ("sort", "id"),
])
def test_bad_parameters_are_400_with_a_taxii_error(shared: tuple[Caller, str, list[dict[str, Any]]], name: str,
                                                   value: str) -> None:
    member, cid, _ = shared
    response = member.get(f"{ROOT}/collections/{cid}/objects/", **{name: value})
    assert response.status_code == 400 and response.headers["content-type"] == TAXII
    assert response.json()["http_status"] == "400" and response.json()["description"]


def test_paging_with_more_and_next_and_the_date_headers(shared: tuple[Caller, str, list[dict[str, Any]]]) -> None:
    member, cid, _ = shared
    path = f"{ROOT}/collections/{cid}/objects/"
    seen: list[tuple[str, str]] = []
    params = {"match[version]": "all", "limit": "3"}
    previous_last = ""
    while True:
        page = member.get(path, **params)
        body = page.json()
        seen += _ids(page)
        first, last = page.headers["X-TAXII-Date-Added-First"], page.headers["X-TAXII-Date-Added-Last"]
        assert first <= last and first > previous_last
        previous_last = last
        if not body["more"]:
            assert "next" not in body
            break
        assert body["next"] and len(body["objects"]) == 3
        params = {"match[version]": "all", "limit": "3", "next": body["next"]}
    assert len(seen) == len(set(seen)) == 8
    # added_after at the last date_added seen resumes after it: nothing more
    assert member.get(path, added_after=previous_last).json() == {"more": False}
    empty = member.get(path, added_after=previous_last)
    assert "X-TAXII-Date-Added-First" not in empty.headers


def test_the_server_caps_the_page_size(world: World, client: TestClient) -> None:
    w = make_world(Settings(database_url="memory://", page_size_max=4))
    try:
        with TestClient(create_app(w.node)) as c:
            member = caller(w, c, w.acme.id)
            member.post(f"{ROOT}/collections/{collection_id(w)}/objects/", [indicator(n) for n in range(10)])
            page = member.get(f"{ROOT}/collections/{collection_id(w)}/objects/", limit="100").json()
            assert len(page["objects"]) == 4 and page["more"] and page["next"]
    finally:
        w.node.close()


def test_paging_is_stable_while_objects_arrive(shared: tuple[Caller, str, list[dict[str, Any]]]) -> None:
    member, cid, _ = shared
    path = f"{ROOT}/collections/{cid}/objects/"
    first = member.get(path, limit="4").json()
    member.post(path, [indicator(n) for n in range(20, 25)])
    rest = member.get(path, limit="1000", next=first["next"]).json()
    ids = [o["id"] for o in first["objects"] + rest["objects"]]
    assert len(ids) == len(set(ids)) == 11
    assert ids[-5:] == [indicator(n)["id"] for n in range(20, 25)]  # the new ones at the end


def test_manifest_object_and_versions(shared: tuple[Caller, str, list[dict[str, Any]]]) -> None:
    member, cid, objs = shared
    manifest = member.get(f"{ROOT}/collections/{cid}/manifest/", **{"match[id]": objs[0]["id"],
                                                                     "match[version]": "all"})
    records = manifest.json()["objects"]
    assert [r["version"][:10] for r in records] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in records)
    assert manifest.headers["X-TAXII-Date-Added-First"] == records[0]["date_added"]
    latest = member.get(f"{ROOT}/collections/{cid}/objects/{objs[0]['id']}/")
    assert _ids(latest) == [("01", "2024-01-03")] and latest.headers["X-TAXII-Date-Added-Last"]
    everything = member.get(f"{ROOT}/collections/{cid}/objects/{objs[0]['id']}/", **{"match[version]": "all"})
    assert len(everything.json()["objects"]) == 3
    versions = member.get(f"{ROOT}/collections/{cid}/objects/{objs[0]['id']}/versions/")
    assert [v[:10] for v in versions.json()["versions"]] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert versions.headers["X-TAXII-Date-Added-First"] and versions.json()["more"] is False
    paged = member.get(f"{ROOT}/collections/{cid}/objects/{objs[0]['id']}/versions/", limit="2").json()
    assert len(paged["versions"]) == 2 and paged["more"] and paged["next"]
    for path in (f"objects/{'indicator--00000000-0000-4000-8000-000000000099'}/",
                 f"objects/{'indicator--00000000-0000-4000-8000-000000000099'}/versions/"):
        assert member.get(f"{ROOT}/collections/{cid}/{path}").status_code == 404
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db",
           "value": "198.51.100.7"}
    status = member.post(f"{ROOT}/collections/{cid}/objects/", [sco]).json()
    (added,) = member.get(f"{ROOT}/collections/{cid}/manifest/", **{"match[type]": "ipv4-addr"}).json()["objects"]
    assert added["version"] == added["date_added"] == status["successes"][0]["version"]


# POST and status ---------------------------------------------------------------------------------------------


def test_a_small_post_is_complete_at_once_and_lists_each_outcome(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    cid = collection_id(world)
    broken = {k: v for k, v in indicator(9).items() if k != "pattern"}
    response = member.post(f"{ROOT}/collections/{cid}/objects/", [indicator(1), broken, indicator(1)])
    assert response.status_code == 202
    status = response.json()
    assert (status["status"], status["total_count"], status["success_count"], status["failure_count"],
            status["pending_count"]) == ("complete", 3, 2, 1, 0)
    assert [s["message"] for s in status["successes"]] == ["added", "duplicate"]
    assert status["failures"][0]["id"] == broken["id"] and "pattern" in status["failures"][0]["message"]
    assert status["failures"][0]["version"] == format_micros(parse_micros(broken["modified"]))
    again = member.get(f"{ROOT}/status/{status['id']}/")
    assert again.status_code == 200 and again.json() == status
    assert member.get(f"{ROOT}/status/{status['id']}").json() == status  # without the trailing slash too


def test_a_large_post_is_pending_then_complete(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    cid = collection_id(world)
    response = member.post(f"{ROOT}/collections/{cid}/objects/", [indicator(n) for n in range(23)])
    status = response.json()
    assert response.status_code == 202 and status["status"] == "pending" and status["total_count"] == 23
    assert status["pending_count"] + status["success_count"] == 23
    for _ in range(200):
        status = member.get(f"{ROOT}/status/{status['id']}/").json()
        if status["status"] == "complete":
            break
        time.sleep(0.01)
    assert (status["status"], status["success_count"], status["pending_count"]) == ("complete", 23, 0)


def test_a_pending_status_whose_worker_is_gone_reports_failures(world: World, client: TestClient) -> None:
    """If the server stops while storing in the background, the record stops changing; a poll after two minutes
    reports what is left as failed, with what to do."""
    from phalanx.service import _submissions

    member = caller(world, client, world.acme.id)
    record = _submissions.StatusRecord("11111111-2222-4333-8444-555555555555", world.acme.id,
                                       collection_id(world), 1, 1, (_submissions.StatusEntry(
                                           INDICATOR["id"], "2016-04-06T20:03:48.000000Z", StatusOutcome.PENDING),))
    world.node.backend.statuses.create(record)
    status = member.get(f"{ROOT}/status/{record.id}/").json()
    assert (status["status"], status["failure_count"]) == ("complete", 1)
    assert "send it again" in status["failures"][0]["message"]
    fresh = replace(record, id="11111111-2222-4333-8444-666666666666", created=now_micros(), updated=now_micros())
    world.node.backend.statuses.create(fresh)
    assert member.get(f"{ROOT}/status/{fresh.id}/").json()["status"] == "pending"


def test_a_status_is_only_for_its_poster(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    status = member.post(f"{ROOT}/collections/{collection_id(world)}/objects/", [INDICATOR]).json()
    colleague = caller(world, client, world.acme.id, Role.READER)
    assert colleague.get(f"{ROOT}/status/{status['id']}/").status_code == 200
    other = caller(world, client, world.globex.id)
    hidden = other.get(f"{ROOT}/status/{status['id']}/")
    unknown = other.get(f"{ROOT}/status/00000000-0000-4000-8000-000000000000/")
    assert hidden.status_code == unknown.status_code == 404
    admin = caller(world, client, world.outsider.id, Role.ADMIN)
    assert admin.get(f"{ROOT}/status/{status['id']}/").status_code == 200


# deleting ----------------------------------------------------------------------------------------------------


def test_delete_an_object(shared: tuple[Caller, str, list[dict[str, Any]]], world: World,
                          client: TestClient) -> None:
    member, cid, objs = shared
    path = f"{ROOT}/collections/{cid}/objects/{objs[0]['id']}/"
    other = caller(world, client, world.globex.id)
    refused = other.delete(path)
    assert refused.status_code == 403 and "only it may delete" in refused.json()["description"]
    reader = caller(world, client, world.acme.id, Role.READER)
    assert reader.delete(path).status_code == 403
    assert member.delete(path, **{"match[version]": "last"}).status_code == 200
    assert [v[:10] for v in member.get(path + "versions/").json()["versions"]] == ["2024-01-01", "2024-01-02"]
    assert member.delete(path).status_code == 200
    assert member.get(path).status_code == 404
    assert member.delete(path).status_code == 404
    many = f"{ROOT}/collections/{cid}/objects/"
    assert member.delete(many).status_code == 400  # match[id] required
    # every id is checked before anything is deleted: one unknown id, and nothing goes
    unknown = "indicator--00000000-0000-4000-8000-000000000099"
    assert member.delete(many, **{"match[id]": f"{objs[3]['id']},{unknown}"}).status_code == 404
    assert member.get(f"{many}{objs[3]['id']}/").status_code == 200
    assert member.delete(many, **{"match[id]": f"{objs[3]['id']},{objs[4]['id']}"}).status_code == 200
    assert member.get(f"{many}{objs[3]['id']}/").status_code == 404


def test_statuses_are_kept_for_the_retention_period() -> None:
    """A status older than status_retention_days is deleted (at most an hour after it expires)."""
    from phalanx.service import Node
    from phalanx.store import open_backend

    now = [1_000_000_000_000_000]
    node = Node(open_backend("memory://"), Settings(database_url="memory://", status_retention_days=1),
                clock=lambda: now[0])
    admin = node.admin
    admin.add_community("isac")
    org = admin.add_organization("ACME")
    admin.join("isac", org.id)
    sharing = node.ingest.authorize(_actor(org.id), "isac")
    old = node.submissions.submit(sharing, [])
    now[0] += 2 * 86_400 * 1_000_000  # two days later
    assert node.submissions.status(_actor(org.id), old.record.id).complete  # not pruned yet: due
    node.submissions.submit(sharing, [])
    with pytest.raises(NotFound):
        node.submissions.status(_actor(org.id), old.record.id)
    node.close()


def _actor(org: str) -> Any:
    from phalanx.identity import Actor

    return Actor(org, Role.CONTRIBUTOR)


def test_a_post_may_ask_for_tolerant_validation(world: World, client: TestClient) -> None:
    member = caller(world, client, world.acme.id)
    path = f"{ROOT}/collections/{collection_id(world)}/objects/"
    custom = indicator(1, x_acme_score=7)
    assert member.post(path, [custom]).json()["failures"][0]["message"].startswith("invalid STIX")
    assert member.post(path, [custom], tolerant="true").json()["successes"][0]["message"] == "added"
    assert member.post(path, [custom], tolerant="maybe").status_code == 400
