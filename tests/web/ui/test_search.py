"""The search page: by value (correlated: who reported it, first), by words in names, descriptions, labels and
patterns, with filters; never an object outside the visitor's audience, found or counted; hostile text is text.

The page runs over the memory store and over SQLite (whose FTS5 text index has a query language of its own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from phalanx.identity import Actor, Role
from phalanx.stix import Tlp

from .conftest import Community, open_community, share

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(params=["memory", "sqlite"])
def community(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Community]:
    """The conftest's community (three member organizations), on each backend."""
    built = open_community("memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db", tmp_path)
    try:
        yield built
    finally:
        built.node.close()


def indicator(n: int, pattern: str, *, name: str | None = None, description: str = "", tlp: Tlp = Tlp.GREEN,
              labels: tuple[str, ...] = ("malicious-activity",)) -> dict[str, Any]:
    found: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": name or f"indicator {n}", "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z", "labels": list(labels), "object_marking_refs": [tlp.value]}
    if description:
        found["description"] = description
    return found


def ip(n: int, address: str, **kw: Any) -> dict[str, Any]:
    return indicator(n, f"[ipv4-addr:value = '{address}']", **kw)


def report(n: int, name: str, description: str) -> dict[str, Any]:
    return {"type": "report", "spec_version": "2.1", "id": f"report--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": name,
            "description": description, "published": "2026-01-01T00:00:00Z",
            "object_refs": ["indicator--00000000-0000-4000-8000-000000000001"],
            "object_marking_refs": [Tlp.GREEN.value]}


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in rows]


def search(who: Any, query: str) -> dict[str, Any]:
    view: dict[str, Any] = who.view("/search?" + query)
    return view


# by value -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "asked", "kind"), [
    ("[ipv4-addr:value = '198.51.100.7']", "198.51.100.7", "ipv4-addr"),
    ("[ipv4-addr:value = '198.51.100.7']", "198[.]51[.]100[.]7", "ipv4-addr"),
    ("[domain-name:value = 'evil.example.com']", "Evil.Example.com", "domain-name"),
    ("[url:value = 'http://evil.example.com/a.php?x=1']", "hxxp://evil.example.com/a.php?x=1", "url"),
    ("[email-addr:value = 'phish@evil.example.com']", "phish@evil.example.com", "email-addr"),
    (f"[file:hashes.'SHA-256' = '{SHA256}']", SHA256.upper(), "sha256"),
])
def test_a_value_finds_the_indicator_and_who_reported_it_first(browser: Any, community: Community, pattern: str,
                                                               asked: str, kind: str) -> None:
    share(community, community.globex.id, indicator(1, pattern, name="globex's"))
    share(community, community.acme.id, indicator(2, pattern, name="acme's"))
    share(community, community.acme.id, ip(3, "203.0.113.9", name="unrelated"))
    view = search(browser("carol"), "q=" + quote(asked, safe=""))
    value = view["value"]
    assert value["kind"] == kind
    assert value["reported_by"] == 2
    assert value["first"]["name"] == "Globex SOC"
    assert [o["name"] for o in value["organizations"]] == ["Globex SOC", "ACME CERT"]
    assert names(view["carrying"]) == ["acme's", "globex's"]  # newest first
    assert "unrelated" not in names(view["rows"])


