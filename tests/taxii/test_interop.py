"""Interoperability with the reference clients, over a real HTTP server on 127.0.0.1: taxii2-client 2.3.0
(discovery, collections, paging, add_objects with status polling, object, versions, manifest) and stix2's
TAXIICollectionSink and TAXIICollectionSource (a round trip gives back equal objects)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import stix2
import uvicorn
from stix2 import Filter, TAXIICollectionSink, TAXIICollectionSource
from stix2.datastore import DataSourceError
from taxii2client.exceptions import AccessError
from taxii2client.v21 import Collection, Server, as_pages

from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.service import Node
from phalanx.web import create_app
from tests.support import World, bundle, make_world

BATCH_SIZE = 10
"""Small, so that a POST of more objects is answered ``pending`` and stored in the background."""
TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
CREATED = "2024-05-01T12:00:00.000Z"
POLL = 0.02
"""Seconds between taxii2-client's polls of a status (its default, 1 s, would only slow the tests down)."""
_IDS = uuid.UUID("0b7c4e8e-2f4a-4d55-8a39-5d1f0c9e7a31")


# a real server ---------------------------------------------------------------------------------------------


@contextmanager
def serving(node: Node) -> Iterator[str]:
    """The whole app on a real HTTP server on 127.0.0.1 (a free port), in a background thread; stopped on exit."""
    # Bound here and handed to uvicorn: no race for the port. IPPROTO_TCP named, or asyncio does not set
    # TCP_NODELAY on the connections (it checks sock.proto), and each request on a kept-alive one waits ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: leave the process's logging alone (uvicorn's own config would replace its handlers).
    server = uvicorn.Server(uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning",
                                           log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the server thread stopped while starting"
            assert time.monotonic() < deadline, "the server did not start within 10 s"
            time.sleep(0.01)
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "the server did not stop within 10 s"


@dataclass
class Hub:
    """A node with the test world (community isac: ACME CERT and Globex; Outsider Inc outside), served over HTTP,
    and an API key for each organization."""

    world: World
    url: str
    acme: str
    """ACME CERT, contributor."""
    globex: str
    """Globex, reader."""
    outsider: str
    """Outsider Inc, contributor, not a member."""
    clients: list[Server | Collection] = field(default_factory=list)
    """Every client made, closed at the end."""

    @property
    def discovery(self) -> str:
        return f"{self.url}/taxii2/"

    def server(self, key: str | None = None, *, auth: requests.auth.AuthBase | None = None) -> Server:
        """A taxii2-client server: HTTP Basic with the key as password (or ``auth``); anonymous with neither."""
        server = Server(self.discovery, user="interop" if key else None, password=key, auth=auth)
        self.clients.append(server)
        return server

    def collection(self, key: str | None = None, *, auth: requests.auth.AuthBase | None = None) -> Collection:
        """The one collection (isac) as the key's client lists it."""
        (collection,) = self.server(key, auth=auth).api_roots[0].collections
        return collection

    def share(self, objects: list[dict[str, Any]]) -> list[str]:
        """Share ``objects`` into isac as ACME, in-process (fast setup); their ids."""
        results = self.world.node.ingest.document(self.world.contributor, "isac", bundle(*objects))
        assert [r.outcome for r in results] == ["accepted"] * len(objects), [r.detail for r in results]
        return [str(o["id"]) for o in objects]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    # The indicators are for 198.18.0.0/15, which a warning list names; the statuses compared here are plain.
    world = make_world(Settings(database_url=f"sqlite:///{tmp_path}/node.db", batch_size=BATCH_SIZE,
                                warninglists="off"))
    try:
        with serving(world.node) as url:
            admin = world.node.admin
            hub = Hub(world, url, admin.create_key(world.acme.id, Role.CONTRIBUTOR)[0],
                      admin.create_key(world.globex.id, Role.READER)[0],
                      admin.create_key(world.outsider.id, Role.CONTRIBUTOR)[0])
            try:
                yield hub
            finally:
                for client in hub.clients:
                    client.close()
    finally:
        world.node.close()


# objects ---------------------------------------------------------------------------------------------------


def indicator(n: int, **changes: Any) -> dict[str, Any]:
    """A valid STIX 2.1 indicator for one address of 198.18.0.0/15 (the benchmarking range); the same ``n``
    always gives the same object."""
    address = f"198.{18 + n // 65536}.{n // 256 % 256}.{n % 256}"
    found: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(bytes=uuid.uuid5(_IDS, f'indicator {n}').bytes, version=4)}",
        "created": CREATED,
        "modified": CREATED,
        "name": f"C2 server {address}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '{address}']",
        "pattern_type": "stix",
        "valid_from": CREATED,
    }
    return found | changes


