"""The OpenAPI description (src/phalanx/web/openapi.json) and the app agree: the same operations, and schemathesis,
run in-process over every operation (as a member, as an org-admin for keys, anonymously for TAXII reads), gets no
5xx and no answer the description does not allow. The bugs it found are pinned at the end, each by its own test."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from phalanx import __version__
from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.stix import Tlp, parse_document
from phalanx.store import Attempt, Batch, Outcome
from phalanx.taxii import TAXII
from phalanx.web import create_app
from phalanx.web.ui import dashboard_routes
from tests.support import INDICATOR, World, bundle, make_world

DOCUMENT: dict[str, Any] = json.loads(resources.files("phalanx.web").joinpath("openapi.json").read_bytes())
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                # One world per operation, shared by its examples: they may change it, as clients would.
                suppress_health_check=[HealthCheck.function_scoped_fixture])

NEWER: dict[str, object] = dict(INDICATOR, modified="2017-01-01T00:00:00.000Z")
CLEAR: dict[str, object] = dict(INDICATOR, id="indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                                object_marking_refs=[Tlp.CLEAR.value])
SCO: dict[str, object] = {"type": "ipv4-addr", "spec_version": "2.1",
                          "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}
STATUS, KEY = "an-acme-status", "an-acme-key"
WEBHOOK, DEAD_LETTER = "an-acme-webhook", "an-acme-dead-letter"
KNOWN = {"ref": ("isac", "open"), "id": ("open", "isac"), "object_id": (CLEAR["id"], INDICATOR["id"], SCO["id"]),
         "status_id": (STATUS,), "key_id": (KEY,), "webhook_id": (WEBHOOK,), "delivery_id": (DEAD_LETTER,)}
"""Path parameters that name things the world holds (placeholders are resolved per world), so that a good share
of the requests reach data instead of 404."""


# -------------------------------------------------------------------------------------------- the world


@dataclass
class Api:
    session: asgi.ASGIClient
    """The app's in-process client."""
    member: dict[str, str]
    """An ACME contributor's key."""
    org_admin: dict[str, str]
    """An ACME org-admin's key."""
    placeholders: dict[str, str]

    def resolve(self, case: schemathesis.Case) -> None:
        """Put the world's own ids where the generated case has a placeholder."""
        for name, value in (case.path_parameters or {}).items():
            case.path_parameters[name] = self.placeholders.get(value, value)


def open_world(tmp_path: Path) -> World:
    """Two collections of ACME's community: "isac", with two versions of an indicator and an SCO, and the public
    "open" with one TLP:CLEAR indicator."""
    world = make_world(Settings(database_url=f"sqlite:///{tmp_path}/node.db", batch_size=3))
    world.node.admin.add_collection("open", community="isac", description="Anyone may read it.", public=True)
    world.node.ingest.document(world.contributor, "isac", bundle(INDICATOR, NEWER, SCO))
    world.node.ingest.document(world.contributor, "open", bundle(CLEAR))
    return world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh world on SQLite for each test (for each operation, in the schemathesis runs)."""
    w = open_world(tmp_path)
    yield w
    w.node.close()


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    """The app over the world, ACME's keys, and a status and a key of ACME's for the placeholders."""
    node = world.node
    sharing = node.ingest.authorize(world.contributor, "isac")
    newest, broken = dict(INDICATOR, modified="2018-01-01T00:00:00.000Z"), dict(SCO, value="not an address")
    status = node.submissions.submit(sharing, parse_document(bundle(newest, broken)))
    member, _ = node.admin.create_key(world.acme.id, Role.CONTRIBUTOR)
    org_admin, _ = node.admin.create_key(world.acme.id, Role.ORG_ADMIN)
    _, reader = node.admin.create_key(world.acme.id, Role.READER, label="to revoke")
    webhook, dead_letter = acme_webhook_with_a_dead_letter(world)
    with asgi.get_client(create_app(node)) as session:
        # The client's default "Accept: */*" would replace the Accept header generated from the description.
        del session.headers["Accept"]
        yield Api(session, {"Authorization": f"Bearer {member}"}, {"Authorization": f"Bearer {org_admin}"},
                  {STATUS: status.record.id, KEY: reader.key_id, WEBHOOK: webhook, DEAD_LETTER: dead_letter})


def acme_webhook_with_a_dead_letter(world: World) -> tuple[str, str]:
    """A webhook of ACME's, to a loopback port nothing listens on (a redelivery fails at once), and a dead letter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    view, _ = world.node.webhooks.create(f"http://127.0.0.1:{port}/hook", org=world.acme.id)
    storage, delivery = world.node.backend.webhooks, "a-dead-letter"
    storage.stage(view.id, Batch(delivery, view.cursor + 1, 0, view.cursor + 1, view.cursor + 1,
                                 b'{"webhook":"x","events":[]}', 0), after=view.cursor)
    storage.settle(view.id, Attempt(1, delivery, 1, 0, 0, 0, None, "refused", 1, Outcome.DEAD_LETTERED))
    return view.id, delivery


