"""Publishing without writing JSON: indicators from pasted values, a report in Markdown with its indicators, and
who would see them, asked of the policy before anything is sent.

    >>> from phalanx.service._publish import read_values
    >>> found = read_values("198.51.100.7\\nhxxps://evil[.]example/x\\n10.0.0.0/8\\nnot a value")
    >>> [v.pattern for v in found.values]
    ["[ipv4-addr:value = '198.51.100.7']", "[url:value = 'https://evil.example/x']", \
"[ipv4-addr:value ISSUBSET '10.0.0.0/8']"]
    >>> found.problems
    ("line 4: 'not a value' is not an IP address or block, domain, URL, e-mail address or file hash",)

A value's kind and normal form are ``phalanx.analysis.detect``'s (what correlation indexes), its STIX path the
matcher's (``phalanx.matching._kinds``), and the pattern is printed by ``phalanx.pattern.format_pattern``, so it
is quoted and escaped as the parser reads it back. Values written defanged, the way reports quote them
(``hxxp://``, ``evil[.]example``, ``name[@]example.com``), are read refanged.

``Publishing.publish`` shares what a form describes through the same path as the API (``Ingest.authorize``, then
the STIX parser in strict mode, then ``Ingest.together``): all of it, or, when any object is refused, none of it.
``Publishing.audience`` says, for each organization of the node, whether ``phalanx.policy.may_see`` would let it
see an object shared that way, and by which rule.
"""

from __future__ import annotations

__all__ = [
    "MAX_VALUES",
    "REPORT_TYPES",
    "Audience",
    "Draft",
    "InvalidDraft",
    "Pasted",
    "Published",
    "Publishing",
    "Seer",
    "Values",
    "read_values",
]

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ..analysis import Observable, detect
from ..config import Settings
from ..errors import InvalidParameter
from ..identity import Actor, Directory, Role
from ..matching._kinds import Kind, kind_named
from ..pattern import Comparison, Constant, ConstantKind, ObjectPath, Observation, Op, format_pattern
from ..policy import Shared, Venue, may_see, scope_notes
from ..stix import Mode, Tlp, format_micros, parse_document
from ._ingest import Ingest, Sharing
from ._read import Reader
from ._results import ObjectResult

MAX_VALUES = 500
"""Values in one form (each is an indicator); longer lists are for ``phalanx import``."""

REPORT_TYPES = ("threat-report", "attack-pattern", "campaign", "identity", "indicator", "intrusion-set", "malware",
                "observed-data", "threat-actor", "tool", "vulnerability")
"""The STIX 2.1 report-type-ov vocabulary, the most common first."""

_MAC = Kind("mac", "mac-addr", ("value",))  # the matcher's kinds have no MAC address; correlation's do
_REFANG = ((re.compile(r"^hxxp(s?)://", re.IGNORECASE), r"http\1://"),
           (re.compile(r"[\[({]\s*(?:\.|dot)\s*[\])}]", re.IGNORECASE), "."),
           (re.compile(r"[\[({]\s*(?:@|at)\s*[\])}]", re.IGNORECASE), "@"),
           (re.compile(r"[\[({]\s*:\s*[\])}]"), ":"),
           (re.compile(r"[\[({]\s*://\s*[\])}]"), "://"))
_KINDS_TOLD = "an IP address or block, domain, URL, e-mail address or file hash"


@dataclass(frozen=True, slots=True)
class Pasted:
    """One pasted value, understood: where it was, what it is, and the pattern that alerts on it."""

    line: int
    text: str
    """As pasted (stripped)."""
    kind: str
    """What ``phalanx.analysis.detect`` calls it: ``ipv4-addr``, ``domain-name``, ``sha256``..."""
    value: str
    """Its normal form."""
    pattern: str


@dataclass(frozen=True, slots=True)
class Values:
    """The values of a pasted text, and what was wrong with the lines that are not values."""

    values: tuple[Pasted, ...]
    problems: tuple[str, ...]


def _refang(text: str) -> str:
    for written, meant in _REFANG:
        text = written.sub(meant, text)
    return text


def _kind(observable: Observable) -> Kind:
    if observable.kind == "mac-addr":
        return _MAC
    kind = kind_named(observable.kind)  # detect's kinds are all the matcher's (None only for "ip" and "hash")
    assert kind is not None
    return kind


def _pattern(observable: Observable) -> str:
    kind = _kind(observable)
    block = observable.kind in ("ipv4-addr", "ipv6-addr") and "/" in observable.value
    comparison = Comparison(ObjectPath(kind.object_type, kind.path), Op.ISSUBSET if block else Op.EQ,
                            Constant(ConstantKind.STRING, observable.value))
    return format_pattern(Observation(comparison))


