"""Repair between two replicas: range-based set reconciliation (phalanx.federation._reconcile) beside the naive
way (one side sends the whole list of its version ids).

a. The protocol alone, in one process, on real ids: replica A holds n versions (Maltrail indicators, 1,000,000
   by default), replica B the same but ``--differ`` of them (half missing at B, half only at B). Rounds, bytes on
   the wire (the JSON of each request and answer), what B finds it lacks, and the time; beside the bytes of
   sending B's whole id list.
b. End to end over HTTP: node A served on loopback, node B following it; B lacks ``--differ`` of A's
   ``--e2e-count`` versions; ``Federation.reconcile`` finds and fetches them (the endpoint, the policy, TAXII
   fetches and ingest included).

    .venv/bin/python benchmarks/bench_reconcile.py                       # a: 1 M, b: 100,000 (about 3 minutes)
    .venv/bin/python benchmarks/bench_reconcile.py --count 100000 --e2e-count 10000
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import corpus, read_lines

from phalanx.config import Settings
from phalanx.federation import Federation
from phalanx.federation._reconcile import Range, VersionSet
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.stix import Mode, parse_micros
from phalanx.stix._model import StixObject


def ids(count: int) -> list[tuple[str, int]]:
    lines = read_lines(corpus(count), count)
    return [(orjson.loads(line)["id"], parse_micros(orjson.loads(line)["modified"])) for line in lines]


def part_a(count: int, differ: int, seed: int) -> None:
    print(f"\na. the protocol alone: {count:,} versions per replica, differing by {differ:,}")
    versions = ids(count)
    rng = random.Random(seed)
    gone = set(rng.sample(range(len(versions)), differ // 2))
    a_side = versions
    b_side = [v for i, v in enumerate(versions) if i not in gone] + [
        (f"indicator--{rng.getrandbits(128):032x}", 1) for _ in range(differ - differ // 2)]
    started = time.perf_counter()
    mine, theirs = VersionSet(b_side), VersionSet(a_side)
    built = time.perf_counter() - started
    started = time.perf_counter()
    ask, missing, rounds, sent, received = [mine.whole()], [], 0, 0, 0
    while ask:
        request = orjson.dumps({"ranges": [r.record() for r in ask]})
        answers = [theirs.answer(Range.from_record(r)) for r in orjson.loads(request)["ranges"]]
        answer = orjson.dumps({"answers": [a.record() for a in answers]})
        rounds, sent, received = rounds + 1, sent + len(request), received + len(answer)
        ask = []
        for a in answers:
            more, lacking = mine.follow_up(a)
            ask += more
            missing += lacking
    took = time.perf_counter() - started
    expected = {versions[i] for i in gone}
    naive = len(orjson.dumps([[oid, v] for oid, v in b_side]))
    print(f"   sets built in {built:.1f} s (both sides); {rounds} rounds in {took:.2f} s")
    print(f"   B found it lacks {len(missing):,} versions ({'all' if set(missing) == expected else 'NOT all'} of "
          f"the {len(expected):,} it lacks, nothing else)")
    print(f"   bytes: {sent:,} sent + {received:,} received = {(sent + received) / 1e6:.2f} MB")
    print(f"   naive (B sends its whole id list): {naive / 1e6:.1f} MB -> {naive / (sent + received):.0f}x more")


def serve(node: Node) -> tuple[str, threading.Thread, object]:
    import uvicorn

    from phalanx.web import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", thread, server


def part_b(count: int, differ: int, seed: int) -> None:
    print(f"\nb. end to end over HTTP: {count:,} versions on A, B lacking {differ:,} of them")
    lines = read_lines(corpus(count), count)
    rng = random.Random(seed)
    gone = set(rng.sample(range(len(lines)), differ))
    with tempfile.TemporaryDirectory() as folder:
        nodes = []
        for name in ("a", "b"):
            node = Node.open(Settings(home=Path(folder) / name, database_url=f"sqlite:///{folder}/{name}.db"),
                             upgrade=True)
            node.admin.add_community("isac")
            org = node.admin.add_organization(f"{name} CERT")
            node.admin.join("isac", org.id)
            nodes.append((node, org))
        (a, a_org), (b, b_org) = nodes
        url, thread, server = serve(a)
        try:
            objects = [StixObject.from_json(line, mode=Mode.STRICT) for line in lines]
            a.ingest.stream_shared(a.ingest.authorize(Actor(a_org.id, Role.CONTRIBUTOR), "isac"), iter(objects))
            secret, _ = Federation(a).invite("b")
            federation = Federation(b)
            federation.add(url, secret, name="a")
            b.ingest.stream_shared(b.ingest.authorize(Actor(b_org.id, Role.CONTRIBUTOR), "isac"),
                                   (o for i, o in enumerate(objects) if i not in gone))
            started = time.perf_counter()
            report = federation.reconcile("a")
            took = time.perf_counter() - started
            print(f"   {report.rounds} rounds, {(report.sent + report.received) / 1e6:.2f} MB; "
                  f"{report.missing:,} missing found, {report.stored:,} stored; {took:.1f} s in all "
                  f"(both sets read from SQLite, the rounds, the TAXII fetches and the ingest)")
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join(timeout=10)
            a.close()
            b.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="versions per replica in part a")
    parser.add_argument("--e2e-count", type=int, default=100_000, help="versions on A in part b")
    parser.add_argument("--differ", type=int, default=1_000)
    parser.add_argument("--parts", default="ab")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if "a" in args.parts:
        part_a(args.count, args.differ, args.seed)
    if "b" in args.parts:
        part_b(args.e2e_count, args.differ, args.seed)


if __name__ == "__main__":
    main()
