"""Shared fixtures for the dashboard's tests: a node with a community of three organizations, users with
passwords, and signed-in test clients (``Browser``) that carry the session cookie and the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.stix import parse_document
from phalanx.web import create_app
from tests.support import cheap_password_hashing

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Community:
    node: Node
    acme: Organization
    globex: Organization
    initech: Organization
    collection: str


class Browser:
    """A test client signed in to the dashboard (or not), which sends the CSRF token with every form."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> Any:
        response = self.client.get(path, **kw)
        html = response.headers.get("content-type", "").startswith("text/html")
        found = _CSRF.search(response.text) if html else None
        if found:
            self.csrf = found.group(1)
        return response

    def view(self, path: str) -> Any:
        response = self.client.get(path + ("&" if "?" in path else "?") + "format=json")
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        if not self.csrf:
            self.get("/signin")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        kw.setdefault("follow_redirects", False)
        return self.client.post(path, data=form, **kw)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        self.get("/signin")
        response = self.post("/signin", {"username": username, "password": password, "next": "/feed"})
        self.get("/feed")  # the new session's CSRF token
        return response


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    """Every dashboard test signs people in: hash their passwords cheaply (tests/conftest.py)."""
    with cheap_password_hashing():
        yield


def open_community(url: str, home: Path) -> Community:
    """A node on ``url`` with a community of three organizations, a collection, and users with passwords:
    alice (ACME, contributor), bob (Globex, contributor), carol (Initech, reader), root (ACME, node admin)."""
    node = Node.open(Settings(database_url=url, home=home, warninglists="off"), upgrade=True)
    admin = node.admin
    admin.add_community("isac", title="Test ISAC")
    orgs = [admin.add_organization(name) for name in ("ACME CERT", "Globex SOC", "Initech Security")]
    for org in orgs:
        admin.join("isac", org.id)
    collection = admin.add_collection("shared", community="isac")
    admin.add_user("alice", org_ref=orgs[0].id, role=Role.CONTRIBUTOR, password=PASSWORD)
    admin.add_user("bob", org_ref=orgs[1].id, role=Role.CONTRIBUTOR, password=PASSWORD)
    admin.add_user("carol", org_ref=orgs[2].id, role=Role.READER, password=PASSWORD)
    admin.add_user("root", org_ref=orgs[0].id, role=Role.ADMIN, password=PASSWORD)
    return Community(node, orgs[0], orgs[1], orgs[2], collection.id)


def share(community: Community, org_id: str, *objects: dict[str, Any], recipients: tuple[str, ...] = ()) -> None:
    """``objects`` shared by ``org_id`` into the community's collection (named ``recipients``), as the API shares
    them; every one must be accepted."""
    node = community.node
    sharing = node.ingest.authorize(Actor(org_id, Role.CONTRIBUTOR), community.collection,
                                    organizations=recipients, people=(), tolerant=False)
    data = orjson.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
                         "objects": list(objects)})
    parsed = parse_document(data, mode=node.ingest.mode(False), limits=node.ingest.limits())
    outcome = node.ingest.parsed(sharing, parsed)
    assert all(r.outcome == "accepted" for r in outcome), [r.detail for r in outcome]


@pytest.fixture
def community(tmp_path: Path) -> Iterator[Community]:
    built = open_community("memory://", tmp_path)
    try:
        yield built
    finally:
        built.node.close()


@pytest.fixture
def browser(community: Community) -> Iterator[Any]:
    """A factory of browsers over one app: ``browser()`` signed out, ``browser("alice")`` signed in."""
    app = create_app(community.node)
    clients: list[TestClient] = []

    def make(username: str | None = None) -> Browser:
        client = TestClient(app)
        clients.append(client)
        b = Browser(client)
        if username is not None:
            response = b.sign_in(username)
            assert response.status_code == 303, response.text
        return b

    yield make
    for client in clients:
        client.close()
