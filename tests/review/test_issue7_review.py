"""Defects a security review of issue 7 (the dashboard: phalanx.web.ui and the service modules it calls) found,
each pinned by a test marked xfail(strict) with the reason: fixing the defect makes the test pass, and so the
xfail fail.

In the order of the review: what a member learns beyond its audience, sessions, administration, then hostile input
that costs the hub far more than it costs the sender."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.service._search import Wanted
from phalanx.service._settings import shown_settings
from phalanx.stix import Tlp, parse_document
from phalanx.web.ui import _markdown
from tests.web.ui import conftest as ui
from tests.web.ui.test_feed import indicator, share

# The dashboard's fixtures (tests/web/ui/conftest.py): a node with ACME CERT (alice, contributor; root, node
# administrator), Globex SOC (bob, contributor) and Initech Security (carol, reader) in community "isac".
community = ui.community
browser = ui.browser
_cheap_passwords = ui._cheap_passwords

Community = ui.Community
NEW_PASSWORD = "an entirely different passphrase"


def outsider(community: Community, name: str = "Umbrella Corp") -> str:
    """An organization of another community of the node, that none of the fixture's organizations is in."""
    admin = community.node.admin
    org = admin.add_organization(name)
    admin.add_community("elsewhere", title="Another community")
    admin.join("elsewhere", org.id)
    return org.id


# -- 1. what a member learns beyond its audience -----------------------------------------------------------------


def test_the_feed_organization_filter_does_not_unmask_anonymous_sightings(browser: Any,
                                                                          community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    community.node.sightings.record(Actor(community.globex.id, Role.CONTRIBUTOR), indicator(1)["id"],
                                    anonymous=True)
    alice = browser("alice")
    [row] = alice.view("/feed?type=sighting")["rows"]
    assert row["contributor"] == "anonymous"
    by_globex = alice.view("/feed?type=sighting&organization=Globex+SOC")["rows"]
    by_initech = alice.view("/feed?type=sighting&organization=Initech+Security")["rows"]
    assert by_globex == by_initech == [], "the filter names the anonymous sighting's organization"


def test_feed_and_search_name_only_organizations_of_the_visitors_communities(browser: Any,
                                                                             community: Community) -> None:
    outsider(community)
    carol = browser("carol")
    assert "Umbrella Corp" not in carol.view("/feed")["choices"]["organization"]
    assert "Umbrella Corp" not in carol.view("/search")["choices"]["organization"]
    known = carol.client.get("/search?organization=Umbrella+Corp&format=json")
    unknown = carol.client.get("/search?organization=Nobody+Inc&format=json")
    assert known.status_code == unknown.status_code


def test_the_audience_preview_does_not_tell_which_outside_organizations_exist(browser: Any,
                                                                              community: Community) -> None:
    umbrella = outsider(community)
    alice = browser("alice")

    def refusal(recipients: str) -> str:
        answer = alice.post("/publish/audience", {"kind": "indicator", "collection": community.collection,
                                                  "tlp": "red", "recipients": recipients},
                            headers={"Accept": "application/json"})
        assert answer.status_code == 400, answer.text
        return str(answer.json()["description"])

    assert refusal("nobody inc") == "recipient 'nobody inc' is not a member of community 'isac'"
    assert refusal("umbrella corp") == "recipient 'umbrella corp' is not a member of community 'isac'"
    assert "Umbrella" not in refusal(umbrella)


# -- 2. sessions ------------------------------------------------------------------------------------------------


def test_signing_out_makes_the_old_session_cookie_worthless(browser: Any) -> None:
    alice = browser("alice")
    copied = alice.client.cookies.get("phalanx_session")
    assert alice.post("/signout").status_code == 303
    assert alice.client.get("/feed?format=json").status_code == 401
    replay = browser()
    replay.client.cookies.set("phalanx_session", copied)
    assert replay.client.get("/feed?format=json").status_code == 401


def test_a_peer_role_user_does_not_sign_in_to_the_dashboard_either(browser: Any, community: Community) -> None:
    community.node.admin.add_user("relay", org_ref=community.globex.id, role=Role.PEER, password=ui.PASSWORD)
    peer = browser()
    peer.get("/signin")
    answer = peer.post("/signin", {"username": "relay", "password": ui.PASSWORD, "next": "/feed"})
    assert answer.status_code != 303
    assert peer.client.get("/feed?format=json").status_code == 401


# -- 3. administration ------------------------------------------------------------------------------------------


def test_an_org_admin_cannot_become_a_colleague_through_their_password(browser: Any, community: Community) -> None:
    node = community.node
    node.admin.add_user("boss", org_ref=community.acme.id, role=Role.ORG_ADMIN, password=ui.PASSWORD)
    sharing = node.ingest.authorize(Actor(community.globex.id, Role.CONTRIBUTOR), community.collection,
                                    people=("alice",), tolerant=False)
    parsed = parse_document(orjson.dumps(indicator(5, tlp=Tlp.RED, name="for alice's eyes only")),
                            mode=node.ingest.mode(False), limits=node.ingest.limits())
    assert [r.outcome for r in node.ingest.parsed(sharing, parsed)] == ["accepted"]
    assert browser("boss").view("/feed")["rows"] == []  # ACME may not read it: alice may
    boss = browser("boss")
    boss.post("/admin/users/alice/password", {"password": NEW_PASSWORD})
    impostor = browser()
    impostor.get("/signin")
    answer = impostor.post("/signin", {"username": "alice", "password": NEW_PASSWORD, "next": "/feed"})
    assert answer.status_code == 401, "the org-admin signs in as alice"


def test_the_settings_page_hides_nats_credentials() -> None:
    admin = Actor("identity--00000000-0000-4000-8000-0000000000aa", Role.ADMIN)
    for url, secret in (("nats://s3cr3t-token@nats.example:4222", "s3cr3t-token"),
                        ("nats://a:first@h1:4222,nats://b:second@h2:4222", "second")):
        shown = {s.name: s.value for s in shown_settings(Settings(bus_url=url), by=admin)}
        assert secret not in shown["bus_url"], shown["bus_url"]


# -- 4. hostile input -------------------------------------------------------------------------------------------


def test_a_publish_form_of_junk_lines_gets_a_bounded_answer(browser: Any, community: Community) -> None:
    carol = browser("carol")  # a reader: she may not publish at all
    answer = carol.post("/publish?format=json", {"kind": "indicator", "collection": community.collection,
                                                 "values": "x\n" * 100_000, "action": "preview"})
    assert answer.status_code >= 400
    assert len(answer.content) < 500_000, f"{len(answer.content)} bytes for a 400 kB form"


def test_the_object_page_bounds_the_markdown_it_renders(browser: Any, community: Community,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    report = {"type": "report", "spec_version": "2.1", "id": "report--00000000-0000-4000-8000-000000000099",
              "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "long read",
              "published": "2026-01-01T00:00:00Z", "report_types": ["threat-report"],
              "object_refs": [indicator(1)["id"]], "description": "![" * 150_000,
              "object_marking_refs": [Tlp.GREEN.value]}
    share(community, community.acme.id, indicator(1), report)
    rendered: list[int] = []
    parser = _markdown._MD

    class Counting:
        def render(self, text: str) -> str:
            rendered.append(len(text))
            return parser.render(text)

    monkeypatch.setattr(_markdown, "_MD", Counting())
    page = browser("bob").get("/objects/" + report["id"])
    assert page.status_code == 200
    assert sum(rendered) <= 100_000, f"{sum(rendered)} characters of Markdown rendered for one page view"


@pytest.fixture
def sqlite_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Node, list[int]]]:
    """A node on SQLite whose connections count the virtual machine's steps (in thousands) run on this thread."""
    steps = [0]
    here = threading.get_ident()
    connect = sqlite3.connect

    def counting(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)

        def tick() -> int:
            if threading.get_ident() == here:
                steps[0] += 1
            return 0

        conn.set_progress_handler(tick, 1000)
        return conn

    monkeypatch.setattr(sqlite3, "connect", counting)
    node = Node.open(Settings(database_url=f"sqlite:///{tmp_path / 'phalanx.db'}", home=tmp_path,
                              warninglists="off"), upgrade=True)
    try:
        yield node, steps
    finally:
        node.close()


