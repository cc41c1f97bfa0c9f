"""The ``Directory`` over SQL. Unique keys are enforced by the schema; the backend turns violations into
``Conflict``. Names are compared through ``name_key`` (casefold) so both databases agree; listings sort in
code-point order (PostgreSQL uses ``COLLATE "C"`` for that, see ``order``)."""

from __future__ import annotations

__all__ = ["SqlDirectory"]

from collections.abc import Callable

import orjson

from ...errors import Conflict, NotFound
from ...identity._model import ApiKeyRecord, Collection, Community, Organization, Role, User
from .._memory_directory import name_key
from ._tx import Engine, Row, Tx

_ORG = "id, name, sectors, created"
_COMMUNITY = "name, title, created"
_COLLECTION = "id, title, description, community, created, public, types"
_USER = "id, org_id, username, role, created, password_hash"
_KEY = "key_id, org_id, role, label, secret_hash, created, expires, revoked, user_id"


def _org(r: Row) -> Organization:
    return Organization(r[0], r[1], tuple(orjson.loads(r[2])), r[3])


def _community(r: Row) -> Community:
    return Community(r[0], r[1], r[2])


def _collection(r: Row) -> Collection:
    return Collection(r[0], r[1], r[2], r[3], r[4], bool(r[5]), tuple(orjson.loads(r[6])) if r[6] else ())


def _types(types: tuple[str, ...]) -> str:
    return orjson.dumps(list(types)).decode() if types else ""


def _user(r: Row) -> User:
    return User(r[0], r[1], r[2], Role(r[3]), r[4], r[5])


def _key(r: Row) -> ApiKeyRecord:
    return ApiKeyRecord(r[0], r[1], Role(r[2]), r[3], r[4], r[5], r[6], r[7], r[8])


