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


def test_probe_sight_invisible(browser: Any, community: Any) -> None:
    share(community, community.acme.id, indicator(7, tlp=Tlp.RED, name="for globex only"), recipients=(community.globex.id,))
    carol = browser("carol")
    bob = browser("bob")
    for b in (carol, bob):
        for oid in (indicator(7)["id"], indicator(8)["id"]):
            r = b.post(f"/objects/{oid}/sightings", {"kind": "seen"}, headers={"Accept": "application/json"})
            print(oid[-3:], r.status_code, r.text[:300])
            r = b.client.get(f"/objects/{oid}?format=json")
            print(oid[-3:], r.status_code, r.text[:200])
            r = b.client.get(f"/objects/{oid}/proof?format=json")
            print(oid[-3:], r.status_code, r.text[:200])


def test_probe_granular(browser: Any, community: Any) -> None:
    obj = indicator(5, name="public name")
    obj["description"] = "secretword zanzibar"
    obj["external_references"] = [{"source_name": "x", "url": "https://secret.example/zanzibar", "external_id": "SECRETID"}]
    obj["granular_markings"] = [{"marking_ref": Tlp.RED.value, "selectors": ["description", "external_references", "name"]}]
    share(community, community.acme.id, obj)
    carol = browser("carol")
    v = carol.view("/objects/" + obj["id"])
    print(v["name"], v["description"], v["links"], v["raw"])
    print([r["name"] for r in carol.view("/feed")["rows"]])
    print(carol.view("/search?q=zanzibar")["rows"])
    print(carol.view("/search?q=secretid")["rows"])
    print(carol.view("/search?q=secret.example")["rows"], carol.view("/search?q=secret.example")["value"])
    print(carol.view("/search?q=https://secret.example/zanzibar")["value"])
    print(carol.view("/search?q=public")["rows"])
    print(carol.client.get("/objects/" + obj["id"] + "/proof").status_code)
    v = carol.view("/objects/" + obj["id"])
    print(v["provenance"], v["correlation"])


def test_probe_dos(browser: Any, community: Any) -> None:
    import time
    share(community, community.acme.id, indicator(1))
    alice = browser("alice")
    for n in (100, 1000, 5000):
        q = "type=" + ",".join(f"t{i}" for i in range(n))
        t = time.perf_counter(); r = alice.client.get("/feed?format=json&" + q); print("types", n, r.status_code, round(time.perf_counter() - t, 3), r.text[:150])
        q = "label=" + ",".join(f"t{i}" for i in range(n))
        t = time.perf_counter(); r = alice.client.get("/feed?format=json&" + q); print("labels", n, r.status_code, round(time.perf_counter() - t, 3), r.text[:100])
    alice.get("/publish")
    body = "x\n" * 400_000
    t = time.perf_counter()
    r = alice.post("/publish", {"kind": "indicator", "collection": community.collection, "values": body, "action": "preview"})
    print("publish junk", r.status_code, round(time.perf_counter() - t, 2), len(r.content))
    body = "\n".join(f"198.51.{i // 250}.{i % 250}" for i in range(60000))
    t = time.perf_counter()
    r = alice.post("/publish", {"kind": "indicator", "collection": community.collection, "values": body, "action": "preview"})
    print("publish many", r.status_code, round(time.perf_counter() - t, 2), len(r.content))


def test_probe_dos2(browser: Any, community: Any) -> None:
    import time
    alice = browser("alice")
    alice.get("/publish")
    body = "x\n" * 200_000
    for action in ("preview", "publish"):
        t = time.perf_counter()
        r = alice.post("/publish", {"kind": "indicator", "collection": community.collection, "values": body, "action": action})
        print("publish junk", action, r.status_code, round(time.perf_counter() - t, 2), len(r.content))
        t = time.perf_counter()
        r = alice.post("/publish?format=json", {"kind": "indicator", "collection": community.collection, "values": body, "action": action})
        print("publish junk json", action, r.status_code, round(time.perf_counter() - t, 2), len(r.content))
