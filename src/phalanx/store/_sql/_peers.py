"""Peers over SQL: ``peers`` (settings as JSON, and the state columns) and ``peer_refusals``."""

from __future__ import annotations

__all__ = ["SqlPeers"]

import dataclasses
from typing import Any

import orjson

from ...errors import Conflict, NotFound
from .._peers import KEEP_REFUSALS, Egress, PeerRecord, PeerState, Refusal
from ._lease import claim
from ._tx import Engine, Tx

_STATE = "cursors, checkpoint_size, checkpoint_root, received, refused, last_contact, last_error, lag"


def _record(text: str) -> PeerRecord:
    data: dict[str, Any] = orjson.loads(text)
    data["collections"] = tuple(data.get("collections", ()))
    data["types"] = tuple(data.get("types", ()))
    return PeerRecord(**data)


class SqlPeers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _known(tx: Tx, name: str) -> None:
        if not tx.rows("SELECT 1 FROM peers WHERE name = ?", [name]):
            raise NotFound(f"no peer {name!r}", hint="List the peers with 'phalanx peer list'.")

    def add(self, record: PeerRecord) -> None:
        def work(tx: Tx) -> None:
            if tx.rows("SELECT 1 FROM peers WHERE name = ?", [record.name]):
                raise Conflict(f"a peer named {record.name!r} exists")
            tx.run("INSERT INTO peers (name, record) VALUES (?, ?)",
                   [record.name, orjson.dumps(dataclasses.asdict(record)).decode()])

        self._engine.write(work)

    def remove(self, name: str) -> None:
        def work(tx: Tx) -> None:
            self._known(tx, name)
            tx.run("DELETE FROM peer_refusals WHERE peer = ?", [name])
            tx.run("DELETE FROM peers WHERE name = ?", [name])

        self._engine.write(work)

    def get(self, name: str) -> PeerRecord:
        def work(tx: Tx) -> PeerRecord:
            self._known(tx, name)
            return _record(tx.rows("SELECT record FROM peers WHERE name = ?", [name])[0][0])

        return self._engine.read(work)

    def all(self) -> list[PeerRecord]:
        return self._engine.read(lambda tx: [_record(text) for (text,) in tx.rows(
            "SELECT record FROM peers ORDER BY name")])

    def state(self, name: str) -> PeerState:
        def work(tx: Tx) -> PeerState:
            self._known(tx, name)
            ((cursors, size, root, received, refused, contact, error, lag),) = tx.rows(
                f"SELECT {_STATE} FROM peers WHERE name = ?", [name])
            return PeerState(orjson.loads(cursors), int(size), bytes(root), int(received), int(refused),
                             None if contact is None else int(contact), error, None if lag is None else int(lag))

        return self._engine.read(work)

    def advance(self, name: str, cursors: dict[str, int], *, received: int, refused: int, now: int,
                lag: int | None) -> None:
        def work(tx: Tx) -> None:
            self._known(tx, name)
            # Lock the row before reading it (an UPDATE does, on PostgreSQL too): the link, the repair pass and
            # the pusher advance the same peer from their own threads, and a cursor must never move back.
            tx.run("UPDATE peers SET cursors = cursors WHERE name = ?", [name])
            (old,) = tx.rows("SELECT cursors FROM peers WHERE name = ?", [name])[0]
            merged: dict[str, int] = orjson.loads(old)
            for collection, cursor in cursors.items():
                merged[collection] = max(cursor, merged.get(collection, cursor))
            tx.run("UPDATE peers SET cursors = ?, received = received + ?, refused = refused + ?, "
                   "last_contact = ?, last_error = '', lag = COALESCE(?, lag) WHERE name = ?",
                   [orjson.dumps(merged).decode(), received, refused, now, lag, name])

        self._engine.write(work)

    def verified(self, name: str, size: int, root: bytes) -> None:
        def work(tx: Tx) -> None:
            self._known(tx, name)
            tx.run("UPDATE peers SET checkpoint_size = ?, checkpoint_root = ? WHERE name = ? AND "
                   "(checkpoint_size < ? OR checkpoint_size = 0)", [size, root, name, size])

        self._engine.write(work)

    def failed(self, name: str, error: str, *, now: int) -> None:
        def work(tx: Tx) -> None:
            self._known(tx, name)
            tx.run("UPDATE peers SET last_error = ? WHERE name = ?", [error, name])

        self._engine.write(work)

    def refuse(self, name: str, refusals: list[Refusal]) -> None:
        def work(tx: Tx) -> None:
            self._known(tx, name)
            tx.run_many("INSERT INTO peer_refusals (peer, at, object_id, reason) VALUES (?, ?, ?, ?)",
                        [(name, r.at, r.object_id, r.reason) for r in refusals])
            keep = tx.rows("SELECT id FROM peer_refusals WHERE peer = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                           [name, KEEP_REFUSALS - 1])
            if keep:
                tx.run("DELETE FROM peer_refusals WHERE peer = ? AND id < ?", [name, keep[0][0]])

        if refusals:
            self._engine.write(work)

    def refusals(self, name: str, limit: int = 100) -> list[Refusal]:
        def work(tx: Tx) -> list[Refusal]:
            self._known(tx, name)
            return [Refusal(int(at), oid, reason) for at, oid, reason in tx.rows(
                "SELECT at, object_id, reason FROM peer_refusals WHERE peer = ? ORDER BY id DESC LIMIT ?",
                [name, limit])]

        return self._engine.read(work)

    def claim(self, name: str, runner: str, *, now: int, ttl: int) -> bool:
        def work(tx: Tx) -> bool:
            self._known(tx, name)
            return claim(tx, "peers", "name", name, runner, now=now, ttl=ttl)

        return self._engine.write(work)

    def set_egress(self, egress: Egress) -> None:
        def work(tx: Tx) -> None:
            tx.run("DELETE FROM peer_egress WHERE org_id = ?", [egress.org_id])
            tx.run("INSERT INTO peer_egress (org_id, collections, types) VALUES (?, ?, ?)",
                   [egress.org_id, orjson.dumps(egress.collections).decode(), orjson.dumps(egress.types).decode()])

        self._engine.write(work)

    def egress(self, org_id: str) -> Egress | None:
        found = self._engine.read(lambda tx: tx.rows(
            "SELECT collections, types FROM peer_egress WHERE org_id = ?", [org_id]))
        if not found:
            return None
        ((collections, types),) = found
        return Egress(org_id, tuple(orjson.loads(collections)), tuple(orjson.loads(types)))