class SqlDirectory:
    def __init__(self, engine: Engine, *, collate: str = "") -> None:
        self._engine = engine
        self._collate = collate  # ' COLLATE "C"' on PostgreSQL

    def _order(self, *columns: str) -> str:
        return ", ".join(f"{c}{self._collate}" for c in columns)

    def _one(self, sql: str, params: list[object], what: str) -> Row:
        rows = self._engine.read(lambda tx: tx.rows(sql, params))
        if not rows:
            raise NotFound(f"no {what}")
        return rows[0]

    def _insert(self, sql: str, params: list[object], check: Callable[[Tx], None] | None = None) -> None:
        def work(tx: Tx) -> None:
            if check is not None:
                check(tx)
            tx.run(sql, params)

        self._engine.write(work)

    @staticmethod
    def _require(tx: Tx, sql: str, value: str, what: str) -> None:
        if not tx.rows(sql, [value]):
            raise NotFound(f"no {what} {value!r}")

    # organizations ------------------------------------------------------------------------------------

    def add_organization(self, org: Organization) -> None:
        def check(tx: Tx) -> None:
            if tx.rows("SELECT 1 FROM organizations WHERE id = ? OR name_key = ?", [org.id, name_key(org.name)]):
                raise Conflict(f"an organization with id {org.id} or name {org.name!r} exists")

        self._insert(
            "INSERT INTO organizations (id, name, name_key, sectors, created) VALUES (?, ?, ?, ?, ?)",
            [org.id, org.name, name_key(org.name), orjson.dumps(org.sectors).decode(), org.created],
            check,
        )

    def get_organization(self, ref: str) -> Organization:
        return _org(
            self._one(
                f"SELECT {_ORG} FROM organizations WHERE id = ? OR name_key = ? ORDER BY id = ? DESC",
                [ref, name_key(ref), ref],
                f"organization {ref!r}",
            )
        )

    def list_organizations(self) -> list[Organization]:
        sql = f"SELECT {_ORG} FROM organizations ORDER BY {self._order('name_key', 'id')}"
        return [_org(r) for r in self._engine.read(lambda tx: tx.rows(sql))]

    # communities --------------------------------------------------------------------------------------

    def add_community(self, community: Community) -> None:
        self._insert(
            "INSERT INTO communities (name, title, created) VALUES (?, ?, ?)",
            [community.name, community.title, community.created],
        )

    def get_community(self, name: str) -> Community:
        return _community(
            self._one(f"SELECT {_COMMUNITY} FROM communities WHERE name = ?", [name], f"community {name!r}")
        )

    def list_communities(self) -> list[Community]:
        sql = f"SELECT {_COMMUNITY} FROM communities ORDER BY {self._order('name')}"
        return [_community(r) for r in self._engine.read(lambda tx: tx.rows(sql))]

    def _check_member(self, tx: Tx, community: str, org_id: str) -> None:
        self._require(tx, "SELECT 1 FROM communities WHERE name = ?", community, "community")
        self._require(tx, "SELECT 1 FROM organizations WHERE id = ?", org_id, "organization")

    def add_member(self, community: str, org_id: str) -> None:
        def work(tx: Tx) -> None:
            self._check_member(tx, community, org_id)
            if not tx.rows("SELECT 1 FROM community_members WHERE community = ? AND org_id = ?", [community, org_id]):
                tx.run("INSERT INTO community_members (community, org_id) VALUES (?, ?)", [community, org_id])

        self._engine.write(work)

    def remove_member(self, community: str, org_id: str) -> None:
        def work(tx: Tx) -> None:
            self._check_member(tx, community, org_id)
            tx.run("DELETE FROM community_members WHERE community = ? AND org_id = ?", [community, org_id])

        self._engine.write(work)

    def members(self, community: str) -> list[str]:
        def work(tx: Tx) -> list[str]:
            self._require(tx, "SELECT 1 FROM communities WHERE name = ?", community, "community")
            sql = f"SELECT org_id FROM community_members WHERE community = ? ORDER BY {self._order('org_id')}"
            return [r[0] for r in tx.rows(sql, [community])]

        return self._engine.read(work)

    def communities_of(self, org_id: str) -> list[str]:
        def work(tx: Tx) -> list[str]:
            self._require(tx, "SELECT 1 FROM organizations WHERE id = ?", org_id, "organization")
            order = self._order("community")
            sql = f"SELECT community FROM community_members WHERE org_id = ? ORDER BY {order}"
            return [r[0] for r in tx.rows(sql, [org_id])]

        return self._engine.read(work)

    # collections --------------------------------------------------------------------------------------

    def add_collection(self, collection: Collection) -> None:
        def check(tx: Tx) -> None:
            self._require(tx, "SELECT 1 FROM communities WHERE name = ?", collection.community, "community")

        c = collection
        self._insert(
            "INSERT INTO collections (id, title, description, community, created, public, types) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [c.id, c.title, c.description, c.community, c.created, int(c.public), _types(c.types)],
            check,
        )

    def update_collection(self, collection: Collection) -> None:
        c = collection

        def work(tx: Tx) -> None:
            self._require(tx, "SELECT 1 FROM collections WHERE id = ?", c.id, "collection")
            if tx.rows("SELECT 1 FROM collections WHERE title = ? AND id <> ?", [c.title, c.id]):
                raise Conflict(f"a collection titled {c.title!r} exists")
            tx.run("UPDATE collections SET title = ?, description = ?, public = ?, types = ? WHERE id = ?",
                   [c.title, c.description, int(c.public), _types(c.types), c.id])

        self._engine.write(work)

    def get_collection(self, ref: str) -> Collection:
        return _collection(
            self._one(
                f"SELECT {_COLLECTION} FROM collections WHERE id = ? OR title = ? ORDER BY id = ? DESC",
                [ref, ref, ref],
                f"collection {ref!r}",
            )
        )

    def list_collections(self) -> list[Collection]:
        sql = f"SELECT {_COLLECTION} FROM collections ORDER BY {self._order('title', 'id')}"
        return [_collection(r) for r in self._engine.read(lambda tx: tx.rows(sql))]

    # users and keys -----------------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        def check(tx: Tx) -> None:
            self._require(tx, "SELECT 1 FROM organizations WHERE id = ?", user.org_id, "organization")

        u = user
        self._insert(
            f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?, ?)",
            [u.id, u.org_id, u.username, u.role.value, u.created, u.password_hash],
            check,
        )

    def get_user(self, ref: str) -> User:
        return _user(
            self._one(
                f"SELECT {_USER} FROM users WHERE id = ? OR username = ? ORDER BY id = ? DESC",
                [ref, ref, ref],
                f"user {ref!r}",
            )
        )

    def list_users(self, org_id: str | None = None) -> list[User]:
        where, params = ("WHERE org_id = ?", [org_id]) if org_id is not None else ("", [])
        sql = f"SELECT {_USER} FROM users {where} ORDER BY {self._order('username', 'id')}"
        return [_user(r) for r in self._engine.read(lambda tx: tx.rows(sql, params))]

    def set_password(self, user_id: str, password_hash: str | None) -> User:
        def work(tx: Tx) -> User:
            tx.run("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
            rows = tx.rows(f"SELECT {_USER} FROM users WHERE id = ?", [user_id])
            if not rows:
                raise NotFound(f"no user {user_id!r}")
            return _user(rows[0])

        return self._engine.write(work)

    def add_api_key(self, key: ApiKeyRecord) -> None:
        def check(tx: Tx) -> None:
            self._require(tx, "SELECT 1 FROM organizations WHERE id = ?", key.org_id, "organization")
            if key.user_id is not None:
                self._require(tx, "SELECT 1 FROM users WHERE id = ?", key.user_id, "user")

        k = key
        self._insert(
            f"INSERT INTO api_keys ({_KEY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                k.key_id,
                k.org_id,
                k.role.value,
                k.label,
                k.secret_hash,
                k.created,
                k.expires,
                k.revoked,
                k.user_id,
            ],
            check,
        )

    def get_api_key(self, key_id: str) -> ApiKeyRecord:
        return _key(self._one(f"SELECT {_KEY} FROM api_keys WHERE key_id = ?", [key_id], f"API key {key_id!r}"))

    def list_api_keys(self, org_id: str | None = None) -> list[ApiKeyRecord]:
        where, params = ("WHERE org_id = ?", [org_id]) if org_id is not None else ("", [])
        sql = f"SELECT {_KEY} FROM api_keys {where} ORDER BY {self._order('key_id')}"
        return [_key(r) for r in self._engine.read(lambda tx: tx.rows(sql, params))]

    def revoke_api_key(self, key_id: str, at: int) -> ApiKeyRecord:
        def work(tx: Tx) -> ApiKeyRecord:
            tx.run("UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL", [at, key_id])
            rows = tx.rows(f"SELECT {_KEY} FROM api_keys WHERE key_id = ?", [key_id])
            if not rows:
                raise NotFound(f"no API key {key_id!r}")
            return _key(rows[0])

        return self._engine.write(work)

    # ended dashboard sessions (migrations/*/0009_sessions.sql) ------------------------------------------

    def end_session(self, token: str, until: int) -> None:
        self._engine.write(lambda tx: tx.run(
            "INSERT INTO ended_sessions (token, until) VALUES (?, ?) ON CONFLICT (token) DO UPDATE "
            "SET until = excluded.until WHERE ended_sessions.until < excluded.until", [token, until]))

    def session_ended(self, token: str) -> bool:
        return bool(self._engine.read(lambda tx: tx.rows("SELECT 1 FROM ended_sessions WHERE token = ?", [token])))

    def forget_ended_sessions(self, now: int) -> int:
        return self._engine.write(lambda tx: tx.run("DELETE FROM ended_sessions WHERE until < ?", [now]))
