"""Extractors: the observables in a member's telemetry, record by record.

Formats (``FORMATS``):
- ``jsonl``: one JSON object per line; named fields (``src=ipv4``, dotted for nested objects) or, without names,
  every string value whose kind is clear (see ``_kinds.detect``);
- ``zeek``: Zeek's ``conn``, ``dns``, ``http``, ``ssl`` and ``files`` logs, in Zeek's TSV format (``#fields``
  header) or as JSON lines;
- ``csv``: a header row, then named columns (or every cell, detected);
- ``text``: one observable per line;
- ``stix``: STIX observed-data with its objects, as a bundle, a JSON array or JSON lines; matched as whole
  observations (every pattern feature, qualifiers included), not as plain values.

An extractor reads lines (bytes, as a file gives them) and yields ``Record``s; it never raises on a bad line:
it counts it in ``Stats.unreadable`` and goes on, because one broken line must not stop the watch of a log.
"""

from __future__ import annotations

__all__ = [
    "FORMATS",
    "Extractor",
    "Record",
    "Stats",
    "document_records",
    "extractor",
    "guess_format",
    "micros_of",
    "parse_fields",
]

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from ..errors import InvalidParameter
from ..stix import format_micros, now_micros
from ._kinds import KINDS, Kind, canonical_ipv4, detect, kind_named, normalize

FORMATS = ("auto", "jsonl", "zeek", "csv", "text", "stix")


class Record(NamedTuple):
    """One observable found in telemetry (or, for the ``stix`` format, one observation's objects). A tuple:
    millions are made from a big log."""

    line: int
    """The line (1-based) of the source that held it."""
    kind: Kind | None
    value: str
    field: str
    """Where in the line: a field or column name ("" for a plain line)."""
    time: int | None = None
    """When the record says it happened (microseconds since the epoch), if it says."""
    objects: tuple[Mapping[str, Any], ...] = ()
    """For the ``stix`` format: the observed-data and the objects it refers to."""


@dataclass(slots=True)
class Stats:
    lines: int = 0
    records: int = 0
    unreadable: int = 0
    first_problem: str | None = None

    def bad(self, line: int, problem: str) -> None:
        self.unreadable += 1
        if self.first_problem is None:
            self.first_problem = f"line {line}: {problem}"


FieldMap = Mapping[str, Kind | None]
"""Field (or column) name -> its kind; None: detect the kind of each value."""


def parse_fields(specs: Iterable[str]) -> dict[str, Kind | None]:
    """``--field`` options: ``NAME`` (detect) or ``NAME=KIND`` (ipv4, ipv6, ip, domain, url, email, md5, sha1,
    sha256, sha512, hash)."""
    fields: dict[str, Kind | None] = {}
    for spec in specs:
        name, _, kind = spec.partition("=")
        if not name.strip():
            raise InvalidParameter(f"--field {spec!r} names no field", hint="Write --field NAME or NAME=KIND.")
        try:
            fields[name.strip()] = kind_named(kind) if kind.strip() else None
        except KeyError:
            raise InvalidParameter(f"--field {spec!r}: {kind!r} is not a kind of observable",
                                   hint="Kinds: " + ", ".join([*KINDS, "ip", "hash"]) + ".") from None
    return fields


_IPV4 = KINDS["ipv4"]
_is_ipv4 = canonical_ipv4


def _found(line: int, kind: Kind | None, value: str, where: str, time: int | None) -> Record | None:
    if (kind is None or kind is _IPV4) and _is_ipv4(value):  # the common case, first
        return Record(line, _IPV4, value, where, time)
    value = value.strip()
    if value in ("", "-", "(empty)"):
        return None
    if kind is None or kind.object_type == "file":  # a column of hashes holds several lengths
        detected = detect(value)
        if detected is None or (kind is not None and detected.object_type != "file"):
            return None
    else:
        detected = kind  # named by the user: trusted
    return Record(line, detected, normalize(detected, value), where, time)


_TIME_FIELDS = ("ts", "timestamp", "@timestamp", "time", "date")


_MAX_MICROS = 253_402_300_799_999_999
"""9999-12-31T23:59:59.999999Z: times beyond cannot be written back (RFC 3339 has four-digit years)."""