def malware(n: int) -> dict[str, Any]:
    return {"type": "malware", "spec_version": "2.1",
            "id": f"malware--{uuid.UUID(bytes=uuid.uuid5(_IDS, f'malware {n}').bytes, version=4)}",
            "created": CREATED, "modified": CREATED, "name": f"family {n}", "is_family": True}


def instant(timestamp: str) -> datetime:
    """A STIX or TAXII timestamp as an instant (the server writes versions with microseconds)."""
    return datetime.fromisoformat(timestamp)


def ids_of(envelopes: Iterable[dict[str, Any]]) -> list[str]:
    return [o["id"] for envelope in envelopes for o in envelope.get("objects", [])]


def failing(call: Callable[[], object]) -> requests.Response:
    """The error response of a client call that must fail."""
    with pytest.raises(requests.HTTPError) as caught:
        call()
    response = caught.value.response
    assert response is not None
    return response


class StatusRecorder(requests.auth.HTTPBasicAuth):
    """HTTP Basic with the key as password, keeping every TAXII status resource the server answers with."""

    def __init__(self, key: str) -> None:
        super().__init__("interop", key)
        self.statuses: list[dict[str, Any]] = []

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = super().__call__(request)
        request.register_hook("response", self._keep)
        return request

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.ok and response.headers.get("content-type") == TAXII:
            body = response.json()
            if "pending_count" in body:
                self.statuses.append(body)


# taxii2-client: discovery and collections -------------------------------------------------------------------


def test_discovery_and_api_root(hub: Hub) -> None:
    """Discovery names the one API root (also as default); the root speaks TAXII 2.1 and gives its size cap."""
    server = hub.server(hub.globex)
    assert server.title == "Phalanx"
    assert [root.url for root in server.api_roots] == [f"{hub.url}/taxii2/api/"]
    assert server.default is not None and server.default.url == f"{hub.url}/taxii2/api/"
    root = server.api_roots[0]
    assert root.title and TAXII in root.versions
    assert root.max_content_length == hub.world.node.settings.max_document_bytes


def test_collections_say_what_the_caller_may_do(hub: Hub) -> None:
    """can_read and can_write are the caller's: a contributor may write, a reader may not, in the listing and
    in the collection's own resource; the server refuses the reader's POST itself (403)."""
    mine = hub.collection(hub.acme)
    theirs = hub.collection(hub.globex)
    assert mine.id == theirs.id and mine.title == theirs.title == "isac"
    assert (mine.can_read, mine.can_write) == (True, True)
    assert (theirs.can_read, theirs.can_write) == (True, False)
    assert STIX in mine.media_types
    alone = Collection(theirs.url, user="interop", password=hub.globex)
    hub.clients.append(alone)
    assert (alone.id, alone.can_read, alone.can_write) == (theirs.id, True, False)
    with pytest.raises(AccessError):
        theirs.add_objects({"objects": [indicator(1)]})  # the client believes can_write
    refused = requests.post(theirs.objects_url, json={"objects": [indicator(1)]}, auth=("interop", hub.globex),
                            headers={"Accept": TAXII, "Content-Type": TAXII}, timeout=10)
    assert refused.status_code == 403 and refused.headers["content-type"] == TAXII
    assert refused.json()["http_status"] == "403"
    assert not hub.world.node.backend.store.stats().versions


def test_outsiders_and_anonymous_callers(hub: Hub) -> None:
    """A non-member's key lists no collection; a client with no credentials is asked for them (401)."""
    assert hub.server(hub.outsider).api_roots[0].collections == []
    response = failing(lambda: hub.server().title)
    assert response.status_code == 401
    assert "Basic" in response.headers["www-authenticate"]


