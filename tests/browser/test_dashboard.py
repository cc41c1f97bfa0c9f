"""The dashboard in headless Chromium: signing in and out, the live feed across two organizations' sessions,
sightings, TLP:RED kept from non-recipients everywhere, hostile contributions (also through a federation link)
that never execute, the keyboard, 390 px wide screens, and the Content-Security-Policy of every page.

Every page is screenshotted at 1280 and 390 px into tests/browser/artifacts/<page>-<width>.png.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from phalanx.config import Settings
from phalanx.federation import Federation
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.stix import Tlp
from phalanx.store import Query
from tests.browser.chromium import ARTIFACTS, Opener, Tab
from tests.browser.world import COMMUNITY, SIGHTED_VALUE, Person, World, indicator, report, wait_for
from tests.streams.server import served

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips the tests (or fails them, with PHALANX_REQUIRE_BROWSER=1)
    expect = None

LIVE_MS = 10_000
"""How long an object may take to appear in a feed watching live."""

PAGES = ("signin", "feed", "search", "object", "publish", "community", "network", "admin")
WHO = {"signin": None, "admin": "olga"}
"""Who looks at each page (alice of Northwind Energy CERT unless named here; signin: nobody signed in)."""


def path_of(site: World, name: str) -> str:
    return {"object": f"/objects/{site.indicator['id']}", "search": f"/search?q={SIGHTED_VALUE}"}.get(name, "/" + name)


def unique_domain() -> str:
    return f"c2-{uuid.uuid4().hex[:10]}.bad.example"


def watch_feed(t: Tab, path: str = "/feed") -> None:
    """Open the feed and wait until its script listens to the live stream."""
    response = t.go(path)
    assert response.status == 200, response.status
    t.page.wait_for_selector("table#feed[data-ready='1']", state="attached")
    expect(t.page.locator("#live-status")).to_contain_text("Live")
    t.page.evaluate("() => { window.__same_document = true; }")  # gone if the page reloads


def feed_row(t: Tab, text: str) -> Any:
    return t.page.locator("table#feed tbody tr", has_text=text)


def overflowing(t: Tab) -> list[str]:
    """The innermost elements that reach past the right edge of the screen (outside a scrolling wrapper)."""
    found: list[str] = t.page.evaluate("""() => {
        const width = document.documentElement.clientWidth, out = [];
        const past = e => !(e.parentElement && e.parentElement.closest('.table-wrap, pre'))
                          && e.getBoundingClientRect().right > width + 1;
        for (const e of document.querySelectorAll('body *')) {
            if (!past(e) || [...e.children].some(past)) continue;
            out.push(e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' "'
                     + (e.textContent || '').trim().slice(0, 40) + '"');
        }
        return out.slice(0, 8);
    }""")
    return found


def json_view(t: Tab, path: str) -> dict[str, Any]:
    """The JSON form of a page, asked with the tab's own session."""
    answer = t.page.request.get(t.base + path + ("&" if "?" in path else "?") + "format=json")
    assert answer.ok, (path, answer.status, answer.text())
    view: dict[str, Any] = answer.json()
    return view


# -- every page -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", PAGES)
def test_each_page_renders_under_the_policy_and_fits_the_screen(tab: Opener, site: World, name: str,
                                                                width: int) -> None:
    t = tab(WHO.get(name, "alice"), width=width)
    response = t.go(path_of(site, name))
    assert response.status == 200, f"{name}: HTTP {response.status}"
    assert urllib.parse.urlsplit(t.page.url).path == path_of(site, name).split("?")[0]
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    expect(t.page.locator("main h1").first).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    t.page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    if width == 390:
        wide = t.page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390 + 1, f"{name} scrolls sideways at 390 px: {wide} px wide, because of {overflowing(t)}"
        # a table wider than the screen scrolls inside its wrapper, not the page
        loose = t.page.evaluate("""() => [...document.querySelectorAll('table')]
            .filter(t => t.getBoundingClientRect().width > 390)
            .filter(t => { const w = t.closest('.table-wrap');
                           return !w || !['auto', 'scroll'].includes(getComputedStyle(w).overflowX); })
            .map(t => t.id || t.className || 'table')""")
        assert loose == [], f"{name}: tables wider than the screen outside a scrolling wrapper: {loose}"
    assert t.problems() == []