def micros_of(value: Any) -> int | None:
    """A time as logs write it (epoch seconds, milliseconds or microseconds; RFC 3339) in microseconds; None
    when it is none, or outside years 1-9999."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        if abs(seconds) > 1e14:  # microseconds
            micros = int(seconds)
        elif abs(seconds) > 1e11:  # milliseconds
            micros = int(seconds * 1000)
        else:
            micros = int(seconds * 1_000_000)
        return micros if -62_135_596_800_000_000 <= micros <= _MAX_MICROS else None
    if isinstance(value, str):
        try:
            return micros_of(float(value))
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            return micros_of(int(parsed.timestamp() * 1_000_000))
        except (OverflowError, ValueError, OSError):
            return None
    return None


def _leaves(value: Any, prefix: str, depth: int) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield prefix, value
    elif depth and isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key), depth - 1)
    elif depth and isinstance(value, list):
        for item in value[:64]:
            yield from _leaves(item, prefix, depth - 1)


def _lookup(obj: Mapping[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    value: Any = obj
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _time_of(obj: Mapping[str, Any]) -> int | None:
    for name in _TIME_FIELDS:
        if name in obj:
            return micros_of(obj[name])
    return None


Extractor = Callable[[Iterable[bytes], Stats], Iterator[Record]]


def _jsonl(fields: FieldMap) -> Extractor:
    def extract(lines: Iterable[bytes], stats: Stats) -> Iterator[Record]:
        for number, raw in enumerate(lines, stats.lines + 1):
            stats.lines = number
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                stats.bad(number, f"not JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                stats.bad(number, "not a JSON object")
                continue
            time = _time_of(obj)
            pairs: Iterable[tuple[str, Any, Kind | None]]
            if fields:
                pairs = ((name, _lookup(obj, name), kind) for name, kind in fields.items())
            else:
                pairs = ((name, value, None) for name, value in _leaves(obj, "", 4))
            for name, value, kind in pairs:
                for item in value if isinstance(value, list) else (value,):
                    if isinstance(item, str):
                        record = _found(number, kind, item, name, time)
                        if record is not None:
                            stats.records += 1
                            yield record
    return extract


def _text(lines: Iterable[bytes], stats: Stats) -> Iterator[Record]:
    for number, raw in enumerate(lines, stats.lines + 1):
        stats.lines = number
        text = raw.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            continue
        record = _found(number, None, text, "", None)
        if record is None:
            stats.bad(number, f"{text[:60]!r} is not an IP address, domain, URL, e-mail address or file hash")
            continue
        stats.records += 1
        yield record


def _csv(fields: FieldMap, delimiter: str = ",") -> Extractor:
    def extract(lines: Iterable[bytes], stats: Stats) -> Iterator[Record]:
        header: list[str] | None = None
        wanted: list[tuple[int, str, Kind | None]] = []
        time_column: int | None = None
        for number, raw in enumerate(lines, stats.lines + 1):
            stats.lines = number
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not text.strip():
                continue
            try:
                row = next(csv.reader(io.StringIO(text), delimiter=delimiter))
            except (csv.Error, StopIteration) as exc:
                stats.bad(number, f"not CSV ({exc})")
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                missing = [name for name in fields if name not in header]
                if missing:
                    raise InvalidParameter(
                        f"the CSV header has no column {', '.join(map(repr, missing))}",
                        hint=f"Its columns are: {', '.join(header)}. Name them with --field.")
                wanted = ([(header.index(name), name, kind) for name, kind in fields.items()] if fields
                          else [(i, name, None) for i, name in enumerate(header)])
                time_column = next((header.index(n) for n in _TIME_FIELDS if n in header), None)
                continue
            time = micros_of(row[time_column]) if time_column is not None and time_column < len(row) else None
            for index, name, kind in wanted:
                if index < len(row) and row[index]:
                    record = _found(number, kind, row[index], name, time)
                    if record is not None:
                        stats.records += 1
                        yield record
    return extract


# Zeek: which fields of which log hold what. "uri" is joined with "host" into a URL.
_ZEEK_FIELDS: dict[str, dict[str, Kind | None]] = {
    "conn": {"id.orig_h": None, "id.resp_h": None},
    "dns": {"id.orig_h": None, "id.resp_h": None, "query": KINDS["domain"], "answers": None},
    "http": {"id.orig_h": None, "id.resp_h": None, "host": None, "referrer": KINDS["url"]},
    "ssl": {"id.orig_h": None, "id.resp_h": None, "server_name": KINDS["domain"]},
    "files": {"md5": KINDS["md5"], "sha1": KINDS["sha1"], "sha256": KINDS["sha256"]},
}
_ZEEK_ALL = {name for fields in _ZEEK_FIELDS.values() for name in fields}


def _zeek_records(number: int, values: Mapping[str, Any], path: str | None, time: int | None,
                  stats: Stats) -> Iterator[Record]:
    names = _ZEEK_FIELDS.get(path or "")
    pairs = names.items() if names is not None else ((n, None) for n in _ZEEK_ALL if n in values)
    for name, kind in pairs:
        value = values.get(name)
        if value is None or value in ("-", "(empty)"):
            continue
        if not isinstance(value, str | list):
            stats.bad(number, f"{name} is {type(value).__name__}, not a string")
            continue
        items = value if isinstance(value, list) else (value.split(",") if name == "answers" else (value,))
        for item in items:
            if isinstance(item, str) and item and item != "-":
                record = _found(number, kind, item, name, time)
                if record is not None:
                    stats.records += 1
                    yield record
    host, uri = values.get("host"), values.get("uri")
    if isinstance(host, str) and isinstance(uri, str) and host != "-" and uri != "-":
        stats.records += 1
        yield Record(number, KINDS["url"], f"http://{host}{uri}", "host+uri", time)


def _epoch(text: str) -> int | None:
    """Zeek's ``ts``: seconds since the epoch, with a fraction."""
    try:
        micros = int(float(text) * 1_000_000)
    except (ValueError, OverflowError):  # not a number; inf
        return None
    return micros if 0 <= micros <= _MAX_MICROS else None


