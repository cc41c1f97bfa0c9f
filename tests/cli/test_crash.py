"""SIGKILL in the middle of a bulk import loses no batch that was already acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phalanx.config import Settings
from phalanx.service import Node
from phalanx.store import Query, VersionFilter
from tests.support import INDICATOR


def write_indicators(path: Path, count: int) -> list[str]:
    ids = []
    with path.open("w") as out:
        for i in range(count):
            obj = dict(INDICATOR, id=f"indicator--{i:08x}-1cce-4b0c-8b5e-0c1f9a55d6aa",
                       pattern=f"[ipv4-addr:value = '10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']")
            ids.append(str(obj["id"]))
            out.write(json.dumps(obj) + "\n")
    return ids


def phalanx(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "phalanx", "--home", str(home), *args]


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("workers", ["0", "1"], ids=["inline-parsing", "parsing-process"])
def test_sigkill_mid_import_keeps_every_acknowledged_batch(tmp_path: Path, workers: str) -> None:
    home = tmp_path / "node"
    feed = tmp_path / "feed.jsonl"
    ids = write_indicators(feed, 40_000)
    for args in (("init",), ("community", "add", "isac"), ("org", "add", "ACME"),
                 ("community", "join", "isac", "ACME")):
        subprocess.run(phalanx(home, *args), check=True, capture_output=True)
    env = dict(os.environ, PHALANX_BATCH_SIZE="500", PHALANX_PARSE_WORKERS=workers)
    proc = subprocess.Popen(phalanx(home, "import", "--log-batches", "--org", "ACME", str(feed)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    acknowledged = -1
    for line in proc.stderr:
        text = line.decode()
        if text.startswith("committed batch"):
            acknowledged = int(text.split(": ")[1].split(" objects read")[0])
            if acknowledged >= 5_000:
                helpers = children_of(proc.pid)
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    assert helpers or workers == "0", "no parsing process was started"
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in helpers):  # parsing processes end with the process they served
        assert time.monotonic() < deadline, f"orphaned processes left running: {helpers}"
        time.sleep(0.2)

    node = Node.open(Settings.load(home))
    try:
        store = node.backend.store
        stored = store.stats().versions
        assert acknowledged <= stored < len(ids)
        for object_id in ids[:acknowledged]:
            store.get(object_id)
    finally:
        node.close()

    # Running the same import again completes it: accepted objects are duplicates, nothing is doubled.
    done = subprocess.run(phalanx(home, "import", "--org", "ACME", str(feed)), env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    node = Node.open(Settings.load(home))
    try:
        page = node.backend.store.query(Query(versions=(VersionFilter.ALL,), limit=1))
        assert page.more
        assert node.backend.store.stats().versions == len(ids)
    finally:
        node.close()
