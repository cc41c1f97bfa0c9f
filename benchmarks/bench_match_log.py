"""``phalanx match`` on a big log: is it as fast as the disk and the parser allow?

Builds (once, cached in benchmarks/.cache/) a Zeek conn log of --megabytes (1,024: 1 GB) in Zeek's TSV format,
whose addresses are random but one in --hit-every is a real malicious IPv4 address from Maltrail, and a detector
of --indicators real Maltrail indicators (domains, IPv4 addresses, URLs, as ``[type:value = '...']``). Then, in one
run, on the same file:

1. the disk: reading its lines (``read_lines``), nothing else;
2. the parser: reading and extracting the observables (the Zeek extractor), no matching;
3. ``phalanx match``: reading, extracting, matching against the detector, printing the matches (to /dev/null) and
   updating the progress bar, exactly the loop the command runs (``matching._run.Run``).

It prints MB/s and lines/s for each, and the ratios 3/1 and 3/2. The reference matcher (stix2-matcher) is not run
on this file: it evaluates every pattern on every observation (about 33 µs a pair on this machine), which at
the default sizes would take years; bench_match.py compares it with the index at sizes where it finishes.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import CACHE_DIR, classify, indicator, trails

from phalanx.matching._detector import Detector
from phalanx.matching._extract import Stats, extractor
from phalanx.matching._follow import Progress, read_lines
from phalanx.matching._run import Run

HEADER = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
          "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
          "orig_bytes\tresp_bytes\tconn_state\n"
          "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n")


def corpus(count: int) -> tuple[list[dict[str, object]], list[str]]:
    found: list[dict[str, object]] = []
    addresses: list[str] = []
    seen: set[str] = set()
    for category, family, trail in trails():
        kind = classify(trail)
        if kind is None or kind[1] in seen or (kind[0] == "ipv4-addr" and "/" in kind[1]):
            continue
        seen.add(kind[1])
        found.append(indicator(category, family, *kind))
        if kind[0] == "ipv4-addr":
            addresses.append(kind[1])
        if len(found) >= count:
            break
    return found, addresses


def make_log(path: Path, megabytes: int, bad: list[str], hit_every: int) -> None:
    rng = random.Random(6)
    target = megabytes * 1_000_000
    with path.open("w") as out:
        out.write(HEADER)
        written, ts, n = 0, 1_764_000_000.0, 0
        chunk: list[str] = []
        while written < target:
            n += 1
            ts += 0.001
            resp = rng.choice(bad) if n % hit_every == 0 else \
                f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            line = (f"{ts:.6f}\tC{n:x}\t10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}\t"
                    f"{rng.randrange(1024, 65535)}\t{resp}\t443\ttcp\tssl\t{rng.random():.6f}\t"
                    f"{rng.randrange(100000)}\t{rng.randrange(100000)}\tSF\n")
            chunk.append(line)
            written += len(line)
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--hit-every", type=int, default=1000, help="one line in N holds a listed address")
    args = parser.parse_args()

    print(f"corpus: {args.indicators:,} Maltrail indicators ...", flush=True)
    found, bad = corpus(args.indicators)
    CACHE_DIR.mkdir(exist_ok=True)
    log = CACHE_DIR / f"conn-{args.megabytes}mb-{args.hit_every}.log"
    if not log.exists():
        print(f"writing {log} ({args.megabytes:,} MB) ...", flush=True)
        partial = log.with_suffix(".part")
        make_log(partial, args.megabytes, bad, args.hit_every)
        partial.rename(log)
    size = log.stat().st_size

    started = time.perf_counter()
    detector = Detector()
    detector.offer_many(found)
    built = time.perf_counter() - started
    print(f"detector: {len(detector):,} indicators indexed in {built:.1f} s ({len(detector) / built:,.0f}/s)")

    results: dict[str, tuple[float, int]] = {}

    started = time.perf_counter()
    lines = sum(1 for _ in read_lines(log))
    results["1. disk (read lines)"] = (time.perf_counter() - started, lines)

    started = time.perf_counter()
    stats = Stats()
    observables = sum(1 for _ in extractor("zeek")(read_lines(log), stats))
    results["2. parser (extract)"] = (time.perf_counter() - started, stats.lines)

    sink = open("/dev/null", "w")  # noqa: SIM115
    run = Run(detector.match, extractor("zeek"), out=sink, progress=Progress(), progress_out=io.StringIO())
    started = time.perf_counter()
    run(read_lines(log, run.progress))
    results["3. phalanx match"] = (time.perf_counter() - started, run.stats.lines)
    sink.close()

    print(f"\n{log.name}: {size / 1e6:,.0f} MB, {lines:,} lines, {observables:,} observables, "
          f"{run.matches:,} matches (expected about {lines // args.hit_every:,})")
    print(f"{'':24}{'seconds':>10}{'MB/s':>10}{'lines/s':>14}")
    for name, (seconds, counted) in results.items():
        print(f"{name:24}{seconds:>10.1f}{size / 1e6 / seconds:>10.1f}{counted / seconds:>14,.0f}")
    disk, parsed, ours = (results[k][0] for k in results)
    print(f"\nphalanx match runs at {disk / ours:.2f}x the speed of reading the file and {parsed / ours:.2f}x "
          "that of extracting its observables")


if __name__ == "__main__":
    main()