def _zeek(lines: Iterable[bytes], stats: Stats) -> Iterator[Record]:
    names: list[str] = []
    path: str | None = None
    separator = "\t"
    columns: list[tuple[int, str, Kind | None]] = []
    ts = host = uri = -1
    for number, raw in enumerate(lines, stats.lines + 1):
        stats.lines = number
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            continue
        if text[0] == "#":
            directive, _, rest = text.partition(separator if not text.startswith("#separator") else " ")
            if directive == "#separator":
                try:
                    separator = rest.strip().encode().decode("unicode_escape")
                except UnicodeDecodeError:
                    separator = ""
                if not separator:
                    stats.bad(number, f"the '#separator' {rest.strip()!r} is not one; reading tab-separated")
                    separator = "\t"
            elif directive == "#fields":
                names = rest.split(separator)
            elif directive == "#path":
                path = rest.strip()
            if names:  # where each field of interest is, once per header
                wanted = _ZEEK_FIELDS.get(path or "") or dict.fromkeys(_ZEEK_ALL)
                columns = [(names.index(n), n, kind) for n, kind in wanted.items() if n in names]
                ts, host, uri = (names.index(n) if n in names else -1 for n in ("ts", "host", "uri"))
            continue
        if text[0] == "{":  # Zeek's JSON logs
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                stats.bad(number, f"not JSON ({exc})")
                continue
            if isinstance(obj, dict):
                path = obj.get("_path")
                yield from _zeek_records(number, obj, path if isinstance(path, str) else None,
                                         micros_of(obj.get("ts")), stats)
            continue
        if not names:
            stats.bad(number, "a Zeek record before the '#fields' header")
            continue
        cells = text.split(separator)
        if len(cells) != len(names):
            stats.bad(number, f"{len(cells)} fields where the '#fields' header names {len(names)}")
            continue
        time = _epoch(cells[ts]) if ts >= 0 else None
        for index, name, kind in columns:
            value = cells[index]
            if kind is None and _is_ipv4(value):  # most of a log: addresses
                stats.records += 1
                yield Record(number, _IPV4, value, name, time)
                continue
            if value == "-" or value == "(empty)":
                continue
            for item in value.split(",") if name == "answers" else (value,):
                record = _found(number, kind, item, name, time)
                if record is not None:
                    stats.records += 1
                    yield record
        if host >= 0 and uri >= 0 and cells[host] != "-" and cells[uri] != "-":
            stats.records += 1
            yield Record(number, KINDS["url"], f"http://{cells[host]}{cells[uri]}", "host+uri", time)


def _stix(lines: Iterable[bytes], stats: Stats) -> Iterator[Record]:
    """Observed-data with the objects it refers to. JSON lines are matched as each observed-data's objects are
    all there (before or after it); a bundle or array (one document, even pretty-printed) is read whole."""
    seen: dict[str, Mapping[str, Any]] = {}
    waiting: list[Mapping[str, Any]] = []
    whole: list[bytes] = []
    number = stats.lines
    for number, raw in enumerate(lines, stats.lines + 1):
        stats.lines = number
        if whole:
            whole.append(raw)
            continue
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            whole.append(raw)
            continue
        if isinstance(obj, dict) and obj.get("type") != "bundle":
            if isinstance(obj.get("id"), str):
                seen[obj["id"]] = obj
            if obj.get("type") == "observed-data":
                waiting.append(obj)
            ready = [o for o in waiting if all(r in seen for r in _refs(o))]
            if ready:
                waiting = [o for o in waiting if o not in ready]
                yield from _observations(ready, seen, number, stats)
        else:
            yield from _document(obj, number, stats)
    if whole:
        try:
            document = orjson.loads(b"".join(whole))
        except orjson.JSONDecodeError as exc:
            stats.bad(number, f"not a STIX bundle, array or JSON lines ({exc})")
        else:
            yield from _document(document, number, stats)
    if waiting:  # refers to objects never given: match what is there
        yield from _observations(waiting, seen, number, stats)


