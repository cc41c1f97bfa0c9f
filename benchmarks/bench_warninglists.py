"""MISP warning lists: load time, lookups per value and per pattern, and what checking costs bulk ingest.

    .venv/bin/python benchmarks/bench_warninglists.py                  # 20,000 indicators, peer on 300 values
    .venv/bin/python benchmarks/bench_warninglists.py --count 100000 --peer-count 0

Ours: ``phalanx.analysis.WarningLists.load()`` (the 119 lists pymispwarninglists ships), measured in a fresh
process: the first check of each kind of value reads and compiles the lists that apply to it (CPU seconds, and
the resident set size after). Then, on the first ``--count`` Maltrail indicators (``_corpus.py``): ``check`` per
value (µs), ``parse`` and ``flags`` per pattern (µs), and ``node.ingest.stream`` on a memory node and on a SQLite one,
with the setting ``warninglists`` at ``off`` and at ``warn`` (lists already loaded), objects/s.

Peer (same run): pymispwarninglists' own ``WarningLists(slow_search=True).search(value)`` (the search that knows the
list types) on ``--peer-count`` of the same values, and its load time.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time

import orjson
from _corpus import corpus, rate, read_lines, rss_kib, table

from phalanx.analysis import WarningLists
from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.pattern import parse
from phalanx.service import Node
from phalanx.stix import Mode, parse_document

FIRST = [("ip", "ipv4-addr:value", "198.51.100.7"), ("hash", "file:hashes.MD5", "d41d8cd98f00b204e9800998ecf8427e"),
         ("domain", "domain-name:value", "example.org"), ("url", "url:value", "http://example.org/x"),
         ("email", "email-addr:value", "bob@example.org")]


def cpu() -> float:
    return time.process_time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="Maltrail indicators (default 20,000)")
    parser.add_argument("--peer-count", type=int, default=300, help="values searched by pymispwarninglists (0: skip)")
    args = parser.parse_args()

    lists = WarningLists.load()
    print(f"Python {sys.version.split()[0]}; RSS before loading: {rss_kib() // 1024} MiB")
    rows = []
    for label, path, value in FIRST:
        start, wall = cpu(), time.perf_counter()
        lists.check(path, value)
        rows.append([f"first {label} check", f"{cpu() - start:.2f}", f"{time.perf_counter() - wall:.2f}",
                     f"{len(lists.loaded_lists())}", f"{rss_kib() // 1024}"])
    print("\nLoad, on first use (each row reads the lists the kind needs that earlier rows did not):")
    print(table(["step", "CPU s", "wall s", "lists read", "RSS MiB"], rows))
    print(f"peak RSS while loading: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")

    lines = read_lines(corpus(args.count), args.count)
    objects = [orjson.loads(line) for line in lines]
    patterns = [str(o["pattern"]) for o in objects]
    parsed = [parse(text) for text in patterns]
    values: dict[str, list[tuple[object, str]]] = {}
    for tree in parsed:
        comparison = tree.root.expression  # type: ignore[union-attr]  # [path = 'value'], as the corpus makes
        values.setdefault(comparison.path.object_type, []).append((comparison.path, comparison.value.value))

    rows = []
    for kind, items in sorted(values.items()):
        start = cpu()
        hits = sum(1 for path, value in items if lists.check(path, value))  # type: ignore[arg-type]
        seconds = cpu() - start
        rows.append([f"check {kind}", f"{len(items):,}", f"{seconds / len(items) * 1e6:.2f}", f"{hits:,}"])
    start = cpu()
    for text in patterns:
        parse(text)
    parse_us = (cpu() - start) / len(patterns) * 1e6
    start = cpu()
    flagged = sum(1 for tree in parsed if lists.flags(tree))
    flags_us = (cpu() - start) / len(parsed) * 1e6
    rows.append(["parse (pattern)", f"{len(patterns):,}", f"{parse_us:.2f}", ""])
    rows.append(["flags (parsed pattern)", f"{len(parsed):,}", f"{flags_us:.2f}", f"{flagged:,}"])
    print(f"\nLookups on {len(objects):,} Maltrail indicators (CPU µs per call; hits: values on a list):")
    print(table(["call", "calls", "µs", "hits"], rows))

    rows = []
    document = b"\n".join(lines) + b"\n"
    for mode, url in (("off", "memory://"), ("warn", "memory://"), ("off", "sqlite"), ("warn", "sqlite")):
        folder = tempfile.TemporaryDirectory()
        url = f"sqlite:///{folder.name}/bench.db" if url == "sqlite" else url
        node = Node.open(Settings(database_url=url, warninglists=mode, batch_size=2000), upgrade=True)
        node.admin.add_community("bench", title="Bench")
        org = node.admin.add_organization("Bench CERT")
        node.admin.join("bench", org.id)
        items = parse_document(document, mode=Mode.STRICT)
        start, wall = cpu(), time.perf_counter()
        summary = node.ingest.stream(Actor(org.id, Role.CONTRIBUTOR), "bench", items)
        seconds, used = time.perf_counter() - wall, cpu() - start
        rows.append([url.split(":")[0], mode, f"{summary.accepted:,}", f"{summary.flagged:,}",
                     f"{rate(summary.accepted, seconds):,.0f}", f"{used / max(summary.accepted, 1) * 1e6:.1f}"])
        node.close()
        folder.cleanup()
    print("\nIngest (node.ingest.stream, objects already parsed; lists already loaded):")
    print(table(["store", "warninglists", "accepted", "flagged", "objects/s", "CPU µs/object"], rows))

    if args.peer_count:
        import pymispwarninglists  # the peer

        start = cpu()
        peer = pymispwarninglists.WarningLists(slow_search=True)
        load = cpu() - start
        sample = [value for items in values.values() for _, value in items[: args.peer_count // len(values)]]
        start = cpu()
        for value in sample:
            peer.search(value)
        peer_us = (cpu() - start) / len(sample) * 1e6
        start = cpu()
        for items in values.values():
            for path, value in items[: args.peer_count // len(values)]:
                lists.check(path, value)  # type: ignore[arg-type]
        ours_us = (cpu() - start) / len(sample) * 1e6
        print(f"\nPeer: pymispwarninglists slow_search, load {load:.1f} CPU s; search {peer_us:,.0f} µs per value "
              f"vs ours {ours_us:.1f} µs ({peer_us / ours_us:,.0f}x), on {len(sample)} values")


if __name__ == "__main__":
    main()
