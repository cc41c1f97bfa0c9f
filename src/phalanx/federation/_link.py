"""Following one peer: for each of its collections, catch up over TAXII 2.1, then follow its live stream; ingest
what arrives through the peer's verifier and the sharing policy; remember where each collection got to.

    follower threads (one per collection)          the link's thread
    TAXII pages after the cursor  ─┐
    then the live stream (SSE)    ─┴─► queue ─► batches ─► verify, ingest ─► advance the cursors

A follower that loses its connection waits (a growing delay) and starts again from its cursor: TAXII gives what
the stream missed, so nothing is lost; an object version is stored once whatever arrives twice (the store is
idempotent per (id, modified, digest)). A peer that serves no live stream (any TAXII 2.1 server) is polled.
Cursors move only after what they cover is committed: after a crash the link repeats at most one batch.
"""

from __future__ import annotations

__all__ = ["Batch", "PeerLink", "Reconciled", "local_collection"]

import contextlib
import logging
import queue
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

import orjson

from ..errors import Error, NotFound, PeerRefused, PeerUnavailable
from ..identity import Actor, Collection, Role
from ..ledger._bundle import Trust
from ..policy import sharing_levels, stays_with_recipients
from ..service import Admin, Ingest
from ..stix import Limits, Mode, Parsed, Refused, StixObject, Tlp, now_micros, parse_document
from ..store import PeerRecord, Peers, Refusal
from ._client import LiveStream, PeerClient
from ._ingress import PeerKeys, PeerLog
from ._reconcile import MAX_RANGES, Answer, Range, VersionSet

_JITTER = random.Random()
"""Our own: the module-level generator's state is the program's (and hypothesis checks it is left alone)."""

_log = logging.getLogger("phalanx.federation")

PAGE = 1000
MERGE = 4000
"""The most objects stored in one transaction (pages and live messages waiting are merged up to it)."""
IDLE_SECONDS = 60.0
"""A live stream that sends nothing, not even a heartbeat, for this long is dropped and opened again."""
POLL_SECONDS = 5.0
"""How often a peer without a live stream is asked for what is new."""
LOG_CHECK_SECONDS = 10.0
MAX_ROUNDS = 40
"""A reconciliation that has not ended after this many rounds is the peer's fault (a few are enough for any
real difference: the rounds grow with the logarithm of the set)."""
_POOL_BYTES = 64 * 1024
"""Pages at least this large are parsed in a worker process (when the node has a pool): smaller ones are not
worth the trip."""
LEASE_SECONDS = 10.0
"""A process that stops renewing (killed) lets another process, or itself restarted, take the peer over after
this long."""


@dataclass(slots=True)
class Batch:
    """Objects of one of the peer's collections, and the cursor they reach once stored."""

    remote: str
    items: list[Parsed]
    added: list[int]
    """When the peer added each (µs, its clock): the time its signature is judged at."""
    cursor: int | None
    refusals: list[Refusal] = field(default_factory=list)


@dataclass(slots=True)
class Reconciled:
    """What one reconciliation pass with a peer did."""

    collections: int = 0
    rounds: int = 0
    sent: int = 0
    received: int = 0
    """Bytes of the reconciliation rounds (not of the versions fetched afterwards)."""
    missing: int = 0
    """Versions the peer lets this node read that this node lacked."""
    stored: int = 0


@dataclass(frozen=True, slots=True)
class _Target:
    remote: str
    title: str
    local: Collection