def _refs(observed: Mapping[str, Any]) -> list[str]:
    refs = observed.get("object_refs", ())
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


_NOT_OBSERVABLE = frozenset({
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
    "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion",
    "report", "threat-actor", "tool", "vulnerability", "relationship", "sighting", "marking-definition",
    "language-content", "extension-definition", "bundle"})
"""STIX types that are not cyber observables (SDOs, SROs and the rest)."""


def _document(document: Any, line: int, stats: Stats) -> Iterator[Record]:
    """A bundle or array is one set of observations: patterns joining several (AND, FOLLOWEDBY, WITHIN...)
    are matched across all of its observed-data."""
    objects = document.get("objects", []) if isinstance(document, dict) else document
    if not isinstance(objects, list):
        stats.bad(line, "not a STIX bundle: 'objects' is not a list")
        return
    objects = [o for o in objects if isinstance(o, dict)]
    observed = [o for o in objects if o.get("type") == "observed-data"]
    if not observed:  # a bundle of bare SCOs (a sandbox's, say): one observation of them all
        scos = [o for o in objects if isinstance(o.get("id"), str) and o.get("type") not in _NOT_OBSERVABLE]
        if not scos:
            return
        now = format_micros(now_micros())
        observed = [{"type": "observed-data", "id": "observed-data--00000000-0000-4000-8000-000000000000",
                     "first_observed": now, "last_observed": now, "number_observed": 1,
                     "object_refs": [o["id"] for o in scos]}]
        objects = [*observed, *scos]
    name = str(observed[0].get("id", "")) if len(observed) == 1 else (
        str(document.get("id")) if isinstance(document, dict) and document.get("id") else
        f"{len(observed)} observed-data")
    stats.records += 1
    yield Record(line, None, name, "observed-data", micros_of(observed[0].get("first_observed")), tuple(objects))


def document_records(document: Any, stats: Stats) -> list[Record]:
    """The observations of a STIX bundle or list of objects already parsed (one record; see ``stix``)."""
    return list(_document(document, 0, stats))


def _observations(observed: list[Mapping[str, Any]], by_id: Mapping[str, Mapping[str, Any]], line: int,
                  stats: Stats) -> Iterator[Record]:
    for obj in observed:
        related = tuple(by_id[r] for r in _refs(obj) if r in by_id)
        stats.records += 1
        yield Record(line, None, str(obj.get("id", "")), "observed-data", micros_of(obj.get("first_observed")),
                     (obj, *related))


def guess_format(name: str, head: bytes) -> str:
    """The format of a file from its name and its first bytes."""
    lowered = name.lower()
    first = head.lstrip()[:200]
    if first.startswith(b"#separator") or any(lowered.endswith(f"{log}.log") for log in _ZEEK_FIELDS):
        return "zeek"
    if first.startswith((b"{", b"[")):
        if b'"type"' in head[:4096] and (b'"observed-data"' in head[:65536] or b'"bundle"' in head[:4096]):
            return "stix"
        if b'"id.orig_h"' in head[:4096] or b'"_path"' in head[:4096]:
            return "zeek"
        return "jsonl"
    if lowered.endswith((".csv", ".tsv")):
        return "csv"
    return "text"


def extractor(fmt: str, fields: FieldMap | None = None, *, name: str = "") -> Extractor:
    """The extractor for a format (not ``auto``: guess it first with ``guess_format``)."""
    named = fields or {}
    if fmt == "jsonl":
        return _jsonl(named)
    if fmt == "csv":
        return _csv(named, "\t" if name.lower().endswith(".tsv") else ",")
    if fmt == "zeek":
        return _zeek
    if fmt == "text":
        return _text
    if fmt == "stix":
        return _stix
    raise InvalidParameter(f"{fmt!r} is not a telemetry format", hint="Formats: " + ", ".join(FORMATS) + ".")
