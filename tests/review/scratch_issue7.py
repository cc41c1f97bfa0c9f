from __future__ import annotations
from typing import Any
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp
from tests.web.ui import conftest as ui
from tests.web.ui.test_feed import indicator, share

community = ui.community
browser = ui.browser
_cheap_passwords = ui._cheap_passwords


def test_probe_feed_anon(browser: Any, community: Any) -> None:
    share(community, community.acme.id, indicator(1))
    node = community.node
    node.sightings.record(Actor(community.globex.id, Role.CONTRIBUTOR), indicator(1)["id"], anonymous=True)
    alice = browser("alice")
    print(alice.view("/feed?type=sighting")["rows"])
    print(alice.view("/feed?type=sighting&organization=Globex%20SOC")["rows"])
    print(alice.view("/feed?type=sighting&organization=Initech%20Security")["rows"])


def test_probe_anon_object(browser: Any, community: Any) -> None:
    import json, time
    share(community, community.acme.id, indicator(1))
    node = community.node
    r = node.sightings.record(Actor(community.globex.id, Role.CONTRIBUTOR), indicator(1)["id"], anonymous=True)
    print(r)
    time.sleep(1.5)
    alice = browser("alice")
    rows = alice.view("/feed?type=sighting")["rows"]
    sid = rows[0]["id"]
    v = alice.view("/objects/" + sid)
    print(json.dumps({k: v[k] for k in ("contributor", "created_by", "provenance", "raw", "recipients")}, indent=1))
    p = alice.client.get(f"/objects/{sid}/proof")
    print(p.status_code, p.text[:3000])
    print(community.globex.id, community.acme.id)


def test_probe_sessions(browser: Any, community: Any) -> None:
    alice = browser("alice")
    cookie = alice.client.cookies.get("phalanx_session")
    community.node.admin.set_password("alice", "another long enough passphrase")
    print("after pw change", alice.client.get("/feed?format=json").status_code)
    r = alice.post("/signout")
    print("signout", r.status_code, r.headers.get("location"))
    print("after signout (new cookie)", alice.client.get("/feed?format=json").status_code)
    other = browser()
    other.client.cookies.set("phalanx_session", cookie)
    print("replayed old cookie", other.client.get("/feed?format=json").status_code)


def test_probe_peer_key(browser: Any, community: Any) -> None:
    secret, rec = community.node.admin.create_key(community.globex.id, Role.PEER)
    b = browser()
    b.get("/signin")
    r = b.post("/signin", {"key": secret, "next": "/feed"})
    print("peer signin", r.status_code, r.headers.get("location"))
    b.get("/publish")
    print("peer publish page", b.client.get("/publish?format=json").json().get("can_publish"))
    print(b.client.get("/feed?format=json").status_code)


def test_probe_audience(browser: Any, community: Any) -> None:
    admin = community.node.admin
    umb = admin.add_organization("Umbrella Corp")
    admin.add_community("secret", title="Secret")
    admin.join("secret", umb.id)
    admin.add_user("wesker", org_ref=umb.id, role=Role.CONTRIBUTOR, password=ui.PASSWORD)
    alice = browser("alice")
    for orgs, people in [("umbrella corp", ""), ("nonexistent corp", ""), (umb.id, ""), ("identity--00000000-0000-4000-8000-000000000000", ""),
                         ("", "wesker"), ("", "WESKER"), ("", "nobody"), ("", "bob"), ("", "root"), ("Globex SOC", "")]:
        r = alice.post("/publish/audience", {"kind": "indicator", "collection": community.collection, "tlp": "red",
                                              "recipients": orgs, "people": people}, headers={"Accept": "application/json"})
        print(repr(orgs), repr(people), r.status_code, r.text[:400])