def test_anonymous_client_reads_the_clear_objects_of_a_public_collection(hub: Hub) -> None:
    """With no credentials, taxii2-client and stix2 read a public collection: its TLP:CLEAR objects only, with
    can_write false; a status still needs credentials."""
    hub.world.node.admin.configure_collection("isac", public=True)
    clear, green = indicator(1, object_marking_refs=[CLEAR]), indicator(2, object_marking_refs=[GREEN])
    hub.share([clear, green, indicator(3)])
    collection = hub.collection()
    assert (collection.title, collection.can_read, collection.can_write) == ("isac", True, False)
    assert list(as_pages(collection.get_objects, per_request=1)) == [{"more": False, "objects": [clear]}]
    assert [r["id"] for r in collection.get_manifest(version="all")["objects"]] == [clear["id"]]
    assert collection.get_object(clear["id"])["objects"] == [clear]
    assert failing(lambda: collection.get_object(green["id"])).status_code == 404
    assert [o.id for o in TAXIICollectionSource(collection).query()] == [clear["id"]]
    root = hub.server().api_roots[0]
    assert failing(lambda: root.get_status("0e5a3b1c-7d2f-4c8e-9a6b-5f4d3c2b1a09")).status_code == 401


# taxii2-client: paging -------------------------------------------------------------------------------------


@pytest.fixture
def corpus(hub: Hub) -> list[str]:
    """3,000 indicators shared into isac, with 20 malware among them; the indicators' ids in the order added."""
    objects = [indicator(n) for n in range(3000)]
    objects[1500:1500] = [malware(n) for n in range(20)]
    return [i for i in hub.share(objects) if i.startswith("indicator--")]


@pytest.mark.parametrize(("per_request", "pages"), [(500, 6), (700, 5), (1000, 3), (2500, 3)])
def test_as_pages_returns_every_object_exactly_once(hub: Hub, corpus: list[str], per_request: int,
                                                    pages: int) -> None:
    """as_pages walks 3,000 indicators in the order they were added, each once, with `more` false only at the end;
    above the server's cap (page_size_max, 1000) the client follows the pages the server chose."""
    collection = hub.collection(hub.globex)
    envelopes = list(as_pages(collection.get_objects, per_request=per_request, type="indicator"))
    assert ids_of(envelopes) == corpus
    assert len(envelopes) == pages
    assert [e["more"] for e in envelopes] == [True] * (pages - 1) + [False]
    assert all("next" in e for e in envelopes[:-1]) and "next" not in envelopes[-1]
    assert {o["type"] for e in envelopes for o in e["objects"]} == {"indicator"}


def test_paging_is_stable_while_objects_arrive(hub: Hub, corpus: list[str]) -> None:
    """Objects shared while a client pages appear at the end: nothing is skipped or repeated."""
    collection = hub.collection(hub.globex)
    pages = as_pages(collection.get_objects, per_request=1000, type="indicator")
    seen = ids_of([next(pages)])
    arrived = hub.share([indicator(n) for n in range(3000, 3250)])
    seen += ids_of(pages)
    assert seen == corpus + arrived


def test_manifest_pages_with_filters(hub: Hub, corpus: list[str]) -> None:
    """The manifest pages like the objects: with type=indicator and version=all, every version once (300
    indicators have a second version), each record with its id, version, date_added and media type."""
    updated = hub.share([indicator(n, modified="2024-06-01T00:00:00.000Z") for n in range(0, 3000, 10)])
    collection = hub.collection(hub.globex)
    records = [r for e in as_pages(collection.get_manifest, per_request=700, type="indicator", version="all")
               for r in e.get("objects", [])]
    assert len(records) == 3300
    assert sorted((r["id"], instant(r["version"])) for r in records) == sorted(
        [(i, instant(CREATED)) for i in corpus] + [(i, instant("2024-06-01T00:00:00Z")) for i in updated])
    assert {r["media_type"] for r in records} == {STIX}
    added = [instant(r["date_added"]) for r in records]
    assert added == sorted(added)
    latest = [r for e in as_pages(collection.get_manifest, per_request=1000, type="indicator")
              for r in e.get("objects", [])]
    assert sorted(r["id"] for r in latest) == sorted(corpus)
    assert sum(instant(r["version"]) == instant("2024-06-01T00:00:00Z") for r in latest) == 300
    # a client resuming after the last record of the first 3,000 gets just the new versions
    newer = list(as_pages(collection.get_objects, per_request=1000, added_after=records[2999]["date_added"]))
    assert ids_of(newer) == updated
    assert {o["modified"] for e in newer for o in e["objects"]} == {"2024-06-01T00:00:00.000Z"}
    (only,) = collection.get_manifest(type="malware", id=malware(3)["id"])["objects"]
    assert only["id"] == malware(3)["id"]


