"""Helpers shared by tests: where the shared data is, sample objects, and a small world of organizations."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
OASIS = DATA / "stix" / "oasis-examples"
POSTGRES_URL = os.environ.get("PHALANX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; skips the test when the shared data is not beside the project."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data folder beside the project)")
    return path


INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2016-04-06T20:03:48.000Z",
    "modified": "2016-04-06T20:03:48.000Z",
    "indicator_types": ["malicious-activity"],
    "name": "Poison Ivy Malware",
    "pattern": "[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']",
    "pattern_type": "stix",
    "valid_from": "2016-01-01T00:00:00Z",
}


def bundle(*objects: dict[str, object]) -> bytes:
    return json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                       "objects": list(objects)}).encode()


@dataclass
class World:
    node: Node
    acme: Organization
    globex: Organization
    outsider: Organization
    contributor: Actor
    reader: Actor
    stranger: Actor


def make_world(settings: Settings) -> World:
    node = Node.open(settings, upgrade=True)
    admin = node.admin
    admin.add_community("isac", title="Test ISAC")
    acme = admin.add_organization("ACME CERT", sectors=("energy",))
    globex = admin.add_organization("Globex")
    outsider = admin.add_organization("Outsider Inc")
    admin.join("isac", acme.id)
    admin.join("isac", globex.id)
    return World(node, acme, globex, outsider, Actor(acme.id, Role.CONTRIBUTOR), Actor(globex.id, Role.READER),
                 Actor(outsider.id, Role.CONTRIBUTOR))




TAXII = "application/taxii+json;version=2.1"
TAXII_ROOT = "/taxii2/api"


def taxii_key(world: World, org: str | None, role: Role | None = Role.CONTRIBUTOR, user: str | None = None
              ) -> dict[str, str]:
    """TAXII request headers with a new key of ``org`` (or of the person ``user``)."""
    secret, _ = world.node.admin.create_key(None if user else org, None if user else role, user_ref=user)
    return {"Accept": TAXII, "Authorization": f"Bearer {secret}"}


def taxii_post(client: TestClient, headers: dict[str, str], collection: str, objects: list[dict[str, Any]],
               **params: str) -> dict[str, Any]:
    """The TAXII status of one POST of ``objects`` into ``collection`` (which must be answered 202)."""
    response = client.post(f"{TAXII_ROOT}/collections/{collection}/objects/", params=params,
                           headers={**headers, "Content-Type": TAXII}, content=json.dumps({"objects": objects}))
    assert response.status_code == 202, response.text
    status: dict[str, Any] = response.json()
    return status


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with its cheapest parameters, for suites that sign people in many times (the dashboard's): the
    real parameters cost 64 MiB and tens of milliseconds a hash, which only tests/service/test_passwords.py needs.
    The code path is the same; only the cost differs. Undone when the block ends."""
    from argon2 import PasswordHasher

    from phalanx.identity import _passwords

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        _passwords.dummy_hash.cache_clear()
        try:
            yield
        finally:
            _passwords.dummy_hash.cache_clear()
