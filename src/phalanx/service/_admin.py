"""Administration of the directory: organizations, communities, collections and API keys.

The CLI calls these as the node's operator (``by=None``). Over HTTP, key management is done by an actor
(``by``): node administrators for any organization, org-admins for their own, never beyond their own power.
"""

from __future__ import annotations

__all__ = ["Admin"]

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from ..errors import Conflict, NotFound, PermissionDenied
from ..identity import (
    MAX_KEY_DAYS,
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
    issue_api_key,
    new_collection,
    new_community,
    new_organization,
    new_user,
)
from ..policy import may_administer, may_grant, may_manage_key, require

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

    # organizations
    def add_organization(self, name: str, *, sectors: tuple[str, ...] = ()) -> Organization:
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

    def organizations(self) -> list[Organization]:
        return self._directory.list_organizations()

    # communities and their collections
    def add_community(self, name: str, *, title: str = "", collection: str | None = None) -> Community:
        """A new community, and (unless ``collection`` is "") a collection for it titled ``collection``
        (default: the community's name)."""
        community = new_community(name, title=title, now=self._clock())
        self._directory.add_community(community)
        if collection != "":
            self.add_collection(collection or name, community=name)
        return community

    def communities(self) -> list[Community]:
        return self._directory.list_communities()

    def join(self, community: str, org_ref: str) -> Organization:
        org = self._directory.get_organization(org_ref)
        self._directory.add_member(community, org.id)
        return org

    def leave(self, community: str, org_ref: str) -> Organization:
        org = self._directory.get_organization(org_ref)
        self._directory.remove_member(community, org.id)
        self._narrowed()
        return org

    def members(self, community: str) -> list[Organization]:
        self._directory.get_community(community)
        return [self._directory.get_organization(org_id) for org_id in self._directory.members(community)]

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
    def add_user(self, username: str, *, org_ref: str, role: Role) -> User:
        """A person of an organization. (Passwords come with the dashboard; users act through API keys.)"""
        if role is Role.ANONYMOUS:
            raise PermissionDenied("'anonymous' is the role of callers without credentials; no user has it")
        org = self._directory.get_organization(org_ref)
        user = new_user(username, org_id=org.id, role=role, now=self._clock())
        self._directory.add_user(user)
        return user

    def users(self, org_ref: str | None = None) -> list[User]:
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
