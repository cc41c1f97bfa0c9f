"""The object page: readable view, TLP banner, sightings buttons, correlation, relationships, provenance."""

from __future__ import annotations

from typing import Any

from phalanx.stix import Tlp

from .conftest import Community, share
from .test_feed import indicator

IND = "indicator--00000000-0000-4000-8000-000000000001"


def test_the_page_shows_the_object_as_the_visitor_may_read_it(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1, tlp=Tlp.AMBER))
    bob = browser("bob")
    view = bob.view(f"/objects/{IND}")
    assert view["name"] == "bad address 1" and view["tlp"] == "TLP:AMBER"
    assert "need-to-know" in view["tlp_meaning"]
    assert view["contributor"] == "ACME CERT"
    assert {"name": "pattern", "value": "[ipv4-addr:value = '198.51.100.1']"} in view["facts"]
    assert '"pattern_type": "stix"' in view["raw"]
    page = bob.get(f"/objects/{IND}").text
    assert "TLP:AMBER" in page and "Sighted it" in page and "Raw STIX 2.1" in page


def test_an_object_the_visitor_may_not_read_is_not_found_like_one_that_does_not_exist(
        browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1, tlp=Tlp.RED), recipients=(community.globex.id,))
    carol = browser("carol")
    hidden = carol.get(f"/objects/{IND}")
    missing = carol.get("/objects/indicator--00000000-0000-4000-8000-00000000ffff")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(IND, "X") == missing.text.replace("indicator--00000000-0000-4000-8000-00000000ffff", "X")
    assert browser("bob").get(f"/objects/{IND}").status_code == 200


def test_sighting_buttons_record_a_sighting_of_the_visitor_organization(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    bob = browser("bob")
    bob.get(f"/objects/{IND}")
    response = bob.post(f"/objects/{IND}/sightings", {"kind": "seen"})
    assert response.status_code == 303 and response.headers["location"] == f"/objects/{IND}?done=seen"
    view = bob.view(f"/objects/{IND}?done=seen")
    assert view["sightings"]["own"]["seen"] is True and "recorded" in view["notice"]
    bob.post(f"/objects/{IND}/sightings", {"kind": "false-positive"})
    assert bob.view(f"/objects/{IND}")["sightings"]["own"]["false_positive"] is True
    # ACME sees one other organization behind the count: fewer than k = 3, withheld
    assert browser("alice").view(f"/objects/{IND}")["sightings"]["seen"]["organizations"] is None


def test_a_sighting_without_csrf_or_by_a_reader_is_refused(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    bob = browser("bob")
    assert bob.post(f"/objects/{IND}/sightings", {"kind": "seen"}, csrf=False).status_code == 403
    carol = browser("carol")
    assert carol.post(f"/objects/{IND}/sightings", {"kind": "seen"}).status_code == 403
    assert bob.view(f"/objects/{IND}")["sightings"]["own"]["seen"] is False
    assert "Sighted it" not in carol.get(f"/objects/{IND}").text


def test_correlation_and_provenance(browser: Any, community: Community) -> None:
    share(community, community.acme.id, indicator(1))
    share(community, community.globex.id, indicator(251))  # the same address, 198.51.100.1
    community.node.sequencer.poke()
    view = browser("bob").view(f"/objects/{IND}")
    [address] = view["correlation"]
    assert address["value"] == "198.51.100.1" and address["organizations"] == 2 and address["first"] == "ACME CERT"
    assert any(r["id"].endswith("000000000251") for r in view["related"]["rows"])
    proof = view["provenance"]
    assert proof["status"] == "verified", proof
    assert proof["size"] > proof["index"] >= 0
    bundle = browser("bob").client.get(f"/objects/{IND}/proof")
    assert bundle.status_code == 200 and bundle.json()["object"]["id"] == IND
