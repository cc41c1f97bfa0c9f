"""The administration page: organizations, communities, users, API keys and settings, under the same policy as
the API (node administrators everything, org-admins their own organization, anyone else nothing)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.service import Node
from phalanx.store import open_backend
from phalanx.streams import open_bus
from phalanx.web import create_app

from .conftest import PASSWORD, Browser, Community

NEW_PASSWORD = "a brand new long passphrase"
_SECRET = re.compile(r'<p class="secret" id="new-key"[^>]*>([^<]+)</p>')


@pytest.fixture
def org_admins(community: Community) -> Community:
    """olga administers ACME CERT, gina Globex SOC."""
    community.node.admin.add_user("olga", org_ref=community.acme.id, role=Role.ORG_ADMIN, password=PASSWORD)
    community.node.admin.add_user("gina", org_ref=community.globex.id, role=Role.ORG_ADMIN, password=PASSWORD)
    return community


def _state(node: Node) -> Any:
    """Everything the administration page can change."""
    admin = node.admin
    return (sorted((o.id, o.name, o.sectors) for o in admin.organizations()),
            sorted((c.name, c.title, tuple(o.id for o in admin.members(c.name))) for c in admin.communities()),
            sorted((c.id, c.title) for c in admin.collections()),
            sorted((u.id, u.username, u.role, u.password_hash) for u in admin.users()),
            sorted((k.key_id, k.revoked) for k in admin.api_keys()))


def _new_key(response: Any) -> str:
    assert response.status_code == 201, response.text
    found = _SECRET.search(response.text)
    assert found, response.text
    return html.unescape(found.group(1)).strip()


def _api(client: TestClient, key: str) -> int:
    return client.get("/api/v1/collections", headers={"Authorization": f"Bearer {key}"}).status_code


def _notice(browser: Browser, response: Any) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/admin?done=")
    assert location.rsplit("#", 1)[1] in ("organizations", "communities", "users", "keys")  # back to the section
    view = browser.view(location.split("#")[0])
    notice: str = view["notice"]
    assert notice
    return notice


def test_the_page_is_in_the_navigation_of_administrators_only(browser: Any, org_admins: Community) -> None:
    for name, shown in (("root", True), ("olga", True), ("alice", False), ("carol", False)):
        page = browser(name).get("/feed")
        assert ('href="/admin"' in page.text) is shown, name


def test_a_node_admin_sees_everything_and_the_settings(browser: Any, org_admins: Community) -> None:
    root = browser("root")
    view = root.view("/admin")
    assert view["scope"] == "node" and view["operator"] is True
    assert {o["name"] for o in view["organizations"]} == {"ACME CERT", "Globex SOC", "Initech Security"}
    assert all(o["communities"] == ["isac"] for o in view["organizations"])
    [isac] = view["communities"]
    assert {m["name"] for m in isac["members"]} == {"ACME CERT", "Globex SOC", "Initech Security"}
    assert sorted(c["title"] for c in isac["collections"]) == ["isac", "shared"]
    users = {u["username"]: u for u in view["users"]}
    assert set(users) == {"alice", "bob", "carol", "root", "olga", "gina"}
    assert users["bob"]["organization"] == "Globex SOC" and users["bob"]["role"] == "contributor"
    assert users["bob"]["has_password"] is True
    assert {s["name"] for s in view["settings"]} >= {"database_url", "session_secret", "sighting_k"}
    assert "$argon2" not in str(view)  # no password hash in the view
    page = root.get("/admin")
    assert page.status_code == 200
    for section in ("organizations", "communities", "users", "keys", "settings"):
        assert f'id="{section}"' in page.text


def test_a_node_admin_adds_an_organization_a_user_and_a_key_and_revokes_it(
        browser: Any, community: Community) -> None:
    root = browser("root")
    node = community.node

    # an organization, which then joins the community
    notice = _notice(root, root.post("/admin/organizations", {"name": "Umbrella Corp", "sectors": "pharma, research"}))
    assert notice == "Organization Umbrella Corp added."
    umbrella = node.admin.organization("Umbrella Corp")
    assert umbrella.sectors == ("pharma", "research")
    notice = _notice(root, root.post("/admin/communities/isac/members",
                                     {"organization": "Umbrella Corp", "action": "add"}))
    assert notice == "Umbrella Corp is now a member of isac."
    assert umbrella.id in {o.id for o in node.admin.members("isac")}

    # a user with a password, who can then sign in
    notice = _notice(root, root.post("/admin/users", {"username": "umbra", "organization": umbrella.id,
                                                      "role": "org-admin", "password": NEW_PASSWORD}))
    assert notice == "User umbra added."
    assert node.admin.user("umbra").role is Role.ORG_ADMIN
    umbra = browser()
    umbra.get("/signin")
    assert umbra.post("/signin", {"username": "umbra", "password": NEW_PASSWORD}).status_code == 303
    assert umbra.get("/feed").status_code == 200

    # an API key: the secret once, on the answer; it works against the API and to sign in
    answer = root.post("/admin/keys", {"organization": umbrella.id, "role": "contributor", "label": "SIEM"})
    key = _new_key(answer)
    assert "will not be shown again" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert _api(root.client, key) == 200
    record = next(k for k in node.admin.api_keys(umbrella.id) if k.label == "SIEM")
    assert record.role is Role.CONTRIBUTOR and key.startswith(f"phx_{record.key_id}_")
    listed = root.get("/admin")
    assert record.key_id in listed.text and key not in listed.text  # never shown again
    assert key not in str(root.view("/admin"))
    holder = browser()
    holder.get("/signin")
    assert holder.post("/signin", {"key": key}).status_code == 303
    assert holder.get("/feed").status_code == 200

    # revoked: the key stops working, and the session signed in with it ends
    notice = _notice(root, root.post(f"/admin/keys/{record.key_id}/revoke"))
    assert record.key_id in notice and "revoked" in notice
    assert _api(root.client, key) == 401
    ended = holder.get("/feed", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")
    keys = {k["key_id"]: k for k in root.view("/admin")["keys"]}
    assert keys[record.key_id]["status"] == "revoked" and keys[record.key_id]["revoked"]
    again = _notice(root, root.post(f"/admin/keys/{record.key_id}/revoke"))
    assert again == f"API key {record.key_id} was revoked already."


def test_a_node_admin_adds_a_community_and_changes_its_members(browser: Any, community: Community) -> None:
    root = browser("root")
    node = community.node
    notice = _notice(root, root.post("/admin/communities", {"name": "grid", "title": "Grid operators",
                                                            "collection": ""}))
    assert notice == "Community grid added."
    assert node.admin.collection("grid").community == "grid"  # a first collection, named after it
    _notice(root, root.post("/admin/communities/grid/members", {"organization": community.globex.id,
                                                                "action": "add"}))
    assert [o.name for o in node.admin.members("grid")] == ["Globex SOC"]
    grid = next(c for c in root.view("/admin")["communities"] if c["name"] == "grid")
    assert [m["name"] for m in grid["members"]] == ["Globex SOC"] and grid["collections"][0]["title"] == "grid"
    notice = _notice(root, root.post("/admin/communities/grid/members", {"organization": community.globex.id,
                                                                         "action": "remove"}))
    assert notice == "Globex SOC is no longer a member of grid."
    assert node.admin.members("grid") == []
    bad = root.post("/admin/communities", {"name": "Not A Slug!", "title": ""})
    assert bad.status_code == 400 and "lowercase letters" in bad.text
    assert 'value="Not A Slug!"' in bad.text  # what was typed is kept


def test_an_org_admin_manages_its_own_organization_only(browser: Any, org_admins: Community) -> None:
    node, acme, globex = org_admins.node, org_admins.acme, org_admins.globex
    olga = browser("olga")
    view = olga.view("/admin")
    assert view["scope"] == "organization" and view["operator"] is False and view["settings"] is None
    assert {u["username"] for u in view["users"]} == {"alice", "root", "olga"}
    assert "admin" not in view["roles"] and "peer" not in view["roles"] and "reader" in view["roles"]
    page = olga.get("/admin")
    assert 'action="/admin/organizations"' not in page.text and 'action="/admin/users"' in page.text

    # its own users: add one with its first password; another person's password is not the org-admin's to set
    _notice(olga, olga.post("/admin/users", {"username": "analyst", "role": "reader", "password": NEW_PASSWORD}))
    assert node.admin.user("analyst").org_id == acme.id
    analyst = browser()
    analyst.get("/signin")
    assert analyst.post("/signin", {"username": "analyst", "password": NEW_PASSWORD}).status_code == 303
    alice_id = node.admin.user("alice").id
    refused = olga.post(f"/admin/users/{alice_id}/password", {"password": NEW_PASSWORD})
    assert refused.status_code == 403 and "act as that person" in refused.text

    # its own keys: make one, see it, revoke it
    key = _new_key(olga.post("/admin/keys", {"role": "reader", "label": "acme feed"}))
    record = next(k for k in node.admin.api_keys(acme.id) if k.label == "acme feed")
    assert _api(olga.client, key) == 200
    assert record.key_id in {k["key_id"] for k in olga.view("/admin")["keys"]}
    _notice(olga, olga.post(f"/admin/keys/{record.key_id}/revoke"))
    assert _api(olga.client, key) == 401

    # another organization's users and keys do not exist for it; a more powerful role is refused
    before = _state(node)
    bob_id = node.admin.user("bob").id
    globex_key, globex_record = node.admin.create_key(globex.id, Role.READER, label="globex")
    before = _state(node)
    refusals = [
        (olga.post("/admin/users", {"username": "mole", "organization": globex.id, "role": "reader",
                                    "password": NEW_PASSWORD}), 404),
        (olga.post("/admin/users", {"username": "boss", "role": "admin", "password": NEW_PASSWORD}), 403),
        (olga.post(f"/admin/users/{bob_id}/password", {"password": NEW_PASSWORD}), 404),
        (olga.post(f"/admin/users/{node.admin.user('root').id}/password", {"password": NEW_PASSWORD}), 403),
        (olga.post("/admin/keys", {"organization": globex.id, "role": "reader"}), 404),
        (olga.post("/admin/keys", {"role": "admin"}), 403),
        (olga.post(f"/admin/keys/{globex_record.key_id}/revoke"), 404),
        (olga.post("/admin/organizations", {"name": "Shadow Org"}), 403),
        (olga.post("/admin/communities", {"name": "shadow"}), 403),
        (olga.post("/admin/communities/isac/members", {"organization": globex.id, "action": "remove"}), 403),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
        assert "Not done:" in response.text  # the page again, with the message
    assert _state(node) == before
    assert _api(olga.client, globex_key) == 200
    gina_view = browser("gina").view("/admin")
    assert {u["username"] for u in gina_view["users"]} == {"bob", "gina"}
    assert {k["key_id"] for k in gina_view["keys"]} == {globex_record.key_id}


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_anyone_else_gets_403_on_the_page_and_every_form(browser: Any, org_admins: Community, who: str) -> None:
    node = org_admins.node
    visitor = browser(who)
    page = visitor.get("/admin")
    assert page.status_code == 403
    assert visitor.client.get("/admin", params={"format": "json"}).status_code == 403
    own = node.admin.user(who).id
    key = node.admin.api_keys()[0].key_id if node.admin.api_keys() else "nokey"
    before = _state(node)
    for path, data in _forms(org_admins, own, key):
        response = visitor.post(path, data)
        assert response.status_code == 403, (path, response.text)
    assert _state(node) == before


def _forms(community: Community, user_id: str, key_id: str) -> list[tuple[str, dict[str, str]]]:
    """Every form of the page, filled in so that an administrator's would succeed."""
    return [
        ("/admin/organizations", {"name": "Sneaky Org"}),
        ("/admin/communities", {"name": "sneaky"}),
        ("/admin/communities/isac/members", {"organization": community.globex.id, "action": "remove"}),
        ("/admin/users", {"username": "sneaky", "organization": community.acme.id, "role": "reader",
                          "password": NEW_PASSWORD}),
        (f"/admin/users/{user_id}/password", {"password": NEW_PASSWORD}),  # even one's own, from here
        ("/admin/keys", {"organization": community.acme.id, "role": "reader"}),
        (f"/admin/keys/{key_id}/revoke", {}),
    ]


