"""The in-memory ``Directory``: the model for the SQL directories."""

from __future__ import annotations

__all__ = ["MemoryDirectory", "name_key"]

import dataclasses
import threading

from ..errors import Conflict, NotFound
from ..identity._model import ApiKeyRecord, Collection, Community, Organization, User


def name_key(name: str) -> str:
    """The form organization names are compared in (case-insensitive, Unicode-aware)."""
    return name.casefold()


class MemoryDirectory:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orgs: dict[str, Organization] = {}
        self._org_names: dict[str, str] = {}  # name_key -> id
        self._communities: dict[str, Community] = {}
        self._members: dict[str, set[str]] = {}
        self._collections: dict[str, Collection] = {}
        self._users: dict[str, User] = {}
        self._keys: dict[str, ApiKeyRecord] = {}
        self._ended: dict[str, int] = {}  # ended session token -> until

    # organizations ------------------------------------------------------------------------------------

    def add_organization(self, org: Organization) -> None:
        with self._lock:
            if org.id in self._orgs:
                raise Conflict(f"organization {org.id} exists")
            if name_key(org.name) in self._org_names:
                raise Conflict(f"an organization named {org.name!r} exists")
            self._orgs[org.id] = org
            self._org_names[name_key(org.name)] = org.id

    def get_organization(self, ref: str) -> Organization:
        with self._lock:
            org = self._orgs.get(ref) or self._orgs.get(self._org_names.get(name_key(ref), ""))
            if org is None:
                raise NotFound(f"no organization {ref!r}")
            return org

    def list_organizations(self) -> list[Organization]:
        with self._lock:
            return sorted(self._orgs.values(), key=lambda o: (name_key(o.name), o.id))

    # communities --------------------------------------------------------------------------------------

    def add_community(self, community: Community) -> None:
        with self._lock:
            if community.name in self._communities:
                raise Conflict(f"community {community.name!r} exists")
            self._communities[community.name] = community
            self._members[community.name] = set()

    def get_community(self, name: str) -> Community:
        with self._lock:
            if name not in self._communities:
                raise NotFound(f"no community {name!r}")
            return self._communities[name]

    def list_communities(self) -> list[Community]:
        with self._lock:
            return sorted(self._communities.values(), key=lambda c: c.name)

    def _member_args(self, community: str, org_id: str) -> None:
        self.get_community(community)
        if org_id not in self._orgs:
            raise NotFound(f"no organization {org_id!r}")

    def add_member(self, community: str, org_id: str) -> None:
        with self._lock:
            self._member_args(community, org_id)
            self._members[community].add(org_id)

    def remove_member(self, community: str, org_id: str) -> None:
        with self._lock:
            self._member_args(community, org_id)
            self._members[community].discard(org_id)

    def members(self, community: str) -> list[str]:
        with self._lock:
            self.get_community(community)
            return sorted(self._members[community])

    def communities_of(self, org_id: str) -> list[str]:
        with self._lock:
            if org_id not in self._orgs:
                raise NotFound(f"no organization {org_id!r}")
            return sorted(name for name, orgs in self._members.items() if org_id in orgs)

    # collections --------------------------------------------------------------------------------------

    def add_collection(self, collection: Collection) -> None:
        with self._lock:
            self.get_community(collection.community)
            if collection.id in self._collections:
                raise Conflict(f"collection {collection.id} exists")
            if any(c.title == collection.title for c in self._collections.values()):
                raise Conflict(f"a collection titled {collection.title!r} exists")
            self._collections[collection.id] = collection

    def update_collection(self, collection: Collection) -> None:
        with self._lock:
            if collection.id not in self._collections:
                raise NotFound(f"no collection {collection.id!r}")
            if any(c.title == collection.title and c.id != collection.id for c in self._collections.values()):
                raise Conflict(f"a collection titled {collection.title!r} exists")
            self._collections[collection.id] = collection

    def get_collection(self, ref: str) -> Collection:
        with self._lock:
            found = self._collections.get(ref)
            if found is None:
                found = next((c for c in self._collections.values() if c.title == ref), None)
            if found is None:
                raise NotFound(f"no collection {ref!r}")
            return found

    def list_collections(self) -> list[Collection]:
        with self._lock:
            return sorted(self._collections.values(), key=lambda c: (c.title, c.id))

    # users and keys -----------------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        with self._lock:
            if user.org_id not in self._orgs:
                raise NotFound(f"no organization {user.org_id!r}")
            if user.id in self._users:
                raise Conflict(f"user {user.id} exists")
            if any(u.username == user.username for u in self._users.values()):
                raise Conflict(f"a user named {user.username!r} exists")
            self._users[user.id] = user

    def get_user(self, ref: str) -> User:
        with self._lock:
            found = self._users.get(ref)
            if found is None:
                found = next((u for u in self._users.values() if u.username == ref), None)
            if found is None:
                raise NotFound(f"no user {ref!r}")
            return found

    def list_users(self, org_id: str | None = None) -> list[User]:
        with self._lock:
            users = [u for u in self._users.values() if org_id is None or u.org_id == org_id]
            return sorted(users, key=lambda u: (u.username, u.id))

    def set_password(self, user_id: str, password_hash: str | None) -> User:
        with self._lock:
            if user_id not in self._users:
                raise NotFound(f"no user {user_id!r}")
            user = dataclasses.replace(self._users[user_id], password_hash=password_hash)
            self._users[user_id] = user
            return user

    def add_api_key(self, key: ApiKeyRecord) -> None:
        with self._lock:
            if key.org_id not in self._orgs:
                raise NotFound(f"no organization {key.org_id!r}")
            if key.user_id is not None and key.user_id not in self._users:
                raise NotFound(f"no user {key.user_id!r}")
            if key.key_id in self._keys:
                raise Conflict(f"API key {key.key_id} exists")
            self._keys[key.key_id] = key

    def get_api_key(self, key_id: str) -> ApiKeyRecord:
        with self._lock:
            if key_id not in self._keys:
                raise NotFound(f"no API key {key_id!r}")
            return self._keys[key_id]

    def list_api_keys(self, org_id: str | None = None) -> list[ApiKeyRecord]:
        with self._lock:
            keys = [k for k in self._keys.values() if org_id is None or k.org_id == org_id]
            return sorted(keys, key=lambda k: k.key_id)

    def revoke_api_key(self, key_id: str, at: int) -> ApiKeyRecord:
        with self._lock:
            key = self.get_api_key(key_id)
            if key.revoked is None:
                key = dataclasses.replace(key, revoked=at)
                self._keys[key_id] = key
            return key

    # ended dashboard sessions ---------------------------------------------------------------------------

    def end_session(self, token: str, until: int) -> None:
        with self._lock:
            self._ended[token] = max(until, self._ended.get(token, until))

    def session_ended(self, token: str) -> bool:
        with self._lock:
            return token in self._ended

    def forget_ended_sessions(self, now: int) -> int:
        with self._lock:
            gone = [token for token, until in self._ended.items() if until < now]
            for token in gone:
                del self._ended[token]
            return len(gone)
