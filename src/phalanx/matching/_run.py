"""One run of ``phalanx match``: read telemetry, extract observables, match them, print the matches, report
sightings. The edges (the CLI) choose the detector (local node or hub) and the reporter; this holds the loop."""

from __future__ import annotations

__all__ = ["Run", "describe", "match_json"]

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..errors import Error
from ..stix import format_micros, now_micros
from ..stix._json import dumps
from ._detector import Match
from ._extract import Extractor, Record, Stats
from ._follow import Progress
from ._tally import Seen, Tally

Matcher = Callable[[Sequence[Record]], list[Match]]
Reporter = Callable[[list[Seen]], None]


def match_json(match: Match) -> dict[str, Any]:
    record, indicator = match.record, match.indicator
    found: dict[str, Any] = {"line": record.line, "field": record.field,
                             "kind": record.kind.name if record.kind is not None else "observed-data",
                             "value": record.value}
    if record.time is not None:
        found["time"] = format_micros(record.time)
    found["indicator"] = {"id": indicator.id, "name": indicator.name, "pattern": indicator.pattern,
                          "created_by_ref": indicator.created_by_ref, "created_by": match.source,
                          "confidence": indicator.confidence,
                          "labels": list(indicator.labels), "warning_lists": list(indicator.flags)}
    return found


def describe(match: Match) -> str:
    record, indicator = match.record, match.indicator
    kind = record.kind.name if record.kind is not None else "observed-data"
    where = f" ({record.field})" if record.field else ""
    name = f" {indicator.name!r}" if indicator.name else ""
    by = f" from {match.source or indicator.created_by_ref}" if indicator.created_by_ref else ""
    flags = f" [on warning lists: {', '.join(indicator.flags)}]" if indicator.flags else ""
    return f"line {record.line}: {kind} {record.value}{where} matches {indicator.id}{name}{by}{flags}"


@dataclass
class Run:
    matcher: Matcher
    extract: Extractor
    out: TextIO = field(default_factory=lambda: sys.stdout)
    as_json: bool = False
    reporter: Reporter | None = None
    report_every: float = 10.0
    batch: int = 512
    """Records matched at a time (1 when following a log: each line is matched as it is written)."""
    lookback: float = 0.0
    """Seconds of records kept to be matched against indicators that arrive later (``look_back``): a value seen
    a minute before it was shared still alerts, at once. 0: none kept."""
    lookback_records: int = 100_000
    progress: Progress | None = None
    progress_out: TextIO | None = None
    stats: Stats = field(default_factory=Stats)
    matches: int = 0
    reported: int = 0
    report_errors: int = 0
    report_problem: str | None = None
    _tally: Tally = field(default_factory=Tally)
    _last_progress: float = 0.0
    _started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _recent: deque[tuple[float, Record, set[str]]] = field(default_factory=deque)

    def __call__(self, lines: Iterable[bytes], stop: threading.Event | None = None) -> None:
        finished = threading.Event()
        reporting = None
        if self.reporter is not None:  # on its own thread: a quiet log still reports what it matched
            reporting = threading.Thread(target=self._report_every, args=(finished,), name="phalanx-sightings",
                                         daemon=True)
            reporting.start()
        try:
            batch: list[Record] = []
            for record in self.extract(self._counted(lines), self.stats):
                batch.append(record)
                if len(batch) >= self.batch:
                    self._match(batch)
                    batch = []
                if stop is not None and stop.is_set():
                    break
            if batch:
                self._match(batch)
        finally:
            finished.set()
            if reporting is not None:
                reporting.join()
        self.report(final=True)
        self._show_progress(final=True)

    def _report_every(self, finished: threading.Event) -> None:
        while not finished.wait(self.report_every):
            self.report()

    def _counted(self, lines: Iterable[bytes]) -> Iterable[bytes]:
        for line in lines:
            yield line
            if time.monotonic() - self._last_progress > 0.25:
                self._show_progress()

    def _match(self, batch: list[Record]) -> None:
        with self._lock:
            found = self.matcher(batch)
            if self.lookback:
                self._remember(batch, found)
            self._emit(found)

    def _remember(self, batch: list[Record], found: list[Match]) -> None:
        now = time.monotonic()
        fired: dict[int, set[str]] = {}
        for match in found:
            fired.setdefault(id(match.record), set()).add(match.indicator.id)
        recent = self._recent
        recent.extend((now, record, fired.get(id(record), set())) for record in batch)
        while recent and (len(recent) > self.lookback_records or now - recent[0][0] > self.lookback):
            recent.popleft()

    def look_back(self, indicator: Mapping[str, Any], matcher: Matcher) -> None:
        """Match the records kept (``lookback``) against one indicator that has just arrived (``matcher``
        matches against it alone); each record alerts once per indicator."""
        with self._lock:
            if not self._recent:
                return
            kept = [entry for entry in self._recent if indicator.get("id") not in entry[2]]
            found = matcher([record for _, record, _ in kept])
            fired = {id(m.record) for m in found}
            for _, record, ids in kept:
                if id(record) in fired:
                    ids.add(str(indicator.get("id")))
            self._emit(found)

    def _emit(self, found: list[Match]) -> None:
        if not found:
            return
        now = now_micros()
        for match in found:
            self.matches += 1
            if self.as_json:
                self.out.write(dumps(match_json(match)).decode() + "\n")
            else:
                self.out.write(describe(match) + "\n")
            self._tally.add(match, now)
        self.out.flush()

    def report(self, *, final: bool = False) -> None:
        """Report the matches tallied so far as sightings (what fails goes with the next report; the final
        report raises)."""
        if self.reporter is None:
            return
        seen = self._tally.drain()
        if not seen:
            return
        try:
            self.reporter(seen)
        except Error as exc:
            self.report_errors += 1
            self.report_problem = exc.message
            self._tally.restore(seen)  # goes with the next report
            if final:
                raise
            return
        self.reported += len(seen)

    def _show_progress(self, *, final: bool = False) -> None:
        self._last_progress = time.monotonic()
        if self.progress_out is None or self.progress is None:
            return
        elapsed = max(1e-6, time.monotonic() - self._started)
        read, size = self.progress.read, self.progress.size
        share = f"{min(100.0, 100 * read / size):5.1f}% " if size else ""
        text = (f"\r{share}{read / 1e6:,.0f}/{size / 1e6:,.0f} MB  {read / 1e6 / elapsed:,.1f} MB/s  "
                f"{self.stats.lines:,} lines  {self.stats.records:,} observables  {self.matches:,} matches")
        self.progress_out.write(text + ("\n" if final else ""))
        self.progress_out.flush()