MAX_PROBLEMS = 20
"""Lines that are not values named at most (the reading stops after them: nothing is shared anyway)."""


def read_values(text: str, *, limit: int = MAX_VALUES) -> Values:
    """The values of ``text``, one a line (blank lines skipped; a value met twice kept once), and a problem for
    each line that is not one, naming the line."""
    found: dict[str, Pasted] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        written = line.strip()
        if not written:
            continue
        observable = detect(_refang(written))
        shown = written if len(written) <= 80 else written[:79] + "…"
        if observable is None:
            if len(problems) == MAX_PROBLEMS:
                problems.append(f"line {number} and maybe others: more lines are not values; correct these first")
                break
            problems.append(f"line {number}: {shown!r} is not {_KINDS_TOLD}")
            continue
        pattern = _pattern(observable)
        found.setdefault(pattern, Pasted(number, written, observable.kind, observable.value, pattern))
        if len(found) > limit:
            problems.append(f"line {number}: more than {limit} values; share longer lists with 'phalanx import'")
            break
    return Values(tuple(found.values())[:limit], tuple(problems))


class InvalidDraft(InvalidParameter):
    """A publishing form's field has a value that cannot be shared (``field`` names it)."""

    hint = "Correct the field and send the form again."

    def __init__(self, message: str, *, field: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


@dataclass(frozen=True, slots=True)
class Draft:
    """What a publishing form describes: indicators (a name, description... for all of them), or a report that
    refers to its indicators."""

    kind: Literal["indicator", "report"]
    values: tuple[Pasted, ...]
    name: str = ""
    """The indicators' name, or the report's title."""
    description: str = ""
    """The indicators' description, or the report's text (Markdown)."""
    labels: tuple[str, ...] = ()
    valid_days: float | None = None
    confidence: int | None = None
    report_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "report" and not self.name.strip():
            raise InvalidDraft("a report needs a title", field="name")
        if not self.values:
            what = "a report refers to at least one indicator: paste" if self.kind == "report" else "paste"
            raise InvalidDraft(f"{what} at least one value, one a line: {_KINDS_TOLD}", field="values")
        if self.confidence is not None and not 0 <= self.confidence <= 100:
            raise InvalidDraft("confidence is a whole number from 0 to 100", field="confidence")
        if self.valid_days is not None and not 0 < self.valid_days <= 36_500:
            raise InvalidDraft("valid for: a number of days above 0 (at most 36500)", field="valid_days")
        unknown = [t for t in self.report_types if t not in REPORT_TYPES]
        if unknown:
            raise InvalidDraft(f"report type {unknown[0]!r} is not one of {', '.join(REPORT_TYPES)}",
                               field="report_types")

    def objects(self, creator: str, level: Tlp, now: int) -> list[dict[str, Any]]:
        """The STIX objects: the indicators, then (for a report) the report."""
        stamp = format_micros(now)
        common = {"spec_version": "2.1", "created": stamp, "modified": stamp, "created_by_ref": creator,
                  "object_marking_refs": [level.value]}
        indicators = [self._indicator(common, value, stamp, now) for value in self.values]
        if self.kind == "indicator":
            return indicators
        report: dict[str, Any] = {"type": "report", "id": f"report--{uuid.uuid4()}", **common,
                                  "name": self.name.strip(), "published": stamp,
                                  "report_types": list(self.report_types or ("threat-report",)),
                                  "object_refs": [i["id"] for i in indicators]}
        if self.description.strip():
            report["description"] = self.description
        return [*indicators, report]

    def _indicator(self, common: dict[str, Any], value: Pasted, stamp: str, now: int) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "indicator", "id": f"indicator--{uuid.uuid4()}", **common,
                                 "pattern": value.pattern, "pattern_type": "stix", "valid_from": stamp}
        if self.kind == "report":
            return found
        if self.name.strip():
            found["name"] = self.name.strip()
        if self.description.strip():
            found["description"] = self.description
        if self.labels:
            found["labels"] = list(self.labels)
        if self.valid_days is not None:
            found["valid_until"] = format_micros(now + max(1, round(self.valid_days * 86_400 * 1_000_000)))
        if self.confidence is not None:
            found["confidence"] = self.confidence
        return found


@dataclass(frozen=True, slots=True)
class Published:
    """What became of a draft: a result per object (all accepted, or nothing stored), and the object to show."""

    results: tuple[ObjectResult, ...]
    lead: str
    """The report's id, or the first indicator's."""

    @property
    def stored(self) -> bool:
        return all(r.outcome == "accepted" for r in self.results)

    @property
    def refusals(self) -> tuple[ObjectResult, ...]:
        """The objects refused for a reason of their own (not the ones only refused with them)."""
        return tuple(r for r in self.results if r.outcome == "refused" and not r.detail.startswith("not stored:"))


