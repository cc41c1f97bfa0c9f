"""Reading telemetry: a whole file once, or a growing log followed like ``tail -F``.

``follow`` yields complete lines as they are written; a half-written last line waits for its newline. When the
log is rotated (its path now names another file) the old file is read to its end and the new one from its start;
when it is truncated in place, reading starts again from the top. ``Progress`` counts bytes for the progress bar.
"""

from __future__ import annotations

__all__ = ["Progress", "follow", "read_lines"]

import gzip
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import UnreadableInput

_CHUNK = 1 << 20


@dataclass(slots=True)
class Progress:
    """How far reading got: bytes of the file read so far, and its size when reading began (0: unknown)."""

    read: int = 0
    size: int = 0


def read_lines(path: Path, progress: Progress | None = None) -> Iterator[bytes]:
    """Every line of the file (``.gz`` files are decompressed), read a megabyte at a time."""
    progress = progress if progress is not None else Progress()
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw:
        progress.size = os.fstat(raw.fileno()).st_size
        handle: BinaryIO = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw  # type: ignore[assignment]
        tail = b""
        while True:
            try:
                chunk = handle.read(_CHUNK)
            except (OSError, EOFError) as exc:
                raise UnreadableInput(f"cannot read {path}: {exc}") from None
            if not chunk:
                break
            progress.read = raw.tell()
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def follow(path: Path, stop: threading.Event, *, poll: float = 0.1, from_end: bool = False,
           progress: Progress | None = None) -> Iterator[bytes]:
    """The lines of ``path`` as they are appended, until ``stop`` is set. ``from_end``: only lines written
    after the call (like ``tail -F -n0``); otherwise the file's current lines first."""
    progress = progress if progress is not None else Progress()
    handle: BinaryIO | None = None
    identity: tuple[int, int] | None = None
    tail = b""
    first = True
    while not stop.is_set():
        if handle is None:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                stop.wait(poll)
                continue
            except OSError as exc:
                raise UnreadableInput(f"cannot read {path}: {exc.strerror or exc}") from None
            stat = os.fstat(handle.fileno())
            identity = (stat.st_dev, stat.st_ino)
            if first and from_end:
                handle.seek(0, os.SEEK_END)
            first = False
            tail = b""
        chunk = handle.read(_CHUNK)
        if chunk:
            progress.read += len(chunk)
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield from lines
            continue
        # At the end: was the log rotated or truncated?
        now: os.stat_result | None
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        position = handle.tell()
        if now is not None and (now.st_dev, now.st_ino) != identity:
            handle.close()  # rotated: the old file was read to its end; the new one from its start
            handle = None
            if tail:
                yield tail
            continue
        if now is not None and now.st_size < position:
            handle.seek(0)  # truncated in place
            tail = b""
            continue
        stop.wait(poll)
    if handle is not None:
        handle.close()
