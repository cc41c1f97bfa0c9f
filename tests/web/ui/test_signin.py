"""Signing in and out of the dashboard, the session cookie, CSRF, and the security headers."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import pytest

from phalanx.identity import Role
from phalanx.web.ui._render import CSP
from phalanx.web.ui._session import COOKIE, Session, SessionCodec
from phalanx.web.ui._site import safe_next

from .conftest import PASSWORD, Community


def test_pages_need_a_session_and_send_the_visitor_to_sign_in(browser: Any) -> None:
    anonymous = browser()
    response = anonymous.get("/feed?type=indicator", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Ffeed%3Ftype%3Dindicator"
    assert anonymous.client.get("/feed", params={"format": "json"}).status_code == 401


def test_sign_in_with_a_password_then_out(browser: Any) -> None:
    alice = browser()
    alice.get("/signin")
    response = alice.post("/signin", {"username": "alice", "password": PASSWORD, "next": "/feed?tlp=red"})
    assert response.status_code == 303 and response.headers["location"] == "/feed?tlp=red"
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = alice.get("/feed")
    assert page.status_code == 200 and "alice" in page.text and "ACME CERT" in page.text
    assert alice.post("/signout").status_code == 303
    assert alice.get("/feed", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password here"), ("nobody", PASSWORD),
                                                    ("alice", "")])
def test_a_wrong_name_or_password_gets_one_answer(browser: Any, username: str, password: str) -> None:
    visitor = browser()
    visitor.get("/signin")
    response = visitor.post("/signin", {"username": username, "password": password})
    assert response.status_code == 401
    assert "wrong user name or password" in response.text
    assert visitor.get("/feed", follow_redirects=False).status_code == 303


def test_sign_in_with_an_api_key_ends_when_the_key_is_revoked(browser: Any, community: Community) -> None:
    key, record = community.node.admin.create_key(community.globex.id, None, label="browser")
    bob = browser()
    bob.get("/signin")
    assert bob.post("/signin", {"key": key}).status_code == 303
    assert bob.get("/feed").status_code == 200
    community.node.admin.revoke_key(record.key_id)
    assert bob.get("/feed", follow_redirects=False).status_code == 303


def test_a_form_without_the_session_csrf_token_is_refused(browser: Any) -> None:
    alice = browser("alice")
    assert alice.post("/signout", csrf=False).status_code == 403
    assert alice.post("/signout", {"csrf": "forged"}).status_code == 403
    other = browser("bob")
    assert alice.post("/signout", {"csrf": other.csrf}).status_code == 403  # another session's token
    assert alice.get("/feed").status_code == 200  # still signed in


def test_signing_in_starts_a_new_session(browser: Any) -> None:
    visitor = browser()
    visitor.get("/signin")
    before = visitor.client.cookies.get(COOKIE)
    token = visitor.csrf
    visitor.post("/signin", {"username": "alice", "password": PASSWORD})
    assert visitor.client.cookies.get(COOKIE) != before
    visitor.get("/feed")
    assert visitor.csrf != token


def test_a_forged_or_tampered_cookie_is_a_visitor_signed_out(browser: Any) -> None:
    alice = browser("alice")
    value = alice.client.cookies.get(COOKIE)
    body, mac = value.split(".")
    alice.client.cookies.clear()
    alice.client.cookies.set(COOKIE, body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac)
    assert alice.get("/feed", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                                    "feed", ""])
def test_next_never_leaves_the_site(target: str) -> None:
    assert safe_next(target) == "/feed"


def test_next_keeps_a_local_path() -> None:
    assert safe_next("/objects/indicator--1?x=1") == "/objects/indicator--1?x=1"


def test_every_page_carries_the_security_headers(browser: Any) -> None:
    alice = browser("alice")
    for path in ("/signin", "/feed", "/static/phalanx.js", "/static/phalanx.css"):
        response = alice.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_codec_refuses_expired_foreign_and_malformed_cookies() -> None:
    codec = SessionCodec(b"k" * 32, lifetime_seconds=3600)
    other = SessionCodec(b"j" * 32, lifetime_seconds=3600)
    session = Session("nonce", 1_000_000, user_id="user--1")
    value = codec.encode(session)
    assert codec.decode(value, now=1_000_100) == session
    assert codec.decode(value, now=1_000_000 + 3601) is None
    assert other.decode(value, now=1_000_100) is None
    for bad in ("", "a.b.c", "!!!.???", value + "x", "x" * 5000, value.split(".")[0] + "."):
        assert codec.decode(bad, now=1_000_100) is None
    assert codec.csrf_valid(session, codec.csrf_token(session))
    assert not codec.csrf_valid(session, other.csrf_token(session))
    assert not codec.csrf_valid(session, None)


def test_a_page_that_does_not_exist_is_a_404_page_for_browsers_and_json_for_programs(browser: Any) -> None:
    visitor = browser()
    page = visitor.client.get("/no/such/page", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 404 and "there is no such page" in page.text
    assert page.headers["content-security-policy"] == CSP
    api = visitor.client.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["title"] == "NotFound"
    assert visitor.client.get("/no/such/page").json()["title"] == "NotFound"


def test_a_peer_node_key_does_not_sign_in(browser: Any, community: Community) -> None:
    key, _ = community.node.admin.create_key(community.globex.id, Role.PEER, label="a peer node")
    visitor = browser()
    visitor.get("/signin")
    response = visitor.post("/signin", {"key": key})
    assert response.status_code == 403 and "peer node" in response.text
    assert visitor.get("/feed", follow_redirects=False).status_code == 303


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(browser: Any, community: Community) -> None:
    bob, again = browser("bob"), browser("bob")
    community.node.admin.set_password("bob", "a brand new passphrase here")
    assert bob.get("/feed", follow_redirects=False).status_code == 303
    assert again.get("/feed", follow_redirects=False).status_code == 303
    fresh = browser()
    assert fresh.sign_in("bob", "a brand new passphrase here").status_code == 303
    assert fresh.get("/feed").status_code == 200



def _nonce(cookie: str) -> str:
    body = cookie.split(".")[0]
    return str(orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["n"])


def test_signing_out_ends_that_session_on_the_server_and_no_other(browser: Any, community: Community) -> None:
    alice, elsewhere = browser("alice"), browser("alice")
    copied = alice.client.cookies.get(COOKIE)
    assert alice.post("/signout").status_code == 303
    replay = browser()
    replay.client.cookies.set(COOKIE, copied)
    assert replay.get("/feed", follow_redirects=False).status_code == 303
    assert elsewhere.get("/feed").status_code == 200  # her session in another browser goes on
    assert elsewhere.post("/signout").status_code == 303  # which removes the records of expired sessions only
    assert replay.get("/feed", follow_redirects=False).status_code == 303
    directory = community.node.backend.directory  # what is kept is a hash of the nonce, not the cookie
    assert directory.session_ended(hashlib.sha256(_nonce(copied).encode()).hexdigest())
    assert not directory.session_ended(copied) and not directory.session_ended(_nonce(copied))


def test_signing_out_of_a_key_session_ends_it_though_the_key_stays_good(browser: Any, community: Community) -> None:
    key, record = community.node.admin.create_key(community.globex.id, None, label="browser")
    bob = browser()
    bob.get("/signin")
    assert bob.post("/signin", {"key": key}).status_code == 303
    assert bob.get("/feed").status_code == 200  # the new session's CSRF token
    copied = bob.client.cookies.get(COOKIE)
    assert bob.post("/signout").status_code == 303
    replay = browser()
    replay.client.cookies.set(COOKIE, copied)
    assert replay.get("/feed", follow_redirects=False).status_code == 303
    assert community.node.admin.authenticate(key).key_id == record.key_id


def test_signing_in_again_ends_the_session_it_replaces(browser: Any) -> None:
    alice = browser("alice")
    copied = alice.client.cookies.get(COOKIE)
    assert alice.post("/signin", {"username": "bob", "password": PASSWORD, "next": "/feed"}).status_code == 303
    assert "Globex SOC" in alice.get("/feed").text
    replay = browser()
    replay.client.cookies.set(COOKIE, copied)
    assert replay.get("/feed", follow_redirects=False).status_code == 303
