"""``phalanx match`` as members run it: a real process following a real log, fed by a real hub over HTTP."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner

from phalanx.cli import cli
from phalanx.config import Settings
from phalanx.identity import Role
from tests.matching.test_matching import indicator, share
from tests.streams.server import served
from tests.support import World, make_world


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(Settings(database_url="memory://", stream_heartbeat_seconds=0.5))
    yield w
    w.node.close()


class Lines:
    """A pipe's lines, read on a thread (so a test can wait for one with a timeout)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.pipe = pipe
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.pipe:
            self.lines.put(line.decode())

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.pipe.close()

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout} s; saw {self.seen}")


def start(*args: str) -> tuple[subprocess.Popen[bytes], Lines, Lines]:
    process = subprocess.Popen([sys.executable, "-m", "phalanx", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "PHALANX_KEY": ""})
    assert process.stdout is not None and process.stderr is not None
    return process, Lines(process.stdout), Lines(process.stderr)


def test_a_member_following_its_log_is_alerted_at_once_and_the_hub_learns_it_was_seen(
        world: World, tmp_path: Path) -> None:
    share(world, indicator(1, "[domain-name:value = 'old.example']"))
    log = tmp_path / "dns.log"
    log.write_text(json.dumps({"ts": time.time(), "query": "benign.example"}) + "\n")
    key, _ = world.node.admin.create_key(world.globex.id, Role.CONTRIBUTOR)
    with served(world.node) as base:
        process, out, err = start("match", "--url", base, "--key", key, "--follow", str(log), "--format", "jsonl",
                                  "--field", "query=domain", "--json", "--sightings", "--report-every", "0.2")
        try:
            err.wait_for("matching against 1 indicators")

            def append(value: str) -> None:
                with log.open("a") as handle:
                    handle.write(json.dumps({"ts": time.time(), "query": value}) + "\n")

            append("old.example")  # an indicator held before the run
            first = json.loads(out.wait_for("old.example"))
            assert first["indicator"]["name"] == "n1" and first["line"] == 2

            # Shared by ACME while Globex's log is followed: the value seen just before it was shared alerts
            # too (look-back), and the one seen after.
            append("new.example")
            acme = {"type": "identity", "spec_version": "2.1", "id": world.acme.id, "name": "ACME CERT",
                    "identity_class": "organization", "created": "2026-01-01T00:00:00.000Z",
                    "modified": "2026-01-01T00:00:00.000Z"}
            share(world, acme, indicator(2, "[domain-name:value = 'new.example']", created_by_ref=world.acme.id))
            second = json.loads(out.wait_for("new.example"))
            assert second["indicator"]["name"] == "n2" and second["line"] == 3
            assert second["indicator"]["created_by"] == "ACME CERT"  # named from the identity the hub shares
            append("new.example")
            assert json.loads(out.wait_for("new.example"))["line"] == 4

            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if all(_seen_by(world, n) for n in (1, 2)):
                    break
                time.sleep(0.05)
            assert all(_seen_by(world, n) for n in (1, 2))  # the hub recorded Globex's sightings of both
        finally:
            process.terminate()
            process.wait(timeout=10)
        assert process.returncode == 0, err.seen
        assert "sightings reported" in err.wait_for("lines,")
        out.close()
        err.close()


def _seen_by(world: World, n: int) -> bool:
    from phalanx.store import Query

    found = [json.loads(v.canonical) for v in world.node.reader.export(Query(types=("sighting",)))]
    return any(s["sighting_of_ref"] == indicator(n, "")["id"] for s in found)


def run(home: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_matching_a_file_against_the_node_as_an_organization(tmp_path: Path) -> None:
    home = tmp_path / "node"
    run(home, "init")
    run(home, "community", "add", "isac", "--title", "Test ISAC")
    for name in ("ACME CERT", "Globex", "Outsider"):
        run(home, "org", "add", name)
    for name in ("ACME CERT", "Globex"):
        run(home, "community", "join", "isac", name)
    shared = tmp_path / "iocs.json"
    shared.write_text(json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                                  "objects": [indicator(1, "[ipv4-addr:value = '45.137.21.9']"),
                                              indicator(2, "[file:hashes.MD5 = 'a3cca2b2aa1e3b5b3b5aad99a8529074']")]}))
    run(home, "import", str(shared), "--org", "ACME CERT", "--collection", "isac")
    log = tmp_path / "conn.csv"
    log.write_text("ts,src,dst,md5\n1767225600,10.0.0.1,45.137.21.9,-\n1767225601,10.0.0.1,194.26.29.1,"
                   "A3CCA2B2AA1E3B5B3B5AAD99A8529074\n")
    found = run(home, "match", str(log), "--org", "Globex")
    assert found.stdout.splitlines() == [
        f"line 2: ipv4 45.137.21.9 (dst) matches {indicator(1, '')['id']} 'n1'",
        f"line 3: md5 A3CCA2B2AA1E3B5B3B5AAD99A8529074 (md5) matches {indicator(2, '')['id']} 'n2'"]
    assert "conn.csv: 3 lines, 5 observables, 2 matches" in found.stderr
    assert run(home, "match", str(log), "--org", "Outsider").stdout == ""  # not a member: nothing is for it
    as_json = [json.loads(line) for line in run(home, "match", str(log), "--json").stdout.splitlines()]
    assert [(m["line"], m["kind"], m["indicator"]["pattern"]) for m in as_json] == [
        (2, "ipv4", "[ipv4-addr:value = '45.137.21.9']"),
        (3, "md5", "[file:hashes.MD5 = 'a3cca2b2aa1e3b5b3b5aad99a8529074']")]
