"""One regression test for each class of access flaw that sharing platforms have shipped: sharing-group leaks,
counts or correlations that reveal hidden objects, authorization checked on a different object than the one
changed, an org admin acting on a site admin's credentials, SQL injection through sort or filter fields, and
ids or versions guessed by a non-member."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.errors import NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp
from phalanx.store import Query, VersionFilter
from phalanx.web import create_app
from tests.support import INDICATOR, TAXII, TAXII_ROOT, World, make_world, taxii_key, taxii_post

ROOT = TAXII_ROOT


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(Settings(database_url=f"sqlite:///{tmp_path}/node.db"))
    w.node.admin.add_organization("Initech")
    w.node.admin.join("isac", "Initech")
    yield w
    w.node.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node)) as c:
        yield c




def indicator(n: int, *, level: Tlp | None = None, modified: str = "2024-01-01T00:00:00.000Z",
              **extra: Any) -> dict[str, Any]:
    found = {**INDICATOR, "id": f"indicator--00000000-0000-4000-8000-{n:012d}", "modified": modified, **extra}
    if level is not None:
        found["object_marking_refs"] = [level.value]
    return found




def every_read(client: TestClient, headers: dict[str, str], collection: str, object_id: str) -> list[Any]:
    """What one caller gets about one object through every TAXII read path."""
    base = f"{ROOT}/collections/{collection}"
    answers = []
    every = {"match[version]": "all"}
    for path, params in [(f"{base}/objects/", every), (f"{base}/manifest/", every),
                         (f"{base}/objects/", {"match[id]": object_id}), (f"{base}/objects/{object_id}/", {}),
                         (f"{base}/objects/{object_id}/versions/", {})]:
        response = client.get(path, headers=headers, params=params)
        answers.append((response.status_code, response.content.replace(object_id.encode(), b"OBJECT")))
    return answers


def test_sharing_group_leaks(world: World, client: TestClient) -> None:
    """An AMBER object shared with listed recipients stays with them, through every path, even when the same
    version is also in other collections, and nobody outside can pass it on."""
    isac = world.node.admin.collection("isac").id
    other = world.node.admin.add_collection("isac-2", community="isac").id
    acme, globex = taxii_key(world, world.acme.id), taxii_key(world, world.globex.id, Role.READER)
    initech = taxii_key(world, world.node.admin.organization("Initech").id)
    secret = indicator(1, level=Tlp.AMBER)
    status = taxii_post(client, acme, isac, [secret], recipients="Initech")
    assert status["success_count"] == 1
    never_shared = indicator(99, level=Tlp.AMBER)
    for headers in (globex, initech):
        assert every_read(client, headers, other, secret["id"]) == every_read(client, headers, other,
                                                                               never_shared["id"])
    assert every_read(client, globex, isac, secret["id"]) == every_read(client, globex, isac, never_shared["id"])
    assert client.get(f"{ROOT}/collections/{isac}/objects/{secret['id']}/", headers=initech).status_code == 200
    # Initech, a recipient, may not pass it on into another collection (AMBER stays within its organization)
    relayed = taxii_post(client, initech, other, [secret])
    assert relayed["failure_count"] == 1 and relayed["failures"][0]["message"].startswith("restricted")
    assert every_read(client, globex, other, secret["id"]) == every_read(client, globex, other, never_shared["id"])
    # the JSON API and the export say the same
    listed = client.get(f"/api/v1/collections/{isac}/objects", headers=globex, params={"version": "all"}).json()
    assert listed["objects"] == []
    reader = world.node.admin.authenticate(globex["Authorization"].split()[1])
    assert list(world.node.reader.export(Query(versions=(VersionFilter.ALL,)), actor=reader)) == []
    # a person named for RED sees it; the rest of their organization does not
    alice = world.node.admin.add_user("alice", org_ref=world.globex.id, role=Role.READER)
    red = indicator(2, level=Tlp.RED)
    taxii_post(client, acme, isac, [red], people="alice")
    as_alice = taxii_key(world, world.globex.id, user=alice.id)
    assert client.get(f"{ROOT}/collections/{isac}/objects/{red['id']}/", headers=as_alice).status_code == 200
    assert client.get(f"{ROOT}/collections/{isac}/objects/{red['id']}/", headers=globex).status_code == 404


def test_counts_and_correlations_do_not_reveal_hidden_objects(world: World, client: TestClient) -> None:
    """A page ending in hidden objects says no more and names no next; the date headers come from what is
    served; a hidden object, version or status answers exactly like an unknown one."""
    isac = world.node.admin.collection("isac").id
    acme, globex = taxii_key(world, world.acme.id), taxii_key(world, world.globex.id, Role.READER)
    taxii_post(client, acme, isac, [indicator(1, level=Tlp.GREEN)])
    taxii_post(client, acme, isac, [indicator(n, level=Tlp.RED) for n in range(2, 6)])
    page = client.get(f"{ROOT}/collections/{isac}/objects/", headers=globex, params={"limit": "1"})
    body = page.json()
    assert len(body["objects"]) == 1 and body["more"] is False and "next" not in body
    assert page.headers["X-TAXII-Date-Added-First"] == page.headers["X-TAXII-Date-Added-Last"]
    manifest = client.get(f"{ROOT}/collections/{isac}/manifest/", headers=globex).json()
    assert len(manifest["objects"]) == 1
    hidden = client.get(f"{ROOT}/collections/{isac}/objects/{indicator(2)['id']}/", headers=globex)
    unknown = client.get(f"{ROOT}/collections/{isac}/objects/{indicator(77)['id']}/", headers=globex)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content.replace(indicator(2)["id"].encode(), b"X") == unknown.content.replace(
        indicator(77)["id"].encode(), b"X")
    # a GREEN version the reader sees, then a RED one it does not: "last" gives nothing, never the GREEN one
    taxii_post(client, acme, isac, [indicator(1, level=Tlp.RED, modified="2024-02-01T00:00:00.000Z")])
    latest = client.get(f"{ROOT}/collections/{isac}/objects/", headers=globex).json()
    assert latest == {"more": False}
    versions = client.get(f"{ROOT}/collections/{isac}/objects/{indicator(1)['id']}/versions/", headers=globex)
    assert [v[:10] for v in versions.json()["versions"]] == ["2024-01-01"]


def test_authorization_is_checked_on_the_object_changed(world: World, client: TestClient) -> None:
    """Deleting through one collection never touches another; versions, revocations and deletions are refused
    on others' objects, in the same transaction as the change."""
    isac = world.node.admin.collection("isac").id
    world.node.admin.add_community("elsewhere")
    world.node.admin.join("elsewhere", world.globex.id)
    elsewhere = world.node.admin.collection("elsewhere").id
    acme, globex = taxii_key(world, world.acme.id), taxii_key(world, world.globex.id)
    theirs = indicator(1, level=Tlp.GREEN)
    taxii_post(client, globex, elsewhere, [theirs])
    # acme names globex's object in its own collection: not found there, and untouched where it is
    assert client.delete(f"{ROOT}/collections/{isac}/objects/{theirs['id']}/", headers=acme).status_code == 404
    assert client.get(f"{ROOT}/collections/{elsewhere}/objects/{theirs['id']}/", headers=globex).status_code == 200
    # acme shares a GREEN object; globex, in the same community, may neither revoke it nor delete it
    mine = indicator(2, level=Tlp.GREEN)
    taxii_post(client, acme, isac, [mine])
    revoking = dict(mine, modified="2024-03-01T00:00:00.000Z", revoked=True)
    status = taxii_post(client, globex, isac, [revoking])
    assert status["failures"][0]["message"].startswith("foreign")
    assert not world.node.backend.store.is_revoked(mine["id"])
    assert client.delete(f"{ROOT}/collections/{isac}/objects/{mine['id']}/", headers=globex).status_code == 403
    # the delete covers only the caller's own versions: an admin's later version survives acme's delete
    admin = taxii_key(world, world.outsider.id, Role.ADMIN)
    taxii_post(client, admin, isac, [dict(mine, modified="2024-04-01T00:00:00.000Z")])
    assert client.delete(f"{ROOT}/collections/{isac}/objects/{mine['id']}/", headers=acme).status_code == 200
    left = client.get(f"{ROOT}/collections/{isac}/objects/{mine['id']}/versions/", headers=admin).json()
    assert [v[:10] for v in left["versions"]] == ["2024-04-01"]


