"""The Directory conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from phalanx.errors import Conflict, NotFound
from phalanx.identity._model import ApiKeyRecord, Collection, Community, Organization, Role, User
from phalanx.store import Backend

ACME = Organization("identity--00000000-0000-4000-8000-000000000001", "ACME CERT", ("energy", "water"), 100)
GLOBEX = Organization("identity--00000000-0000-4000-8000-000000000002", "Globex", (), 200)
ISAC = Community("energy-isac", "Energy ISAC", 10)


def test_organizations(backend: Backend) -> None:
    d = backend.directory
    assert d.list_organizations() == []
    d.add_organization(GLOBEX)
    d.add_organization(ACME)
    assert d.get_organization(ACME.id) == ACME
    assert d.get_organization("acme cert") == ACME
    assert d.get_organization("GLOBEX") == GLOBEX
    assert d.list_organizations() == [ACME, GLOBEX]
    with pytest.raises(Conflict):
        d.add_organization(ACME)
    with pytest.raises(Conflict):  # names are unique case-insensitively
        d.add_organization(Organization("identity--00000000-0000-4000-8000-000000000003", "acme cert", (), 1))
    with pytest.raises(NotFound):
        d.get_organization("Initech")
    assert len(d.list_organizations()) == 2


def test_unicode_names_compare_case_insensitively(backend: Backend) -> None:
    d = backend.directory
    org = Organization("identity--00000000-0000-4000-8000-000000000009", "Straße CERT", (), 1)
    d.add_organization(org)
    assert d.get_organization("STRASSE cert") == org
    with pytest.raises(Conflict):
        d.add_organization(Organization("identity--00000000-0000-4000-8000-00000000000a", "STRASSE CERT", (), 1))


def test_communities_and_members(backend: Backend) -> None:
    d = backend.directory
    d.add_organization(ACME)
    d.add_organization(GLOBEX)
    d.add_community(ISAC)
    d.add_community(Community("a-first", "A", 11))
    assert d.get_community("energy-isac") == ISAC
    assert [c.name for c in d.list_communities()] == ["a-first", "energy-isac"]
    with pytest.raises(Conflict):
        d.add_community(ISAC)
    with pytest.raises(NotFound):
        d.get_community("nope")
    assert d.members("energy-isac") == []
    d.add_member("energy-isac", GLOBEX.id)
    d.add_member("energy-isac", ACME.id)
    d.add_member("energy-isac", ACME.id)  # idempotent
    d.add_member("a-first", ACME.id)
    assert d.members("energy-isac") == [ACME.id, GLOBEX.id]
    assert d.communities_of(ACME.id) == ["a-first", "energy-isac"]
    d.remove_member("energy-isac", ACME.id)
    d.remove_member("energy-isac", ACME.id)
    assert d.members("energy-isac") == [GLOBEX.id]
    assert d.communities_of(ACME.id) == ["a-first"]
    for call in (
        lambda: d.add_member("nope", ACME.id),
        lambda: d.add_member("energy-isac", "identity--nope"),
        lambda: d.remove_member("nope", ACME.id),
        lambda: d.members("nope"),
        lambda: d.communities_of("identity--nope"),
    ):
        with pytest.raises(NotFound):
            call()


def test_collections(backend: Backend) -> None:
    d = backend.directory
    d.add_community(ISAC)
    c1 = Collection("91a7b528-80eb-42ed-a74d-c6fbd5a26116", "Indicators", "IOCs", "energy-isac", 5)
    c2 = Collection("52892447-4d7e-4f70-b94d-d7f22742ff63", "Advisories", "", "energy-isac", 6)
    d.add_collection(c1)
    d.add_collection(c2)
    assert d.get_collection(c1.id) == c1
    assert d.get_collection("Advisories") == c2
    assert d.list_collections() == [c2, c1]
    with pytest.raises(Conflict):
        d.add_collection(c1)
    with pytest.raises(Conflict):
        d.add_collection(Collection("0b6f6a1e-2b0e-4c59-9d34-6a8b5d6f2f11", "Indicators", "", "energy-isac", 7))
    with pytest.raises(NotFound):
        d.add_collection(Collection("0b6f6a1e-2b0e-4c59-9d34-6a8b5d6f2f12", "Other", "", "nope", 7))
    with pytest.raises(NotFound):
        d.get_collection("indicators")


def test_users(backend: Backend) -> None:
    d = backend.directory
    d.add_organization(ACME)
    d.add_organization(GLOBEX)
    alice = User("u-1", ACME.id, "alice", Role.ORG_ADMIN, 1, "hash")
    bob = User("u-2", GLOBEX.id, "bob", Role.READER, 2)
    d.add_user(bob)
    d.add_user(alice)
    assert d.get_user("u-1") == alice
    assert d.get_user("bob") == bob
    assert d.list_users() == [alice, bob]
    assert d.list_users(ACME.id) == [alice]
    assert d.list_users("identity--nope") == []
    with pytest.raises(Conflict):
        d.add_user(alice)
    with pytest.raises(Conflict):
        d.add_user(User("u-3", ACME.id, "alice", Role.READER, 3))
    with pytest.raises(NotFound):
        d.add_user(User("u-4", "identity--nope", "carol", Role.READER, 3))
    with pytest.raises(NotFound):
        d.get_user("carol")


def test_set_password(backend: Backend) -> None:
    d = backend.directory
    d.add_organization(ACME)
    alice = User("u-1", ACME.id, "alice", Role.ORG_ADMIN, 1)
    bob = User("u-2", ACME.id, "bob", Role.READER, 2, "bob's hash")
    d.add_user(alice)
    d.add_user(bob)
    changed = d.set_password("u-1", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    assert changed == User("u-1", ACME.id, "alice", Role.ORG_ADMIN, 1, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    assert d.get_user("alice") == changed and d.get_user("u-1") == changed
    assert d.get_user("bob") == bob  # the others keep theirs
    assert d.set_password("u-1", "second") == User("u-1", ACME.id, "alice", Role.ORG_ADMIN, 1, "second")
    cleared = d.set_password("u-2", None)  # no password: cannot sign in
    assert cleared.password_hash is None and d.get_user("u-2") == cleared
    assert d.list_users() == [d.get_user("u-1"), cleared]
    with pytest.raises(NotFound):
        d.set_password("u-nope", "hash")
    with pytest.raises(NotFound):
        d.get_user("u-nope")


def test_api_keys(backend: Backend) -> None:
    d = backend.directory
    d.add_organization(ACME)
    d.add_organization(GLOBEX)
    d.add_user(User("u-1", ACME.id, "alice", Role.ADMIN, 1))
    k1 = ApiKeyRecord("k1", ACME.id, Role.CONTRIBUTOR, "ci", "ab" * 32, 10, expires=99, user_id="u-1")
    k2 = ApiKeyRecord("k2", GLOBEX.id, Role.PEER, "peer", "cd" * 32, 11)
    d.add_api_key(k2)
    d.add_api_key(k1)
    assert d.get_api_key("k1") == k1
    assert d.list_api_keys() == [k1, k2]
    assert d.list_api_keys(GLOBEX.id) == [k2]
    with pytest.raises(Conflict):
        d.add_api_key(k1)
    with pytest.raises(NotFound):
        d.add_api_key(ApiKeyRecord("k3", "identity--nope", Role.READER, "", "ef" * 32, 1))
    with pytest.raises(NotFound):
        d.add_api_key(ApiKeyRecord("k3", ACME.id, Role.READER, "", "ef" * 32, 1, user_id="u-nope"))
    revoked = d.revoke_api_key("k1", 500)
    assert revoked.revoked == 500 and d.get_api_key("k1") == revoked
    assert d.revoke_api_key("k1", 900).revoked == 500  # the first time stays
    with pytest.raises(NotFound):
        d.revoke_api_key("nope", 1)
    with pytest.raises(NotFound):
        d.get_api_key("nope")


def test_ended_sessions(backend: Backend) -> None:
    d = backend.directory
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    assert not d.session_ended(a)
    d.end_session(a, 1_000)
    d.end_session(a, 1_000)  # idempotent
    d.end_session(b, 2_000)
    d.end_session(b, 500)  # the later until stays
    assert d.session_ended(a) and d.session_ended(b) and not d.session_ended(c)
    assert d.forget_ended_sessions(1_000) == 0  # until is the last moment the session could still be used
    assert d.forget_ended_sessions(1_001) == 1
    assert not d.session_ended(a) and d.session_ended(b)
    assert d.forget_ended_sessions(2_000) == 0
    d.end_session(a, 3_000)  # a token can be ended again after being forgotten
    assert d.forget_ended_sessions(10**17) == 2
    assert not d.session_ended(a) and not d.session_ended(b)