def test_every_answer_of_the_dashboard_carries_the_policy(tab: Opener, site: World) -> None:
    """The sign-in form, a redirect to it, an error page, a JSON view and the static files: the same headers."""
    nobody, alice = tab(), tab("alice")
    seen = {}
    for t, path in ((nobody, "/signin"), (nobody, "/feed"), (alice, "/feed?format=json"),
                    (alice, "/objects/indicator--00000000-0000-4000-8000-000000000000"), (alice, "/feed?tlp=purple"),
                    (alice, "/static/phalanx.js"), (alice, "/static/phalanx.css")):
        answer = t.page.request.get(site.url + path, max_redirects=0)
        seen[path] = answer.status
        csp = answer.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
        assert answer.headers.get("x-frame-options") == "DENY", path
    assert seen["/feed"] == 303 and seen["/feed?tlp=purple"] == 400, seen
    assert seen["/objects/indicator--00000000-0000-4000-8000-000000000000"] == 404, seen


# -- signing in and out -----------------------------------------------------------------------------------


def test_sign_in_with_a_password_refuses_a_wrong_one_and_signs_out(tab: Opener, site: World) -> None:
    t = tab()
    t.go("/feed")
    assert urllib.parse.urlsplit(t.page.url).path == "/signin" and "next=%2Ffeed" in t.page.url
    form = t.page.locator("form:has(input[name=username])")
    for username, password in (("alice", "not alices password"), ("nobody-here", site.alice.password)):
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        with t.page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/signin")) as answer:
            form.locator("button[type=submit]").click()
        assert answer.value.status == 401
        expect(t.page.get_by_role("alert")).to_contain_text("wrong user name or password")
        expect(form.locator("input[name=password]")).to_have_value("")  # the password is never sent back
        assert t.page.locator("nav[aria-label=Main]").count() == 0
    form.locator("input[name=username]").fill("alice")
    form.locator("input[name=password]").fill(site.alice.password)
    form.locator("button[type=submit]").click()
    t.page.wait_for_url(site.url + "/feed")
    me = t.page.locator("header .me")
    expect(me).to_contain_text("alice")
    expect(me).to_contain_text("Northwind Energy CERT")
    t.page.get_by_role("button", name="Sign out").click()
    t.page.wait_for_url(re.compile(r"/signin$"))
    t.go("/feed")
    assert urllib.parse.urlsplit(t.page.url).path == "/signin"
    assert t.page.locator("header .me").count() == 0
    assert t.problems(expected_status=(401,)) == []


# -- the live feed ----------------------------------------------------------------------------------------


def publish(t: Tab, site: World, value: str, name: str) -> str:
    """Share an indicator for ``value`` at TLP:GREEN through the /publish form, after a preview of who will see
    it; its id."""
    assert t.go("/publish").status == 200
    page = t.page
    form = page.locator("form[action='/publish']")
    form.locator("select[name=collection]").select_option(value=site.node.admin.collection(COMMUNITY).id)
    form.locator("textarea[name=values]").fill(value)
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=tlp]").select_option(label="TLP:GREEN")
    form.get_by_role("button", name="Preview audience").click()
    expect(page.locator("#audience")).to_contain_text("Contoso Water Utility")
    expect(page.locator("main table")).to_contain_text(value)  # the pattern built from the value
    page.locator("form[action='/publish']").get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r"/objects/indicator--[0-9a-f-]+(\?.*)?$"))
    expect(page.locator("main h1")).to_contain_text(name)
    return urllib.parse.urlsplit(page.url).path.rsplit("/", 1)[1]


def test_an_indicator_published_by_one_organization_appears_live_in_anothers_feed(tab: Opener,
                                                                                  site: World) -> None:
    watcher = tab("bob")
    watch_feed(watcher)
    publisher = tab("alice")
    value = unique_domain()
    object_id = publish(publisher, site, value, f"Phishing kit host {value}")
    row = feed_row(watcher, f"Phishing kit host {value}")
    expect(row).to_have_count(1, timeout=LIVE_MS)
    assert watcher.page.evaluate("() => window.__same_document") is True, "the feed reloaded"
    expect(row).to_contain_text("Northwind Energy CERT")
    expect(row.locator(".tlp")).to_have_text("TLP:GREEN")
    expect(row.locator("a")).to_have_attribute("href", f"/objects/{object_id}")
    expect(watcher.page.locator("#live-status")).to_contain_text("just arrived")
    assert watcher.problems() == [] and publisher.problems() == []


