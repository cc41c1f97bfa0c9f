"""From "shared on the hub" to "alert on a member's machine": the latency of ``phalanx match --follow --url``.

A hub (a real ``Node`` on SQLite in a temporary folder, served by uvicorn on 127.0.0.1) and a member running the
real command in its own process, following a JSON-lines log, fed by the hub's live stream. Each round, the log
first gets a line with a new domain (the member saw it), then another organization shares an indicator for that
domain on the hub; the time from the moment ``ingest`` returns (accepted, durable) to the moment the command
prints the match is measured (the look-back path: a value seen before it was shared alerts when it is shared).
Then a line with a domain shared before is appended, and the time from the write to the printed match is
measured too (the plain path). Prints p50, p90, p99 and max of each over ``--rounds`` (200).

There is no peer to compare with: the reference tools have no live matcher.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.web import create_app


def indicator(n: int, domain: str) -> dict[str, object]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08x}-7d3b-4b0c-8b5e-0c1f9a55d6aa",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": domain,
            "pattern": f"[domain-name:value = '{domain}']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z"}


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100)
    return (f"p50 {cut[49] * 1000:7.1f} ms  p90 {cut[89] * 1000:7.1f} ms  p99 {cut[98] * 1000:7.1f} ms  "
            f"max {ordered[-1] * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="phalanx-live-"))
    node = Node.open(Settings(home=folder, database_url=f"sqlite:///{folder}/hub.db"), upgrade=True)
    node.admin.add_community("isac", title="ISAC")
    sharer, member = node.admin.add_organization("Sharer CERT"), node.admin.add_organization("Member CERT")
    node.admin.join("isac", sharer.id)
    node.admin.join("isac", member.id)
    key, _ = node.admin.create_key(member.id, Role.READER)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)

    log = folder / "dns.jsonl"
    log.write_text("")
    command = [sys.executable, "-m", "phalanx", "match", "--url", f"http://127.0.0.1:{port}", "--key", key,
               "--follow", str(log), "--format", "jsonl", "--field", "query=domain", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.perf_counter(), line.decode())) for line in process.stdout],
                     daemon=True).start()
    while b"matching against" not in process.stderr.readline():
        pass
    actor = Actor(sharer.id, Role.CONTRIBUTOR)

    def share(n: int, domain: str) -> float:
        bundle = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                             "objects": [indicator(n, domain)]}).encode()
        results = node.ingest.document(actor, "isac", bundle)
        assert all(r.outcome == "accepted" for r in results), results
        return time.perf_counter()

    def append(domain: str) -> float:
        with log.open("a") as handle:
            handle.write(json.dumps({"ts": time.time(), "query": domain}) + "\n")
        return time.perf_counter()

    def alert(domain: str) -> float:
        while True:
            try:
                at, line = lines.get(timeout=30)
            except queue.Empty:
                process.terminate()
                raise SystemExit(f"no alert for {domain} in 30 s: {process.stderr.read().decode()[-3000:]}") from None
            if json.loads(line)["value"] == domain:
                return at

    shared_to_alert: list[float] = []
    written_to_alert: list[float] = []
    try:
        for n in range(args.rounds):
            seen = f"seen-first-{n}.example"
            append(seen)
            time.sleep(0.05)  # the member read it before it was shared
            shared = share(n, seen)
            shared_to_alert.append(alert(seen) - shared)
            written = append(seen)
            written_to_alert.append(alert(seen) - written)
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.should_exit = True
        node.close()
    print(f"{args.rounds} rounds, one member following its log through the hub's live stream (SQLite hub)")
    print(f"shared on the hub -> alert for a value already in the log:  {percentiles(shared_to_alert)}")
    print(f"line written -> alert, for an indicator held:             {percentiles(written_to_alert)}")


if __name__ == "__main__":
    main()
