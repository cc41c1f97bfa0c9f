"""The benchmark corpus: STIX 2.1 indicators built from real Maltrail trails, cached as JSON lines.

Source: ``/work/shared/data/indicators/maltrail/maltrail-trails-static.tar.gz`` (see its SOURCE.txt): Maltrail's
static trails, one malicious domain, IP or URL per line, in one file per malware family. Every value becomes one
``indicator`` whose pattern matches it, labelled with its family (the file stem):

    domain            -> [domain-name:value = '...']
    IPv4 (port cut)   -> [ipv4-addr:value = '...']
    URL or path       -> [url:value = '...']

Values are de-duplicated (the first family wins) and the id is a hash of the value, so the corpus is the
same on every machine and every run. ``mass_scanner*`` files are skipped: they list benign scanners, and these
objects claim ``malicious-activity``. Files land in ``benchmarks/.cache/indicators-<count>.jsonl``.

    .venv/bin/python benchmarks/_corpus.py 1000000     # build (or reuse) the 1 M file and print its path
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
MALTRAIL = SHARED_DATA / "indicators" / "maltrail" / "maltrail-trails-static.tar.gz"
STIX_SCHEMAS = SHARED_DATA / "stix" / "schemas-2.1" / "schemas"

TIMESTAMP = "2024-05-01T12:00:00.000Z"
_NAMESPACE = uuid.UUID("6f0d1c2e-7b7e-4c55-9a57-2d6c5e1f9b21")
_IPV4 = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})(/\d{1,2})?(?::\d{1,5})?$")
_HOST_PORT = re.compile(r"^([A-Za-z0-9_.-]+):\d{1,5}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+\.?$")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _valid_ipv4(address: str) -> bool:
    return all(0 <= int(part) <= 255 for part in address.split("."))


def classify(value: str) -> tuple[str, str] | None:
    """The (SCO type, value) a trail stands for, or None when it is neither a domain, an IPv4 nor a URL."""
    match = _IPV4.match(value)
    if match:
        address, cidr = match.group(1), match.group(2) or ""
        return ("ipv4-addr", address + cidr) if _valid_ipv4(address) else None
    if "/" in value:
        return "url", value
    host = _HOST_PORT.match(value)
    if host:
        value = host.group(1)
    if _DOMAIN.match(value):
        return "domain-name", value.rstrip(".").lower()
    return None


def trails(path: Path = MALTRAIL) -> Iterator[tuple[str, str, str]]:
    """(category, family, trail) for every entry in the Maltrail archive, in archive order (blank lines and comments
    skipped, an inline ``# comment`` cut)."""
    with tarfile.open(path) as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".txt"):
                continue
            family = Path(member.name).stem
            category = Path(member.name).parent.name
            if family.startswith("mass_scanner"):
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith("#"):
                    continue
                tokens = line.split(" #", 1)[0].split()
                if tokens:
                    yield category, family, tokens[0]


def indicator_id(sco_type: str, value: str) -> str:
    """A random-looking but reproducible UUIDv4 id: the 122 hash bits of a UUIDv5 of the value, marked as
    version 4 (the STIX validator's strict mode insists on v4 for SDOs)."""
    digest = uuid.uuid5(_NAMESPACE, f"{sco_type}:{value}").bytes
    return f"indicator--{uuid.UUID(bytes=digest, version=4)}"


def indicator(category: str, family: str, sco_type: str, value: str) -> dict[str, object]:
    """One STIX 2.1 indicator for ``value``; the same value always gives the same object."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(sco_type, value),
        "created": TIMESTAMP,
        "modified": TIMESTAMP,
        "name": f"{family}: {value}"[:250],
        "description": f"Listed by Maltrail in trails/static/{category}/{family}.txt.",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[{sco_type}:value = '{_escape(value)}']",
        "pattern_type": "stix",
        "valid_from": TIMESTAMP,
        "labels": [family],
    }


def indicators(count: int) -> Iterator[dict[str, object]]:
    """The first ``count`` distinct indicators of the archive (fewer if it holds fewer)."""
    seen: set[str] = set()
    made = 0
    for category, family, trail in trails():
        kind = classify(trail)
        if kind is None:
            continue
        key = f"{kind[0]}:{kind[1]}"
        if key in seen:
            continue
        seen.add(key)
        yield indicator(category, family, *kind)
        made += 1
        if made >= count:
            return


def corpus(count: int) -> Path:
    """The JSON lines file of the first ``count`` indicators, built once and cached."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"indicators-{count}.jsonl"
    if path.exists():
        return path
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    written = 0
    with partial.open("wb") as sink:
        for obj in indicators(count):
            sink.write(orjson.dumps(obj) + b"\n")
            written += 1
    if written < count:
        partial.unlink()
        raise SystemExit(f"the Maltrail archive holds only {written} usable distinct values, not {count}")
    partial.replace(path)
    return path


def read_lines(path: Path, count: int | None = None) -> list[bytes]:
    """The first ``count`` lines of a corpus file (all when None), without their newline."""
    lines: list[bytes] = []
    with path.open("rb") as stream:
        for line in stream:
            if count is not None and len(lines) >= count:
                break
            lines.append(line.rstrip(b"\n"))
    return lines


def rss_kib() -> int:
    """This process's resident set size (VmRSS), in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def profile(fn: Callable[[], object], top: int = 15) -> None:
    """Run ``fn`` under cProfile and print the ``top`` functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    for order in ("cumulative", "tottime"):
        print(f"\n--- cProfile, top {top} by {order} ---")
        pstats.Stats(profiler).strip_dirs().sort_stats(order).print_stats(top)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, numbers right-aligned."""
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells)
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (or reuse) the cached indicator corpus.")
    parser.add_argument("count", type=int, nargs="?", default=1_000_000)
    args = parser.parse_args(argv)
    print(corpus(args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
