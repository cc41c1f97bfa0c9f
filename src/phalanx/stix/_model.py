"""Parsed, validated, immutable STIX 2.1 objects, and the parsers that make them from bytes.

A ``StixObject`` can only be made by ``StixObject.from_dict`` / ``from_json`` (or the bulk parsers here), which
validate first: an invalid object cannot exist. It keeps the few properties every consumer needs as fields and
the whole object as RFC 8785 canonical JSON; ``properties()`` returns a fresh copy of the full dict.
"""

from __future__ import annotations

__all__ = ["Limits", "Mode", "Parsed", "Refused", "StixObject", "iter_jsonl", "parse_document"]

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ..errors import Error, InputTooLarge, InvalidSTIX, Violation
from ._ids import IDENTIFIER_RE, is_identifier
from ._json import canonical, digest, loads, measure
from ._timestamps import parse_micros
from ._upgrade import upgrade_from_20
from ._validate import validate


class Mode(enum.Enum):
    """STRICT rejects every violation of STIX 2.1; TOLERANT keeps custom properties and ``x-`` types and
    accepts what real feeds carry, but still rejects malformed standard content."""

    STRICT = "strict"
    TOLERANT = "tolerant"


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on hostile input: the size of one JSON document and the nesting depth of one object."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64


@dataclass(frozen=True, slots=True)
class StixObject:
    """One validated STIX object version."""

    id: str
    type: str
    spec_version: str
    version: int
    """``modified`` in microseconds since the epoch, else ``created``, else 0 (objects with neither)."""
    created: int | None
    revoked: bool
    created_by_ref: str | None
    marking_refs: tuple[str, ...]
    canonical: bytes
    """The RFC 8785 canonical JSON of the whole object."""
    digest: str
    """SHA-256 of ``canonical``, hex: identifies this exact version."""
    warnings: tuple[Violation, ...] = ()

    def properties(self) -> dict[str, Any]:
        """The whole object as a new dict (changing it does not change this object)."""
        result: dict[str, Any] = orjson.loads(self.canonical)
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, mode: Mode = Mode.STRICT, limits: Limits = Limits()) -> StixObject:
        """Validate ``data`` and build the object; raises ``InvalidSTIX`` or ``InputTooLarge``."""
        if not isinstance(data, dict):
            raise InvalidSTIX([Violation("", "", "not-an-object", "a STIX object must be a JSON object")])
        if data.get("type") == "bundle":
            raise InvalidSTIX([Violation(str(data.get("id", "")), "type", "reserved-type",
                                         "a bundle is an envelope, not a STIX object: send its objects")])
        # Depth first (iteratively), so that nothing recursive ever walks a hostile, deeply nested object.
        depth, slow = measure(data)
        if depth > limits.max_depth:
            raise InputTooLarge(f"{data.get('id')}: nests {depth} levels deep; the limit is {limits.max_depth}")
        upgraded = None
        if mode is Mode.TOLERANT:
            data, upgraded = upgrade_from_20(data)
        violations = validate(data, strict=mode is Mode.STRICT)
        if any(v.severity == "error" for v in violations):
            raise InvalidSTIX(violations)
        if upgraded is not None:
            violations.append(upgraded)
        header = _header(data)
        text = canonical(data, slow=slow)
        return cls(**header, canonical=text, digest=digest(text), warnings=tuple(violations))

    @classmethod
    def from_json(cls, data: bytes | str, *, mode: Mode = Mode.STRICT, limits: Limits = Limits()) -> StixObject:
        """Parse one JSON object and validate it."""
        value = loads(data, max_bytes=limits.max_bytes, max_depth=None)  # from_dict checks the depth
        return cls.from_dict(value, mode=mode, limits=limits)