def test_every_form_without_the_csrf_token_is_refused_and_changes_nothing(
        browser: Any, community: Community) -> None:
    node = community.node
    _, record = node.admin.create_key(community.acme.id, Role.READER, label="keep")
    root = browser("root")
    other = browser("alice")
    before = _state(node)
    for path, data in _forms(community, node.admin.user("alice").id, record.key_id):
        for csrf in (None, "forged", other.csrf):
            form = dict(data) if csrf is None else {**data, "csrf": csrf}
            response = root.post(path, form, csrf=False)
            assert response.status_code == 403, (path, csrf, response.text)
    assert _state(node) == before
    assert root.get("/admin").status_code == 200  # still signed in


def test_a_weak_password_is_refused_with_the_message(browser: Any, community: Community) -> None:
    root = browser("root")
    node = community.node
    response = root.post("/admin/users", {"username": "weakling", "organization": community.acme.id,
                                          "role": "reader", "password": "Tiny9!"})
    assert response.status_code == 400
    assert "Not done:" in response.text and "12" in response.text
    assert 'value="weakling"' in response.text and "Tiny9!" not in response.text  # the password is not echoed
    assert "weakling" not in {u.username for u in node.admin.users()}
    alice = node.admin.user("alice")
    response = root.post(f"/admin/users/{alice.id}/password", {"password": "alice-alice-alice"})
    assert response.status_code == 400 and "user name" in response.text
    assert node.admin.user("alice").password_hash == alice.password_hash


