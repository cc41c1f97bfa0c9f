"""What the SQLite and PostgreSQL backends share: the statements, and the store and directory built on them.

Each backend supplies an ``Engine``: ``write(fn)`` runs ``fn(tx)`` in one serialized transaction, ``read(fn)``
runs it on a read connection. Statements are written with ``?`` placeholders; the PostgreSQL ``Tx`` turns
them into ``%s``.
"""

from ._directory import SqlDirectory
from ._ledger import SqlLedgerStorage
from ._objects import SqlStore
from ._peers import SqlPeers
from ._statuses import SqlStatuses
from ._tx import Engine, Tx
from ._webhooks import SqlWebhooks

__all__ = ["Engine", "SqlDirectory", "SqlLedgerStorage", "SqlPeers", "SqlStatuses", "SqlStore", "SqlWebhooks", "Tx"]
