"""The ledger's heartbeat: log what the store accepted and sign a checkpoint, within a second of new entries.

Ingest pokes it after each stored batch. A thread (started on the first poke) then runs ``Ledger.sync`` and
``Ledger.checkpoint``, at most once a second while entries keep arriving, and hands each new checkpoint to the
witnesses. ``close`` stops the thread and runs once more, so that a CLI import is logged before it exits.
"""

from __future__ import annotations

__all__ = ["Sequencer"]

import logging
import threading
import time
from collections.abc import Callable

from ..errors import Error, Inconsistent
from ..ledger import Ledger
from ..store._ledger import StoredCheckpoint

_log = logging.getLogger("phalanx.ledger")


class Sequencer:
    def __init__(self, ledger: Ledger, *, interval: float = 1.0,
                 after_checkpoint: Callable[[StoredCheckpoint], object] | None = None) -> None:
        self._ledger = ledger
        self._interval = interval
        self._after = after_checkpoint
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: Error | None = None

    def poke(self) -> None:
        """New versions were stored: log them and sign a checkpoint soon (within ``interval``)."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="phalanx-ledger", daemon=True)
                self._thread.start()
        self._wake.set()

    def run_once(self) -> StoredCheckpoint | None:
        """Log everything pending and sign a checkpoint if the tree grew; return the latest checkpoint."""
        self._ledger.sync()
        checkpoint = self._ledger.checkpoint()
        if self._after is not None:  # also a checkpoint signed elsewhere (for a proof), or one a witness missed
            self._after(checkpoint)
        return checkpoint

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            started = time.monotonic()
            try:
                self.run_once()
                self.last_error = None
            except Error as exc:  # the store or a witness is unreachable: try again at the next poke
                self._failed(exc)
            # At most one checkpoint a second: new entries arriving meanwhile wait for the next round.
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def _failed(self, exc: Error) -> None:
        self.last_error = exc
        # A log that would have to contradict its own signed history is an alarm, not a hiccup.
        _log.log(logging.ERROR if isinstance(exc, Inconsistent) else logging.WARNING, "ledger: %s", exc.diagnostics())

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        try:
            self.run_once()
        except Error as exc:  # what is not logged now is logged at the next start: the cursor is durable
            self._failed(exc)
