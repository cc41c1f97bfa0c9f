"""The federation and ledger health page (/network), over two real nodes on loopback (tests/federation's sites):
B follows A and A follows B; A sends B a forged signature and a foreign version, which B refuses; A witnesses B's
log. What a member sees there, and what only node administrators see."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.config import Settings
from phalanx.federation import PEER_ORG_PREFIX
from phalanx.identity import Actor, Role
from phalanx.ledger import generate_key, sign_object
from phalanx.ledger._base64 import encode
from phalanx.ledger._note import Checkpoint, sign_note
from phalanx.ledger._witness import Witness
from phalanx.policy import may_know_peer, may_see_network_detail
from phalanx.service import Node, to_row
from phalanx.service._network import PEER_ORG_PREFIX as SERVICE_PEER_ORG_PREFIX
from phalanx.service._network import public_url
from phalanx.stix import StixObject, now_micros
from phalanx.store import Refusal
from phalanx.store._ledger import StoredCheckpoint
from phalanx.web import create_app
from phalanx.web.ui._format import when
from phalanx.web.ui._network import duration
from tests.federation.sites import Site, open_site
from tests.federation.test_link import eventually
from tests.support import INDICATOR, bundle

from .conftest import Browser

WITNESS = "a-witness"


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-2222-4b0c-8b5e-0c1f9a55d6aa", **extra)


@dataclass
class Linked:
    a: Site
    b: Site
    browsers: Callable[[str], Browser]


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    root = tmp_path_factory.mktemp("network")
    with ExitStack() as stack:
        a, b = open_site(stack, root, "a"), open_site(stack, root, "b")
        # A witnesses B's log, from B's first checkpoint on.
        Witness(a.node.backend.ledger, a.node.ledger.cosigner).watch(b.node.ledger.origin, b.node.ledger.verifier_keys)
        b.node.backend.ledger.set_witness(WITNESS, a.url + "/witness", a.node.ledger.witness_key)
        # A (hostile, as in tests/federation) stores past its own checks what B must refuse: a signed object
        # tampered with after signing, and a new version of an object B's own organization contributed.
        key = generate_key(a.org.id, now=1)
        a.node.provenance.publish(None, key.public)
        a.share(sign_object(indicator(1, created_by_ref=a.org.id), key))
        b.share(indicator(7))
        b.node.sequencer.run_once()
        forged = dict(sign_object(indicator(2, created_by_ref=a.org.id), key), name="tampered after signing")
        foreign = indicator(7, modified="2020-01-01T00:00:00.000Z", name="A rewrites B's object")
        a.node.backend.store.put_many(a.node.admin.collection("isac").id, [
            to_row(StixObject.from_dict(forged)), to_row(StixObject.from_dict(foreign))], contributor=a.org.id)
        b.follow(a)  # B follows A ...
        a.follow(b)  # ... and A follows B (B made it a peer key); A's links are not started
        b.federation.invite("c")  # a node invited to follow B, which has not come yet
        b.federation.start()
        eventually(lambda: b.federation.status("a").state.refused == 2 and indicator(1)["id"] in b.ids())
        b.node.sequencer.run_once()
        eventually(lambda: bool(b.node.backend.ledger.cosignatures(b.node.ledger.latest().size)))  # type: ignore[union-attr]
        admin = b.node.admin
        admin.add_community("elsewhere", title="Another community")
        outsider = admin.add_organization("Outsider Inc")
        admin.join("elsewhere", outsider.id)
        # Signed in with API keys (passwords are tested in test_signin.py; argon2 would make this module slow).
        keys = {name: admin.create_key(org.id, role, label=name)[0] for name, org, role in (
            ("root", b.org, Role.ADMIN), ("alice", b.org, Role.CONTRIBUTOR), ("olga", b.org, Role.ORG_ADMIN),
            ("otto", outsider, Role.CONTRIBUTOR))}
        app = create_app(b.node)
        yield Linked(a, b, signed_in_with_keys(stack, app, keys))


def signed_in_with_keys(stack: ExitStack, app: Any, keys: dict[str, str]) -> Callable[[str], Browser]:
    """``browser(name)``: a browser signed in with the API key ``keys[name]`` (one per name, made once)."""
    made: dict[str, Browser] = {}

    def browser(name: str) -> Browser:
        if name not in made:
            signed_in = Browser(stack.enter_context(TestClient(app)))
            signed_in.get("/signin")
            assert signed_in.post("/signin", {"key": keys[name]}).status_code == 303
            signed_in.get("/network")  # the new session's CSRF token
            made[name] = signed_in
        return made[name]

    return browser


def peers_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in view["peers"]}


def test_the_page_shows_each_peer_its_direction_last_contact_and_lag(linked: Linked) -> None:
    root = linked.browsers("root")
    page = root.get("/network")
    assert page.status_code == 200 and 'aria-current="page">Federation' in page.text
    view = root.view("/network")
    peers = peers_of(view)
    assert set(peers) == {"a", "c"}
    a, c = peers["a"], peers["c"]
    assert a["directions"] == ["we follow it", "it follows us"] and a["status"] == "ok"
    state = linked.b.federation.status("a").state
    assert state.last_contact is not None and state.lag is not None
    assert a["last_contact"] is not None and a["lag_ms"] == round(state.lag / 1000, 1) and a["lag"]
    assert c["directions"] == ["it follows us"] and c["status"] == "invited" and c["last_contact"] is None
    row = page.text[page.text.index('data-peer="a"'):page.text.index('data-peer="c"')]
    assert when(a["last_contact"]) in row and html.escape(a["lag"]) in row and "we follow it, it follows us" in row
    # node administrators see the link's detail
    detail = a["detail"]
    assert detail["url"] == linked.a.url and detail["community"] == "isac"
    assert detail["received"] == state.received >= 1 and detail["refused"] == state.refused == 2
    assert detail["log_size"] == state.checkpoint_size >= 1 and detail["log_root"]
    assert detail["cursors"] and not any(cursor["pushed"] for cursor in detail["cursors"])
    assert len(detail["keys"]) == 1 and peers["c"]["detail"]["keys"]  # the peer keys A and C hold on B


def test_a_refused_object_appears_with_its_reason(linked: Linked) -> None:
    root = linked.browsers("root")
    refusals = {r["object_id"]: r["reason"] for r in peers_of(root.view("/network"))["a"]["detail"]["refusals"]}
    assert refusals[indicator(2)["id"]].startswith("signature:")
    assert refusals[indicator(7)["id"]].startswith("foreign")
    page = root.get("/network").text
    assert str(indicator(2)["id"]) in page and html.escape(refusals[indicator(2)["id"]]) in page
    assert "Recent refusals" in page


def test_the_ledger_shows_the_checkpoint_and_a_witness_cosignature(linked: Linked) -> None:
    ledger = linked.b.node.ledger
    latest = ledger.latest()
    assert latest is not None
    view = linked.browsers("alice").view("/network")["ledger"]
    checkpoint = view["checkpoint"]
    assert view["origin"] == ledger.origin and view["size"] >= latest.size
    assert checkpoint["size"] == latest.size and checkpoint["root"] == encode(ledger.root(latest.size))
    assert checkpoint["signed_by"] == ledger.verifier_keys
    assert checkpoint["consistent"] and checkpoint["previous_size"] is not None and not checkpoint["problem"]
    (cosigned,) = checkpoint["cosignatures"]
    assert cosigned["witness"] == WITNESS and cosigned["verified"] and cosigned["at"] is not None
    assert cosigned["key"].startswith(linked.a.node.ledger.cosigner.name + "+")
    assert view["witnesses"] == [{"name": WITNESS, "key": linked.a.node.ledger.witness_key,
                                  "cosigned_size": latest.size, "url": None}]
    page = linked.browsers("alice").get("/network").text
    assert checkpoint["root"] in page and WITNESS in page and when(cosigned["at"]) in page
    assert "consistent</span> with the tree as stored and with the checkpoint before it" in page


def test_a_member_sees_peers_health_and_lag_but_no_counts(linked: Linked) -> None:
    root_view = linked.browsers("root").view("/network")
    for username in ("alice", "olga"):  # a contributor, and an org-admin (not a node administrator)
        member = linked.browsers(username)
        view = member.view("/network")
        assert view["detail"]["shown"] is False
        peers = peers_of(view)
        assert set(peers) == {"a", "c"}
        for name, peer in peers.items():
            assert peer["detail"] is None
            shown = {k: v for k, v in peers_of(root_view)[name].items() if k not in ("detail", "since_contact")}
            assert {k: v for k, v in peer.items() if k not in ("detail", "since_contact")} == shown
        assert view["ledger"]["backlog"] is None and view["ledger"]["sequencer_error"] is None
        assert view["ledger"]["witnessing"] is None and view["ledger"]["witnesses"][0]["url"] is None
        page = member.get("/network").text
        assert 'data-peer="a"' in page and "Received</th>" not in page and "Recent refusals" not in page
        assert linked.a.url not in page and str(indicator(2)["id"]) not in page and "Not yet logged" not in page
        assert "node administrators" in page  # why the counts are not shown
    # the admin's page has them
    admin_page = linked.browsers("root").get("/network").text
    assert "Received</th>" in admin_page and linked.a.url in admin_page and "Not yet logged" in admin_page
    assert root_view["ledger"]["backlog"] == 0 and root_view["ledger"]["witnesses"][0]["url"] == linked.a.url + \
        "/witness"
    # a member of another community does not know of B's peers at all, but sees the public log
    outsider = linked.browsers("otto").view("/network")
    assert outsider["peers"] == [] and outsider["ledger"]["checkpoint"]["size"] >= 1


def test_the_json_form_has_what_the_page_shows(linked: Linked) -> None:
    root = linked.browsers("root")
    view, page = root.view("/network"), root.get("/network").text
    for peer in view["peers"]:
        assert f'data-peer="{peer["name"]}"' in page
        if peer["last_contact"]:
            assert f'datetime="{peer["last_contact"]}"' in page
        for refusal in peer["detail"]["refusals"]:
            assert html.escape(refusal["reason"]) in page
    ledger = view["ledger"]
    assert ledger["checkpoint"]["root"] in page and ledger["origin"] in page and f"<dd>{ledger['size']}</dd>" in page
    assert all(html.escape(key) in page for key in ledger["checkpoint"]["signed_by"])


def test_what_a_peer_sent_is_shown_escaped(linked: Linked) -> None:
    linked.b.node.backend.peers.refuse("a", [Refusal(now_micros(), '"><script>alert(1)</script>',
                                                     "<img src=x onerror=alert(2)> refused")])
    page = linked.browsers("root").get("/network").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt; refused" in page


def test_only_node_administrators_see_the_detail_and_members_know_only_their_communities() -> None:
    assert may_see_network_detail(Actor("identity--a", Role.ADMIN)).allowed
    for role in (Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.READER, Role.PEER, Role.ANONYMOUS):
        decision = may_see_network_detail(Actor("identity--a", role))
        assert not decision.allowed and "node administrators" in decision.reason
    assert may_know_peer(Actor("identity--a", Role.READER), community="isac", members={"identity--a"}).allowed
    assert not may_know_peer(Actor("identity--b", Role.READER), community="isac", members={"identity--a"}).allowed
    assert may_know_peer(Actor("identity--b", Role.ADMIN), community="isac", members=set()).allowed
    assert not may_know_peer(Actor("identity--a", Role.ANONYMOUS), community="isac", members={"identity--a"}).allowed
    assert SERVICE_PEER_ORG_PREFIX == PEER_ORG_PREFIX


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:secret@hub.example.org:8443/base?token=abc#frag", "https://hub.example.org:8443/base"),
    ("http://127.0.0.1:8800", "http://127.0.0.1:8800"),
    ("http://[::1]:8800/", "http://[::1]:8800/"),
    ("not a url", ""),
])
def test_a_peers_address_is_shown_without_credentials(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_durations_read_as_people_say_them() -> None:
    assert [duration(us) for us in (None, 850_000, 4_200_000, 754_000_000, 3 * 3600_000_000, 50 * 3600_000_000)] \
        == ["", "850 ms", "4.2 s", "12 min", "3 h", "2 d"]


def test_a_checkpoint_that_does_not_extend_the_one_before_shows_inconsistent(tmp_path: Path) -> None:
    """A log whose history was rewritten: a checkpoint signed with the log's key over another tree (what a lying
    log can make), then one of the real tree, which does not extend it. The page says so, at each step."""
    with ExitStack() as stack:
        node = Node.open(Settings(database_url="memory://", home=tmp_path), upgrade=True)
        stack.callback(node.close)
        node.sequencer.close()  # no background heartbeat: the test signs the checkpoints itself
        node.admin.add_community("isac", title="ISAC")
        org = node.admin.add_organization("ACME CERT")
        node.admin.join("isac", org.id)
        browser = signed_in_with_keys(stack, create_app(node), {
            "root": node.admin.create_key(org.id, Role.ADMIN)[0],
            "alice": node.admin.create_key(org.id, Role.CONTRIBUTOR)[0]})
        ledger, storage = node.ledger, node.backend.ledger

        def shared(i: int) -> int:
            results = node.ingest.document(Actor(org.id, Role.CONTRIBUTOR), "isac", bundle(indicator(i)))
            assert [r.outcome for r in results] == ["accepted"]
            ledger.sync()
            return ledger.size()

        before = storage.latest_checkpoint()
        size = shared(1)
        lie = sign_note(Checkpoint(ledger.origin, size, b"\x01" * 32).body(), *ledger.signers)
        storage.add_checkpoint(StoredCheckpoint(size, lie, now_micros()),
                               previous=None if before is None else before.size)
        shown = browser("root").view("/network")["ledger"]["checkpoint"]
        assert not shown["consistent"] and "the tree as stored has another root" in shown["problem"]
        real = shared(2)
        truth = sign_note(Checkpoint(ledger.origin, real, ledger.root(real)).body(), *ledger.signers)
        storage.add_checkpoint(StoredCheckpoint(real, truth, now_micros()), previous=size)
        view = browser("root").view("/network")["ledger"]["checkpoint"]
        assert view["size"] == real and view["previous_size"] == size and view["signed_by"] == ledger.verifier_keys
        assert not view["consistent"] and f"not consistent with the checkpoint of size {size}" in view["problem"]
        assert "inconsistent</span>" in browser("alice").get("/network").text