def test_a_search_costs_the_same_however_much_the_reader_cannot_see(sqlite_steps: tuple[Node, list[int]]) -> None:
    """The search examines the newest ``Search.scan`` matches of the index whoever may read them (it once walked
    every match until it found ``limit`` the reader sees: 100,000 unseen indicators, ~150 ms; 1,000,000: seconds):
    past the bound, more unseen rows cost nothing more, and the answer says where to search further back."""
    node, steps = sqlite_steps
    admin = node.admin
    for name in ("big", "small"):
        admin.add_community(name)  # and its collection, titled alike
    big, small = admin.add_organization("Big Org"), admin.add_organization("Small Org")
    admin.join("big", big.id)
    admin.join("small", small.id)

    def add(org: str, collection: str, numbers: range) -> None:
        for start in range(numbers.start, numbers.stop, 2000):
            objects = [indicator(n) for n in range(start, min(start + 2000, numbers.stop))]
            results = node.ingest.document(Actor(org, Role.CONTRIBUTOR), collection, orjson.dumps(objects))
            assert all(r.outcome == "accepted" for r in results)

    reader = Actor(small.id, Role.READER)
    wanted = Wanted(text="bad address")

    def cost() -> int:
        steps[0] = 0
        found = node.search.search(reader, wanted, limit=50)
        assert found.items == [] and found.bounded and found.next is not None
        return steps[0]

    def further_back() -> list[str]:
        """What the reader finds following "search further back" until it finds anything."""
        before, pages = None, 0
        while True:
            found = node.search.search(reader, wanted, limit=50, before=before)
            pages += 1
            if found.items or found.next is None:
                assert pages == -(-(2 * unseen + 1) // node.search.scan)  # one page a bound's worth
                return [i.id for i in found.items]
            before = found.next

    unseen = node.search.scan + 1000
    add(small.id, "small", range(10**9, 10**9 + 1))
    add(big.id, "big", range(1, unseen + 1))
    first = cost()
    add(big.id, "big", range(unseen + 1, 2 * unseen + 1))
    assert cost() < 1.25 * first, "the search read every row the reader may not see"
    assert further_back() == [indicator(10**9)["id"]]