@dataclass(frozen=True, slots=True)
class Seer:
    """One who would see an object: an organization (by name), a named person, anyone (a public collection),
    or the node's administrators, with the policy's reason."""

    kind: Literal["organization", "person", "anyone", "administrators"]
    name: str
    reason: str
    org_id: str | None = None

    def __str__(self) -> str:
        return f"{self.name} — {self.reason}"


@dataclass(frozen=True, slots=True)
class Audience:
    seers: tuple[Seer, ...]
    notes: tuple[str, ...]
    """Warnings about the recipients at this level (``phalanx.policy.scope_notes``)."""

    @property
    def organizations(self) -> tuple[str, ...]:
        """The ids of the organizations that would see it, whole."""
        return tuple(s.org_id for s in self.seers if s.kind == "organization" and s.org_id is not None)


class Publishing:
    def __init__(self, ingest: Ingest, reader: Reader, directory: Directory, settings: Settings,
                 clock: Callable[[], int]) -> None:
        self._ingest = ingest
        self._reader = reader
        self._directory = directory
        self._settings = settings
        self._clock = clock

    def _authorize(self, actor: Actor, collection_ref: str, organizations: Sequence[str], people: Sequence[str]
                   ) -> Sharing:
        """As the API does: a collection the actor may neither read nor write does not exist for it (``NotFound``,
        not a refusal naming its community), then ``Ingest.authorize``."""
        access = self._reader.collection(actor, collection_ref)
        return self._ingest.authorize(actor, access.collection.id, organizations=organizations, people=people,
                                      tolerant=False)

    def audience(self, actor: Actor, collection_ref: str, level: Tlp, *, organizations: Sequence[str] = (),
                 people: Sequence[str] = ()) -> Audience:
        """Who would see an object ``actor`` shares at ``level`` into the collection, to these recipients: each
        organization of the node the policy would let see it (as a member with any reading role would), each
        named person who sees it only by name, anyone at all when the collection is public and the object
        TLP:CLEAR, and the node's administrators. Raises what sharing would (``PermissionDenied``,
        ``InvalidRecipients``, ``NotFound``)."""
        sharing = self._authorize(actor, collection_ref, organizations, people)
        collection = sharing.collection
        venue = Venue(collection.community, frozenset(self._directory.members(collection.community)),
                      collection.public)
        shared = Shared(level, contributor=actor.org_id, sharer=actor.org_id, scope=sharing.scope, venue=venue)
        names: dict[str, str] = {}
        seers: list[Seer] = []
        for org in sorted(self._directory.list_organizations(), key=lambda o: (o.id != actor.org_id, o.name.lower())):
            names[org.id] = org.name
            decision = may_see(Actor(org.id, Role.READER), shared)
            if decision.allowed:
                seers.append(Seer("organization", org.name, decision.reason, org.id))
        admitted = {s.org_id for s in seers}
        for person in sharing.recipients.people:
            if person.org_id in admitted:
                continue
            decision = may_see(Actor(person.org_id, Role.READER, user_id=person.id), shared)
            if decision.allowed:
                seers.append(Seer("person", f"{person.username} ({names.get(person.org_id, person.org_id)})",
                                  decision.reason, person.org_id))
        if collection.public and (anyone := may_see(Actor("", Role.ANONYMOUS), shared)).allowed:
            seers.append(Seer("anyone", "Anyone, without signing in", anyone.reason))
        operators = may_see(Actor("", Role.ADMIN), shared)
        if operators.allowed:
            seers.append(Seer("administrators", "The node's administrators", operators.reason))
        notes = scope_notes(level, sharing.recipients, public=collection.public)
        return Audience(tuple(seers), tuple(notes))

    def publish(self, actor: Actor, collection_ref: str, draft: Draft, level: Tlp, *,
                organizations: Sequence[str] = (), people: Sequence[str] = ()) -> Published:
        """Share what ``draft`` describes, marked ``level``, created by ``actor``'s organization: all of it, or
        (when any object is refused) nothing. Raises what ``Ingest.authorize`` raises."""
        sharing = self._authorize(actor, collection_ref, organizations, people)
        objects = draft.objects(actor.org_id, level, self._clock())
        parsed = parse_document(orjson.dumps(objects), mode=Mode.STRICT, limits=self._ingest.limits())
        results = self._ingest.together(sharing, parsed)
        return Published(tuple(results), str(objects[-1]["id"] if draft.kind == "report" else objects[0]["id"]))
