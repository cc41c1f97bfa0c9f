"""The live feed page: the newest objects the visitor may read, filtered, and its live stream."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from phalanx.identity import Actor, Role
from phalanx.stix import Tlp

from .conftest import Community, share


def indicator(n: int, *, tlp: Tlp = Tlp.GREEN, labels: tuple[str, ...] = ("malicious-activity",),
              name: str | None = None) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name or f"bad address {n}", "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
            "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "labels": list(labels),
            "object_marking_refs": [tlp.value]}


def test_the_feed_shows_the_newest_first_with_names_and_tlp(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1), indicator(2, tlp=Tlp.AMBER))
    share(community, community.globex.id, indicator(3, name="globex's find"))
    view = browser("alice").view("/feed")
    assert [r["name"] for r in view["rows"]] == ["globex's find", "bad address 2", "bad address 1"]
    assert [r["tlp"] for r in view["rows"]] == ["TLP:GREEN", "TLP:AMBER", "TLP:GREEN"]
    assert [r["contributor"] for r in view["rows"]] == ["Globex SOC", "ACME CERT", "ACME CERT"]
    assert view["rows"][0]["sightings"] == {"organizations": None, "fewer_than": 3, "false_positive": None,
                                            "own": False, "own_false_positive": False}


def test_filters_narrow_the_feed(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1), indicator(2, tlp=Tlp.AMBER, labels=("phishing",)))
    share(community, community.globex.id, indicator(3))
    alice = browser("alice")
    assert [r["name"] for r in alice.view("/feed?tlp=amber")["rows"]] == ["bad address 2"]
    assert [r["name"] for r in alice.view("/feed?label=phishing")["rows"]] == ["bad address 2"]
    assert [r["name"] for r in alice.view("/feed?organization=Globex%20SOC")["rows"]] == ["bad address 3"]
    assert alice.view("/feed?type=report")["rows"] == []
    assert alice.view("/feed?community=nope")["rows"] == []
    assert len(alice.view("/feed?limit=2")["rows"]) == 2


def test_the_filter_form_with_any_selected_is_no_filter(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    view = browser("alice").view("/feed?type=&tlp=&community=&organization=&label=")
    assert [r["name"] for r in view["rows"]] == ["bad address 1"]


@pytest.mark.parametrize("query", ["tlp=purple", "limit=0", "limit=abc", "after=-1", "bogus=1", "limit=1&limit=2"])
def test_bad_filters_are_named(browser: Any, query: str) -> None:
    response = browser("alice").client.get(f"/feed?{query}&format=json")
    assert response.status_code == 400
    assert response.json()["description"]


def test_after_gives_only_what_arrived_since(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    alice = browser("alice")
    newest = alice.view("/feed")["newest"]
    assert alice.view(f"/feed?after={newest}")["rows"] == []
    share(community, community.globex.id, indicator(2))
    later = alice.view(f"/feed?after={newest}")
    assert [r["name"] for r in later["rows"]] == ["bad address 2"] and later["newest"] > newest


def test_red_for_one_recipient_is_invisible_to_the_others(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(7, tlp=Tlp.RED, name="for globex only"),
          recipients=(community.globex.id,))
    assert [r["name"] for r in browser("bob").view("/feed")["rows"]] == ["for globex only"]
    assert browser("carol").view("/feed")["rows"] == []
    assert browser("carol").view("/feed?tlp=red")["rows"] == []


def test_hostile_names_are_escaped_in_the_page(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1, name="<script>alert(1)</script>", labels=('"><b>x</b>',)))
    page = browser("bob").get("/feed").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"><b>x</b>' not in page
    assert "<script" not in page.replace('<script src="/static/phalanx.js" defer></script>', "")


def test_the_live_stream_announces_new_objects(browser: Any, community: Community) -> None:
    bob = browser("bob")
    seen: list[str] = []
    done = threading.Event()

    def listen() -> None:
        with bob.client.stream("GET", "/feed/events") as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                seen.append(line)
                if line.startswith("event: object-added"):
                    done.set()
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.5)
    share(community, community.acme.id, indicator(9))
    assert done.wait(10), seen


def test_the_live_stream_of_a_session_signed_out_elsewhere_stops(browser: Any) -> None:
    """The stream re-checks its session every second: a copy of the cookie, signed out, is closed too."""
    bob = browser("bob")
    copy = browser()
    copy.client.cookies.set("phalanx_session", bob.client.cookies.get("phalanx_session"))
    seen: list[str] = []
    opened, closed = threading.Event(), threading.Event()

    def listen() -> None:
        with copy.client.stream("GET", "/feed/events") as response:
            assert response.status_code == 200
            opened.set()
            for line in response.iter_lines():
                seen.append(line)
                if line.startswith("data:") and "event: closed" in seen:
                    closed.set()
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    assert bob.post("/signout").status_code == 303
    assert closed.wait(10), seen
    assert any("your session has ended" in line for line in seen), seen


def test_older_pages_continue_where_the_first_stopped(browser: Any, community: Community) -> None:
    share(community, community.acme.id, *(indicator(n) for n in range(1, 8)))
    alice = browser("alice")
    first = alice.view("/feed?limit=3")
    assert [r["name"] for r in first["rows"]] == ["bad address 7", "bad address 6", "bad address 5"]
    second = alice.view(first["older"])
    assert [r["name"] for r in second["rows"]] == ["bad address 4", "bad address 3", "bad address 2"]
    third = alice.view(second["older"])
    assert [r["name"] for r in third["rows"]] == ["bad address 1"] and third["older"] is None


def test_the_reading_stays_within_the_newest_rows_whatever_the_reader_sees(community: Community) -> None:
    """A member who may see one object among many gets an answer from the newest ``scan`` rows, and where to
    look further back, instead of a read of the whole collection."""
    share(community, community.acme.id, indicator(1, tlp=Tlp.RED, name="for globex"),
          recipients=(community.globex.id,))
    share(community, community.acme.id, *(indicator(n, tlp=Tlp.RED) for n in range(2, 12)))
    globex = Actor(community.globex.id, Role.CONTRIBUTOR)
    near = community.node.overview.feed(globex, scan=4)
    assert near.items == [] and near.scanned == 0 and near.older is not None
    further = community.node.overview.feed(globex, scan=4, before=near.older)
    deepest = community.node.overview.feed(globex, scan=20, before=further.older) if further.older else further
    found = [i.id for page in (further, deepest) for i in page.items]
    assert found == [indicator(1)["id"]]
