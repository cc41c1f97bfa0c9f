"""Following a growing log: lines as they are written, half-written lines held back, rotation and truncation."""

from __future__ import annotations

import gzip
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phalanx.errors import UnreadableInput
from phalanx.matching._follow import Progress, follow, read_lines


class Tail:
    """``follow`` on a thread, its lines in a queue."""

    def __init__(self, path: Path, **options: bool) -> None:
        self.stop = threading.Event()
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(path,), kwargs=options)
        self.thread.start()

    def _run(self, path: Path, **options: bool) -> None:
        for line in follow(path, self.stop, poll=0.01, **options):
            self.lines.put(line)

    def take(self, n: int) -> list[bytes]:
        return [self.lines.get(timeout=5) for _ in range(n)]

    def nothing_more(self) -> bool:
        try:
            self.lines.get(timeout=0.2)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


@pytest.fixture
def tail(tmp_path: Path) -> Iterator[tuple[Path, list[Tail]]]:
    started: list[Tail] = []
    yield tmp_path / "app.log", started
    for t in started:
        t.close()


def write(path: Path, text: str, mode: str = "a") -> None:
    with path.open(mode) as handle:
        handle.write(text)


def test_lines_arrive_as_written_and_a_half_line_waits(tail: tuple[Path, list[Tail]]) -> None:
    path, started = tail
    write(path, "one\ntwo\n", "w")
    t = Tail(path)
    started.append(t)
    assert t.take(2) == [b"one", b"two"]
    write(path, "thr")
    assert t.nothing_more()
    write(path, "ee\nfour\n")
    assert t.take(2) == [b"three", b"four"]


def test_from_end_skips_what_was_there(tail: tuple[Path, list[Tail]]) -> None:
    path, started = tail
    write(path, "old\n", "w")
    t = Tail(path, from_end=True)
    started.append(t)
    assert t.nothing_more()
    write(path, "new\n")
    assert t.take(1) == [b"new"]


def test_a_rotated_log_is_read_to_its_end_then_the_new_one_from_its_start(tail: tuple[Path, list[Tail]]) -> None:
    path, started = tail
    write(path, "a\n", "w")
    t = Tail(path)
    started.append(t)
    assert t.take(1) == [b"a"]
    write(path, "b\n")
    os.rename(path, path.with_suffix(".1"))
    write(path.with_suffix(".1"), "c\n")  # the writer had not reopened yet
    write(path, "d\n", "w")
    assert t.take(3) == [b"b", b"c", b"d"]


def test_a_log_truncated_in_place_is_read_again_from_the_top(tail: tuple[Path, list[Tail]]) -> None:
    path, started = tail
    write(path, "first line that is long\n", "w")
    t = Tail(path)
    started.append(t)
    assert t.take(1) == [b"first line that is long"]
    write(path, "x\n", "w")
    assert t.take(1) == [b"x"]


def test_a_log_that_does_not_exist_yet_is_waited_for(tail: tuple[Path, list[Tail]]) -> None:
    path, started = tail
    t = Tail(path)
    started.append(t)
    assert t.nothing_more()
    write(path, "here\n", "w")
    assert t.take(1) == [b"here"]


def test_reading_a_whole_file_counts_progress_and_reads_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "a.log"
    plain.write_bytes(b"".join(b"line %d\n" % i for i in range(300_000)) + b"last")
    progress = Progress()
    got = list(read_lines(plain, progress))
    assert len(got) == 300_001 and got[-1] == b"last" and got[123] == b"line 123"
    assert progress.read == progress.size == plain.stat().st_size
    packed = tmp_path / "a.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(read_lines(packed)) == got
    with pytest.raises(UnreadableInput):
        list(read_lines(tmp_path / "missing.log"))
