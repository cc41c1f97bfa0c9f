"""Passwords: Argon2id hashing and the strength check (phalanx.identity), and signing in, setting passwords
and re-checking sessions (Admin.sign_in, Admin.set_password, Admin.session_actor)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher

from phalanx.errors import AuthenticationError, NotFound, PermissionDenied, WeakPassword
from phalanx.identity import (
    Actor,
    Organization,
    Role,
    User,
    check_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from phalanx.identity._passwords import dummy_hash
from phalanx.service import Admin
from phalanx.store import open_backend
from tests.support import World

GOOD = "correct horse battery staple"
DAY = 86_400 * 1_000_000
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # older, weaker parameters than today's


# hashing -----------------------------------------------------------------------------------------------


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$v=19$") and first != second  # a new salt each time
    assert GOOD not in first
    assert verify_password(first, GOOD) and verify_password(second, GOOD)
    assert not verify_password(first, GOOD.upper())
    assert not verify_password(first, "")
    assert not needs_rehash(first)


@pytest.mark.parametrize("stored", ["", "hash", "$argon2id$v=19$m=65536,t=3,p=4$zz$zz", "$2b$12$" + "a" * 53,
                                    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$"])
def test_a_malformed_stored_hash_verifies_nothing_and_raises_nothing(stored: str) -> None:
    assert verify_password(stored, GOOD) is False
    assert needs_rehash(stored) is True  # unreadable: replace it the next time the password is known


def test_a_password_that_is_not_valid_unicode_verifies_false() -> None:
    assert verify_password(hash_password(GOOD), "\ud800" * 12) is False


def test_older_parameters_need_a_rehash() -> None:
    old = _CHEAP.hash(GOOD)
    assert verify_password(old, GOOD)  # still verifies
    assert needs_rehash(old)
    assert not needs_rehash(dummy_hash())  # the hash verified for unknown users costs what a real one does


@pytest.mark.parametrize(("password", "why"), [
    ("", "at least 12"),
    ("short-pass1", "at least 12"),  # 11 characters
    ("x" * 1025, "at most 1024"),
    ("twelve chars\x00ok", "NUL"),
    ("my name is Alice Smith!", "user name"),  # contains the user name, whatever its case
    ("\ud800 surrogate here", "surrogate"),
])
def test_weak_passwords_are_refused(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why) as caught:
        check_password(password, "alice")
    assert "12" in caught.value.hint


@pytest.mark.parametrize("password", ["x" * 12, "x" * 1024, "Tr0ub4dor&3 horse", "ünïcödé pässwörd 🔑"])
def test_fit_passwords_pass(password: str) -> None:
    check_password(password, "alice")


# signing in ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000 * 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(clock: Clock) -> Iterator[Admin]:
    with open_backend("memory://", upgrade=True) as backend:
        yield Admin(backend.directory, clock)


@pytest.fixture
def acme(admin: Admin) -> Organization:
    return admin.add_organization("ACME CERT")


@pytest.fixture
def globex(admin: Admin) -> Organization:
    return admin.add_organization("Globex")


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(AuthenticationError) as caught:
        call()
    return caught.value.message


def test_sign_in_with_the_right_password(admin: Admin, acme: Organization) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.CONTRIBUTOR, password=GOOD)
    assert alice.password_hash is not None and alice.password_hash.startswith("$argon2id$")
    assert admin.sign_in("alice", GOOD) == Actor(acme.id, Role.CONTRIBUTOR, user_id=alice.id)


def test_wrong_password_unknown_user_and_no_password_get_the_same_answer(admin: Admin, acme: Organization) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.READER, password=GOOD)
    admin.add_user("bob", org_ref=acme.id, role=Role.READER)  # no password: only API keys
    answers = {
        _refused(lambda: admin.sign_in("alice", GOOD + "!")),
        _refused(lambda: admin.sign_in("alice", "")),
        _refused(lambda: admin.sign_in("ALICE", GOOD)),  # user names are exact
        _refused(lambda: admin.sign_in(alice.id, GOOD)),  # by user name only, not by id
        _refused(lambda: admin.sign_in("mallory", GOOD)),
        _refused(lambda: admin.sign_in("bob", GOOD)),
        _refused(lambda: admin.sign_in("bob", "")),
        _refused(lambda: admin.sign_in("alice", "x" * 100_000)),
    }
    assert answers == {"wrong user name or password"}


def test_every_refusal_verifies_a_hash(admin: Admin, acme: Organization, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost of a sign-in does not tell whether the user exists or has a password."""
    import phalanx.service._admin as module

    admin.add_user("alice", org_ref=acme.id, role=Role.READER, password=GOOD)
    admin.add_user("bob", org_ref=acme.id, role=Role.READER)
    verified: list[str] = []
    real = module.verify_password

    def spy(stored: str, password: str) -> bool:
        verified.append(stored)
        return real(stored, password)

    monkeypatch.setattr(module, "verify_password", spy)
    for username in ("alice", "bob", "mallory"):
        verified.clear()
        with pytest.raises(AuthenticationError):
            admin.sign_in(username, "wrong password here")
        assert len(verified) == 1 and verified[0].startswith("$argon2id$v=19$m=65536,t=3,p=4$"), username


