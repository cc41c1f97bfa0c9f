"""The indexed matcher (``phalanx.pattern.PatternIndex``) against the OASIS reference matcher, on real indicators.

    .venv/bin/python benchmarks/bench_match.py                         # 10,000 vs the reference, then 1,000,000
    .venv/bin/python benchmarks/bench_match.py --indicators 200000     # a smaller second part
    .venv/bin/python benchmarks/bench_match.py --profile               # and cProfile of the 1 M plain lookups

Indicators: the first distinct values of Maltrail's static trails (``_corpus.trails``; cached as
``benchmarks/.cache/match-values-<N>.tsv``), one pattern each:

    domain  -> [domain-name:value = '...']           URL -> [url:value = '...']
    IPv4    -> [ipv4-addr:value = '...']             Maltrail's CIDR trails -> [ipv4-addr:value ISSUBSET '...']
    every 500th IPv4          -> [ipv4-addr:value ISSUBSET '<its /24>']
    every 2,000th domain      -> [domain-name:value LIKE '%.<the domain>'] (its subdomains)
    every 5,000th URL with a host -> [url:value MATCHES '^https?://<its host, escaped>/']

Observations: real values again, drawn so that ``--hit-rate`` of them (default 1 %) are values of indexed
patterns and the rest Maltrail values beyond the indexed ones (or random IPv4 addresses), so that misses look
like hits. Two forms: plain observables (``PatternIndex.match_value(kind, value)``), and observed-data bundles (an
``observed-data`` and its one SCO, STIX 2.1), turned into ``Observations.from_stix`` and matched with
``PatternIndex.match`` (the conversion is timed too).

Part 1, at ``--small`` indicators (default 10,000), side by side in one run: the reference matcher
(``stix2matcher.matcher.Pattern(text, '2.1').match([bundle])`` for every pattern, as it is meant to be used:
patterns compiled once, untimed; timed on ``--reference-observations`` bundles, default 3) against ours on the same
bundles and many more; the two must find the same patterns on the reference's sample.
Part 2, at ``--indicators`` (default 1,000,000): build (``parse`` + ``add``: indicators/s), index memory
(RSS growth over the build, plus the keys the index keeps, which existed before), plain
observables/s and bundles/s at the hit rate (``--tracemalloc`` also traces the build's allocations, slowly).

One process, one thread. Rates are given per CPU second of the process (``time.process_time``: the rate per
core, which a busy shared machine does not distort) and per wall second; targets and ratios use the first.
Targets (issue 6): >= 10,000x the reference's observations/s at 10,000; at 1,000,000: >= 100,000 plain
observables/s per core, index memory <= 1.5 GB, build >= 50,000 indicators/s.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from _corpus import CACHE_DIR, classify, indicator_id, profile, rss_kib, table, trails

from phalanx.pattern import Observations, PatternIndex, parse

TARGET_VS_REFERENCE = 10_000.0
TARGET_PLAIN = 100_000.0
TARGET_MEMORY_GB = 1.5
TARGET_BUILD = 50_000.0
TIMESTAMP = "2024-05-01T12:00:00.000Z"


# -- data --------------------------------------------------------------------------------------------------------

def values(count: int) -> list[tuple[str, str]]:
    """The first ``count`` distinct (SCO type, value) of the Maltrail archive, cached as TSV."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"match-values-{count}.tsv"
    if not path.exists():
        seen: dict[tuple[str, str], None] = {}
        for _, _, trail in trails():
            kind = classify(trail)
            if kind is not None and "\t" not in kind[1] and "\n" not in kind[1]:
                seen[kind] = None
                if len(seen) >= count:
                    break
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text("".join(f"{t}\t{v}\n" for t, v in seen), encoding="utf-8")
        partial.replace(path)
    with path.open(encoding="utf-8") as stream:
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in stream]  # type: ignore[misc]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_HOST = re.compile(r"^(?:https?://)?([A-Za-z0-9.-]+\.[A-Za-z]{2,})/")


