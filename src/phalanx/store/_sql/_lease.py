"""A lease in a row: which process of a hub does one job (follows a peer, delivers a webhook) until when."""

from __future__ import annotations

__all__ = ["claim"]

from ._tx import Tx


def claim(tx: Tx, table: str, key_column: str, key: str, runner: str, *, now: int, ttl: int) -> bool:
    """Take (or renew) the lease of row ``key`` for ``runner`` until ``now + ttl``: it succeeds when the row is
    unleased, leased by ``runner`` already, or its lease has lapsed. ``table`` and ``key_column`` are ours."""
    return tx.run(f"UPDATE {table} SET runner = ?, lease_until = ? WHERE {key_column} = ? AND "
                  "(runner = ? OR runner IS NULL OR lease_until <= ?)", [runner, now + ttl, key, runner, now]) == 1