def test_the_notice_comes_from_a_fixed_table(browser: Any, community: Community) -> None:
    root = browser("root")
    page = root.get("/admin", params={"done": "organization-added", "organization": "<script>alert(1)</script>"})
    assert "Organization &lt;script&gt;alert(1)&lt;/script&gt; added." in page.text
    assert "<script>alert" not in page.text
    assert root.view("/admin?done=you-were-hacked")["notice"] == ""
    assert root.get("/admin", params={"message": "anything"}).status_code == 400


def test_hostile_directory_names_are_escaped(browser: Any, community: Community) -> None:
    node = community.node
    evil = '<img src=x onerror="alert(1)">'
    org = node.admin.add_organization(evil, sectors=(evil,))
    node.admin.add_user(evil, org_ref=org.id, role=Role.READER)
    node.admin.create_key(org.id, Role.READER, label=evil)
    page = browser("root").get("/admin")
    assert page.status_code == 200
    assert "<img" not in page.text and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text


@pytest.fixture
def secret_node(tmp_path: Path) -> Iterator[Node]:
    """A node whose settings hold secrets (the database is in memory; its URL is only shown)."""
    settings = Settings(database_url="postgresql://phalanx:db-pass-hunter2@db.example:5432/phalanx",
                        bus_url="nats://bus:bus-pass-xyzzy@nats.example:4222",
                        session_secret="session-secret-do-not-show-" + "0" * 40, tls_cert="/etc/phalanx/cert.pem",
                        tls_key="/etc/phalanx/private/tls-key-path.pem", home=tmp_path)
    backend = open_backend("memory://")
    backend.upgrade()
    node = Node(backend, settings, bus=open_bus("memory://"))
    org = node.admin.add_organization("Operator")
    node.admin.add_user("root", org_ref=org.id, role=Role.ADMIN, password=PASSWORD)
    try:
        yield node
    finally:
        node.close()


def test_settings_never_show_a_secret(secret_node: Node) -> None:
    with TestClient(create_app(secret_node)) as client:
        root = Browser(client)
        assert root.sign_in("root").status_code == 303
        page = root.get("/admin")
        view = root.view("/admin")
    for shown in (page.text, str(view)):
        for secret in ("session-secret-do-not-show", "db-pass-hunter2", "bus-pass-xyzzy", "tls-key-path"):
            assert secret not in shown
    settings = {s["name"]: s["value"] for s in view["settings"]}
    assert settings["database_url"] == "postgresql://phalanx:***@db.example:5432/phalanx"
    assert settings["bus_url"] == "nats://bus:***@nats.example:4222"
    assert settings["session_secret"] == "set (hidden)" and settings["tls_key"] == "set (hidden)"
    assert settings["tls_cert"] == "/etc/phalanx/cert.pem"
    assert "phalanx.toml" in page.text and "PHALANX_" in page.text