# -------------------------------------------------------------------------------------- the description


def test_the_description_and_the_app_have_the_same_operations(world: World) -> None:
    """Every route of the app (TAXII's by their trailing-slash form) is a path and method of the description, and
    every operation described is a route; HEAD is answered wherever GET is, as the description says. The
    dashboard's pages (docs/dashboard.md) are for browsers signed in with a session, not part of the API."""
    routed: set[tuple[str, str]] = set()
    taxii_paths: set[str] = set()
    pages = {route.path for route in dashboard_routes(world.node)}
    for route in create_app(world.node).routes:
        if route.path in pages:
            continue
        pairs = [(route, "")] if isinstance(route, Route) else []
        if isinstance(route, Mount):
            pairs = [(sub, route.path) for sub in route.routes if isinstance(sub, Route)]
        assert pairs, f"not a Route or a Mount of Routes: {route!r}"
        for sub, prefix in pairs:
            path = prefix + sub.path
            if prefix:
                taxii_paths.add(path)
                path = path if path.endswith("/") else path + "/"
            methods = sub.methods or set()
            assert ("HEAD" in methods) == ("GET" in methods), path
            routed |= {(method, path) for method in methods - {"HEAD"}}
    described = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item
                 if method in METHODS}
    assert routed == described
    # Each TAXII path also answers without its slash (the root is /taxii2/ itself).
    assert {p.rstrip("/") for p in taxii_paths if p != "/taxii2/"} <= taxii_paths


def test_the_description_is_valid_openapi_3_1() -> None:
    """The document is OpenAPI 3.1, each schema in it is a JSON Schema, and it names this version of Phalanx."""
    assert DOCUMENT["openapi"].startswith("3.1.")
    assert DOCUMENT["info"]["version"] == __version__
    schemathesis.openapi.from_dict(DOCUMENT).validate()
    for schema in DOCUMENT["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_taxii_operations_state_their_media_types() -> None:
    """Every TAXII operation requires the Accept header, documents 406 and answers only TAXII 2.1; a POST
    requires the Content-Type and documents 415; the JSON API answers only application/json, but for the signed
    notes of the ledger, which are text as their C2SP specifications define them, and the live stream (Server-Sent
    Events)."""
    plain_text = {"/api/v1/ledger/checkpoint": {"text/plain", "application/json"},
                  "/witness/add-checkpoint": {"text/plain", "text/x.tlog.size"},
                  "/api/v1/stream": {"text/event-stream", "application/json"}}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            names = {p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", []) if "$ref" in p}
            responses = [DOCUMENT["components"]["responses"][r["$ref"].rsplit("/", 1)[1]] if "$ref" in r else r
                         for r in operation["responses"].values()]
            media = {m for r in responses for m in r.get("content", {})}
            if path.startswith("/taxii2/"):
                assert "Accept" in names and "406" in operation["responses"], (method, path)
                assert media == {TAXII}, (method, path)
                if method == "post":
                    assert "ContentType" in names and "415" in operation["responses"], path
            else:
                assert media == plain_text.get(path, {"application/json"}), (method, path)


def test_the_app_serves_the_description_to_anyone(world: World) -> None:
    """GET /openapi.json needs no credentials and answers the packaged file's bytes as application/json."""
    with TestClient(create_app(world.node)) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == resources.files("phalanx.web").joinpath("openapi.json").read_bytes()


# ------------------------------------------------------------------------------------------ schemathesis

# The coverage phase's requests with undocumented methods are left out: no check here looks at their answers.
schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=schemathesis.Config.from_dict({"phases": {"coverage": {"unexpected-methods": []}}}))


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
                            ) -> st.SearchStrategy[dict[str, Any] | None]:
    """Each path parameter: one naming something the world holds (Hypothesis starts with those), or the generated
    value."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({name: st.sampled_from([*KNOWN.get(name, ()), value])
                                  for name, value in path_parameters.items()})


# The live stream never ends, so the in-process client would wait for ever: tests/streams cover it over HTTP.
@schema.exclude(path="/api/v1/stream").parametrize()
@FUZZ
def test_a_members_requests_get_documented_answers(case: schemathesis.Case, api: Api) -> None:
    """With an ACME contributor's key: no 5xx; every status, content type, header and body as described."""
    api.resolve(case)
    case.call_and_validate(session=api.session, headers=api.member, checks=CHECKS)