def _header(data: dict[str, Any]) -> dict[str, Any]:
    """The fields every consumer needs, read from a validated object. Tolerant mode lets custom types carry
    odd values, so nothing here trusts a type: a value that cannot be used refuses the object, and reference
    fields keep only well-formed identifiers."""
    object_id, type_, spec_version = data.get("id"), data.get("type"), data.get("spec_version", "2.1")
    problems = [
        Violation(object_id if isinstance(object_id, str) else "", name, "property-type", f"'{name}' must be a string")
        for name, value in (("id", object_id), ("type", type_), ("spec_version", spec_version))
        if not isinstance(value, str)
    ]
    stamps: dict[str, int | None] = {}
    for name in ("created", "modified"):
        value = data.get(name)
        try:
            stamps[name] = None if value is None else parse_micros(value)
        except (ValueError, TypeError):
            problems.append(Violation(str(object_id), name, "timestamp-format", f"'{name}' is not a STIX timestamp"))
    if problems:
        raise InvalidSTIX(problems)
    created, modified = stamps["created"], stamps["modified"]
    creator = data.get("created_by_ref")
    if isinstance(creator, str):
        creator = creator.lower()  # ids are compared in their canonical, lower-case form
    return {
        "id": object_id,
        "type": type_,
        "spec_version": spec_version,
        "version": modified if modified is not None else (created if created is not None else 0),
        "created": created,
        "revoked": data.get("revoked") is True,
        "created_by_ref": creator if is_identifier(creator, "identity") else None,
        "marking_refs": _marking_refs(data),
    }


def _marking_refs(data: dict[str, Any]) -> tuple[str, ...]:
    """Every marking the object carries, on the whole object and on any of its properties (granular markings),
    ids in lower case; anything that is not a marking id is left out (validation has reported it). What a
    reader may see is decided from the markings themselves (``phalanx.policy.level_of``), not from this list."""
    refs: list[str] = []
    objects = data.get("object_marking_refs")
    if isinstance(objects, list):
        refs += [m.lower() for m in objects if isinstance(m, str)]
    granular = data.get("granular_markings")
    if isinstance(granular, list):
        refs += [g["marking_ref"].lower() for g in granular
                 if isinstance(g, dict) and isinstance(g.get("marking_ref"), str)]
    return tuple(dict.fromkeys(m for m in refs if is_identifier(m, "marking-definition")))


@dataclass(frozen=True, slots=True)
class Refused:
    """An object (or a line) that could not be accepted, and why."""

    index: int
    """Position of the object in the input, from 0 (blank JSON lines do not count)."""
    object_id: str
    error: Error
    line: int | None = None
    """For JSON lines: the line number, from 1."""
    version: str = ""
    """The object's ``modified`` (else ``created``) as sent, when it was a string: which version was refused."""


Parsed = StixObject | Refused