def pattern_text(number: int, sco_type: str, value: str) -> str:
    """The pattern of the ``number``-th value (see the module docstring for the mix)."""
    if sco_type == "ipv4-addr":
        if "/" in value:
            return f"[ipv4-addr:value ISSUBSET {_quote(value)}]"
        if number % 500 == 0:
            return f"[ipv4-addr:value ISSUBSET '{value.rsplit('.', 1)[0]}.0/24']"
    elif sco_type == "domain-name" and number % 2000 == 0:
        return f"[domain-name:value LIKE {_quote('%.' + value)}]"
    elif sco_type == "url" and number % 5000 == 0:
        host = _HOST.match(value)
        if host:
            return f"[url:value MATCHES {_quote('^https?://' + re.escape(host.group(1)) + '/')}]"
    return f"[{sco_type}:value = {_quote(value)}]"


def indicators(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(keys, pattern texts) for ``pairs``."""
    keys = [indicator_id(t, v) for t, v in pairs]
    texts = [pattern_text(i, t, v) for i, (t, v) in enumerate(pairs)]
    return keys, texts


def observables(indexed: Sequence[tuple[str, str]], others: Sequence[tuple[str, str]], count: int,
                hit_rate: float, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` (kind, value) to look up: ``hit_rate`` of them indexed values, the rest ``others`` (values
    not indexed) or, when there are none, random IPv4 addresses."""
    drawn: list[tuple[str, str]] = []
    for _ in range(count):
        if rng.random() < hit_rate:
            drawn.append(rng.choice(indexed))
        elif others:
            drawn.append(rng.choice(others))
        else:
            drawn.append(("ipv4-addr", ".".join(str(rng.randrange(1, 255)) for _ in range(4))))
    return [(t, v.split("/", 1)[0] if t == "ipv4-addr" else v) for t, v in drawn]


def bundle(number: int, sco_type: str, value: str) -> list[dict[str, Any]]:
    """An observed-data and its one SCO (STIX 2.1), as a bundle's objects."""
    sco_id = f"{sco_type}--00000000-0000-4000-8000-{number:012d}"
    return [
        {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--00000000-0000-4000-8000-{number:012d}",
         "created": TIMESTAMP, "modified": TIMESTAMP, "first_observed": TIMESTAMP, "last_observed": TIMESTAMP,
         "number_observed": 1, "object_refs": [sco_id]},
        {"type": sco_type, "spec_version": "2.1", "id": sco_id, "value": value},
    ]


# -- measurements ------------------------------------------------------------------------------------------------

class Clock:
    """Wall time and this process's CPU time (one thread: the rate per core) of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rates(self, count: int) -> tuple[float, float]:
        """(per CPU second, per wall second)."""
        return count / self.cpu, count / self.wall


def build(keys: Sequence[str], texts: Sequence[str]) -> tuple[PatternIndex, Clock]:
    index = PatternIndex()
    add = index.add
    with Clock() as clock:
        for key, text in zip(keys, texts, strict=True):
            add(key, parse(text))
    return index, clock


def plain_rate(index: PatternIndex, lookups: Sequence[tuple[str, str]]) -> tuple[Clock, int]:
    """Plain observables: the clock, and the number that hit."""
    match_value = index.match_value
    at = int(time.time() * 1_000_000)
    hits = 0
    with Clock() as clock:
        for kind, value in lookups:
            if match_value(kind, value, at=at):
                hits += 1
    return clock, hits


def bundle_rate(index: PatternIndex, bundles: Sequence[list[dict[str, Any]]]) -> tuple[Clock, int]:
    """Observed-data bundles (``Observations.from_stix`` + ``match``): the clock, and the number that hit."""
    match = index.match
    from_stix = Observations.from_stix
    at = int(time.time() * 1_000_000)
    hits = 0
    with Clock() as clock:
        for objects in bundles:
            if match(from_stix(objects), at=at):
                hits += 1
    return clock, hits


def reference(texts: Sequence[str], keys: Sequence[str], bundles: Sequence[list[dict[str, Any]]]
              ) -> tuple[float, Clock, list[set[str]]]:
    """The reference matcher: (seconds to compile the patterns, the clock of the matching, the keys matched per
    bundle)."""
    from stix2matcher.matcher import Pattern as ReferencePattern

    start = time.perf_counter()
    compiled = [ReferencePattern(text, "2.1") for text in texts]
    compile_seconds = time.perf_counter() - start
    found: list[set[str]] = []
    with Clock() as clock:
        for objects in bundles:
            sdos = [{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects}]
            found.append({key for key, p in zip(keys, compiled, strict=True) if p.match(sdos)})
    return compile_seconds, clock, found


def memory_of(keys: Sequence[str]) -> int:
    """Bytes of the keys the index keeps (they exist before the build; the index keeps no pattern text for the
    simple patterns, only their values, which the build allocates)."""
    return sum(sys.getsizeof(k) for k in keys)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  ({label}: {time.perf_counter() - start:.1f} s)", flush=True)
    return result


# -- parts -------------------------------------------------------------------------------------------------------

def _rate(clock: Clock, count: int, unit: str = "/s") -> list[str]:
    cpu, wall = clock.rates(count)
    return [f"{cpu:,.0f} {unit}" if cpu >= 100 else f"{cpu:,.2f} {unit}", f"{wall:,.0f}" if wall >= 100 else
            f"{wall:,.2f}"]


def part_small(args: argparse.Namespace, pairs: list[tuple[str, str]], rng: random.Random) -> None:
    count = args.small
    indexed, others = pairs[:count], pairs[count:]
    keys, texts = indicators(indexed)
    print(f"== 1. {count:,} indicators: the reference matcher and ours, on the same observations ==", flush=True)
    sample = observables(indexed, others, args.reference_observations, 0.5, rng)
    sample_bundles = [bundle(i, t, v) for i, (t, v) in enumerate(sample)]
    compile_seconds, reference_clock, reference_found = timed(
        "reference", lambda: reference(texts, keys, sample_bundles))

    index, build_clock = build(keys, texts)
    ours_found = [{hit.key for hit in index.match(Observations.from_stix(b))} for b in sample_bundles]
    agree = ours_found == reference_found
    lookups = observables(indexed, others, args.observables, args.hit_rate, rng)
    plain, plain_hits = plain_rate(index, lookups)
    many = [bundle(i, t, v) for i, (t, v) in enumerate(lookups[: args.bundles])]
    bundles, bundle_hits = bundle_rate(index, many)

    reference_rate = reference_clock.rates(len(sample_bundles))[0]
    bundles_rate = bundles.rates(len(many))[0]
    plain_cpu = plain.rates(len(lookups))[0]
    rows = [
        ["stix2-matcher 3.0.0 (every pattern)", f"{len(sample_bundles):,}", *_rate(reference_clock, len(sample)),
         "1x", f"compiling the {count:,} patterns: {compile_seconds:.1f} s"],
        ["ours, match(Observations.from_stix(bundle))", f"{len(many):,}", *_rate(bundles, len(many)),
         f"{bundles_rate / reference_rate:,.0f}x",
         f"{bundle_hits:,} hit; build {build_clock.cpu:.2f} s with parse"],
        ["ours, match_value(kind, value)", f"{len(lookups):,}", *_rate(plain, len(lookups)),
         f"{plain_cpu / reference_rate:,.0f}x", f"{plain_hits:,} hit"],
    ]
    print(table(["engine", "observations", "per CPU second", "per wall second", "vs reference", "notes"], rows))
    ratio = bundles_rate / reference_rate
    print(f"\nsame patterns found on the reference's {len(sample_bundles)} observations "
          f"({sum(map(len, reference_found))} matches): {'yes' if agree else 'NO'}")
    print(f"ours / reference (bundles, per CPU second)   {ratio:>10,.0f}x   target >= {TARGET_VS_REFERENCE:,.0f}x: "
          f"{verdict(ratio >= TARGET_VS_REFERENCE)}\n", flush=True)


def part_large(args: argparse.Namespace, pairs: list[tuple[str, str]], rng: random.Random) -> None:
    count = args.indicators
    indexed, others = pairs[:count], pairs[count:]
    print(f"== 2. {len(indexed):,} indicators ==", flush=True)
    keys, texts = indicators(indexed)
    held = memory_of(keys)
    lookups = observables(indexed, others, args.observables, args.hit_rate, rng)
    many = [bundle(i, t, v) for i, (t, v) in enumerate(lookups[: args.bundles])]

    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    before = rss_kib()
    index, build_clock = build(keys, texts)
    gc.collect()
    grown = (rss_kib() - before) * 1024
    traced = tracemalloc.get_traced_memory()[0] if args.tracemalloc else None
    tracemalloc.stop()
    memory = grown + held
    build_rate = build_clock.rates(len(indexed))[0]

    plain, plain_hits = plain_rate(index, lookups)
    plain_cpu = plain.rates(len(lookups))[0]
    bundles, bundle_hits = bundle_rate(index, many)
    print(f"index: {index.stats()}")
    rows = [
        ["build (parse + add)", *_rate(build_clock, len(indexed), "indicators/s"),
         f"{build_clock.cpu:.1f} s CPU" + (", under tracemalloc (slower)" if args.tracemalloc else ""),
         "" if args.tracemalloc else verdict(build_rate >= TARGET_BUILD)],
        ["index memory", f"{memory / 2**30:.2f} GB", "", f"RSS +{grown / 2**20:,.0f} MiB, keys "
         f"{held / 2**20:,.0f} MiB" + (f", tracemalloc {traced / 2**20:,.0f} MiB" if traced else ""),
         verdict(memory <= TARGET_MEMORY_GB * 2**30)],
        ["plain observables (match_value)", *_rate(plain, len(lookups)),
         f"{len(lookups):,}, {plain_hits / len(lookups):.1%} hit", verdict(plain_cpu >= TARGET_PLAIN)],
        ["observed-data bundles (from_stix + match)", *_rate(bundles, len(many)),
         f"{len(many):,}, {bundle_hits / len(many):.1%} hit", ""],
    ]
    print(table([f"at {len(indexed):,}", "per CPU second", "per wall second", "detail", "target"], rows), flush=True)
    if args.profile:
        profile(lambda: plain_rate(index, lookups))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indicators", type=int, default=1_000_000, help="part 2 size (default 1,000,000)")
    parser.add_argument("--small", type=int, default=10_000, help="part 1 size, with the reference (10,000)")
    parser.add_argument("--reference-observations", type=int, default=3,
                        help="observations the reference matches against every pattern (default 3)")
    parser.add_argument("--observables", type=int, default=300_000, help="plain lookups timed (default 300,000)")
    parser.add_argument("--bundles", type=int, default=30_000, help="observed-data bundles timed (default 30,000)")
    parser.add_argument("--hit-rate", type=float, default=0.01, help="share of observations that hit (0.01)")
    parser.add_argument("--parts", default="12", help="which parts to run: 1 and/or 2 (default 12)")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the build with tracemalloc (slow)")
    parser.add_argument("--profile", action="store_true", help="cProfile the plain lookups of part 2")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    wanted = max(args.indicators if "2" in args.parts else 0, args.small) + 200_000
    pairs = timed("Maltrail values", lambda: values(wanted))
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, one process; "
          f"{len(pairs):,} distinct Maltrail values\n", flush=True)
    if "1" in args.parts:
        part_small(args, pairs, rng)
    if "2" in args.parts:
        part_large(args, pairs, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