# -- sightings --------------------------------------------------------------------------------------------


def test_a_sighting_recorded_on_the_object_page_is_counted(tab: Opener, site: World) -> None:
    made = indicator(unique_domain(), kind="domain-name", name="Phishing domain seen by Fabrikam")
    site.share(site.carol, made)
    url = f"/api/v1/objects/{made['id']}/sightings"
    assert site.api(site.bob, "GET", url)["own"]["seen"] is False
    t = tab("bob")
    assert t.go(f"/objects/{made['id']}").status == 200
    t.page.get_by_role("button", name="Sighted it", exact=True).click()
    t.page.wait_for_url(re.compile(r"done=seen"))
    expect(t.page.get_by_role("status")).to_contain_text("recorded")
    own = site.api(site.bob, "GET", url)["own"]
    assert own["seen"] is True and own["sightings"] == 1 and own["false_positive"] is False
    assert site.api(site.carol, "GET", url)["own"]["seen"] is False  # Contoso's sighting, not Fabrikam's
    t.page.get_by_role("button", name="False positive", exact=True).click()
    t.page.wait_for_url(re.compile(r"done=false-positive"))
    assert site.api(site.bob, "GET", url)["own"]["false_positive"] is True
    expect(t.page.locator("main")).to_contain_text("reported it a false positive")
    assert t.problems() == []


# -- TLP:RED ----------------------------------------------------------------------------------------------


def share_red(site: World) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A TLP:RED indicator Fabrikam shares with Northwind only, then a TLP:GREEN one for everyone, for the same
    domain; the two, and the domain."""
    value = unique_domain()
    red = indicator(value, kind="domain-name", tlp=Tlp.RED, name=f"RED for Northwind only: {value}")
    after = indicator(value, kind="domain-name", name=f"GREEN, shared after the red one ({value})")
    site.share(site.carol, red, recipients=(site.alice.org,))
    site.share(site.carol, after)
    return red, after, value


def test_a_red_object_reaches_its_recipient_live_and_no_one_else(tab: Opener, site: World) -> None:
    a, b = tab("alice"), tab("bob")
    watch_feed(a)
    watch_feed(b)
    red, _after, value = share_red(site)
    expect(feed_row(a, f"RED for Northwind only: {value}")).to_have_count(1, timeout=LIVE_MS)
    expect(feed_row(a, f"RED for Northwind only: {value}").locator(".tlp")).to_have_text("TLP:RED")
    # B watched while it was shared: it got the object shared after it, and not it
    expect(feed_row(b, f"GREEN, shared after the red one ({value})")).to_have_count(1, timeout=LIVE_MS)
    b.page.wait_for_timeout(500)
    assert feed_row(b, "RED for Northwind only").count() == 0
    assert red["id"] not in b.page.content()
    # nor after a reload, nor in the feed's JSON form
    b.go("/feed")
    assert red["id"] not in b.page.content() and value in b.text()  # (the green one names the value)
    assert red["id"] not in json.dumps(json_view(b, "/feed?limit=200"))
    assert red["id"] in json.dumps(json_view(a, "/feed?limit=200"))
    assert a.problems() == [] and b.problems() == []


def test_a_red_objects_page_is_the_same_404_as_no_object_to_others(tab: Opener, site: World) -> None:
    red, _after, value = share_red(site)
    a = tab("alice")
    assert a.go(f"/objects/{red['id']}").status == 200
    expect(a.page.locator(".banner")).to_contain_text("TLP:RED")
    expect(a.page.locator(".banner")).to_contain_text("Northwind Energy CERT")  # the named recipient
    b = tab("bob")
    hidden = b.go(f"/objects/{red['id']}")
    hidden_text = b.text().replace(red["id"], "<id>")
    nothing_id = f"indicator--{uuid.uuid4()}"
    nothing = b.go(f"/objects/{nothing_id}")
    nothing_text = b.text().replace(nothing_id, "<id>")
    assert hidden.status == nothing.status == 404
    assert hidden_text == nothing_text
    assert value not in hidden_text
    assert b.problems(expected_status=(404,)) == []


def test_search_finds_by_value_but_never_a_red_object_for_others(tab: Opener, site: World) -> None:
    red, after, value = share_red(site)
    a, b = tab("alice"), tab("bob")
    query = "/search?" + urllib.parse.urlencode({"q": value})
    for t in (a, b):
        assert t.go(query).status == 200
        expect(t.page.locator("#value")).to_contain_text("Fabrikam Grid Operator")
    expect(a.page.locator(f"#carrying a[href='/objects/{red['id']}']")).to_have_count(1)
    expect(b.page.locator(f"#carrying a[href='/objects/{after['id']}']")).to_have_count(1)
    assert b.page.locator(f"a[href='/objects/{red['id']}']").count() == 0
    assert red["id"] not in b.page.content() and "RED for Northwind only" not in b.page.content()
    # nor counted, nor dated: what B is told is what it would be told were there no red object
    seen_by_a, seen_by_b = json_view(a, query), json_view(b, query)
    assert red["id"] not in json.dumps(seen_by_b)
    assert seen_by_a["value"]["reports"] == 2 and seen_by_b["value"]["reports"] == 1
    green_added = next(r["added"] for r in seen_by_b["carrying"] if r["id"] == after["id"])
    assert seen_by_b["value"]["first"]["first_reported"] == green_added
    assert [o["objects"] for o in seen_by_b["value"]["organizations"]] == [1]
    assert a.problems() == [] and b.problems() == []


# -- hostile contributions --------------------------------------------------------------------------------

PAYLOADS = {
    "script": "<script>window.__pwned=1</script>",
    "img": '<img src=x onerror="window.__pwned=1">',
    "svg": '"><svg onload=window.__pwned=1>',
    "js": "javascript:window.__pwned=1",
    "template": "{{7*7}}",
}
HOSTILE_ORG = f"{PAYLOADS['img']} Hostile CERT"
REMOTE_ORG = f"{PAYLOADS['script']} Remote CERT"
HOSTILE_USER = f"{PAYLOADS['svg']}mallory"
REMOTE_COLLECTION = f"{PAYLOADS['script']} west feed"
"""The title of the peer's collection: this node makes a collection of that title to receive it."""
MARKDOWN = f"""\
# Heading {PAYLOADS['script']}

{PAYLOADS['img']}

[click me]({PAYLOADS['js']}) and [me too](JaVaScRiPt:window.__pwned=1) and <a href="{PAYLOADS['js']}">raw</a>

![picture]({PAYLOADS['js']}) {PAYLOADS['template']} {PAYLOADS['svg']}
"""


