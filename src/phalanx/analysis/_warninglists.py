"""MISP warning lists: is this value a known-benign one (a top-1M domain, a private address, a public resolver, the
hash of an empty file)? An indicator that alerts on such a value causes false positives.

The lists are those ``pymispwarninglists`` ships (119 of them, 66 MB of JSON), read straight from its data folder:
the package itself is never imported. Nothing is read when this module is imported nor when ``WarningLists.load()``
is called. The first ``check`` reads the catalogue (each list's name, type and ``matching_attributes``, from the
last few hundred bytes of each file); then, for each set of MISP attribute types checked, only the lists that apply
to it are read and compiled (``_lookups``). A process that only ever checks addresses never reads Tranco.

Semantics (MISP's, with the differences recorded in docs/detection.md):
- ``string``: the value itself (and for a URL, also its host); ``hostname``: the host or any parent domain (an
  entry ``.example.com`` is ``example.com``); ``cidr``: an address in, or a network overlapping, a listed
  network; ``substring``: the value contains an entry; ``regex``: an entry matches.
- A list applies only to the MISP attribute types in its ``matching_attributes`` (``_paths`` maps STIX paths to
  them); a list without any applies to all.
- Values and entries are compared without regard to case (hashes, domains, mail addresses, URLs' hosts).
"""

from __future__ import annotations

__all__ = ["ListedValue", "WarningHit", "WarningLists", "flags_for", "warning_flags"]

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from operator import methodcaller
from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigError
from ..pattern import ObjectPath, Pattern
from ._lookups import BIG, CidrTable, HashArray, IpValue, NameTable, RegexTable, SubstringTable, parse_ip
from ._paths import IP_KINDS, kinds_of, parse_path, values_of

_TYPES = ("string", "hostname", "cidr", "substring", "regex")
_URL = frozenset({"url", "uri"})
_TAIL = 4096
_strip_dots = methodcaller("strip", ". \t\r\n")


def _normalized(raw: Sequence[str], *, hostname: bool) -> Iterable[str]:
    """The entries in lower case, without surrounding blanks (and dots, for hostnames). Most lists are tidy
    already: a few substring searches over the joined text (in C) say so, and then the entries are used as
    they are."""
    text = "\n".join(raw)  # TypeError when an entry is not a string
    tidy = text.isascii() and text == text.lower() and not any(
        blank in text for blank in (" ", "\t", "\r", "\x0b", "\x0c", "\n\n")) and text[:1] != "\n" != text[-1:]
    if tidy and hostname:
        tidy = "\n." not in text and ".\n" not in text and text[:1] != "." != text[-1:]
    if tidy:
        return raw
    return map(str.lower, map(_strip_dots if hostname else str.strip, raw))


@dataclass(frozen=True, slots=True)
class WarningHit:
    """One warning list that holds a value: its name (as MISP shows it) and its type."""

    name: str
    list_type: str


@dataclass(frozen=True, slots=True)
class ListedValue:
    """A value a pattern alerts on, and the lists that hold it."""

    path: ObjectPath
    value: str
    hits: tuple[WarningHit, ...]


@dataclass(frozen=True, slots=True)
class _Source:
    """One list as the catalogue knows it, before its entries are read."""

    name: str
    list_type: str
    attributes: frozenset[str] | None
    """Its ``matching_attributes``; None: it has none, and applies to every type."""
    file: Path | None = None
    entries: tuple[str, ...] | None = None
    """The entries, for lists given in memory (``from_lists``); else they are read from ``file``."""


def _source(data: Mapping[str, Any], file: Path | None, where: str) -> _Source:
    name, list_type, attributes = data.get("name"), data.get("type"), data.get("matching_attributes")
    if not isinstance(name, str) or list_type not in _TYPES:
        raise ConfigError(f"{where}: not a MISP warning list (it needs a 'name' and a 'type' among "
                          f"{', '.join(_TYPES)})")
    if attributes is not None and not (isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)):
        raise ConfigError(f"{where}: 'matching_attributes' must be a list of MISP attribute types")
    entries = None
    if file is None:
        listed = data.get("list")
        if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
            raise ConfigError(f"{where}: 'list' must be a list of strings")
        entries = tuple(listed)
    return _Source(name, str(list_type), frozenset(attributes) if attributes else None, file, entries)