class PeerLink:
    def __init__(self, record: PeerRecord, *, peers: Peers, ingest: Ingest, admin: Admin, mode: Mode,
                 limits: Limits, require_signatures: bool, default_tlp: Tlp, runner: str,
                 clock: Callable[[], int] = now_micros, client: PeerClient | None = None,
                 local_versions: Callable[[str, str], Iterable[tuple[str, int]]] | None = None,
                 reconcile_every: float = 3600.0, pool: Callable[[], Executor | None] | None = None) -> None:
        self.record = record
        self._pool = pool
        """Gives the worker processes that parse large catch-up pages (made on first use), or None."""
        self._local_versions = local_versions
        self._reconcile_every = reconcile_every
        self._repair: threading.Thread | None = None
        self._peers = peers
        self._ingest = ingest
        self._admin = admin
        self._mode = mode
        self._limits = limits
        self._default_tlp = default_tlp
        self._runner = runner
        self._clock = clock
        self.client = client or PeerClient(record.url, record.api_key)
        self.keys = PeerKeys(self.client, require_signatures=require_signatures)
        self.log = PeerLog(record.name, self.client, Trust.from_record(orjson.loads(record.trust)), peers)
        self._actor = Actor(record.org_id, Role.PEER)
        self._queue: queue.Queue[Batch] = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._followers: list[threading.Thread] = []
        self._streams: list[LiveStream] = []
        self._last_refusal = ""

    # -- the link's thread ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Follow the peer until ``stop``; every error is recorded in the peer's state and retried."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                if not self._peers.claim(self.record.name, self._runner, now=self._clock(),
                                         ttl=int(LEASE_SECONDS * 1_000_000)):
                    self._stop.wait(LEASE_SECONDS / 3)  # another process of this hub follows it
                    continue
                self._check_log()
                targets = self._targets()
                self._start_followers(targets)
                self._consume(targets)
                delay = 1.0
            except Exception as exc:  # whatever the peer sent or did, the link lives on and tries again
                if not isinstance(exc, Error):
                    _log.exception("peer %s: unexpected failure", self.record.name)
                self._failed(exc if isinstance(exc, Error) else PeerRefused(f"unexpected failure: {exc!r}"))
                self._stop_followers()
                self._stop.wait(delay * (1 + _JITTER.random() / 4))
                delay = min(delay * 2, 60.0)
        self._stop_followers()
        with contextlib.suppress(Error):  # let another process (or this node restarted) take over at once
            self._peers.claim(self.record.name, self._runner, now=self._clock(), ttl=0)

    def stop(self) -> None:
        self._stop.set()
        for stream in list(self._streams):
            stream.close()

    def _failed(self, exc: Error) -> None:
        _log.warning("peer %s: %s", self.record.name, exc.message)
        with contextlib.suppress(Error):  # the database is away too: the log line is what is left
            self._peers.failed(self.record.name, exc.message, now=self._clock())

    def _check_log(self) -> None:
        try:
            self.log.check()
        except PeerUnavailable:
            raise
        except Error as exc:  # a checkpoint that does not extend the last one is refused, and logged once
            reason = "checkpoint: " + exc.message
            if reason != self._last_refusal:
                self._last_refusal = reason
                _log.error("peer %s: %s", self.record.name, reason)
                self._peers.refuse(self.record.name, [Refusal(self._clock(), None, reason)])

    def _targets(self) -> list[_Target]:
        """The peer's collections to follow, each with the local collection that receives it (made if missing,
        with the same title, in the peer's community)."""
        wanted = set(self.record.collections)
        targets = []
        for found in self.client.collections():
            remote, title = str(found.get("id", "")), str(found.get("title", ""))
            if not found.get("can_read") or (wanted and remote not in wanted and title not in wanted):
                continue
            targets.append(_Target(remote, title, self._local(title)))
        if not targets:
            raise PeerRefused(f"the peer {self.record.url} lets this node read none of the collections asked for")
        return targets

    def _local(self, title: str) -> Collection:
        return local_collection(self._admin, title, self.record)

    def _consume(self, targets: Sequence[_Target]) -> None:
        by_remote = {t.remote: t for t in targets}
        checked = renewed = self._clock()
        # The first repair pass once the catch-up is likely done, then every reconcile_every seconds.
        repair_at = checked + int(min(30.0, self._reconcile_every) * 1_000_000)
        while not self._stop.is_set():
            if not all(f.is_alive() for f in self._followers):
                raise PeerUnavailable(f"a follower of {self.record.url} stopped: starting them again")
            try:
                batches = [self._queue.get(timeout=1.0)]
            except queue.Empty:
                batches = []
            while batches and sum(len(b.items) for b in batches) < MERGE:
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for batch in _merged(batches):
                self.take(by_remote[batch.remote].local, batch)
            now = self._clock()
            if now - renewed > LEASE_SECONDS / 3 * 1_000_000:
                renewed = now
                if not self._peers.claim(self.record.name, self._runner, now=now, ttl=int(LEASE_SECONDS * 1e6)):
                    raise PeerRefused("another process of this hub took over following this peer")
            if now > repair_at and self._local_versions is not None and not (self._repair and self._repair.is_alive()):
                repair_at = now + int(self._reconcile_every * 1_000_000)
                self._repair = threading.Thread(target=self._repair_pass, name=f"phalanx-repair-{self.record.name}",
                                                daemon=True)
                self._repair.start()
            if now - checked > LOG_CHECK_SECONDS * 1_000_000:
                checked = now
                self._check_log()
                if {t.remote for t in self._targets()} != set(by_remote):
                    return  # the peer lets this node read other collections now: follow those

    def take(self, local: Collection, batch: Batch) -> None:
        """Verify and store one batch, log its refusals, then move the cursor."""
        received, refusals = self._store(local, batch)
        refusals = batch.refusals + refusals
        if refusals:
            self._peers.refuse(self.record.name, refusals)
        now = self._clock()
        self._peers.advance(self.record.name, {} if batch.cursor is None else {batch.remote: batch.cursor},
                            received=received, refused=len(refusals), now=now,
                            lag=now - max(batch.added) if batch.added else None)

    def _store(self, local: Collection, batch: Batch) -> tuple[int, list[Refusal]]:
        when = {}
        groups: dict[bool, list[Parsed]] = {False: [], True: []}
        for item, added in zip(batch.items, batch.added, strict=True):
            if isinstance(item, StixObject):
                when[(item.id, item.version)] = added
                level, top = sharing_levels(item, default=self._default_tlp, strict=self._mode is Mode.STRICT)
                groups[stays_with_recipients(level, top)].append(item)
            else:
                groups[False].append(item)
        received, refusals = 0, []
        now = self._clock()
        relays = frozenset(r.org_id for r in self._peers.all())  # in a mesh, versions come by any peer
        for strict, items in groups.items():
            if not items:
                continue
            # AMBER+STRICT and RED: for this node's own organization only, and never passed on (docs/federation.md)
            sharing = self._ingest.authorize(self._actor, local.id, relays=relays,
                                             organizations=(self.record.home,) if strict else ())

            def check(obj: StixObject) -> StixObject | str:
                return self.keys.check(obj, at=when.get((obj.id, obj.version), now))

            for result in self._ingest.parsed(replace(sharing, check=check, default_tlp=self._default_tlp), items):
                if result.outcome == "accepted":
                    received += result.detail in ("added", "linked")
                else:
                    refusals.append(Refusal(now, result.id or None, result.detail))
        return received, refusals

    # -- repair: range-based set reconciliation ------------------------------------------------------------

    def reconcile(self, local_versions: Callable[[str, str], Iterable[tuple[str, int]]]) -> Reconciled:
        """Compare every followed collection with the peer (``_reconcile``), fetch the versions this node lacks
        and store them through the same checks as any other: whatever a cursor missed, the pass fills."""
        report = Reconciled()
        for target in self._targets():
            report.collections += 1
            mine = VersionSet(local_versions(target.local.id, self.record.org_id))
            ask, missing, rounds = [mine.whole()], [], 0
            while ask:
                rounds += 1
                if rounds > MAX_ROUNDS or len(ask) > MAX_RANGES or self._stop.is_set():
                    raise PeerRefused(f"reconciling {target.title!r} with the peer did not end within {MAX_ROUNDS} "
                                      "rounds: its answers do not narrow the differences")
                answers, sent, received = self.client.reconcile(target.remote, [r.record() for r in ask])
                report.rounds += 1
                report.sent += sent
                report.received += received
                asked_ranges, ask = ask, []
                for asked, record in zip(asked_ranges, answers, strict=True):
                    more, lacking = mine.follow_up(_answer(record))
                    if any(not (asked.lo <= r.lo < r.hi <= asked.hi) or (r.lo, r.hi) == (asked.lo, asked.hi)
                           for r in more):
                        raise PeerRefused("the peer answered a reconciliation round with parts outside, or as large "
                                          "as, the range asked about")
                    ask += more
                    missing += lacking
            report.missing += len(missing)
            report.stored += self._fetch(target, missing)
        return report

    def _repair_pass(self) -> None:
        assert self._local_versions is not None
        try:
            report = self.reconcile(self._local_versions)
        except Error as exc:
            self._failed(exc)
            return
        if report.missing:
            _log.warning("peer %s: reconciliation found %d versions missing here and stored %d", self.record.name,
                         report.missing, report.stored)

    def _fetch(self, target: _Target, missing: list[tuple[str, int]]) -> int:
        wanted = set(missing)
        ids = sorted({oid for oid, _ in missing})
        stored = 0
        for start in range(0, len(ids), 50):
            chunk = ids[start:start + 50]
            body = self.client.versions_of(target.remote, chunk)
            added = self.client.added(target.remote, chunk)  # signatures are judged as when the peer took them
            items = [item for item in page_objects(body, self._mode, self._limits)
                     if not isinstance(item, StixObject) or (item.id, item.version) in wanted]
            if items:
                now = self._clock()
                when = [added.get((item.id, item.version), now) if isinstance(item, StixObject) else now
                        for item in items]
                before = self._peers.state(self.record.name).received
                self.take(target.local, Batch(target.remote, items, when, None))
                stored += self._peers.state(self.record.name).received - before
        return stored

    # -- followers: one thread per collection -------------------------------------------------------------

    def _start_followers(self, targets: Sequence[_Target]) -> None:
        self._stop_followers()
        self._follow_stop = threading.Event()
        state = self._peers.state(self.record.name)
        for target in targets:
            thread = threading.Thread(target=self._follow, args=(target.remote, state.cursors.get(target.remote)),
                                      name=f"phalanx-peer-{self.record.name}", daemon=True)
            thread.start()
            self._followers.append(thread)

    def _stop_followers(self) -> None:
        stop = getattr(self, "_follow_stop", None)
        if stop is not None:
            stop.set()
        for stream in list(self._streams):
            stream.close()
        for thread in self._followers:
            thread.join(timeout=5)
        self._followers = []
        while not self._queue.empty():
            self._queue.get_nowait()  # not stored, so their cursors never moved: they come again

    def _put(self, batch: Batch, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                self._queue.put(batch, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _follow(self, remote: str, cursor: int | None) -> None:
        stop = self._follow_stop
        try:
            cursor = self._catch_up(remote, cursor, stop)
            while not stop.is_set():
                try:
                    cursor = self._live(remote, cursor, stop)
                except PeerRefused as exc:
                    if "404" not in exc.message:
                        raise
                    stop.wait(POLL_SECONDS)  # a TAXII server with no live stream: poll it
                    cursor = self._catch_up(remote, cursor, stop)
        except Error as exc:
            if not stop.is_set():
                self._failed(exc)

    def _catch_up(self, remote: str, cursor: int | None, stop: threading.Event) -> int | None:
        """TAXII pages after ``cursor`` until the last; each page is parsed (in a worker process, when the node
        has them) while the next is fetched."""
        token = None
        start = cursor
        parsing: tuple[Future[list[Parsed]], int | None, int, bytes] | None = None
        while not stop.is_set():
            page = self.client.page(remote, added_after=start, next_token=token, limit=PAGE,
                                    types=self.record.types)
            if page.last_added is not None:
                cursor = max(cursor or 0, page.last_added)
            at = page.last_added if page.last_added is not None else self._clock()
            if parsing is not None and not self._deliver(remote, *parsing, stop):
                return cursor
            parsing = (self._parse(page.body), cursor, at, page.body)
            if not page.more:
                break
            token = page.next
        if parsing is not None:
            self._deliver(remote, *parsing, stop)
        return cursor

    def _parse(self, envelope: bytes) -> Future[list[Parsed]]:
        pool = self._pool() if self._pool is not None and len(envelope) >= _POOL_BYTES else None
        if pool is not None:
            try:
                return pool.submit(page_objects, envelope, self._mode, self._limits)
            except (BrokenProcessPool, RuntimeError):  # broken or shut down: parse here
                self._pool = None
        done: Future[list[Parsed]] = Future()
        try:
            done.set_result(page_objects(envelope, self._mode, self._limits))
        except Error as exc:
            done.set_exception(exc)
        return done

    def _deliver(self, remote: str, parsing: Future[list[Parsed]], cursor: int | None, at: int, envelope: bytes,
                 stop: threading.Event) -> bool:
        try:
            items = parsing.result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): parse here from now on
            _log.warning("peer %s: the parse workers broke; parsing in this process", self.record.name)
            self._pool = None
            items = page_objects(envelope, self._mode, self._limits)
        return not items or self._put(Batch(remote, items, [at] * len(items), cursor), stop)

    def _live(self, remote: str, cursor: int | None, stop: threading.Event) -> int | None:
        stream = self.client.stream([remote], last_event_id=cursor or 0, idle=IDLE_SECONDS,
                                    types=self.record.types)
        self._streams.append(stream)
        try:
            for message in stream:
                if stop.is_set():
                    break
                if message.event not in ("object-added", "object-revoked", "sighting-added"):
                    continue
                batch = self._received(remote, message.data, message.id)
                if batch is None:
                    continue
                cursor = batch.cursor
                if not self._put(batch, stop):
                    break
        finally:
            self._streams.remove(stream)
            stream.close()
        return cursor

    def _received(self, remote: str, data: str, event_id: str | None) -> Batch | None:
        try:
            message = orjson.loads(data)
            added = int(event_id or "")
            obj = message["object"]
            if not 0 <= added < 2**63:
                raise ValueError("an event id out of range")
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            return Batch(remote, [], [], None, [Refusal(self._clock(), None,
                                                        "the peer sent a live-stream message this node cannot read")])
        try:
            item: Parsed = StixObject.from_dict(obj, mode=self._mode, limits=self._limits)
        except Error as exc:
            oid = obj.get("id") if isinstance(obj, dict) else None
            item = Refused(0, str(oid or ""), exc)
        return Batch(remote, [item], [added], added)


def page_objects(envelope: bytes, mode: Mode, limits: Limits) -> list[Parsed]:
    """The objects of a TAXII envelope from a peer (an envelope may leave ``objects`` out: none). Runs in a
    worker process too."""
    try:
        return parse_document(envelope, mode=mode, limits=limits, envelope=True)
    except Error as exc:
        try:
            value = orjson.loads(envelope)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict) and "objects" not in value and "type" not in value:
            return []  # an empty page: TAXII 2.1 leaves "objects" out
        raise PeerRefused(f"the peer sent a TAXII page this node cannot read: {exc.message}") from exc