def test_unknown_users_take_about_as_long(admin: Admin, acme: Organization) -> None:
    admin.add_user("alice", org_ref=acme.id, role=Role.READER, password=GOOD)
    admin.sign_in("alice", GOOD)  # the dummy hash and the hasher are made; first calls cost no more

    def fastest(username: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            _refused(lambda: admin.sign_in(username, "wrong password here"))
            times.append(time.perf_counter() - start)
        return min(times)

    known, unknown = fastest("alice"), fastest("mallory")
    assert unknown > known / 3, (known, unknown)  # both a whole Argon2id verification, not a dictionary miss


def test_an_old_hash_is_made_again_at_sign_in(admin: Admin, acme: Organization) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.READER)
    directory = admin._directory
    directory.set_password(alice.id, _CHEAP.hash(GOOD))
    assert admin.sign_in("alice", GOOD).user_id == alice.id
    renewed = admin.user("alice").password_hash
    assert renewed is not None and renewed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not needs_rehash(renewed) and verify_password(renewed, GOOD)
    assert admin.sign_in("alice", GOOD).user_id == alice.id
    assert admin.user("alice").password_hash == renewed  # current: left alone


def test_sign_in_on_each_backend(world: World) -> None:
    admin = world.node.admin
    alice = admin.add_user("alice", org_ref=world.acme.id, role=Role.ORG_ADMIN)
    assert _refused(lambda: admin.sign_in("alice", GOOD)) == "wrong user name or password"
    admin.set_password("alice", GOOD)
    assert admin.sign_in("alice", GOOD) == Actor(world.acme.id, Role.ORG_ADMIN, user_id=alice.id)
    assert _refused(lambda: admin.sign_in("alice", "another password")) == "wrong user name or password"


# setting passwords -----------------------------------------------------------------------------------


def test_weak_passwords_are_not_set(admin: Admin, acme: Organization) -> None:
    with pytest.raises(WeakPassword):
        admin.add_user("alice", org_ref=acme.id, role=Role.READER, password="alice-123456789")
    with pytest.raises(NotFound):  # refused before the user was made
        admin.user("alice")
    admin.add_user("alice", org_ref=acme.id, role=Role.READER, password=GOOD)
    with pytest.raises(WeakPassword):
        admin.set_password("alice", "too short")
    assert admin.sign_in("alice", GOOD).role is Role.READER  # the old one still works


def test_the_operator_sets_anyones_password(admin: Admin, acme: Organization) -> None:
    root = admin.add_user("root", org_ref=acme.id, role=Role.ADMIN)
    changed = admin.set_password(root.id, GOOD)
    assert changed.id == root.id and changed.password_hash is not None
    assert admin.set_password("root", GOOD + " 2").password_hash != changed.password_hash
    with pytest.raises(NotFound):
        admin.set_password("nobody", GOOD)


def _as(user: User, role: Role | None = None, *, key: str | None = None) -> Actor:
    """The actor of ``user`` signed in (its whole role), or of a key of theirs narrowed to ``role``."""
    return Actor(user.org_id, role or user.role, key_id=key, user_id=user.id)


def test_who_may_set_a_password(admin: Admin, acme: Organization, globex: Organization) -> None:
    def user(name: str, role: Role, org: Organization = acme) -> User:
        return admin.add_user(name, org_ref=org.id, role=role)

    reader, contributor = user("reader", Role.READER), user("contributor", Role.CONTRIBUTOR)
    boss, other_boss = user("boss", Role.ORG_ADMIN), user("other-boss", Role.ORG_ADMIN)
    root, peer = user("root", Role.ADMIN), user("peer-node", Role.PEER)
    outsider = user("outsider", Role.READER, globex)
    outside_boss = user("outside-boss", Role.ORG_ADMIN, globex)

    def allowed(by: Actor, target: User) -> bool:
        try:
            changed = admin.set_password(target.username, GOOD, by=by)
        except PermissionDenied:
            return False
        assert changed.id == target.id and verify_password(changed.password_hash or "", GOOD)
        return True

    # a person its own, with its whole role (signed in, or a key with the same role)
    for person in (reader, contributor, boss, root, peer, outsider):
        assert allowed(_as(person), person)
    assert allowed(_as(contributor, key="k1"), contributor)
    # but not through a key narrowed below the person's role: the password would give the power back
    assert not allowed(_as(contributor, Role.READER, key="k2"), contributor)
    assert not allowed(_as(root, Role.ORG_ADMIN, key="k3"), root)
    # others of the same organization without org-admin: no
    assert not allowed(_as(contributor), reader)
    assert not allowed(_as(reader), boss)
    # org-admins: no other person's, not even a reader's of their organization (whoever sets a person's password
    # can act as that person, and read what is shared with it by name)
    for target in (reader, contributor, other_boss, root, peer):
        assert not allowed(_as(boss), target)
    # node administrators: anyone
    for target in (reader, boss, root, peer, outsider, outside_boss):
        assert allowed(Actor(globex.id, Role.ADMIN, key_id="k4"), target)