def test_an_org_admin_cannot_act_on_a_site_admins_credentials(world: World, client: TestClient) -> None:
    """The node's administrator holds keys in an ordinary organization; that organization's org-admin may
    manage its other keys, but not the administrator's, nor make an admin key, nor one for the admin user."""
    admin_user = world.node.admin.add_user("root", org_ref=world.acme.id, role=Role.ADMIN)
    site_key, site_record = world.node.admin.create_key(None, None, user_ref=admin_user.id)
    _, plain = world.node.admin.create_key(world.acme.id, Role.READER)
    org_admin = taxii_key(world, world.acme.id, Role.ORG_ADMIN)
    revoke = client.delete(f"/api/v1/keys/{site_record.key_id}", headers=org_admin)
    assert revoke.status_code == 403 and "node administrators" in revoke.json()["description"]
    assert client.get("/taxii2/", headers={"Accept": TAXII, "Authorization": f"Bearer {site_key}"}).status_code == 200
    for asked, status in (({"role": "admin"}, 403), ({"role": "peer"}, 403), ({"user": "root"}, 403),
                          ({"user": "root", "role": "reader"}, 403),
                          ({"organization": world.globex.id, "role": "reader"}, 404)):  # like an unknown one
        made = client.post("/api/v1/keys", headers=org_admin, content=json.dumps(asked))
        assert made.status_code == status, (asked, made.text)
    narrowed = world.node.admin.create_key(None, Role.READER, user_ref=admin_user.id)[1]  # the admin's own
    assert client.delete(f"/api/v1/keys/{narrowed.key_id}", headers=org_admin).status_code == 403
    other_org = world.node.admin.create_key(world.globex.id, Role.READER)[1]
    assert client.delete(f"/api/v1/keys/{other_org.key_id}", headers=org_admin).status_code == 404
    assert client.delete(f"/api/v1/keys/{plain.key_id}", headers=org_admin).status_code == 200
    made = client.post("/api/v1/keys", headers=org_admin, content=json.dumps({"role": "contributor"}))
    assert made.status_code == 201 and made.json()["organization"] == world.acme.id
    listed = {k["key_id"] for k in client.get("/api/v1/keys", headers=org_admin).json()["keys"]}
    assert other_org.key_id not in listed
    contributor = taxii_key(world, world.acme.id)
    assert client.get("/api/v1/keys", headers=contributor).status_code == 403
    with pytest.raises(PermissionDenied):
        world.node.admin.revoke_key(site_record.key_id, by=Actor(world.acme.id, Role.ORG_ADMIN))