def local_collection(admin: Admin, title: str, record: PeerRecord) -> Collection:
    """The collection here that receives the peer's collection ``title``: the one of that title, made in the
    peer's community if missing (a collection of that title in another community is an error)."""
    try:
        local = admin.collection(title)
    except NotFound:
        return admin.add_collection(title, community=record.community, description=f"Received from peer {record.name}.")
    if local.community != record.community:
        raise PeerRefused(f"the peer's collection {title!r} would go into community {record.community!r}, "
                          f"but this node's collection of that title is in {local.community!r}")
    return local


def _answer(record: object) -> Answer:
    """A reconciliation answer as the peer sent it (``PeerRefused`` when it is not one)."""
    if isinstance(record, dict):
        if record.get("same") is True:
            return Answer(Range(0, 1, 0, 0), same=True)
        items = record.get("items")
        if isinstance(items, list) and all(isinstance(i, list) and len(i) == 2 and isinstance(i[0], str)
                                           and isinstance(i[1], int) for i in items):
            return Answer(Range(0, 1, 0, 0), items=tuple((str(i[0]), int(i[1])) for i in items))
        parts = record.get("split")
        if isinstance(parts, list) and parts:
            try:
                return Answer(Range(0, 1, 0, 0), parts=tuple(Range.from_record(p) for p in parts))
            except Error:
                pass
    raise PeerRefused("the peer answered a reconciliation round with something that is not an answer")


def _merged(batches: list[Batch]) -> list[Batch]:
    """Consecutive batches of one collection as one (one transaction for many live messages)."""
    merged: list[Batch] = []
    for batch in batches:
        last = merged[-1] if merged else None
        if last is not None and last.remote == batch.remote:
            last.items.extend(batch.items)
            last.added.extend(batch.added)
            last.refusals.extend(batch.refusals)
            last.cursor = batch.cursor if batch.cursor is not None else last.cursor
        else:
            merged.append(Batch(batch.remote, list(batch.items), list(batch.added), batch.cursor,
                                list(batch.refusals)))
    return merged