@dataclass
class Hostile:
    named: dict[str, Any]
    """An indicator whose name, description, labels, pattern and references carry the payloads."""
    unnamed: dict[str, Any]
    """An indicator without a name: its pattern (carrying a payload) is what pages show."""
    report: dict[str, Any]
    """A report whose Markdown body carries the payloads."""
    federated: dict[str, Any]
    """An indicator shared on another node, by an organization with a hostile name, that came over a peer link."""
    identity: dict[str, Any]
    """The remote organization's identity, with its hostile name, that came over the same link."""


@pytest.fixture(scope="module")
def hostile(site: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    admin = site.node.admin
    org = admin.add_organization(HOSTILE_ORG)
    admin.join(COMMUNITY, org.id)
    admin.add_user(HOSTILE_USER, org_ref=org.id, role=Role.CONTRIBUTOR)
    key, _ = admin.create_key(org.id, Role.CONTRIBUTOR, label=PAYLOADS["svg"])
    mallory = Person(HOSTILE_USER, "", org, key)
    everything = " ".join(PAYLOADS.values())
    named = indicator(f"{uuid.uuid4().hex[:8]}.hostile.example", kind="domain-name",
                      name=f"{PAYLOADS['script']} {PAYLOADS['template']}",
                      description=everything, labels=[PAYLOADS["svg"], PAYLOADS["template"], PAYLOADS["img"]],
                      external_references=[{"source_name": PAYLOADS["img"], "url": PAYLOADS["js"]},
                                           {"source_name": "spoofed", "url": "JavaScript:window.__pwned=1"},
                                           {"source_name": PAYLOADS["svg"], "url": "https://example.org/advisory"}])
    unnamed = indicator(PAYLOADS["img"], kind="file")
    story = report(f"{PAYLOADS['svg']} weekly report", MARKDOWN, [named["id"], unnamed["id"]], labels=[PAYLOADS["js"]])
    site.share(mallory, named, unnamed, story)
    with ExitStack() as stack:
        home = tmp_path_factory.mktemp("remote")
        remote = Node.open(Settings(home=home, database_url=f"sqlite:///{home / 'remote.db'}",
                                    stream_heartbeat_seconds=1.0, warninglists="off"), upgrade=True)
        stack.callback(remote.close)
        remote.admin.add_community("isac", title=PAYLOADS["svg"], collection=REMOTE_COLLECTION)
        remote_org = remote.admin.add_organization(REMOTE_ORG)
        remote.admin.join("isac", remote_org.id)
        remote_url = stack.enter_context(served(remote))
        remote_federation = Federation(remote)
        stack.callback(remote_federation.close)
        federation = Federation(site.node)
        stack.callback(federation.close)
        secret, _ = remote_federation.invite("hub")
        federation.add(remote_url, secret, name="remote", community=COMMUNITY, home=site.alice.org.id)
        federation.start()
        identity = {"type": "identity", "spec_version": "2.1", "id": remote_org.id, "created": named["created"],
                    "modified": named["created"], "name": PAYLOADS["img"] + " (identity)",
                    "identity_class": "organization", "object_marking_refs": named["object_marking_refs"]}
        federated = indicator(f"{uuid.uuid4().hex[:8]}.peer.example", kind="domain-name",
                              name=f"{PAYLOADS['svg']} from a peer {PAYLOADS['template']}",
                              description=f"{PAYLOADS['script']} {PAYLOADS['js']}", labels=[PAYLOADS["script"]],
                              created_by_ref=remote_org.id)
        results = remote.ingest.document(Actor(remote_org.id, Role.CONTRIBUTOR), REMOTE_COLLECTION, json.dumps(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [identity, federated]}).encode())
        assert all(r.outcome == "accepted" for r in results), results
        wait_for(lambda: len(list(site.node.reader.export(Query(ids=(federated["id"], identity["id"])),
                                                          actor=site.alice.actor))) == 2,
                 timeout=20, what="the federated objects' arrival")
        yield Hostile(named, unnamed, story, federated, identity)


