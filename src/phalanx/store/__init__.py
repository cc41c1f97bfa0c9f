"""The object store and the directory, on memory, SQLite or PostgreSQL, chosen by URL.

    from phalanx.store import Query, open_backend

    with open_backend("sqlite:///phalanx.db", upgrade=True) as backend:
        results = backend.store.put_many("collection-id", rows, contributor="identity--...")
        page = backend.store.query(Query(collection="collection-id", types=("indicator",), limit=50))
        while page.more:
            page = backend.store.query(Query(collection="collection-id", cursor=page.next_cursor))

``memory://`` keeps everything in the process; ``sqlite:///relative.db`` and ``sqlite:////absolute/path.db``
(add ``?synchronous=full`` to fsync every commit) use one SQLite file; ``postgresql://user@host:port/db``
(optionally ``?schema=NAME``) uses PostgreSQL. Migrations ship in the package: ``Backend.upgrade()``.
Show a database URL only through ``redact_url(url)``, which hides its password.
"""

from ._activity import Activity, Contributed, FirstReport, Uptake
from ._backend import Backend, open_backend
from ._cursor import InvalidCursor, InvalidQuery
from ._memory import MemoryStore
from ._memory_directory import MemoryDirectory
from ._peers import Egress, MemoryPeers, PeerRecord, Peers, PeerState, Refusal
from ._protocol import (
    LEVELS,
    Accepted,
    Carrier,
    Deleted,
    Grant,
    Page,
    PutResult,
    PutStatus,
    Query,
    Reporter,
    ScopeTest,
    Store,
    StoredVersion,
    StoreStats,
    TextMatch,
    TextQuery,
    Unlogged,
    VersionFilter,
    VersionRow,
    Visibility,
    WriteGuard,
)
from ._sightings import Sighted, SightingKind, SightingTally, Tally
from ._statuses import MemoryStatuses, StatusEntry, Statuses, StatusOutcome, StatusRecord
from ._url import redact_url
from ._webhooks import Attempt, Batch, MemoryWebhooks, Outcome, WebhookRecord, Webhooks, WebhookState

__all__ = [
    "LEVELS",
    "Accepted",
    "Activity",
    "Attempt",
    "Backend",
    "Batch",
    "Carrier",
    "Contributed",
    "Deleted",
    "Egress",
    "FirstReport",
    "Grant",
    "InvalidCursor",
    "InvalidQuery",
    "MemoryDirectory",
    "MemoryPeers",
    "MemoryStatuses",
    "MemoryStore",
    "MemoryWebhooks",
    "Outcome",
    "Page",
    "PeerRecord",
    "PeerState",
    "Peers",
    "PutResult",
    "PutStatus",
    "Query",
    "Refusal",
    "Reporter",
    "ScopeTest",
    "Sighted",
    "SightingKind",
    "SightingTally",
    "StatusEntry",
    "StatusOutcome",
    "StatusRecord",
    "Statuses",
    "Store",
    "StoreStats",
    "StoredVersion",
    "Tally",
    "TextMatch",
    "TextQuery",
    "Unlogged",
    "Uptake",
    "VersionFilter",
    "VersionRow",
    "Visibility",
    "WebhookRecord",
    "WebhookState",
    "Webhooks",
    "WriteGuard",
    "open_backend",
    "redact_url",
]
