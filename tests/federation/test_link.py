"""Two or three nodes in one process, each on its own SQLite file and loopback port: following a peer,
catching up, live updates, no echo, the policy at every hop, and hostile peers."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from phalanx.errors import NotFound
from phalanx.federation import Federation
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.store import Query, VersionFilter
from tests.federation.sites import Site
from tests.support import INDICATOR, bundle


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-1111-4b0c-8b5e-0c1f9a55d6aa", **extra)


def eventually(check: Callable[[], bool], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.05)


def test_a_node_catches_up_then_follows_live(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    a.share(*(indicator(i) for i in range(30)))
    b.follow(a)
    b.federation.start()
    eventually(lambda: len(b.ids()) == 30)
    a.share(indicator(100))
    eventually(lambda: indicator(100)["id"] in b.ids())
    status = b.federation.status("a")
    assert status.state.received == 31 and status.state.refused == 0 and status.running
    assert status.state.checkpoint_size >= 1 and status.state.cursors
    # B's own organization sees them (they were shared with A's community, which B's node is a member of)
    assert indicator(100)["id"] in b.ids(as_org=b.org.id)


def test_two_nodes_following_each_other_never_echo(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a)
    a.follow(b)
    a.federation.start()
    b.federation.start()
    a.share(*(indicator(i) for i in range(5)))
    b.share(*(indicator(i) for i in range(100, 103)))
    eventually(lambda: len(a.ids()) == 8 and len(b.ids()) == 8)
    time.sleep(1.5)  # time for an echo to come back, were there one
    assert a.federation.status("b").state.received == 3
    assert b.federation.status("a").state.received == 5
    assert a.federation.status("b").state.refused == 0 and b.federation.status("a").state.refused == 0


def test_strict_and_red_objects_reach_only_recipients_and_never_travel_on(sites: Callable[[str], Site]) -> None:
    a, b, c = sites("a"), sites("b"), sites("c")
    b.follow(a)
    c.follow(b)
    peer_b_on_a = a.node.admin.organization("peer b").id
    red = tlp_marking_definition(Tlp.RED)["id"]
    strict = tlp_marking_definition(Tlp.AMBER_STRICT)["id"]
    amber = tlp_marking_definition(Tlp.AMBER)["id"]
    a.share(indicator(1, object_marking_refs=[red]))  # RED, named no one: A's own
    a.share(indicator(2, object_marking_refs=[red]), indicator(3, object_marking_refs=[strict]),
            recipients=(peer_b_on_a,))  # for B's node
    a.share(indicator(4, object_marking_refs=[strict]))  # AMBER+STRICT to the whole community (B's node included)
    a.share(indicator(5, object_marking_refs=[amber]))  # AMBER: the community
    a.share(indicator(6))  # unmarked: B cannot know A's default, so it keeps it for its own organization
    b.federation.start()
    c.federation.start()
    eventually(lambda: indicator(5)["id"] in c.ids())
    time.sleep(1.0)
    assert b.ids() == {indicator(i)["id"] for i in (2, 3, 4, 5, 6)}
    # on B, what was for B's node is for B's own organization only
    other = b.node.admin.add_organization("Another member of B")
    b.node.admin.join("isac", other.id)
    assert b.ids(as_org=b.org.id) == {indicator(i)["id"] for i in (2, 3, 4, 5, 6)}
    assert b.ids(as_org=other.id) == {indicator(5)["id"]}
    # ... and never travels on: C gets only the AMBER object
    assert c.ids() == {indicator(5)["id"]}


def test_a_forged_signature_and_a_foreign_version_are_refused_and_logged(sites: Callable[[str], Site]) -> None:
    from phalanx.ledger import generate_key, sign_object
    from phalanx.service import to_row
    from phalanx.stix import StixObject

    a, b = sites("a"), sites("b")
    key = generate_key(a.org.id, now=1)
    a.node.provenance.publish(None, key.public)
    signed = sign_object(indicator(1, created_by_ref=a.org.id), key)
    a.share(signed)  # a genuine signed object
    # A (now hostile) stores what B must refuse, past its own checks: a tampered signed object, and a new
    # version of an object B's own organization contributed.
    b.share(indicator(7))
    forged = dict(sign_object(indicator(2, created_by_ref=a.org.id), key), name="tampered after signing")
    foreign = indicator(7, modified="2020-01-01T00:00:00.000Z", name="A rewrites B's object")
    collection = a.node.admin.collection("isac").id
    a.node.backend.store.put_many(collection, [to_row(StixObject.from_dict(forged)),
                                               to_row(StixObject.from_dict(foreign))], contributor=a.org.id)
    b.follow(a)
    b.federation.start()
    eventually(lambda: b.federation.status("a").state.refused == 2)
    a.share(indicator(3))  # the link keeps working for valid traffic
    eventually(lambda: indicator(3)["id"] in b.ids())
    reasons = {r.object_id: r.reason for r in b.federation.status("a").refusals}
    assert reasons[indicator(2)["id"]].startswith("signature:")
    assert reasons[indicator(7)["id"]].startswith("foreign")
    assert indicator(1)["id"] in b.ids() and indicator(2)["id"] not in b.ids()
    assert b.node.reader.export(Query(ids=(indicator(7)["id"],), versions=(VersionFilter.ALL,))).__next__().version \
        < 1577836800000000  # B's own version only


def test_an_inconsistent_checkpoint_is_refused_and_the_link_goes_on(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    a.share(indicator(1))
    a.node.sequencer.run_once()
    b.follow(a)
    size = b.federation.status("a").state.checkpoint_size
    assert size >= 1
    # What B saw of A's log before: a tree of the same size with another root (A showed two histories).
    b.node.backend.peers.remove("a")
    b.follow(a)
    engine = b.node.backend.store._engine  # type: ignore[attr-defined]
    engine.write(lambda tx: tx.run("UPDATE peers SET checkpoint_root = ? WHERE name = 'a'", [b"\x00" * 32]))
    b.federation.start()
    a.share(indicator(2))
    eventually(lambda: indicator(2)["id"] in b.ids())
    eventually(lambda: any(r.reason.startswith("checkpoint:") for r in b.federation.status("a").refusals))
    assert b.federation.status("a").state.checkpoint_root == b"\x00" * 32  # never replaced by the refused one


def test_a_restarted_link_resumes_where_it_was(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a)
    b.federation.start()
    a.share(*(indicator(i) for i in range(20)))
    eventually(lambda: len(b.ids()) == 20)
    b.federation.close()
    a.share(*(indicator(i) for i in range(20, 45)))
    again = Federation(b.node)
    again.start()
    try:
        eventually(lambda: len(b.ids()) == 45)
        assert again.status("a").state.received == 45
    finally:
        again.close()


def test_egress_allowlists_narrow_what_a_peer_reads(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    a.node.admin.add_collection("other", community="isac")
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--00000005-1111-4b0c-8b5e-0c1f9a55d6aa",
               "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "name": "Ivy",
               "is_family": True}
    a.share(indicator(1), malware)
    assert a.node.ingest.document(a.actor, "other", bundle(indicator(2)))[0].outcome == "accepted"
    secret, _ = a.federation.invite("b", collections=("isac",), types=("indicator",))
    b.federation.add(a.url, secret, name="a")
    b.federation.start()
    eventually(lambda: indicator(1)["id"] in b.ids())
    a.share(indicator(3))
    eventually(lambda: indicator(3)["id"] in b.ids())
    assert b.ids() == {indicator(1)["id"], indicator(3)["id"]}  # no malware, nothing from "other"
    with pytest.raises(NotFound):
        b.node.admin.collection("other")  # B never even learnt it exists


def test_reconciliation_finds_and_fills_a_gap_the_cursors_cannot_see(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    red = tlp_marking_definition(Tlp.RED)["id"]
    a.share(*(indicator(i) for i in range(60)))
    a.share(indicator(999, object_marking_refs=[red]))  # A's own: never revealed, not even as a count
    b.follow(a)
    b.federation.start()
    eventually(lambda: len(b.ids()) == 60)
    b.federation.close()
    # B loses some versions its cursors are past (a restore from an old backup, an operator's mistake...)
    local = b.node.admin.collection("isac").id
    lost = [str(indicator(i)["id"]) for i in range(0, 60, 7)]
    for oid in lost:
        b.node.backend.store.delete(local, oid)
    assert len(b.ids()) == 60 - len(lost)
    report = Federation(b.node).reconcile("a")
    assert (report.missing, report.stored) == (len(lost), len(lost))
    assert report.rounds <= 4 and report.sent + report.received < 20_000
    assert len(b.ids()) == 60
    again = Federation(b.node).reconcile("a")
    assert (again.missing, again.rounds) == (0, 1)  # in step: one round, "same"


def test_the_reconcile_endpoint_answers_only_for_what_the_caller_may_see(sites: Callable[[str], Site]) -> None:
    import json
    import urllib.error
    import urllib.request

    from phalanx.federation._reconcile import VersionSet

    a = sites("a")
    red = tlp_marking_definition(Tlp.RED)["id"]
    a.share(indicator(1), indicator(2, object_marking_refs=[red]))
    secret, _ = a.federation.invite("b")

    def post(body: object, ref: str = "isac") -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(f"{a.url}/api/v1/collections/{ref}/reconcile", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {secret}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, answer = post({"ranges": [VersionSet([]).whole().record()]})
    assert status == 200
    assert answer == {"answers": [{"items": [[indicator(1)["id"], 1459973028000000]]}]}  # not the RED one
    for bad in ({}, {"ranges": []}, {"ranges": [{"lo": "0"}]}, [1]):
        status, answer = post(bad)
        assert status == 400 and answer["description"]
    assert post({"ranges": [VersionSet([]).whole().record()]}, ref="nope")[0] == 404


def test_a_node_the_peer_cannot_reach_pushes_to_it(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    red = tlp_marking_definition(Tlp.RED)["id"]
    secret, _ = a.federation.invite("b")
    b.federation.add(a.url, secret, name="a", direction="both")  # A has no way to reach B: B pushes, and pulls
    b.federation.start()
    b.share(indicator(1), indicator(2), indicator(4, object_marking_refs=[red]))
    eventually(lambda: {indicator(1)["id"], indicator(2)["id"]} <= a.ids())
    a.share(indicator(3))
    eventually(lambda: indicator(3)["id"] in b.ids())
    b.share(indicator(5))
    eventually(lambda: indicator(5)["id"] in a.ids())
    time.sleep(1.5)  # time for an echo, were there one
    assert a.ids() == {indicator(i)["id"] for i in (1, 2, 3, 5)}  # B's RED object stays on B
    assert b.federation.status("a").state.refused == 0  # A's object was not pushed back to it
    on_a = a.node.backend.store.get(str(indicator(1)["id"]))
    assert on_a.contributor == a.node.admin.organization("peer b").id


def test_a_link_to_a_peer_with_nothing_new_goes_live_at_once(sites: Callable[[str], Site]) -> None:
    a, b = sites("a"), sites("b")
    b.follow(a)  # A holds nothing: its TAXII pages are empty envelopes ({"more": false}, no "objects")
    b.federation.start()
    time.sleep(1.0)
    started = time.monotonic()
    a.share(indicator(1))
    eventually(lambda: indicator(1)["id"] in b.ids(), timeout=10)
    assert time.monotonic() - started < 1.0
    assert b.federation.status("a").state.last_error == ""
