"""Administration of the directory: organizations, communities, collections, users and API keys; and
signing people in with their passwords.

The CLI calls these as the node's operator (``by=None``). Over HTTP, key management is done by an actor
(``by``): node administrators for any organization, org-admins for their own, never beyond their own power.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["Admin"]

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from ..errors import AuthenticationError, Conflict, NotFound, PermissionDenied
from ..identity import (
    MAX_KEY_DAYS,
    MAX_PASSWORD_CHARS,
    Actor,
    ApiKeyRecord,
    Collection,
    Community,
    Directory,
    InvalidExpiry,
    Organization,
    Role,
    User,
    authenticate,
    check_key,
    check_password,
    hash_password,
    issue_api_key,
    needs_rehash,
    new_collection,
    new_community,
    new_organization,
    new_user,
    verify_password,
)
from ..identity._passwords import dummy_hash
from ..policy import (
    may_administer,
    may_grant,
    may_manage_key,
    may_manage_user,
    may_operate,
    may_see_community,
    may_set_password,
    require,
)

_DAY_MICROS = 86_400 * 1_000_000
T = TypeVar("T")


class Admin:
    def __init__(self, directory: Directory, clock: Callable[[], int], *,
                 changed: Callable[[], None] | None = None) -> None:
        self._directory = directory
        self._clock = clock
        self._changed = changed
        """Called after a change that may narrow what someone reads (a member leaving, a key revoked, a
        collection made private or filtered): open live streams decide their access again at once."""

    def _narrowed(self) -> None:
        if self._changed is not None:
            self._changed()

    # who administers what
    def administered(self, by: Actor) -> str | None:
        """What ``by`` administers: None for a node administrator (the whole node), the id of its organization for
        an org-admin; ``PermissionDenied`` for anyone else."""
        require(may_administer(by, org_id=by.org_id))
        return None if by.role is Role.ADMIN else by.org_id

    def assignable_roles(self, by: Actor) -> list[Role]:
        """The roles ``by`` may give a new user of its own organization (and so a key): ``may_manage_user``."""
        return [role for role in Role
                if role is not Role.ANONYMOUS and may_manage_user(by, org_id=by.org_id, role=role).allowed]

    # organizations
    def add_organization(self, name: str, *, sectors: tuple[str, ...] = (), by: Actor | None = None) -> Organization:
        """A new organization. ``by``: the actor asking (None: the operator); only node administrators may
        (``may_operate``)."""
        if by is not None:
            require(may_operate(by))
        org = new_organization(name, sectors=sectors, now=self._clock())
        try:
            existing = self._directory.get_organization(org.name)
        except NotFound:
            self._directory.add_organization(org)
            return org
        raise Conflict(f"an organization named {existing.name!r} exists already ({existing.id})",
                       hint="Use it ('phalanx org list'), or choose another name.")

    def organization(self, ref: str) -> Organization:
        return self._directory.get_organization(ref)

    def organization_name(self, ref: str) -> str | None:
        """The name of the organization ``ref`` (its identity id or name), None when there is none."""
        try:
            return self.organization(ref).name
        except NotFound:
            return None

    def organizations(self, *, by: Actor | None = None) -> list[Organization]:
        """Every organization; ``by`` an actor other than a node administrator: its own, and the members of the
        communities it may see (``may_see_community``)."""
        everything = self._directory.list_organizations()
        if by is None or by.role is Role.ADMIN:
            return everything
        known = {by.org_id}
        for community in self.communities(by=by):
            known.update(self._directory.members(community.name))
        return [org for org in everything if org.id in known]

    # communities and their collections
    def add_community(self, name: str, *, title: str = "", collection: str | None = None,
                      by: Actor | None = None) -> Community:
        """A new community, and (unless ``collection`` is "") a collection for it titled ``collection``
        (default: the community's name). ``by``: the actor asking (None: the operator); only node administrators
        may (``may_operate``)."""
        if by is not None:
            require(may_operate(by))
        community = new_community(name, title=title, now=self._clock())
        self._directory.add_community(community)
        if collection != "":
            self.add_collection(collection or name, community=name)
        return community

    def communities(self, *, by: Actor | None = None) -> list[Community]:
        """Every community; ``by`` an actor: those it may know of (``may_see_community``)."""
        everything = self._directory.list_communities()
        if by is None or by.role is Role.ADMIN:
            return everything
        return [c for c in everything
                if may_see_community(by, community=c.name, members=self._directory.members(c.name)).allowed]

    def join(self, community: str, org_ref: str, *, by: Actor | None = None) -> Organization:
        """Make organization ``org_ref`` a member of ``community``. ``by``: the actor asking (None: the operator);
        only node administrators may (``may_operate``)."""
        if by is not None:
            require(may_operate(by))
        org = self._directory.get_organization(org_ref)
        self._directory.add_member(community, org.id)
        return org

    def leave(self, community: str, org_ref: str, *, by: Actor | None = None) -> Organization:
        """Take organization ``org_ref`` out of ``community``; ``by`` as for ``join``."""
        if by is not None:
            require(may_operate(by))
        org = self._directory.get_organization(org_ref)
        self._directory.remove_member(community, org.id)
        self._narrowed()
        return org

    def members(self, community: str, *, by: Actor | None = None) -> list[Organization]:
        """The member organizations of ``community``; to an actor ``by`` that may not know of it, it does not
        exist."""
        self._directory.get_community(community)
        ids = self._directory.members(community)
        if by is not None and not may_see_community(by, community=community, members=ids).allowed:
            raise NotFound(f"no community {community!r}", hint="'phalanx community list' lists the communities.")
        return [self._directory.get_organization(org_id) for org_id in ids]

    def add_collection(self, title: str, *, community: str, description: str = "", public: bool = False,
                       types: tuple[str, ...] = ()) -> Collection:
        self._directory.get_community(community)
        collection = new_collection(title, community=community, description=description, now=self._clock(),
                                    public=public, types=types)
        self._directory.add_collection(collection)
        return collection

    def configure_collection(self, ref: str, *, public: bool | None = None, types: tuple[str, ...] | None = None,
                             description: str | None = None) -> Collection:
        """Change whether a collection is public, the types it takes, or its description."""
        current = self._directory.get_collection(ref)
        checked = new_collection(current.title, community=current.community, now=current.created,
                                 description=current.description if description is None else description,
                                 public=current.public if public is None else public,
                                 types=current.types if types is None else types)
        changed = replace(checked, id=current.id)
        self._directory.update_collection(changed)
        self._narrowed()
        return changed

    def collection(self, ref: str) -> Collection:
        return self._directory.get_collection(ref)

    def collections(self) -> list[Collection]:
        return self._directory.list_collections()

    # users
    def add_user(self, username: str, *, org_ref: str, role: Role, password: str | None = None,
                 by: Actor | None = None) -> User:
        """A person of an organization. With a ``password`` (checked first: ``WeakPassword``) the person can sign
        in to the dashboard; without one only through API keys, until ``set_password``. ``by``: the actor asking
        (None: the operator): node administrators add anyone, org-admins users of their own organization with no
        more power than theirs (``may_manage_user``); to them another organization does not exist."""
        if role is Role.ANONYMOUS:
            raise PermissionDenied("'anonymous' is the role of callers without credentials; no user has it")
        if by is not None and by.role is not Role.ADMIN:
            self._within_own_organization(by, org_ref, None)
        org = self._directory.get_organization(org_ref)
        if by is not None:
            require(may_manage_user(by, org_id=org.id, role=role))
        user = new_user(username, org_id=org.id, role=role, now=self._clock())
        if password is not None:
            check_password(password, user.username)
            user = replace(user, password_hash=hash_password(password))
        self._directory.add_user(user)
        return user

    def set_password(self, user_ref: str, password: str, *, by: Actor | None = None) -> User:
        """Give user ``user_ref`` (id or username) a new password (``WeakPassword`` when it is unfit); returns the
        user. ``by``: the actor asking (None: the operator). A person may set its own, org-admins those of their
        organization's users with no more power than theirs, node administrators any (``may_set_password``);
        to an actor of another organization, its users do not exist."""
        user = _found(self._directory.get_user, user_ref)
        if user is None or (by is not None and by.role is not Role.ADMIN and user.org_id != by.org_id):
            where = "" if by is None or by.role is Role.ADMIN else " in your organization"
            raise NotFound(f"no user {user_ref!r}{where}", hint="'phalanx user list' lists the users.")
        if by is not None:
            require(may_set_password(by, user_id=user.id, org_id=user.org_id, role=user.role))
        check_password(password, user.username)
        return self._directory.set_password(user.id, hash_password(password))

    def sign_in(self, username: str, password: str) -> Actor:
        """The actor of the person ``username`` (the user name, not the id) when ``password`` is theirs. An
        unknown user, a user without a password and a wrong password get the same ``AuthenticationError`` in
        about the same time (a hash is verified in every case), so the answer tells nothing about who exists.
        A hash made with older parameters is made again with today's."""
        refused = AuthenticationError("wrong user name or password",
                                      hint="Check both and try again; an administrator of your organization can "
                                           "set a new password ('phalanx user password USERNAME').")
        if len(password) > MAX_PASSWORD_CHARS:  # no password is that long: refuse before hashing a megabyte
            raise refused
        user = _found(self._directory.get_user, username)
        if user is None or user.username != username or user.password_hash is None:
            verify_password(dummy_hash(), password)
            raise refused
        if not verify_password(user.password_hash, password):
            raise refused
        if needs_rehash(user.password_hash):
            self._directory.set_password(user.id, hash_password(password))
        return Actor(user.org_id, user.role, user_id=user.id)

    def password_stamp(self, user_id: str) -> str:
        """A short fingerprint of the user's current password hash (not the hash itself): a session started with
        one ends when the password changes (``session_actor(stamp=)``)."""
        user = self._directory.get_user(user_id)
        return hashlib.sha256((user.password_hash or "").encode("utf-8")).hexdigest()[:16]

    def end_session(self, token: str, until: int) -> None:
        """End the browser session ``token`` (a hash of its nonce, never the cookie) in every process of the node:
        ``session_actor(token=)`` refuses it from now on. ``until`` (microseconds) is when it would have expired
        anyway; the records of sessions past theirs are removed here, so there are only as many as live ones."""
        self._directory.end_session(token, until)
        self._directory.forget_ended_sessions(self._clock())

    def session_actor(self, user_id: str | None = None, key_id: str | None = None, *,
                      stamp: str | None = None, token: str | None = None) -> Actor:
        """Check again, at each request of a signed-in browser session, that what it was started with is still
        in force, and return who acts now: the session ``token`` was not ended (``end_session``); the user
        ``user_id`` (it still exists and still has a password, the same one when ``stamp`` (``password_stamp``)
        is given; its current role), or the API key ``key_id`` (it still exists, is not revoked, has not expired;
        and when ``user_id`` is given too, it is that person's key). Otherwise ``AuthenticationError``."""
        ended = AuthenticationError("your session has ended; sign in again",
                                    hint="Sign in again with your user name and password, or with a valid API key.")
        if token is not None and self._directory.session_ended(token):
            raise ended  # signed out
        if key_id is not None:
            record = _found(self._directory.get_api_key, key_id)
            if record is None or (user_id is not None and record.user_id != user_id):
                raise ended
            try:
                return check_key(record, now=self._clock())
            except AuthenticationError:
                raise ended from None
        if user_id is None:
            raise ended
        user = _found(self._directory.get_user, user_id)
        if user is None or user.id != user_id or user.password_hash is None:
            raise ended
        if stamp is not None and not hmac.compare_digest(stamp, self.password_stamp(user.id)):
            raise ended  # the password changed since the session began
        return Actor(user.org_id, user.role, user_id=user.id)

    def user(self, ref: str) -> User:
        """The user with id or username ``ref``."""
        return self._directory.get_user(ref)

    def users(self, org_ref: str | None = None, *, by: Actor | None = None) -> list[User]:
        """Users (of one organization); ``by`` an actor, the users it administers (``may_administer``)."""
        if by is not None and by.role is not Role.ADMIN:
            if org_ref is not None:
                self._within_own_organization(by, org_ref, None)
            require(may_administer(by, org_id=by.org_id))
            return self._directory.list_users(by.org_id)
        org_id = None if org_ref is None else self._directory.get_organization(org_ref).id
        return self._directory.list_users(org_id)

    # API keys
    def create_key(self, org_ref: str | None, role: Role | None, *, label: str = "",
                   expires_days: float | None = None, user_ref: str | None = None,
                   by: Actor | None = None) -> tuple[str, ApiKeyRecord]:
        """A new key: the full key (show it once) and its stored record. A key for a user belongs to the user's
        organization and has the user's role unless ``role`` narrows it. ``by``: the actor asking (None: the
        operator); it must administer the organization, and the key never has more power than it."""
        if by is not None and org_ref is None and user_ref is None:
            org_ref = by.org_id
        if by is not None and by.role is not Role.ADMIN:
            self._within_own_organization(by, org_ref, user_ref)
        user = None if user_ref is None else self._directory.get_user(user_ref)
        if user is not None:
            if org_ref is not None and self._directory.get_organization(org_ref).id != user.org_id:
                raise PermissionDenied(f"user {user.username!r} is not a member of organization {org_ref!r}")
            org_id = user.org_id
            role = role or user.role
            require(may_grant(user.role, role))
        elif org_ref is None:
            raise NotFound("a key needs an organization or a user", hint="Pass --org NAME or --user USERNAME.")
        else:
            org_id = self._directory.get_organization(org_ref).id
        if role is None:
            role = Role.CONTRIBUTOR
        if role is Role.ANONYMOUS:
            raise PermissionDenied("'anonymous' is the role of callers without credentials; no key has it")
        if expires_days is not None and not 0 < expires_days <= MAX_KEY_DAYS:
            raise InvalidExpiry(f"a key cannot be made to last {expires_days} days")
        if by is not None:
            require(may_manage_key(by, org_id=org_id, role=role, person=None if user is None else user.id))
        now = self._clock()
        expires = None if expires_days is None else now + int(expires_days * _DAY_MICROS)
        key, record = issue_api_key(org_id, role, now=now, label=label, expires=expires,
                                    user_id=None if user is None else user.id)
        self._directory.add_api_key(record)
        return key, record

    def _within_own_organization(self, by: Actor, org_ref: str | None, user_ref: str | None) -> None:
        """For an actor other than a node administrator: the organization and the user it names must be its own;
        an unknown one and another organization's get the same answer."""
        user = None if user_ref is None else _found(self._directory.get_user, user_ref)
        if user_ref is not None and (user is None or user.org_id != by.org_id):
            raise NotFound(f"no user {user_ref!r} in your organization",
                           hint="Name a user of your own organization; its operator adds users.")
        org = None if org_ref is None else _found(self._directory.get_organization, org_ref)
        if org_ref is not None and (org is None or org.id != by.org_id):
            raise NotFound(f"no organization {org_ref!r} that you administer",
                           hint="Leave the organization out: your keys are for your own organization.")

    def api_keys(self, org_ref: str | None = None, *, by: Actor | None = None) -> list[ApiKeyRecord]:
        """Keys (of one organization); ``by`` an actor, the keys it administers."""
        org_id = None if org_ref is None else self._directory.get_organization(org_ref).id
        if by is not None and by.role is not Role.ADMIN:
            require(may_administer(by, org_id=org_id or by.org_id))
            org_id = by.org_id
        return self._directory.list_api_keys(org_id)

    def revoke_key(self, key_id: str, *, by: Actor | None = None) -> tuple[ApiKeyRecord, bool]:
        """Revoke a key; returns its record and whether this call revoked it (False: it already was). ``by`` an
        actor: node administrators revoke any key, org-admins their organization's keys that have no more power
        than theirs (never a node administrator's key, even one held in their organization)."""
        before = _found(self._directory.get_api_key, key_id)
        if before is None or (by is not None and by.role is not Role.ADMIN and before.org_id != by.org_id):
            raise NotFound(f"no API key {key_id}", hint="'phalanx key list' (GET /api/v1/keys) lists the keys.")
        if by is not None:
            require(may_manage_key(by, org_id=before.org_id, role=before.role))
            if before.user_id is not None:  # nor a key of a person it could not act as
                holder = self._directory.get_user(before.user_id)
                require(may_manage_key(by, org_id=before.org_id, role=holder.role))
        revoked = self._directory.revoke_api_key(key_id, self._clock())
        self._narrowed()
        return revoked, before.revoked is None

    def authenticate(self, presented: str) -> Actor:
        return authenticate(self._directory, presented, now=self._clock())

    def default_collection(self) -> Collection:
        """The only collection, when there is exactly one (convenient for single-community nodes)."""
        collections = self._directory.list_collections()
        if len(collections) != 1:
            raise NotFound(
                f"there are {len(collections)} collections; say which one",
                hint="Pass --collection TITLE_OR_ID ('phalanx collection list' shows them).",
            )
        return collections[0]


def _found(get: Callable[[str], T], ref: str) -> T | None:
    """``get(ref)``, or None when there is no such thing."""
    try:
        return get(ref)
    except NotFound:
        return None