def _read_source(file: Path) -> _Source:
    """The catalogue entry of one ``list.json``. Its keys are sorted (description, list, matching_attributes,
    name, type, version), so everything but the entries stands in the last few hundred bytes: that tail is read
    and parsed alone, and the whole file only when the tail does not parse."""
    try:
        with file.open("rb") as stream:
            size = stream.seek(0, 2)
            stream.seek(max(0, size - _TAIL))
            tail = stream.read()
            keys = [i for i in (tail.rfind(b'"matching_attributes":'), tail.rfind(b'"name":')) if i >= 0]
            if size > _TAIL and keys:
                try:
                    return _source(orjson.loads(b"{" + tail[min(keys):]), file, str(file))
                except (orjson.JSONDecodeError, ConfigError):
                    pass  # not the layout expected: read the whole file
            stream.seek(0)
            data = orjson.loads(stream.read())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the warning list {file}: {exc}",
                          hint="Reinstall pymispwarninglists, or set warninglists = 'off'.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: not a MISP warning list")
    return _source(data, file, str(file))


class _Plan:
    """The compiled lookups of the lists that apply to one set of MISP attribute types."""

    __slots__ = ("cidr", "hosts", "names", "regexes", "substrings", "url")

    def __init__(self, url: bool, names: NameTable | None, hosts: NameTable | None, cidr: CidrTable | None,
                 substrings: SubstringTable | None, regexes: RegexTable | None) -> None:
        self.url, self.names, self.hosts, self.cidr = url, names, hosts, cidr
        self.substrings, self.regexes = substrings, regexes

    def hits(self, text: str, ip: IpValue | None) -> tuple[int, ...]:
        low = text.lower()
        host = _host(low) if self.url else low.rstrip(".")
        found: tuple[int, ...] = ()
        if self.cidr is not None and ip is not None:
            found += self.cidr.hits(ip)
        if self.names is not None:
            found += self.names.exact(low)
            if host != low:
                found += self.names.exact(host)
        if self.hosts is not None and host:
            found += self.hosts.suffixes(host)
        if self.substrings is not None:
            found += self.substrings.hits(low)
        if self.regexes is not None:
            found += self.regexes.hits(text)
        return found


def _host(url: str) -> str:
    """The host of a URL, with or without a scheme (``evil.example/x``), without user, port or final dot."""
    rest = url.split("://", 1)[1] if "://" in url else url
    for separator in "/?#\\":
        rest = rest.split(separator, 1)[0]
    rest = rest.rpartition("@")[2]
    if rest.startswith("["):  # an IPv6 literal
        return rest[1:].split("]", 1)[0]
    return rest.split(":", 1)[0].rstrip(".")