@schema.include(path_regex="^/api/v1/keys").parametrize()
@FUZZ
def test_an_org_admins_key_requests_get_documented_answers(case: schemathesis.Case, api: Api) -> None:
    """Key management with an ACME org-admin's key (who may list, make and revoke keys): as described."""
    api.resolve(case)
    case.call_and_validate(session=api.session, headers=api.org_admin, checks=CHECKS)


@schema.include(path_regex="^/taxii2/", method="GET").parametrize()
@FUZZ
def test_anonymous_taxii_reads_get_documented_answers(case: schemathesis.Case, api: Api) -> None:
    """TAXII reads without credentials (the "open" collection is public): as described."""
    api.resolve(case)
    if case.headers:
        case.headers.pop("Authorization", None)
    case.call_and_validate(session=api.session, checks=CHECKS)


# ------------------------------------------------------------------ bugs the run found, each pinned by its own test


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node), raise_server_exceptions=False) as c:
        yield c


def key_of(world: World, role: Role) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(world.acme.id, role)
    return {"Authorization": f"Bearer {secret}"}


def test_a_newline_in_a_taxii_path_gets_a_taxii_error(world: World, client: TestClient) -> None:
    """Every TAXII answer, errors included, is TAXII 2.1, whatever the path holds."""
    headers = {"Accept": TAXII, **key_of(world, Role.CONTRIBUTOR)}
    response = client.get("/taxii2/api/collections/is%0Aac/", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == TAXII


@pytest.mark.parametrize("days", [1e308, 3_000_000, 10**18, 0, -1])
def test_a_key_lifetime_out_of_bounds_is_refused(world: World, client: TestClient, days: float) -> None:
    """A key that would expire after the year 9999 (or never start) is a bad request (400), not a server error."""
    response = client.post("/api/v1/keys", json={"expires_days": days}, headers=key_of(world, Role.ORG_ADMIN))
    assert response.status_code == 400
    assert response.json()["title"] == "InvalidExpiry"


def test_versions_before_the_year_1000_are_timestamps(world: World, client: TestClient) -> None:
    """An object modified in the year 999 (a valid STIX timestamp) has a version TAXII clients can read back."""
    ancient: dict[str, object] = dict(INDICATOR, id="indicator--2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                                      created="0999-01-01T00:00:00.000Z", modified="0999-01-01T00:00:00.000Z",
                                      valid_from="0999-01-01T00:00:00Z")
    assert world.node.ingest.document(world.contributor, "isac", bundle(ancient))[0].outcome == "accepted"
    url = f"/taxii2/api/collections/isac/objects/{ancient['id']}/versions/"
    response = client.get(url, headers={"Accept": TAXII, **key_of(world, Role.READER)})
    assert response.json()["versions"] == ["0999-01-01T00:00:00.000000Z"]


@pytest.mark.parametrize(("path", "headers"), [("/api/v1/keys", {}), ("/taxii2/api/", {"Accept": TAXII})])
def test_a_405_names_the_allowed_methods(client: TestClient, path: str, headers: dict[str, str]) -> None:
    """A method an endpoint does not take is answered 405 with an Allow header naming those it takes."""
    response = client.put(path, headers=headers)
    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")