# taxii2-client: add_objects and status ---------------------------------------------------------------------


def test_add_objects_polls_a_pending_status_until_complete(hub: Hub) -> None:
    """A POST of more than batch_size objects is answered pending; taxii2-client polls the status until it is
    complete: every valid object a success, the invalid one a failure that says why, and all stored."""
    good = [indicator(n) for n in range(4 * BATCH_SIZE + 2)]
    broken = {k: v for k, v in indicator(999).items() if k != "pattern"}
    sent = [*good[:17], broken, *good[17:]]
    recorder = StatusRecorder(hub.acme)
    collection = hub.collection(auth=recorder)
    # the client polls .../status/{id} (no trailing slash): the server answers both forms
    status = collection.add_objects({"objects": sent}, wait_for_completion=True, poll_interval=POLL, timeout=30)

    first = recorder.statuses[0]
    assert first["status"] == "pending" and first["pending_count"] == first["total_count"] == len(sent)
    assert [p["id"] for p in first["pendings"]] == [o["id"] for o in sent]
    assert len(recorder.statuses) >= 2 and recorder.statuses[-1]["status"] == "complete"
    done = [s["success_count"] + s["failure_count"] for s in recorder.statuses]
    assert done == sorted(done)

    assert status.status == "complete" and status.id == first["id"]
    assert (status.total_count, status.success_count, status.failure_count, status.pending_count) == (
        len(sent), len(good), 1, 0)
    assert [s["id"] for s in status.successes] == [o["id"] for o in good]
    assert {s["message"] for s in status.successes} == {"added"}
    assert all(instant(s["version"]) == instant(CREATED) for s in status.successes)
    (failure,) = status.failures
    assert failure["id"] == broken["id"] and "pattern" in failure["message"]
    reader = hub.collection(hub.globex)
    assert ids_of(as_pages(reader.get_objects, per_request=25)) == [o["id"] for o in good]
    again = hub.server(hub.acme).api_roots[0].get_status(status.id)
    assert (again.status, again.success_count, again.failure_count) == ("complete", len(good), 1)


def test_a_small_post_is_complete_at_once(hub: Hub) -> None:
    """Up to batch_size objects are stored before the answer: complete, with a duplicate reported as such."""
    recorder = StatusRecorder(hub.acme)
    collection = hub.collection(auth=recorder)
    first = collection.add_objects({"objects": [indicator(1), indicator(2)]}, poll_interval=POLL)
    again = collection.add_objects({"objects": [indicator(2)]}, poll_interval=POLL)
    assert [s["status"] for s in recorder.statuses] == ["complete", "complete"]  # no poll was needed
    assert (first.success_count, first.failure_count) == (2, 0)
    assert [(s["id"], s["message"]) for s in again.successes] == [(indicator(2)["id"], "duplicate")]


def test_status_names_the_version_of_a_stored_sco(hub: Hub) -> None:
    """A stored SCO's status entry names the version the versions endpoint and the manifest give it."""
    address = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db",
               "value": "198.51.100.7"}
    collection = hub.collection(hub.acme)
    status = collection.add_objects({"objects": [address]}, poll_interval=POLL)
    (success,) = status.successes
    (version,) = collection.object_versions(address["id"])["versions"]
    assert success["version"] and instant(success["version"]) == instant(version)


def test_status_names_the_version_of_a_refused_object(hub: Hub) -> None:
    """An object refused for a missing property still names, in its failure, the version (modified) it claimed."""
    broken = {k: v for k, v in indicator(7, modified="2024-06-01T00:00:00.000Z").items() if k != "pattern"}
    status = hub.collection(hub.acme).add_objects({"objects": [broken]}, poll_interval=POLL)
    (failure,) = status.failures
    assert failure["id"] == broken["id"]
    assert failure["version"] and instant(failure["version"]) == instant(broken["modified"])