def assert_inert(t: Tab, *visible: str) -> None:
    """Nothing of the payloads ran or became markup, and they show as text."""
    page = t.page
    assert t.pwned() is None, "a payload ran"
    assert t.dialogs == []
    injected = page.evaluate("""() => {
        const found = [];
        for (const e of document.querySelectorAll('*')) {
            for (const a of e.attributes) if (/^on/i.test(a.name)) found.push(e.tagName + '[' + a.name + ']');
        }
        for (const e of document.querySelectorAll('body script, svg, iframe, object, embed, img[src="x"]'))
            found.push(e.tagName);
        for (const e of document.querySelectorAll('[href], [src], [action], [formaction]')) {
            const v = (e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action')
                       || e.getAttribute('formaction') || '').replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
            if (v.startsWith('javascript:') || v.startsWith('data:text') || v.startsWith('vbscript:'))
                found.push(e.tagName + ' ' + v);
        }
        return found;
    }""")
    assert injected == [], injected
    text = page.inner_text("body")
    for wanted in visible:
        assert wanted in text, f"{wanted!r} is not shown as text on {page.url}"
    assert t.problems() == []


HOSTILE_PAGES = ("feed", "search", "named", "unnamed", "report", "federated", "identity", "publish", "community",
                 "network", "admin")


