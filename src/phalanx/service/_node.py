"""A node: the settings, the database behind them, and the services every edge (CLI, HTTP) calls."""

from __future__ import annotations

__all__ = ["Node"]

from collections.abc import Callable
from types import TracebackType

from ..analysis import warning_flags
from ..config import Settings
from ..errors import ConfigError
from ..ledger import Ledger
from ..ledger._witness import Submitter
from ..stix import now_micros
from ..store import Backend, open_backend, redact_url
from ..store._ledger import StoredCheckpoint
from ..streams import DIRECTORY_CHANGED, Bus, Event, open_bus
from ..streams._feed import Feed
from ._admin import Admin
from ._announce import Announcer
from ._correlation import Correlation
from ._delete import Deletion
from ._ingest import Ingest
from ._matching import Matching
from ._metrics import Metrics
from ._network import Network
from ._overview import Overview
from ._provenance import Provenance
from ._publish import Publishing
from ._read import Reader
from ._search import Search
from ._sequencer import Sequencer
from ._sightings import Sightings
from ._streams import Streams
from ._submissions import Submissions
from ._webhooks import Webhooks


class Node:
    """Everything one Phalanx node does, over one backend. Build with ``Node.open(settings)``."""

    def __init__(self, backend: Backend, settings: Settings, *, clock: Callable[[], int] = now_micros,
                 bus: Bus | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.bus = bus if bus is not None else open_bus(settings.bus_url, subject=settings.bus_subject)
        self.feed = Feed(backend.store, self.bus)
        self.admin = Admin(backend.directory, clock, changed=lambda: self.bus.publish(
            Event(DIRECTORY_CHANGED, {"at": clock()})))
        self.ledger = Ledger(backend.ledger, backend.store, origin=settings.ledger_origin,
                             hybrid=settings.ledger_hybrid, clock=clock)
        self.announcer = Announcer(self.bus, self.feed, self.ledger.origin)
        self.provenance = Provenance(self.ledger, backend.directory, settings, clock)
        submitter = Submitter(backend.ledger, self.ledger.consistency)

        def after_checkpoint(checkpoint: StoredCheckpoint) -> None:
            self.announcer.checkpoint(checkpoint)
            submitter.submit(checkpoint)

        self.sequencer = Sequencer(self.ledger, after_checkpoint=after_checkpoint)
        self.ingest = Ingest(backend.store, backend.directory, settings, provenance=self.provenance,
                             on_stored=self.sequencer.poke, announce=self.announcer.stored)
        self.reader = Reader(backend.store, backend.directory, settings, egress=backend.peers.egress)
        self.streams = Streams(self.reader, self.feed, settings)
        self.overview = Overview(self.reader)
        self.network = Network(backend.peers, self.ledger, backend.store, self.admin, self.sequencer, clock=clock)
        self.matching = Matching(self.reader, self.feed, flagger=lambda: warning_flags,
                                 name_of=self.admin.organization_name)
        self.submissions = Submissions(self.ingest, backend.statuses, clock, batch_size=settings.batch_size,
                                       retention=int(settings.status_retention_days * 86_400 * 1_000_000))
        self.deletion = Deletion(backend.store, self.reader, logged=self.ledger.logged)
        self.correlation = Correlation(backend.store, backend.directory, self.reader)
        self.search = Search(backend.store, self.correlation)
        self.sightings = Sightings(backend.store, self.reader, self.ingest, settings, clock=clock)
        self.metrics = Metrics(backend.store, backend.directory, self.reader, settings, clock=clock)
        self.publishing = Publishing(self.ingest, self.reader, backend.directory, settings, clock)
        self.webhooks = Webhooks(backend.webhooks, backend.directory, self.reader, self.feed, settings, clock)

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = False) -> Node:
        """Open the node's database. With ``upgrade``, apply pending migrations; without, refuse to run on an
        outdated schema."""
        backend = open_backend(settings.database)
        try:
            if upgrade:
                backend.upgrade()
            elif backend.pending_migrations():
                raise ConfigError(
                    f"the database {redact_url(settings.database)} needs migrations: "
                    + ", ".join(backend.pending_migrations()),
                    hint="Run 'phalanx db upgrade' (or 'phalanx init' for a new node).",
                )
            return cls(backend, settings)
        except BaseException:
            backend.close()
            raise

    def close(self) -> None:
        """Finish the submissions in progress, log what they stored, then close the database."""
        try:
            self.submissions.close()
            self.sequencer.close()
            self.webhooks.close()
            self.matching.close()
            self.feed.close()
        finally:
            try:
                self.bus.close()
            finally:
                self.backend.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