# taxii2-client: one object, its versions, the manifest ------------------------------------------------------


def test_get_object_versions_and_manifest(hub: Hub) -> None:
    """get_object gives the latest version (or first, all, or one by timestamp, as the versions endpoint or the
    object itself writes it), object_versions lists them oldest first, and the manifest agrees."""
    v1 = indicator(1)
    v2 = indicator(1, modified="2024-05-02T08:30:00.250Z", name="C2 server, confirmed")
    v3 = indicator(1, modified="2024-06-01T00:00:00.001Z", confidence=90)
    other = indicator(2)
    status = hub.collection(hub.acme).add_objects({"objects": [v1, other, v2, v3]}, poll_interval=POLL)
    assert status.success_count == 4
    collection = hub.collection(hub.globex)
    object_id = v1["id"]

    assert collection.get_object(object_id) == {"more": False, "objects": [v3]}
    assert collection.get_object(object_id, version="first")["objects"] == [v1]
    assert collection.get_object(object_id, version="all")["objects"] == [v1, v2, v3]
    assert collection.get_object(object_id, version=v2["modified"])["objects"] == [v2]
    versions = collection.object_versions(object_id)
    assert versions["more"] is False
    assert [instant(v) for v in versions["versions"]] == [instant(v["modified"]) for v in (v1, v2, v3)]
    for version, expected in zip(versions["versions"], (v1, v2, v3), strict=True):
        assert collection.get_object(object_id, version=version)["objects"] == [expected]

    manifest = collection.get_manifest(type="indicator", version="all")["objects"]
    assert [(r["id"], instant(r["version"])) for r in manifest] == [
        (o["id"], instant(o["modified"])) for o in (v1, other, v2, v3)]
    assert {r["media_type"] for r in manifest} == {STIX}
    latest = collection.get_manifest(id=object_id)["objects"]
    assert [instant(r["version"]) for r in latest] == [instant(v3["modified"])]
    assert collection.get_manifest(type="malware") == {"more": False}

    unknown = indicator(3)["id"]
    assert failing(lambda: collection.get_object(unknown)).status_code == 404
    assert failing(lambda: collection.object_versions(unknown)).status_code == 404


# taxii2-client: TLP:RED stays with its organization --------------------------------------------------------


def test_a_red_object_shared_with_no_recipients_is_invisible_to_another_member(hub: Hub) -> None:
    """ACME shares a TLP:RED indicator naming no recipient: Globex cannot see it through any client call (objects
    pages, whose `more` does not count it, object, object version, versions, manifest, ACME's status), and
    finds the same 404 as for an unknown id; ACME sees it through the same calls."""
    visible = [indicator(1, object_marking_refs=[GREEN]), indicator(2)]
    red = indicator(3, object_marking_refs=[RED])
    status = hub.collection(hub.acme).add_objects({"objects": [*visible, red]}, poll_interval=POLL)
    messages = {s["id"]: s["message"] for s in status.successes}
    assert len(messages) == status.success_count == 3
    assert messages[visible[0]["id"]] == messages[visible[1]["id"]] == "added"
    assert "recipients" in messages[red["id"]]  # the warning: only ACME can read it
    acme, globex = hub.collection(hub.acme), hub.collection(hub.globex)
    red_id, unknown = red["id"], indicator(4)["id"]

    mine = list(as_pages(acme.get_objects, per_request=2))
    assert ids_of(mine) == [o["id"] for o in (*visible, red)] and len(mine) == 2
    theirs = list(as_pages(globex.get_objects, per_request=2))
    assert theirs == [{"more": False, "objects": visible}]
    assert globex.get_objects(id=red_id) == {"more": False}

    assert acme.get_object(red_id)["objects"] == [red]
    assert acme.get_object(red_id, version=red["modified"])["objects"] == [red]
    assert len(acme.object_versions(red_id)["versions"]) == 1
    hidden = failing(lambda: globex.get_object(red_id))
    assert hidden.status_code == 404
    assert hidden.text == failing(lambda: globex.get_object(unknown)).text.replace(unknown, red_id)
    for call in (lambda: globex.get_object(red_id, version=red["modified"]),
                 lambda: globex.get_object(red_id, version="all"),
                 lambda: globex.object_versions(red_id)):
        assert failing(call).status_code == 404

    assert red_id in {r["id"] for r in acme.get_manifest(type="indicator", version="all")["objects"]}
    manifest = globex.get_manifest(type="indicator", version="all", limit=2)
    assert manifest["more"] is False and [r["id"] for r in manifest["objects"]] == [o["id"] for o in visible]
    assert globex.get_manifest(id=red_id) == {"more": False}

    assert hub.server(hub.acme).api_roots[0].get_status(status.id).success_count == 3
    globex_root = hub.server(hub.globex).api_roots[0]
    assert failing(lambda: globex_root.get_status(status.id)).status_code == 404
    assert TAXIICollectionSource(globex).get(red_id) is None
    assert TAXIICollectionSource(globex).all_versions(red_id) == []


