"""Parse JSON lines in worker processes, for bulk imports on machines with more than one core.

Parsing and validating is pure Python and holds the GIL; in one process it competes with the store's own
Python work. Here chunks of lines go to worker processes, and the results come back in input order, with
at most a few chunks in flight so that memory stays flat. Results are exactly those of ``iter_jsonl``.
"""

from __future__ import annotations

__all__ = ["default_workers", "parse_jsonl_parallel", "process_pool"]

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from itertools import islice

from ._model import Limits, Mode, Parsed, Refused, _parse_lines

_CHUNK_LINES = 2000


def default_workers() -> int:
    """One worker per core beyond the one the importing process itself keeps busy."""
    return max(1, (os.cpu_count() or 1) - 1)


def _follow_parent(parent: int) -> None:
    """Runs in each worker: end the worker when the importing process is gone (even killed with SIGKILL,
    which gives it no chance to stop its pool), rather than leave it waiting for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="phalanx-parent-watch", daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for parsing: started fresh ("spawn": the calling process has threads, which forking would
    copy mid-flight), and ending when the process that made them is gone."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_follow_parent,
                               initargs=(os.getpid(),))


def _parse_chunk(lines: list[bytes], first_line: int, mode: Mode, limits: Limits) -> list[Parsed]:
    return list(_parse_lines(lines, mode, limits, first_line=first_line))


def parse_jsonl_parallel(lines: Iterable[bytes], *, mode: Mode = Mode.STRICT, limits: Limits | None = None,
                         workers: int | None = None) -> Generator[Parsed, None, None]:
    """Like ``iter_jsonl``, with the parsing done by ``workers`` processes (default: ``default_workers()``)."""
    count = workers or default_workers()
    limits = limits or Limits()
    with process_pool(count) as pool:
        in_flight: deque[Future[list[Parsed]]] = deque()
        source = iter(lines)
        next_line = 1
        position = 0
        while True:
            while len(in_flight) < 2 * count:
                chunk = list(islice(source, _CHUNK_LINES))
                if not chunk:
                    break
                in_flight.append(pool.submit(_parse_chunk, chunk, next_line, mode, limits))
                next_line += len(chunk)
            if not in_flight:
                return
            for parsed in in_flight.popleft().result():
                if isinstance(parsed, Refused):  # positions count objects across chunks, not within one
                    parsed = replace(parsed, index=position)
                yield parsed
                position += 1