def test_a_value_nobody_reported(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.7"))
    view = search(browser("bob"), "q=192.0.2.55")
    assert view["value"]["reported_by"] == 0 and view["value"]["first"] is None
    assert view["carrying"] == [] and view["rows"] == []
    assert "No organization has reported this value" in browser("bob").get("/search?q=192.0.2.55").text


def test_a_report_mentioning_a_value_is_found_by_its_text(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.7"))
    share(community, community.globex.id,
          report(2, "Wave of March", "The loader calls 198.51.100.7 and evil.example.com."))
    view = search(browser("carol"), "q=198.51.100.7")
    assert names(view["carrying"]) == ["indicator 1"]
    assert names(view["rows"]) == ["Wave of March"]  # by its words; the indicator is listed once, above
    assert names(search(browser("carol"), "q=example.com")["rows"]) == ["Wave of March"]


# by words -----------------------------------------------------------------------------------------------------


def test_words_find_names_descriptions_labels_and_patterns(browser: Any, community: Community) -> None:
    share(community, community.acme.id,
          ip(1, "198.51.100.7", name="Emotet loader", description="Dropped by a phishing campaign"),
          ip(2, "198.51.100.8", name="QakBot C2", labels=("botnet-c2",)),
          report(3, "Emotet returns", "Week 12 summary"))
    carol = browser("carol")
    assert names(search(carol, "q=emotet")["rows"]) == ["Emotet returns", "Emotet loader"]
    assert names(search(carol, "q=EMOTET+loader")["rows"]) == ["Emotet loader"]
    assert names(search(carol, "q=phishing+campaign")["rows"]) == ["Emotet loader"]
    assert names(search(carol, "q=botnet-c2")["rows"]) == ["QakBot C2"]
    assert names(search(carol, "q=198.51.100.8+qakbot")["rows"]) == ["QakBot C2"]
    assert search(carol, "q=emotet+nowhere")["rows"] == []
    assert search(carol, "q=emot")["rows"] == []  # whole words
    assert search(carol, "q=emotet")["terms"] == ["emotet"]


def test_filters_narrow_and_combine_with_words(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.1", name="acme one", labels=("phishing",)),
          report(2, "acme report", "one"))
    share(community, community.globex.id, ip(3, "198.51.100.3", name="globex one"))
    carol = browser("carol")
    assert names(search(carol, "q=one")["rows"]) == ["globex one", "acme report", "acme one"]
    assert names(search(carol, "q=one&type=indicator")["rows"]) == ["globex one", "acme one"]
    assert names(search(carol, "type=report")["rows"]) == ["acme report"]
    assert names(search(carol, "q=one&label=Phishing")["rows"]) == ["acme one"]
    assert names(search(carol, "q=one&organization=globex+soc")["rows"]) == ["globex one"]
    assert names(search(carol, "organization=ACME+CERT&type=indicator")["rows"]) == ["acme one"]
    assert names(search(carol, "")["rows"]) == ["globex one", "acme report", "acme one"]
    # a blank form (every field empty) is no filter
    assert len(search(carol, "q=&type=&label=&organization=&since=&until=")["rows"]) == 3


def test_time_range_is_by_day_both_ends_included(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.1", name="today's"))
    carol = browser("carol")
    added = search(carol, "q=today")["rows"][0]["added"][:10]
    assert names(search(carol, f"q=today&since={added}&until={added}")["rows"]) == ["today's"]
    assert names(search(carol, f"since={added}")["rows"]) == ["today's"]
    assert search(carol, "q=today&until=2001-01-01")["rows"] == []
    assert search(carol, "q=today&since=2999-01-01")["rows"] == []


def test_older_results_continue_the_listing(browser: Any, community: Community) -> None:
    share(community, community.acme.id, *(ip(n, f"198.51.100.{n}", name=f"paged {n}") for n in range(1, 6)))
    carol = browser("carol")
    first = search(carol, "q=paged&limit=2")
    assert names(first["rows"]) == ["paged 5", "paged 4"] and first["more"]
    second = carol.view(first["next"])
    assert names(second["rows"]) == ["paged 3", "paged 2"]
    third = carol.view(second["next"])
    assert names(third["rows"]) == ["paged 1"] and not third["more"] and third["next"] is None
    assert 'rel="next"' in carol.get("/search?q=paged&limit=2").text


def test_the_page_says_when_the_bound_stopped_the_search(browser: Any, community: Community) -> None:
    """A search reads ``scan`` matches at most, whoever may read them: the page says so and searches further back
    from where it stopped."""
    community.node.search.scan = 3
    share(community, community.initech.id, ip(1, "192.0.2.1", name="deep public"))
    share(community, community.acme.id, *(ip(n, f"198.51.100.{n}", name=f"deep secret {n}", tlp=Tlp.RED)
                                          for n in range(2, 6)), recipients=(community.globex.id,))
    share(community, community.initech.id, ip(6, "192.0.2.6", name="deep recent"))
    carol = browser("carol")
    first = search(carol, "q=deep")
    assert names(first["rows"]) == ["deep recent"] and first["bounded"] is True and first["scan"] == 3
    assert first["more"] is True and "before=" in first["next"]
    html = carol.get("/search?q=deep").text
    assert 'id="bounded"' in html and "reading 3 matches" in html and "Search further back" in html
    assert "Older results" not in html and "secret" not in html
    second = carol.view(first["next"])
    assert names(second["rows"]) == ["deep public"] and second["bounded"] is False and second["next"] is None
    assert 'id="bounded"' not in carol.get(first["next"]).text
    community.node.search.scan = 5
    empty = search(carol, "q=secret")
    assert empty["rows"] == [] and empty["bounded"] is False and empty["next"] is None  # 4 matches: all read
    community.node.search.scan = 3
    empty = search(carol, "q=secret")
    assert empty["rows"] == [] and empty["bounded"] is True
    assert "Nothing you may read is among the matches read" in carol.get("/search?q=secret").text


# the audience -------------------------------------------------------------------------------------------------


def test_tlp_red_for_another_organization_is_never_found_nor_counted(browser: Any, community: Community) -> None:
    """ACME shares a TLP:RED indicator with Globex only; Initech's reader neither finds it by words, nor by its
    value, nor by its contributor, nor sees it take a place in a page of one; Globex does."""
    share(community, community.initech.id, ip(1, "192.0.2.1", name="zanzibar public", tlp=Tlp.CLEAR))
    share(community, community.acme.id,
          ip(2, "198.51.100.66", name="zanzibar secret", description="operation nightjar", tlp=Tlp.RED),
          recipients=(community.globex.id,))
    carol, bob = browser("carol"), browser("bob")
    page = search(carol, "q=zanzibar&limit=1")
    assert names(page["rows"]) == ["zanzibar public"] and page["more"] is False and page["next"] is None
    assert search(carol, "q=nightjar")["rows"] == []
    assert search(carol, "organization=ACME+CERT")["rows"] == []
    value = search(carol, "q=198.51.100.66")
    assert value["value"]["reported_by"] == 0 and value["carrying"] == [] and value["rows"] == []
    html = carol.get("/search?q=zanzibar").text
    assert "zanzibar secret" not in html and "nightjar" not in html
    # the recipient finds it, by each of these
    page = search(bob, "q=zanzibar&limit=1")
    assert names(page["rows"]) == ["zanzibar secret"] and page["more"] is True
    assert names(search(bob, "q=nightjar")["rows"]) == ["zanzibar secret"]
    assert search(bob, "q=198.51.100.66")["value"]["reported_by"] == 1
    assert names(search(bob, "q=198.51.100.66")["carrying"]) == ["zanzibar secret"]


def test_a_contributor_filter_does_not_unmask_anonymous_sightings(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.1", name="watched"))
    sighted = "indicator--00000000-0000-4000-8000-000000000001"
    node = community.node
    node.sightings.record(Actor(community.globex.id, Role.CONTRIBUTOR), sighted, anonymous=True)
    node.sightings.record(Actor(community.initech.id, Role.CONTRIBUTOR), sighted)
    alice, bob = browser("alice"), browser("bob")
    assert len(search(alice, "type=sighting")["rows"]) == 2
    assert [r["contributor"] for r in search(alice, "type=sighting")["rows"]] == ["Initech Security", "anonymous"]
    assert search(alice, "type=sighting&organization=Globex+SOC")["rows"] == []
    assert len(search(alice, "type=sighting&organization=Initech+Security")["rows"]) == 1
    assert len(search(bob, "type=sighting&organization=Globex+SOC")["rows"]) == 1  # its own


# input --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("since=2026-13-01", "since='2026-13-01' is not a date"),
    ("until=yesterday", "until='yesterday' is not a date"),
    ("since=2026-1-5", "is not a date"),
    ("since=2026-03-02&until=2026-03-01", "'until' is before 'since'"),
    ("organization=Nobody+Inc", "no organization is named 'Nobody Inc'"),
    ("type=Not+A+Type", "is not a STIX type"),
    ("limit=0", "limit='0' must be a whole number"),
    ("bogus=1", "unknown parameter 'bogus'"),
    ("q=a&q=b", "q may be given once"),
])
def test_bad_input_is_named_next_to_the_form(browser: Any, query: str, message: str) -> None:
    carol = browser("carol")
    response = carol.client.get(f"/search?{query}&format=json")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    page = carol.get(f"/search?{query}")
    assert page.status_code == 400
    assert 'role="alert"' in page.text and 'name="q"' in page.text  # the form is still there


HOSTILE = ['<script>alert(1)</script>', '"', '" OR 1=1 --', "'; DROP TABLE versions; --", 'NEAR(a b)', "a OR b",
           "name:evil", "*", "e*", "(", ")", '"unbalanced', "AND", "NOT x", "^start", "{a b}", "\\", "%_%",
           "\u202eevil", "a" * 1000]


def test_hostile_text_is_searched_as_text_and_shown_escaped(browser: Any, community: Community) -> None:
    """Quotes, FTS5 operators (NEAR, OR, NOT, *, ^, column filters), SQL and markup: each is searched as the words
    it holds, never breaks the query, and is shown back escaped."""
    share(community, community.acme.id, *(ip(n, "198.51.100.1", name=f"bait{n} {text}"[:250])
                                          for n, text in enumerate(HOSTILE, start=1)))
    carol = browser("carol")
    for n, text in enumerate(HOSTILE, start=1):
        response = carol.client.get("/search?q=" + quote(text, safe=""))
        assert response.status_code == 200, text
        assert "<script>alert(1)</script>" not in response.text
        view = search(carol, "q=" + quote(text, safe=""))
        assert view["query"]["q"] == text
        if re.search(r"[^\W_]", text):  # it has a word: the bait is found by it
            assert f"bait{n}" in " ".join(names(view["rows"])), text


def test_a_contributed_script_is_found_and_rendered_escaped(browser: Any, community: Community) -> None:
    share(community, community.acme.id, ip(1, "198.51.100.1", name='<script>alert("x")</script> "q" & co',
                                           labels=("<img src=x onerror=alert(1)>",)))
    carol = browser("carol")
    page = carol.get("/search?q=script")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert names(search(carol, "q=onerror")["rows"]) == ['<script>alert("x")</script> "q" & co']


def test_signed_out_visitors_are_sent_to_sign_in(browser: Any) -> None:
    response = browser().client.get("/search?q=x", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_the_page_is_a_form_with_labels_and_the_search_nav_is_current(browser: Any) -> None:
    html = browser("carol").get("/search").text
    assert '<form class="filters search" method="get" action="/search" role="search"' in html
    assert '<a href="/search" aria-current="page">' in html
    for name in ("q", "type", "label", "organization", "since", "until"):
        assert f'name="{name}"' in html