def test_another_organizations_users_do_not_exist_for_its_actors(admin: Admin, acme: Organization,
                                                                globex: Organization) -> None:
    boss = admin.add_user("boss", org_ref=acme.id, role=Role.ORG_ADMIN)
    outsider = admin.add_user("outsider", org_ref=globex.id, role=Role.READER)
    answers = set()
    for ref in ("outsider", outsider.id, "nobody"):
        with pytest.raises(NotFound) as caught:
            admin.set_password(ref, GOOD, by=_as(boss))
        answers.add(caught.value.message.replace(repr(ref), "REF"))
    assert answers == {"no user REF in your organization"}
    assert admin.user("outsider").password_hash is None


def test_permission_comes_before_the_strength_check(admin: Admin, acme: Organization) -> None:
    reader = admin.add_user("reader", org_ref=acme.id, role=Role.READER)
    other = admin.add_user("other", org_ref=acme.id, role=Role.READER)
    with pytest.raises(PermissionDenied):
        admin.set_password(other.id, "short", by=_as(reader))


# sessions --------------------------------------------------------------------------------------------


def test_a_user_session_lasts_while_the_user_can_sign_in(admin: Admin, acme: Organization) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.CONTRIBUTOR, password=GOOD)
    signed_in = admin.sign_in("alice", GOOD)
    assert signed_in.user_id is not None
    assert admin.session_actor(user_id=signed_in.user_id) == Actor(acme.id, Role.CONTRIBUTOR, user_id=alice.id)
    ended = "your session has ended; sign in again"
    assert _refused(lambda: admin.session_actor(user_id="u-unknown")) == ended
    assert _refused(lambda: admin.session_actor(user_id="alice")) == ended  # sessions hold ids, not names
    assert _refused(lambda: admin.session_actor()) == ended
    admin._directory.set_password(alice.id, None)  # the password taken away: the person can no longer sign in
    assert _refused(lambda: admin.session_actor(user_id=alice.id)) == ended


def test_a_key_session_lasts_while_the_key_is_in_force(admin: Admin, acme: Organization, clock: Clock) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.ORG_ADMIN)
    ended = "your session has ended; sign in again"
    secret, record = admin.create_key(acme.id, Role.READER, expires_days=1)
    started = admin.authenticate(secret)
    assert started.key_id == record.key_id
    assert admin.session_actor(key_id=record.key_id) == started == Actor(acme.id, Role.READER, key_id=record.key_id)
    clock.now += DAY  # expired
    assert _refused(lambda: admin.session_actor(key_id=record.key_id)) == ended

    _, personal = admin.create_key(None, Role.CONTRIBUTOR, user_ref=alice.id)
    expected = Actor(acme.id, Role.CONTRIBUTOR, key_id=personal.key_id, user_id=alice.id)
    assert admin.session_actor(key_id=personal.key_id) == expected
    assert admin.session_actor(user_id=alice.id, key_id=personal.key_id) == expected
    _, plain = admin.create_key(acme.id, Role.READER)
    assert _refused(lambda: admin.session_actor(user_id=alice.id, key_id=plain.key_id)) == ended  # not hers
    admin.revoke_key(personal.key_id)
    assert _refused(lambda: admin.session_actor(key_id=personal.key_id)) == ended
    assert _refused(lambda: admin.session_actor(key_id="0123456789abcdef")) == ended  # unknown


def test_an_ended_session_is_refused_and_forgotten_once_it_would_have_expired(admin: Admin, acme: Organization,
                                                                                clock: Clock) -> None:
    alice = admin.add_user("alice", org_ref=acme.id, role=Role.CONTRIBUTOR, password=GOOD)
    ended = "your session has ended; sign in again"
    mine, other = "a" * 64, "b" * 64
    assert admin.session_actor(user_id=alice.id, token=mine).user_id == alice.id
    admin.end_session(mine, clock.now + DAY)
    admin.end_session(mine, clock.now + DAY)  # signing out twice
    assert _refused(lambda: admin.session_actor(user_id=alice.id, token=mine)) == ended
    assert admin.session_actor(user_id=alice.id, token=other).user_id == alice.id  # her other sessions go on
    clock.now += 2 * DAY
    admin.end_session(other, clock.now + DAY)  # ending one removes the records past their time
    assert not admin._directory.session_ended(mine) and admin._directory.session_ended(other)