INJECTIONS = ["indicator' OR '1'='1", "indicator\"); DROP TABLE versions; --", "%' OR 1=1 --", "1; SELECT 1",
              "indicator--00000000-0000-4000-8000-000000000001' OR 'x'='x"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_no_sql_injection_through_filter_or_sort_fields(world: World, client: TestClient, value: str) -> None:
    """Parameters are allowlisted by name and parsed by format; values reach the database only as bound
    parameters. Nothing is ignored, nothing is interpolated."""
    isac = world.node.admin.collection("isac").id
    acme, globex = taxii_key(world, world.acme.id), taxii_key(world, world.globex.id, Role.READER)
    taxii_post(client, acme, isac, [indicator(1, level=Tlp.RED), indicator(2, level=Tlp.GREEN)])
    for name in ("match[type]", "match[id]", "match[version]", "match[spec_version]", "added_after", "next",
                 "limit", "sort", "order_by", "match[created_by_ref]"):
        response = client.get(f"{ROOT}/collections/{isac}/objects/", headers=globex, params={name: value})
        assert response.status_code == 400, (name, value, response.text)
    for name in ("type", "id", "version", "spec_version", "added_after", "next", "sort", "order"):
        response = client.get(f"/api/v1/collections/{isac}/objects", headers=globex, params={name: value})
        assert response.status_code in (200, 400), (name, value)
        assert all(o["id"] != indicator(1)["id"] for o in response.json().get("objects", []))
    world.node.ingest.document(Actor(world.acme.id, Role.CONTRIBUTOR), "isac", json.dumps(indicator(3)))
    assert world.node.reader.stats().versions == 3  # the tables are intact


def test_ids_and_versions_guessed_by_a_non_member(world: World, client: TestClient) -> None:
    """A non-member that knows (or guesses) a collection id, an object id and its versions learns nothing: every
    answer is the answer for things that do not exist."""
    isac = world.node.admin.collection("isac").id
    acme = taxii_key(world, world.acme.id)
    outsider = taxii_key(world, world.outsider.id)
    secret = indicator(1, level=Tlp.CLEAR)
    taxii_post(client, acme, isac, [secret])
    guessed = every_read(client, outsider, isac, secret["id"])
    unknown = every_read(client, outsider, "00000000-0000-4000-8000-000000000000", secret["id"])
    assert [status for status, _ in guessed] == [404] * 5
    assert [b.replace(isac.encode(), b"X") for _, b in guessed] == [
        b.replace(b"00000000-0000-4000-8000-000000000000", b"X") for _, b in unknown]
    by_version = client.get(f"{ROOT}/collections/{isac}/objects/{secret['id']}/", headers=outsider,
                            params={"match[version]": secret["modified"]})
    assert by_version.status_code == 404
    # and the service layer says the same to every caller outside the community
    outsider_actor = Actor(world.outsider.id, Role.CONTRIBUTOR)
    with pytest.raises(NotFound):
        world.node.reader.page(outsider_actor, Query(collection=isac, ids=(secret["id"],)))
