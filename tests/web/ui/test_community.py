"""The community page: members and collections, and contribution metrics over a window, counted only over what
the visitor may read, k-anonymous where they rest on others' sightings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.stix import Tlp, now_micros, parse_document
from phalanx.web import create_app

from .conftest import PASSWORD, Browser

HOUR = 3_600_000_000
MINUTE = 60_000_000


class Clock:
    """The memory store's clock, set by the test: each membership is dated at ``now`` (or just after the last)."""

    def __init__(self) -> None:
        self.now = now_micros() - 5 * 24 * HOUR

    def __call__(self) -> int:
        return self.now


@dataclass
class Isac:
    node: Node
    acme: Organization
    globex: Organization
    initech: Organization
    collection: str
    clock: Clock
    browser: Callable[[str], Browser]

    def share(self, org: Organization, *objects: dict[str, Any], recipients: tuple[str, ...] = (),
              at: int | None = None) -> None:
        if at is not None:
            self.clock.now = at
        node = self.node
        sharing = node.ingest.authorize(Actor(org.id, Role.CONTRIBUTOR), self.collection, organizations=recipients,
                                        people=(), tolerant=False)
        data = orjson.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
                             "objects": list(objects)})
        parsed = parse_document(data, mode=node.ingest.mode(False), limits=node.ingest.limits())
        outcome = node.ingest.parsed(sharing, parsed)
        assert all(r.outcome == "accepted" for r in outcome), [r.detail for r in outcome]

    def sight(self, org: Organization, n: int, *, at: int | None = None, anonymous: bool = False,
              tlp: Tlp | None = None) -> None:
        if at is not None:
            self.clock.now = at
        result = self.node.sightings.record(Actor(org.id, Role.CONTRIBUTOR), oid(n), anonymous=anonymous, tlp=tlp)
        assert result.outcome == "accepted", result.detail


def oid(n: int) -> str:
    return f"indicator--00000000-0000-4000-8000-{n:012d}"


def indicator(n: int, ip: str, *, tlp: Tlp = Tlp.GREEN, name: str | None = None) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": oid(n), "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z", "name": name or f"bad address {n}",
            "pattern": f"[ipv4-addr:value = '{ip}']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": [tlp.value]}


def report(n: int, *refs: int) -> dict[str, Any]:
    return {"type": "report", "spec_version": "2.1", "id": f"report--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": f"report {n}",
            "published": "2026-01-01T00:00:00Z", "object_refs": [oid(r) for r in refs],
            "object_marking_refs": [Tlp.GREEN.value]}


@pytest.fixture
def open_isac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], Isac]]:
    """``open_isac(k)``: a node with sighting_k = k, a community of three organizations, and browsers."""
    clock = Clock()
    monkeypatch.setattr("phalanx.store._memory.now_micros", clock)
    opened: list[Node] = []
    clients: list[TestClient] = []

    def make(k: int) -> Isac:
        node = Node.open(Settings(database_url="memory://", home=tmp_path, warninglists="off", sighting_k=k),
                         upgrade=True)
        opened.append(node)
        admin = node.admin
        admin.add_community("isac", title="Test ISAC")
        orgs = [admin.add_organization(name, sectors=sectors) for name, sectors in
                (("ACME CERT", ("energy",)), ("Globex SOC", ("finance",)), ("Initech Security", ()))]
        for org in orgs:
            admin.join("isac", org.id)
        collection = admin.add_collection("shared", community="isac")
        users = {"alice": (orgs[0], Role.CONTRIBUTOR), "bob": (orgs[1], Role.CONTRIBUTOR),
                 "carol": (orgs[2], Role.READER), "root": (orgs[0], Role.ADMIN)}
        app = create_app(node)
        signed_in: dict[str, Browser] = {}

        def browser(username: str) -> Browser:
            """A browser signed in as ``username`` (one per user: signing in hashes a password)."""
            if username not in signed_in:
                org, role = users[username]
                admin.add_user(username, org_ref=org.id, role=role, password=PASSWORD)
                client = TestClient(app)
                clients.append(client)
                signed_in[username] = Browser(client)
                assert signed_in[username].sign_in(username).status_code == 303
            return signed_in[username]

        return Isac(node, *orgs, collection.id, clock, browser)

    yield make
    for client in clients:
        client.close()
    for node in opened:
        node.close()