class WarningLists:
    """A set of MISP warning lists, compiled for fast checks. Build with ``WarningLists.load()`` (the lists
    ``pymispwarninglists`` ships, shared by the whole process), ``from_directory`` or ``from_lists``.

    Safe to share between threads.
    """

    def __init__(self, catalogue: Sequence[_Source] | Path) -> None:
        """Use a named constructor: ``load``, ``from_directory`` or ``from_lists``."""
        self._given = catalogue
        self._sources: tuple[_Source, ...] | None = None
        self._hits: tuple[WarningHit, ...] = ()
        self._lock = threading.Lock()
        self._plans: dict[frozenset[str], _Plan] = {}
        self._small: dict[int, tuple[Any, ...]] = {}
        self._big: dict[int, HashArray] = {}

    @classmethod
    def load(cls) -> WarningLists:
        """The lists ``pymispwarninglists`` ships: one instance per process, read on first use."""
        return _shipped()

    @classmethod
    def from_directory(cls, path: Path | str) -> WarningLists:
        """The lists of a checkout of github.com/MISP/misp-warninglists: ``<path>/lists/*/list.json`` (or
        ``<path>/*/list.json``). Read on first use."""
        return cls(Path(path))

    @classmethod
    def from_lists(cls, lists: Iterable[Mapping[str, Any]]) -> WarningLists:
        """Lists given as MISP warning-list dicts (``name``, ``type``, ``list``, ``matching_attributes``)."""
        return cls([_source(data, None, f"warning list {i}") for i, data in enumerate(lists)])

    # -- the public checks ------------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The names of all the lists."""
        return tuple(hit.name for hit in self._hits_table())

    def check(self, kind_or_path: str | ObjectPath, value: str) -> tuple[WarningHit, ...]:
        """The lists that hold ``value`` as a ``kind_or_path``: a MISP attribute type (``ip-dst``, ``domain``,
        ``sha256``...), a STIX object path (``ipv4-addr:value``, ``file:hashes.'SHA-256'``), or an ``ObjectPath``.
        A kind no list applies to (``file:name``) has no hits. Raises ``ConfigError`` when the lists cannot be
        read, and ``ValueError`` for a string that is neither a MISP type nor a STIX path."""
        if isinstance(kind_or_path, ObjectPath):
            kinds = kinds_of(kind_or_path)
        elif ":" in kind_or_path:
            kinds = kinds_of(parse_path(kind_or_path))
        else:
            kinds = frozenset({kind_or_path})
        if not kinds:
            return ()
        text = value.strip()
        if not text:
            return ()
        ip = parse_ip(text) if kinds & IP_KINDS else None
        if kinds & IP_KINDS and not kinds <= IP_KINDS:
            # A reference that may point at an address or a name: checked as what the value is.
            kinds = kinds & IP_KINDS if ip is not None else kinds - IP_KINDS
        found = self._plan(kinds).hits(text, ip)
        if not found:
            return ()
        table = self._hits
        return tuple(table[number] for number in sorted(set(found)))

    def listed(self, pattern: Pattern) -> tuple[ListedValue, ...]:
        """Each value ``pattern`` alerts on (``_paths.values_of``) that is on a list, with its lists."""
        return tuple(ListedValue(path, value, hits) for path, value in values_of(pattern)
                     if (hits := self.check(path, value)))

    def flags(self, pattern: Pattern) -> tuple[str, ...]:
        """The names of the lists holding any value ``pattern`` alerts on (empty: not flagged)."""
        return tuple(dict.fromkeys(hit.name for item in self.listed(pattern) for hit in item.hits))

    def loaded_lists(self) -> tuple[str, ...]:
        """The names of the lists whose entries have been read so far (the rest cost nothing yet)."""
        with self._lock:
            numbers = sorted({*self._small, *self._big})
        return tuple(self._hits[n].name for n in numbers)

    # -- reading and compiling, on first use ------------------------------------------------------------------

    def _hits_table(self) -> tuple[WarningHit, ...]:
        if self._sources is None:
            with self._lock:
                if self._sources is None:
                    sources = tuple(self._read_catalogue())
                    self._hits = tuple(WarningHit(s.name, s.list_type) for s in sources)
                    self._sources = sources
        return self._hits

    def _read_catalogue(self) -> list[_Source]:
        if not isinstance(self._given, Path):
            return list(self._given)
        root = self._given / "lists" if (self._given / "lists").is_dir() else self._given
        files = sorted(root.glob("*/list.json"))
        if not files:
            raise ConfigError(f"no MISP warning lists in {root} (expected */list.json)",
                              hint="Reinstall pymispwarninglists, or set warninglists = 'off'.")
        return [_read_source(file) for file in files]

    def _plan(self, kinds: frozenset[str]) -> _Plan:
        plan = self._plans.get(kinds)
        if plan is None:
            self._hits_table()
            with self._lock:
                plan = self._plans.get(kinds)
                if plan is None:
                    plan = self._plans[kinds] = self._compile(kinds)
        return plan

    def _compile(self, kinds: frozenset[str]) -> _Plan:
        assert self._sources is not None
        by_type: dict[str, list[int]] = {t: [] for t in _TYPES}
        for number, source in enumerate(self._sources):
            if source.attributes is None or source.attributes & kinds:
                by_type[source.list_type].append(number)

        def small(numbers: list[int]) -> list[tuple[int, Any]]:
            return [(n, self._entries(n)) for n in numbers if n not in self._big]

        for number in by_type["string"] + by_type["hostname"]:
            self._entries(number)  # sorts the big ones into self._big
        names = by_type["string"]
        hosts = by_type["hostname"]
        return _Plan(
            url=bool(kinds & _URL),
            names=NameTable(small(names), [(n, self._big[n]) for n in names if n in self._big]) if names else None,
            hosts=NameTable(small(hosts), [(n, self._big[n]) for n in hosts if n in self._big]) if hosts else None,
            cidr=CidrTable(small(by_type["cidr"])) if by_type["cidr"] else None,
            substrings=SubstringTable(small(by_type["substring"])) if by_type["substring"] else None,
            regexes=RegexTable(small(by_type["regex"])) if by_type["regex"] else None,
        )

    def _entries(self, number: int) -> tuple[Any, ...]:
        """A list's entries, normalized for its type (read once; lists of ``BIG`` entries go to ``_big``)."""
        if number in self._small:
            return self._small[number]
        if number in self._big:
            return ()
        assert self._sources is not None
        source = self._sources[number]
        raw = source.entries if source.entries is not None else self._read_entries(source)
        try:
            if source.list_type == "regex":
                self._small[number] = tuple(raw)
                return self._small[number]
            words = _normalized(raw, hostname=source.list_type == "hostname")
            if source.list_type == "cidr":
                entries: tuple[Any, ...] = tuple(ip for ip in map(parse_ip, words) if ip is not None)
            elif source.list_type in ("string", "hostname") and len(raw) >= BIG:
                self._big[number] = HashArray(words if isinstance(words, Sequence) else list(words))
                return ()
            else:
                entries = tuple(filter(None, words))  # an empty entry would only ever match an empty value
        except TypeError as exc:  # an entry that is not a string
            raise ConfigError(f"the warning list {source.name!r} holds an entry that is not a string",
                              hint="Reinstall pymispwarninglists, or set warninglists = 'off'.") from exc
        self._small[number] = entries
        return entries

    @staticmethod
    def _read_entries(source: _Source) -> Sequence[str]:
        assert source.file is not None
        try:
            data = orjson.loads(source.file.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read the warning list {source.file}: {exc}",
                              hint="Reinstall pymispwarninglists, or set warninglists = 'off'.") from exc
        entries = data.get("list") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ConfigError(f"{source.file}: 'list' must be a list of strings")
        return entries


def flags_for(pattern: Pattern, lists: WarningLists) -> tuple[str, ...]:
    """The names of the lists holding any value ``pattern`` alerts on: ``lists.flags(pattern)``."""
    return lists.flags(pattern)


def warning_flags(pattern: Pattern) -> tuple[str, ...]:
    """The names of the shipped lists (``WarningLists.load()``) holding any value ``pattern`` alerts on."""
    return _shipped().flags(pattern)


@cache
def _shipped() -> WarningLists:
    spec = find_spec("pymispwarninglists")  # finds the package without importing it
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not folders:
        raise ConfigError("the MISP warning lists are not installed (the pymispwarninglists package)",
                          hint="pip install pymispwarninglists, or set warninglists = 'off'.")
    return WarningLists.from_directory(Path(folders[0]) / "data" / "misp-warninglists")
