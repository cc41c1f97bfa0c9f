"""The Publish page: indicators from pasted values, a report in Markdown with its indicators, TLP and recipients,
the audience preview (checked against what each organization then reads through the API), and what is refused."""

from __future__ import annotations

from typing import Any

from phalanx.identity import Role
from phalanx.stix import Tlp

from .conftest import Community


def key_of(community: Community, *, org: str | None = None, user: str | None = None) -> str:
    """A reader key of an organization, or a key of a person."""
    secret, _ = community.node.admin.create_key(org, None if user else Role.READER, user_ref=user)
    return secret


def api_objects(community: Community, browser: Any, key: str | None = None, *, org: str | None = None
                ) -> dict[str, dict[str, Any]]:
    """What the holder of ``key`` (or of a new reader key of ``org``) reads through the JSON API."""
    key = key or key_of(community, org=org)
    response = browser().client.get(f"/api/v1/collections/{community.collection}/objects",
                                    headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return {o["id"]: o for o in response.json()["objects"]}


def stored(community: Community) -> int:
    """How many objects the store holds, whoever may see them."""
    return community.node.backend.store.stats().objects


def form(community: Community, **fields: Any) -> dict[str, Any]:
    return {"kind": "indicator", "collection": community.collection, "tlp": "green", "action": "publish", **fields}


def published_id(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/objects/")
    return str(location.removeprefix("/objects/"))


PATTERNS = {  # more kinds, and their edge cases, in tests/service/test_publish.py
    "198.51.100.7": "[ipv4-addr:value = '198.51.100.7']",
    "198.51.100.0/24": "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "2001:DB8:0:0::1": "[ipv6-addr:value = '2001:db8::1']",
    "2001:db8::/32": "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
    "evil[.]example": "[domain-name:value = 'evil.example']",
    "https://evil.example/login?next=it's": "[url:value = 'https://evil.example/login?next=it\\'s']",
    "Phish@Evil.Example": "[email-addr:value = 'phish@evil.example']",
    "44D88612FEA8A8F36DE82E1278ABB02F": "[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']",
    "3395856ce81f2b7382dee72602f798b642f14140": "[file:hashes.'SHA-1' = '3395856ce81f2b7382dee72602f798b642f14140']",
    "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f":
        "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']",
    "cc805d5fab1fd71a4ab352a9c533e65fb2d5b885518f4e565e68847223b8e6b85cb48f3afad842726d99239c9e36505c64b0dc9a061d9e"
    "507d833277ada336ab":
        "[file:hashes.'SHA-512' = 'cc805d5fab1fd71a4ab352a9c533e65fb2d5b885518f4e565e68847223b8e6b85cb48f3afad842726d99"
        "239c9e36505c64b0dc9a061d9e507d833277ada336ab']",
}


def test_each_kind_of_pasted_value_becomes_an_indicator_with_the_right_pattern(browser: Any, community: Community
                                                                               ) -> None:
    alice = browser("alice")
    alice.get("/publish")
    preview = alice.post("/publish?format=json", form(community, values="\n".join(PATTERNS), action="preview"))
    assert [(v["text"], v["pattern"]) for v in preview.json()["preview"]["values"]] == list(PATTERNS.items())
    first = published_id(alice.post("/publish", form(community, values="\n".join(PATTERNS))))
    seen = api_objects(community, browser, org=community.globex.id)  # another member, through the API
    assert sorted(o["pattern"] for o in seen.values()) == sorted(PATTERNS.values())
    assert seen[first]["pattern"] == PATTERNS["198.51.100.7"]  # the page shown is the first value's
    for indicator in seen.values():
        assert indicator["type"] == "indicator" and indicator["pattern_type"] == "stix"
        assert indicator["created_by_ref"] == community.acme.id
        assert indicator["object_marking_refs"] == [Tlp.GREEN.value]
        assert indicator["valid_from"] == indicator["created"]
        assert "name" not in indicator and "labels" not in indicator


def test_several_values_make_several_indicators_with_the_details_given(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    response = alice.post("/publish", form(
        community, values="198.51.100.7\n\n  evil.example  \n198.51.100.7\n", name="Campaign X infrastructure",
        description="Seen in phishing <b>today</b>", labels="phishing, c2, phishing", valid_days="30",
        confidence="80", tlp="amber"))
    first = published_id(response)
    seen = api_objects(community, browser, org=community.globex.id)
    assert len(seen) == 2  # the repeated value is shared once
    assert sorted(o["pattern"] for o in seen.values()) == ["[domain-name:value = 'evil.example']",
                                                            "[ipv4-addr:value = '198.51.100.7']"]
    assert seen[first]["pattern"] == "[ipv4-addr:value = '198.51.100.7']"  # the page shows the first one
    for indicator in seen.values():
        assert indicator["name"] == "Campaign X infrastructure"
        assert indicator["description"] == "Seen in phishing <b>today</b>"
        assert indicator["labels"] == ["phishing", "c2"]
        assert indicator["confidence"] == 80
        assert indicator["object_marking_refs"] == [Tlp.AMBER.value]
        assert indicator["valid_until"][:10] > indicator["valid_from"][:10]


def test_a_report_in_markdown_refers_to_its_indicators(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish?kind=report")
    body = "# Wave of phishing\n\n* uses **evil.example**\n* see [advisory](https://cert.example/a)\n"
    response = alice.post("/publish", form(
        community, kind="report", title="Phishing wave", body=body, report_types=["threat-report", "campaign"],
        values="evil.example\n198.51.100.7"))
    report_id = published_id(response)
    assert report_id.startswith("report--")
    seen = api_objects(community, browser, org=community.initech.id)
    report = seen[report_id]
    assert report["name"] == "Phishing wave"
    assert report["description"] == body
    assert report["report_types"] == ["threat-report", "campaign"]
    assert report["published"] == report["created"]
    assert report["created_by_ref"] == community.acme.id
    assert len(report["object_refs"]) == 2 and set(report["object_refs"]) == set(seen) - {report_id}
    assert [seen[i]["pattern"] for i in report["object_refs"]] == ["[domain-name:value = 'evil.example']",
                                                                   "[ipv4-addr:value = '198.51.100.7']"]


def test_the_report_preview_renders_its_markdown_without_running_anything(browser: Any, community: Community
                                                                          ) -> None:
    alice = browser("alice")
    alice.get("/publish?kind=report")
    body = "**bold** <script>alert(1)</script> [x](javascript:alert(1)) ![i](https://tracker.example/p.png)"
    response = alice.post("/publish", form(community, kind="report", title="t", body=body, values="evil.example",
                                           action="preview"))
    assert response.status_code == 200
    html = response.text
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html and "<img" not in html
    assert 'href="https://tracker.example/p.png" rel="noopener noreferrer nofollow"' in html
    assert stored(community) == 0  # a preview shares nothing


def test_tlp_red_reaches_the_named_recipient_only(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    object_id = published_id(alice.post("/publish", form(community, values="198.51.100.66", tlp="red",
                                                         recipients="Globex SOC")))
    assert object_id in api_objects(community, browser, org=community.globex.id)
    assert api_objects(community, browser, org=community.initech.id) == {}
    assert object_id in api_objects(community, browser, org=community.acme.id)  # its own


AUDIENCES = [
    ("clear", "", ""),
    ("green", "", ""),
    ("green", "Globex SOC", ""),
    ("amber", "", ""),
    ("amber", "Globex SOC", ""),
    ("amber+strict", "Initech Security", ""),
    ("amber", "", "carol"),
    ("red", "", ""),
    ("red", "Globex SOC\nInitech Security", ""),
    ("red", "", "carol"),
]


def test_the_audience_preview_is_exactly_who_then_reads_it(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    names = {community.acme.id: "ACME CERT", community.globex.id: "Globex SOC",
             community.initech.id: "Initech Security"}
    keys = {org: key_of(community, org=org) for org in names}
    carol = key_of(community, user="carol")
    for n, (level, recipients, people) in enumerate(AUDIENCES):
        fields = form(community, values=f"198.51.100.{n}", tlp=level, recipients=recipients, people=people)
        asked = alice.post("/publish/audience", {**fields, "action": "preview"},
                           headers={"Accept": "application/json"})
        assert asked.status_code == 200, asked.text
        script = asked.json()
        page = alice.post("/publish?format=json", {**fields, "action": "preview"})  # the no-JS button
        assert page.status_code == 200, page.text
        preview = page.json()["preview"]
        assert preview["audience"] == script["audience"]
        assert [v["pattern"] for v in preview["values"]] == [f"[ipv4-addr:value = '198.51.100.{n}']"]
        assert stored(community) == n  # a preview shares nothing
        assert all(" — " in line for line in script["audience"])
        assert script["audience"][-1] == "The node's administrators — node administrators see everything"
        organizations = {s["name"] for s in script["seers"] if s["kind"] == "organization"}
        person = [s["name"] for s in script["seers"] if s["kind"] == "person"]

        object_id = published_id(alice.post("/publish", fields))
        readers = {name for org, name in names.items() if object_id in api_objects(community, browser, keys[org])}
        assert organizations == readers, (level, recipients, people)
        carol_reads = object_id in api_objects(community, browser, carol)
        assert carol_reads == ("Initech Security" in organizations or bool(person)), (level, recipients, people)
        assert person == (["carol (Initech Security)"] if carol_reads and "Initech Security" not in readers else [])


def test_the_preview_warns_when_recipients_do_not_narrow_the_level(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    answer = alice.post("/publish/audience", form(community, tlp="green", recipients="Globex SOC"),
                        headers={"Accept": "application/json"}).json()
    assert any("do not narrow it" in note for note in answer["notes"])
    answer = alice.post("/publish/audience", form(community, tlp="red"), headers={"Accept": "application/json"}).json()
    assert [s["name"] for s in answer["seers"] if s["kind"] == "organization"] == ["ACME CERT"]
    assert any("only your organization can read it" in note for note in answer["notes"])


def test_unrecognised_values_are_named_by_line_and_nothing_is_shared(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    response = alice.post("/publish?format=json", form(community, values="198.51.100.7\nnot a value\nevil.example\n"
                                                                          "javascript:alert(1)"))
    assert response.status_code == 400
    errors = response.json()["errors"]["values"]
    assert errors[0].startswith("line 2: 'not a value' is not an IP address")
    assert errors[1].startswith("line 4: 'javascript:alert(1)' is not")
    assert stored(community) == 0
    html = alice.post("/publish", form(community, values="<img src=x onerror=alert(1)>")).text
    assert "line 1: &#39;&lt;img src=x onerror=alert(1)&gt;&#39; is not" in html and "<img src=x" not in html
    assert 'aria-invalid="true"' in html
    assert stored(community) == 0


FIELD_PROBLEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"values": ""}, "values", "paste at least one value"),
    ({"confidence": "101"}, "confidence", "0 to 100"),
    ({"confidence": "7.5"}, "confidence", "whole number"),
    ({"valid_days": "soon"}, "valid_days", "is not a number"),
    ({"valid_days": "-1"}, "valid_days", "above 0"),
    ({"tlp": "purple"}, "tlp", "not a TLP 2.0 level"),
    ({"recipients": "Outsider Inc"}, "recipients", "is not a member of community"),
    ({"people": "nobody"}, "recipients", "is not of a member organization"),
    ({"kind": "report", "title": ""}, "title", "needs a title"),
    ({"kind": "report", "title": "t", "values": ""}, "values", "a report refers to at least one indicator"),
    ({"kind": "report", "title": "t", "report_types": ["gossip"]}, "report_types", "not one of"),
    ({"collection": "no-such-collection"}, "collection", "no collection"),
]


def test_a_field_that_cannot_be_shared_gets_its_message_and_nothing_is_shared(browser: Any, community: Community
                                                                              ) -> None:
    alice = browser("alice")
    alice.get("/publish")
    for fields, where, message in FIELD_PROBLEMS:
        response = alice.post("/publish?format=json", {**form(community, values="198.51.100.7"), **fields})
        assert response.status_code in (400, 404), response.text
        view = response.json()
        assert any(message in m for m in view["errors"][where]), (fields, view["errors"])
        assert view["form"]["values"] == fields.get("values", "198.51.100.7")  # what was typed is kept
    assert stored(community) == 0


def test_what_was_typed_comes_back_as_text(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    hostile = '</textarea><script>alert(1)</script>"><img src=x onerror=alert(1)>'
    html = alice.post("/publish", form(community, values="198.51.100.7", name=hostile, description=hostile,
                                       labels=hostile, confidence=hostile, recipients=hostile,
                                       action="preview")).text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert stored(community) == 0


def test_when_the_node_refuses_one_object_nothing_is_shared(browser: Any, community: Community) -> None:
    only_indicators = community.node.admin.add_collection("indicators only", community="isac",
                                                          types=("indicator",))
    alice = browser("alice")
    alice.get("/publish?kind=report")
    response = alice.post("/publish?format=json", form(community, kind="report", collection=only_indicators.id,
                                                       title="t", values="198.51.100.7\nevil.example"))
    assert response.status_code == 422
    view = response.json()
    assert view["problem"].startswith("Nothing was shared")
    assert len(view["refusals"]) == 1 and "takes only indicator objects" in view["refusals"][0]
    assert stored(community) == 0  # not even the two indicators the collection would take


def test_a_form_without_the_csrf_token_is_refused_and_shares_nothing(browser: Any, community: Community) -> None:
    alice = browser("alice")
    alice.get("/publish")
    response = alice.post("/publish", form(community, values="198.51.100.7"), csrf=False)
    assert response.status_code == 403
    response = alice.post("/publish", {**form(community, values="198.51.100.7"), "csrf": "forged"})
    assert response.status_code == 403
    response = alice.post("/publish/audience", form(community), csrf=False, headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.json()["title"] == "CsrfRefused"
    assert stored(community) == 0


def test_a_reader_cannot_publish_and_is_told_why(browser: Any, community: Community) -> None:
    carol = browser("carol")
    view = carol.view("/publish")
    assert view["can_publish"] is False and view["collections"] == []
    assert "role reader may not share objects" in view["why_not"]["description"]
    assert "You cannot publish here" in carol.get("/publish").text
    response = carol.post("/publish?format=json", form(community, values="198.51.100.7"))
    assert response.status_code == 403
    assert "role reader may not share objects" in response.json()["problem"]
    response = carol.post("/publish/audience", form(community), headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert stored(community) == 0


def test_signed_out_visitors_are_sent_to_sign_in(browser: Any) -> None:
    response = browser().get("/publish", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=%2Fpublish"


def test_the_form_offers_the_writable_collections_and_the_default_tlp(browser: Any, community: Community) -> None:
    view = browser("alice").view("/publish?kind=report")
    assert view["kind"] == "report"
    assert sorted(c["title"] for c in view["collections"]) == ["isac", "shared"]
    assert {c["community_title"] for c in view["collections"]} == {"Test ISAC"}
    assert view["form"]["tlp"] == community.node.settings.default_tlp.label
    assert [level["title"] for level in view["levels"]] == [t.title for t in Tlp]
    assert view["members"] == [{"community": "Test ISAC",
                                "organizations": ["ACME CERT", "Globex SOC", "Initech Security"]}]