@pytest.mark.parametrize("where", HOSTILE_PAGES)
def test_hostile_contributions_show_as_text_and_never_run(tab: Opener, site: World, hostile: Hostile,
                                                          where: str) -> None:
    t = tab("olga" if where in ("admin", "network") else "alice")
    p = PAYLOADS
    paths: dict[str, tuple[str, tuple[str, ...]]] = {
        "feed": ("/feed", (hostile.named["name"], hostile.report["name"], hostile.federated["name"], HOSTILE_ORG,
                           p["img"])),
        "search": ("/search?" + urllib.parse.urlencode({"q": "hostile.example"}), (hostile.named["name"],)),
        "named": (f"/objects/{hostile.named['id']}", (p["script"], p["img"], p["svg"], p["js"], p["template"],
                                                       HOSTILE_ORG)),
        "unnamed": (f"/objects/{hostile.unnamed['id']}", (p["img"],)),
        "report": (f"/objects/{hostile.report['id']}", (p["svg"], "click me", p["template"])),
        "federated": (f"/objects/{hostile.federated['id']}", (p["svg"], p["script"], p["template"])),
        "identity": (f"/objects/{hostile.identity['id']}", (hostile.identity["name"],)),
        "publish": ("/publish", ()),
        "community": ("/community", (HOSTILE_ORG,)),
        "network": ("/network", ("remote",)),
        "admin": ("/admin", (HOSTILE_ORG, HOSTILE_USER, REMOTE_COLLECTION)),
    }
    path, visible = paths[where]
    response = t.go(path)
    assert response.status == 200, f"{path}: HTTP {response.status}"
    t.page.wait_for_timeout(200)  # an onload or onerror would have fired by now
    assert_inert(t, *visible)
    if where == "publish":  # the peer's collection, which may be published into
        expect(t.page.locator("select[name=collection] option", has_text=REMOTE_COLLECTION)).to_have_count(1)
    if where == "report":  # the Markdown became markup, but not its raw HTML nor its script links
        expect(t.page.locator(".markdown h1")).to_contain_text("Heading")
        for name in ("click me", "me too", "raw"):
            link = t.page.locator(".markdown a", has_text=name)
            for href in link.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
                assert not href.strip().lower().startswith("javascript"), href


def test_hostile_contributions_never_run_in_the_live_feed(tab: Opener, site: World, hostile: Hostile) -> None:
    t = tab("bob")
    watch_feed(t)
    mallory_key = site.node.admin.create_key(HOSTILE_ORG, Role.CONTRIBUTOR)[0]
    mallory = Person("mallory", "", site.node.admin.organization(HOSTILE_ORG), mallory_key)
    marker = uuid.uuid4().hex[:8]
    made = indicator(f"{marker}.live.example", kind="domain-name", name=f"{PAYLOADS['img']} {marker}",
                     labels=[PAYLOADS["script"]])
    bare = indicator(PAYLOADS["svg"] + marker, kind="file")
    site.share(mallory, made, bare)
    expect(feed_row(t, marker)).to_have_count(2, timeout=LIVE_MS)
    t.page.wait_for_timeout(200)
    assert_inert(t, made["name"], PAYLOADS["svg"] + marker, HOSTILE_ORG)


# -- the keyboard -----------------------------------------------------------------------------------------


def test_the_feed_is_usable_from_the_keyboard(tab: Opener, site: World) -> None:
    t = tab("alice")
    watch_feed(t)
    t.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached: list[dict[str, str]] = []
    for _ in range(60):
        t.page.keyboard.press("Tab")
        here = t.page.evaluate("""() => { const e = document.activeElement;
            return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '',
                    href: e.getAttribute('href') || '', cls: e.className || '',
                    inFeed: !!e.closest('table#feed tbody'), inNav: !!e.closest('nav'),
                    inFilters: !!e.closest('form.filters')}; }""")
        reached.append(here)
        if here["inFeed"] and here["tag"] == "a":
            break
    else:
        raise AssertionError(f"Tab never reached an object of the feed: {reached}")
    assert "skip" in reached[0]["cls"] and reached[0]["href"] == "#main", reached[0]
    nav = [r["href"] for r in reached if r["inNav"]]
    assert nav[:2] == ["/feed", "/search"] and "/publish" in nav, nav
    filters = {r["name"] for r in reached if r["inFilters"]}
    assert {"type", "tlp", "label"} <= filters, filters
    assert any(r["inFilters"] and r["tag"] == "button" for r in reached)
    first = reached[-1]
    assert first["href"] == t.page.locator("table#feed tbody tr a").first.get_attribute("href")
    t.page.keyboard.press("Enter")
    t.page.wait_for_url(re.compile(re.escape(site.url + first["href"]) + "$"))
    expect(t.page.locator("main h1")).to_be_visible()
    assert t.page.locator(".banner .tlp").count() == 1  # the object's page, with its TLP banner
    assert t.problems() == []