def parse_document(data: bytes | str, *, mode: Mode = Mode.STRICT, limits: Limits = Limits(),
                   envelope: bool = False) -> list[Parsed]:
    """Parse a bundle, a TAXII envelope, a single object, a JSON array of objects, or JSON lines; with
    ``envelope``, only a TAXII envelope or a bundle (what a TAXII POST carries).

    Returns one entry per object, in order. A document that is not JSON at all raises ``InvalidJSON`` (or
    ``InputTooLarge``); a bundle whose envelope is broken, or (with ``envelope``) any other document, raises
    ``InvalidSTIX``. One bad object never stops the others: it becomes a ``Refused`` entry with its reason.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not envelope and _looks_like_json_lines(raw):
        return list(_parse_lines(raw.splitlines(), mode, limits))
    # Each object's depth is checked on its own (StixObject.from_dict), so that only that object is refused.
    value = loads(raw, max_bytes=limits.max_bytes, max_depth=None)
    if envelope and not (isinstance(value, dict) and (value.get("type") == "bundle" or
                                                      ("objects" in value and "type" not in value))):
        raise InvalidSTIX([Violation("", "", "envelope", "the body is neither a TAXII envelope nor a STIX bundle")],
                          hint='Send {"objects": [...]} (a TAXII envelope), or a STIX bundle.')
    return list(_objects_of(value, mode, limits))


def _looks_like_json_lines(raw: bytes) -> bool:
    """JSON lines: the first non-blank line is a whole JSON object by itself, and more follows it. (A broken
    or pretty-printed document never starts with a whole object on its own line.)"""
    start = len(raw) - len(raw.lstrip())
    end = raw.find(b"\n", start)
    if end < 0 or not raw[end:].strip():
        return False
    try:
        return isinstance(orjson.loads(raw[start:end]), dict)
    except orjson.JSONDecodeError:
        return False


def iter_jsonl(stream: IO[bytes] | Iterable[bytes], *, mode: Mode = Mode.STRICT, limits: Limits = Limits()
               ) -> Iterator[Parsed]:
    """Parse JSON lines (one object per line) lazily, for inputs too large to hold in memory."""
    return _parse_lines(stream, mode, limits)


def _parse_lines(lines: Iterable[bytes], mode: Mode, limits: Limits, *, first_line: int = 1,
                 first_position: int = 0) -> Iterator[Parsed]:
    position = first_position
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            value = loads(line, max_bytes=limits.max_bytes, max_depth=None)
        except Error as exc:
            yield Refused(position, "", exc, line=number)
        else:
            parsed = _one(value, position, mode, limits)
            if isinstance(parsed, Refused):
                parsed = Refused(position, parsed.object_id, parsed.error, line=number, version=parsed.version)
            yield parsed
        position += 1


def _objects_of(value: Any, mode: Mode, limits: Limits) -> Iterator[Parsed]:
    if isinstance(value, list):
        items: list[Any] = value
    elif isinstance(value, dict) and value.get("type") == "bundle":
        items = _bundle_objects(value, mode)
    elif isinstance(value, dict) and "type" not in value and "objects" in value:
        items = _envelope_objects(value)
    else:
        items = [value]
    for index, item in enumerate(items):
        yield _one(item, index, mode, limits)


def _bundle_objects(bundle: dict[str, Any], mode: Mode) -> list[Any]:
    """The objects of a bundle. Its id only matters in strict mode: the envelope itself is never stored."""
    bundle_id = bundle.get("id", "")
    problems: list[Violation] = []
    well_formed = isinstance(bundle_id, str) and IDENTIFIER_RE.fullmatch(bundle_id) is not None
    if mode is Mode.STRICT and not (well_formed and str(bundle_id).startswith("bundle--")):
        problems.append(Violation(str(bundle_id), "id", "identifier-format", "a bundle needs an id bundle--<uuid>"))
    objects: Any = bundle.get("objects", [])
    if not isinstance(objects, list):
        problems.append(Violation(str(bundle_id), "objects", "bundle-objects", "'objects' must be a list"))
    if problems:
        raise InvalidSTIX(problems, hint="Send a STIX 2.1 bundle: {\"type\": \"bundle\", \"id\": \"bundle--<uuid>\", "
                          "\"objects\": [...]}.")
    return list(objects)


def _envelope_objects(envelope: dict[str, Any]) -> list[Any]:
    """The objects of a TAXII 2.1 envelope (``{"objects": [...]}``, with ``more`` and ``next`` ignored)."""
    objects = envelope["objects"]
    if not isinstance(objects, list):
        raise InvalidSTIX([Violation("", "objects", "envelope-objects", "'objects' must be a list")],
                          hint='Send a TAXII envelope: {"objects": [...]}, or a STIX bundle.')
    return objects


def _one(item: Any, index: int, mode: Mode, limits: Limits) -> Parsed:
    object_id = item.get("id", "") if isinstance(item, dict) else ""
    try:
        return StixObject.from_dict(item, mode=mode, limits=limits)
    except Error as exc:
        version = item.get("modified", item.get("created", "")) if isinstance(item, dict) else ""
        return Refused(index, object_id if isinstance(object_id, str) else "", exc,
                       version=version if isinstance(version, str) else "")