def rows(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in view["organizations"]}


def test_three_organizations_sharing_and_sighting(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    t = isac.clock.now
    isac.share(isac.acme, indicator(1, "198.51.100.1"), indicator(2, "198.51.100.2"), report(9, 1, 2), at=t)
    isac.sight(isac.globex, 1, at=t + 2 * HOUR)
    isac.share(isac.globex, indicator(3, "198.51.100.1"), at=t + 3 * HOUR)  # the same address, later
    isac.sight(isac.initech, 1, at=t + 4 * HOUR)
    isac.sight(isac.initech, 2, at=t + 6 * HOUR)
    isac.sight(isac.acme, 1, at=t + 7 * HOUR)  # its own: not "seen elsewhere"
    isac.sight(isac.initech, 3, at=t + 8 * HOUR, anonymous=True)
    view = isac.browser("bob").view("/community")
    acme, globex, initech = (rows(view)[n] for n in ("ACME CERT", "Globex SOC", "Initech Security"))
    assert acme["shared"] == {"indicators": 2, "reports": 1, "other": 0} and acme["total"] == 3
    assert acme["reach"] == {"objects": 2, "organizations": 2, "sightings": 3,
                             "median_seconds": 4 * 3600.0, "median": "4 h",  # 2 h (indicator 1) and 6 h (2)
                             "first_values": 2, "followers": 2, "withheld": False}
    assert globex["shared"] == {"indicators": 1, "reports": 0, "other": 0}
    assert globex["reach"] == {"objects": 1, "organizations": 1, "sightings": 1, "median_seconds": 5 * 3600.0,
                               "median": "5 h", "first_values": 0, "followers": 0, "withheld": False}
    # Initech shared only sightings (one anonymous): they are never attributed, so it shared nothing here
    assert initech["shared"] == {"indicators": 0, "reports": 0, "other": 0} and initech["member"]
    assert [o["name"] for o in view["organizations"]] == ["ACME CERT", "Globex SOC", "Initech Security"]
    assert rows(view)["Globex SOC"]["yours"] and not acme["yours"]
    totals = view["totals"]
    assert totals["shared"] == {"indicators": 3, "reports": 1, "other": 0} and totals["total"] == 4
    assert totals["reach"]["objects"] == 3 and totals["reach"]["sightings"] == 4
    assert totals["reach"]["organizations"] == 2  # Globex and Initech saw others' objects
    assert totals["reach"]["median_seconds"] == 5 * 3600.0  # of 2 h, 6 h and 5 h
    assert view["window"]["complete"] and view["window"]["days"] == 30 and view["k"] == 1


def test_time_to_first_sighting_elsewhere(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    t = isac.clock.now
    # (the store dates what it is given in order: the steps go forward in time)
    isac.share(isac.acme, indicator(1, "198.51.100.1"), at=t)
    isac.sight(isac.acme, 1, at=t + 5 * MINUTE)  # its own sighting is not "elsewhere"
    isac.sight(isac.globex, 1, at=t + 30 * MINUTE)  # 30 min after the report
    isac.share(isac.acme, indicator(2, "198.51.100.2"), at=t + HOUR)
    isac.share(isac.acme, indicator(3, "198.51.100.3"), at=t + 2 * HOUR)
    isac.sight(isac.initech, 2, at=t + HOUR + 90 * MINUTE)  # 90 min after indicator 2
    isac.sight(isac.initech, 1, at=t + 20 * HOUR)  # a later one: only the first counts
    isac.sight(isac.globex, 3, at=t + 2 * HOUR + 3 * 24 * HOUR)  # 3 days after indicator 3
    reach = rows(isac.browser("alice").view("/community"))["ACME CERT"]["reach"]
    assert reach["objects"] == 3 and reach["sightings"] == 4
    assert reach["median_seconds"] == 90 * 60.0 and reach["median"] == "1 h 30 min"  # of 30 min, 90 min, 3 d
    community = isac.browser("alice").view("/community")["totals"]["reach"]
    assert community["median_seconds"] == 90 * 60.0
    isac.sight(isac.globex, 2, at=t + 3 * 24 * HOUR + 3 * HOUR)  # after Initech's: indicator 2 stays at 90 min
    reach = rows(isac.browser("carol").view("/community"))["ACME CERT"]["reach"]
    assert reach["median_seconds"] == 90 * 60.0 and reach["sightings"] == 5


def test_red_for_one_recipient_is_not_counted_for_the_others(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    t = isac.clock.now
    isac.share(isac.acme, indicator(1, "198.51.100.1"), at=t)
    isac.share(isac.acme, indicator(2, "203.0.113.66", tlp=Tlp.RED, name="for globex only"),
               recipients=(isac.globex.id,), at=t + HOUR)
    # Globex sights it, GREEN: Initech sees the sighting, not the indicator
    isac.sight(isac.globex, 2, at=t + 2 * HOUR, tlp=Tlp.GREEN)
    isac.share(isac.globex, indicator(3, "203.0.113.66"), at=t + 3 * HOUR)  # reports the same address after
    bob = rows(isac.browser("bob").view("/community"))["ACME CERT"]
    carol = rows(isac.browser("carol").view("/community"))["ACME CERT"]
    assert bob["shared"]["indicators"] == 2 and carol["shared"]["indicators"] == 1
    assert (bob["reach"]["objects"], bob["reach"]["sightings"], bob["reach"]["first_values"]) == (1, 1, 1)
    assert carol["reach"] == {"objects": 0, "organizations": 0, "sightings": 0, "median_seconds": None,
                              "median": None, "first_values": 0, "followers": 0, "withheld": False}
    carol_view = isac.browser("carol").view("/community")
    assert carol_view["totals"]["shared"]["indicators"] == 2  # ACME's GREEN one and Globex's
    assert "for globex only" not in isac.browser("carol").get("/community").text
    # the administrator sees everything
    root = rows(isac.browser("root").view("/community"))["ACME CERT"]
    assert root["shared"]["indicators"] == 2 and root["reach"]["objects"] == 1


def test_sighting_counts_are_k_anonymous(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(2)
    t = isac.clock.now
    isac.share(isac.acme, indicator(1, "198.51.100.1"), at=t)
    isac.sight(isac.globex, 1, at=t + HOUR)
    withheld = {"objects": None, "organizations": None, "sightings": None, "median_seconds": None, "median": None,
                "first_values": None, "followers": None, "withheld": True}
    # one organization saw it: fewer than 2 for everyone, Globex itself included (others than it: none)
    for user in ("alice", "bob", "carol"):
        assert rows(isac.browser(user).view("/community"))["ACME CERT"]["reach"] == withheld, user
    isac.sight(isac.initech, 1, at=t + 2 * HOUR)
    # two saw it: ACME has two others behind the count; Globex and Initech only one besides themselves
    assert rows(isac.browser("alice").view("/community"))["ACME CERT"]["reach"]["organizations"] == 2
    assert rows(isac.browser("bob").view("/community"))["ACME CERT"]["reach"]["objects"] is None
    assert rows(isac.browser("carol").view("/community"))["ACME CERT"]["reach"]["sightings"] is None
    assert rows(isac.browser("root").view("/community"))["ACME CERT"]["reach"]["sightings"] == 2
    page = isac.browser("bob").get("/community").text
    assert "fewer than 2" in page
    # what an organization shared is attributed as the feed attributes it: no threshold
    assert rows(isac.browser("bob").view("/community"))["ACME CERT"]["shared"]["indicators"] == 1


def test_the_window_and_its_bound(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    t = isac.clock.now
    isac.share(isac.acme, indicator(1, "198.51.100.1"), at=t - 20 * 24 * HOUR)
    isac.share(isac.acme, indicator(2, "198.51.100.2"), at=t)
    isac.share(isac.globex, indicator(3, "198.51.100.3"), at=t + HOUR)
    alice = isac.browser("alice")
    assert rows(alice.view("/community"))["ACME CERT"]["shared"]["indicators"] == 2
    assert rows(alice.view("/community?days=7"))["ACME CERT"]["shared"]["indicators"] == 1
    isac.node.metrics.limit = 1  # count only the newest membership
    view = alice.view("/community?days=7")
    assert view["window"]["complete"] is False and view["window"]["counted"] == 1
    assert rows(view)["ACME CERT"]["shared"]["indicators"] == 0 and rows(view)["Globex SOC"]["total"] == 1
    page = alice.get("/community?days=7").text
    assert 'id="bounded"' in page and "newest 1 objects" in page


def test_cached_numbers_are_never_another_organizations(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    isac.share(isac.acme, indicator(1, "198.51.100.1", tlp=Tlp.RED), recipients=(isac.globex.id,))
    bob, carol = isac.browser("bob"), isac.browser("carol")
    first = bob.view("/community")
    assert first["window"]["cached"] is False and rows(first)["ACME CERT"]["total"] == 1
    again = bob.view("/community")
    assert again["window"]["cached"] is True and rows(again)["ACME CERT"]["total"] == 1
    assert rows(carol.view("/community"))["ACME CERT"]["total"] == 0
    isac.share(isac.acme, indicator(2, "198.51.100.2"), at=isac.clock.now + MINUTE)  # a change: counted again
    fresh = bob.view("/community")
    assert fresh["window"]["cached"] is False and rows(fresh)["ACME CERT"]["total"] == 2


def test_communities_members_and_collections(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(3)
    admin = isac.node.admin
    admin.add_community("other", title="Other <b>group</b>")
    outsider = admin.add_organization("Umbrella")
    admin.join("other", outsider.id)
    admin.add_collection("umbrella-only", community="other", description="their own")
    bob = isac.browser("bob").view("/community")
    assert [c["name"] for c in bob["communities"]] == ["isac"]
    isac_view = bob["communities"][0]
    assert [m["name"] for m in isac_view["members"]] == ["ACME CERT", "Globex SOC", "Initech Security"]
    assert isac_view["members"][0]["sectors"] == ["energy"] and isac_view["members"][0]["registered"]
    assert [c["title"] for c in isac_view["collections"]] == ["isac", "shared"]
    root = isac.browser("root")
    assert [c["name"] for c in root.view("/community")["communities"]] == ["isac", "other"]
    page = root.get("/community").text
    assert "Other &lt;b&gt;group&lt;/b&gt;" in page and "<b>group</b>" not in page
    assert root.view("/community?community=other")["organizations"][0]["name"] == "Umbrella"
    # a member asking for a community it does not belong to learns nothing of it
    response = isac.browser("bob").client.get("/community?community=other&format=json")
    assert response.status_code == 404


def test_hostile_names_are_escaped(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(1)
    evil = isac.node.admin.add_organization('<script>alert("x")</script>')
    isac.node.admin.join("isac", evil.id)
    isac.share(evil, indicator(1, "198.51.100.1"))
    page = isac.browser("alice").get("/community").text
    assert '<script>alert("x")</script>' not in page and "&lt;script&gt;" in page
    assert "<script" not in page.replace('<script src="/static/phalanx.js" defer></script>', "")


@pytest.mark.parametrize("query", ["days=0", "days=366", "days=abc", "days=-1", "bogus=1", "days=3&days=4"])
def test_bad_parameters_are_named(open_isac: Callable[[int], Isac], query: str) -> None:
    response = open_isac(3).browser("alice").client.get(f"/community?{query}&format=json")
    assert response.status_code == 400, response.text
    assert response.json()["description"]


def test_the_page_renders_and_needs_a_session(open_isac: Callable[[int], Isac]) -> None:
    isac = open_isac(3)
    alice = isac.browser("alice")
    page = alice.get("/community?community=&days=30")
    assert page.status_code == 200 and 'aria-current="page">Community' in page.text
    assert "Contributions by organization" in page.text and "Communities and members" in page.text
    signed_out = TestClient(create_app(isac.node))
    response = signed_out.get("/community", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
    signed_out.close()