# stix2: TAXIICollectionSink and TAXIICollectionSource ------------------------------------------------------


def stix2_objects() -> tuple[list[Any], Any]:
    """Objects made with stix2 (an identity, an indicator, a marked malware, a relationship, an SCO), and a
    new version of the indicator."""
    when = "2024-05-01T12:00:00.123Z"
    acme = stix2.v21.Identity(id="identity--7c1d2a8e-3c4b-4f5a-9b6c-2d1e0f9a8b7c", name="ACME CERT",
                              identity_class="organization", created=when, modified=when)
    first = stix2.v21.Indicator(id="indicator--5b0e4c7a-8d2f-4e1b-a3c6-9f8e7d6c5b4a", created_by_ref=acme.id,
                                name="Poison Ivy C2", indicator_types=["malicious-activity"],
                                pattern="[ipv4-addr:value = '198.51.100.7']", pattern_type="stix",
                                valid_from="2024-05-01T00:00:00Z", created=when, modified=when)
    family = stix2.v21.Malware(id="malware--2e4f6a8c-1b3d-4e5f-8a9b-0c1d2e3f4a5b", name="Poison Ivy", is_family=True,
                               object_marking_refs=[stix2.v21.TLP_GREEN], created=when, modified=when)
    link = stix2.v21.Relationship(first, "indicates", family, id="relationship--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                                  created=when, modified=when)
    address = stix2.v21.IPv4Address(value="198.51.100.7")
    second = first.new_version(modified="2024-06-01T08:30:00.500Z", name="Poison Ivy C2 (confirmed)")
    return [acme, first, family, link, address], second


def as_dict(obj: Any) -> dict[str, Any]:
    """A stix2 object as the JSON it serializes to (parsed, so property order does not matter)."""
    value = json.loads(obj.serialize())
    assert isinstance(value, dict)
    return value


def test_stix2_sink_then_source_round_trip(hub: Hub) -> None:
    """What stix2's TAXIICollectionSink sends (a bundle, then a lone object) comes back equal through
    TAXIICollectionSource, to another member: get, all_versions, and query with a type filter."""
    objects, second = stix2_objects()
    sink = TAXIICollectionSink(hub.collection(hub.acme))
    sink.add(stix2.v21.Bundle(objects=objects))
    sink.add(second)
    source = TAXIICollectionSource(hub.collection(hub.globex))
    latest = [second if o.id == second.id else o for o in objects]

    for sent in latest:
        got = source.get(sent.id)
        assert got is not None and as_dict(got) == as_dict(sent), sent.id
    versions = source.all_versions(second.id)
    assert sorted((as_dict(v) for v in versions), key=lambda v: instant(v["modified"])) == [
        as_dict(objects[1]), as_dict(second)]
    indicators = source.query([Filter("type", "=", "indicator")])
    assert [as_dict(o) for o in indicators] == [as_dict(second)]
    everything = source.query()
    assert sorted(o.id for o in everything) == sorted(o.id for o in latest)
    assert all(as_dict(o) == as_dict(next(s for s in latest if s.id == o.id)) for o in everything)
    assert source.get("indicator--0d6d4f6e-8a1b-4c2d-9e3f-4a5b6c7d8e9f") is None
    with pytest.raises(DataSourceError):  # stix2 trusts can_write: a reader's collection takes no sink
        TAXIICollectionSink(hub.collection(hub.globex))
