"""What a reader's collections add up to over a window of time (``Store.activity``): who contributed what, which
of those objects other organizations then sighted, and which values an organization reported first.

Every backend answers the same five questions about the versions the reader sees (``ActivitySource``: the
``Visibility`` of each of its collections compiled into the query, never a filter after fetching), and
``compute`` turns the answers into an ``Activity`` the same way for all of them:

    newest     the memberships the reader sees that entered one of its collections in the window, the newest
               ``limit`` of them at most (``Counted``)
    seen_before  whether it sees one older than those, in the window (then the window was not counted whole)
    sightings  what the counted sighting versions report ("seen" ones only), and which of them are revoked
    keys       the values (correlation keys, ``ref:`` keys left out) of the counted versions of reporting types
    reported_before  which of some values the reader sees carried by a version of a reporting type that entered
               one of its collections before the counted memberships

From those: the objects among the counted memberships (each with its contributor, type and first date:
``reported``); for each, the sightings of it by an organization other than its contributor (a sighting's latest
version, not revoked, as ``Store.sighting_tallies`` counts them), dated by the earliest counted membership of the
sighting at or after ``reported`` ("then saw": a sighting that counts was counted itself, since it came after an
object that was); and for each value carried by a counted object of a reporting type, when no earlier report of
it is seen, the organization whose object came first and those that then reported it or sighted an object
carrying it.

The store counts; it decides nothing. Who may learn which numbers (k-anonymity, anonymous sightings) is
``phalanx.policy``'s and the service's (``phalanx.service.Metrics``).
"""

from __future__ import annotations

__all__ = ["Activity", "ActivitySource", "Contributed", "Counted", "FirstReport", "Keyed", "Uptake", "check_window",
           "compute", "counted_keys", "first_reports"]

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from ..errors import InvalidQuery

REF_PREFIX = "ref:"
"""Keys that name a referenced object rather than a value (``phalanx.analysis``): no one "reports" those."""


@dataclass(frozen=True, slots=True)
class Contributed:
    """How many distinct objects of one type one organization contributed among the counted memberships."""

    contributor: str
    type: str
    objects: int


@dataclass(frozen=True, slots=True)
class Uptake:
    """One organization's sightings of one counted object it did not contribute."""

    id: str
    type: str
    contributor: str
    """Who contributed the object sighted."""
    reported: int
    """The earliest ``date_added`` of the object among the counted memberships."""
    org: str
    """Who sighted it: counted, never to be shown (the sighting may be anonymous)."""
    sightings: int
    """Its "seen" sightings of the object."""
    first: int
    """The earliest ``date_added`` of one of them among the counted memberships, at or after ``reported``."""


@dataclass(frozen=True, slots=True)
class Keyed:
    """One counted object of a reporting type carrying a value."""

    key: str
    id: str
    contributor: str
    first: int
    """The earliest ``date_added`` of the object among the counted memberships."""
    earlier: bool
    """Whether the reader sees an object of a reporting type carrying the value that entered one of its
    collections before the counted memberships (it was reported before the window, or before the newest
    ``limit``)."""


@dataclass(frozen=True, slots=True)
class FirstReport:
    """A value one organization reported first in the window, that others then reported or sighted."""

    key: str
    contributor: str
    reported: int
    followers: tuple[str, ...]
    """The other organizations that reported it after (an object of a reporting type carrying it) or sighted an
    object carrying it after (sorted; never to be shown, only counted)."""


@dataclass(frozen=True, slots=True)
class Activity:
    """What the versions a reader sees add up to over ``[start, until)``."""

    counted: int
    """The memberships counted."""
    start: int
    """Where the counted memberships begin: ``since``, or when there were more than ``limit``, the
    ``date_added`` of the oldest one counted."""
    complete: bool
    """Every membership of the window was counted (``start == since``)."""
    contributed: tuple[Contributed, ...]
    """Ordered by contributor, then type."""
    uptake: tuple[Uptake, ...]
    """Ordered by object id, then organization."""
    first_reports: tuple[FirstReport, ...]
    """Ordered by key."""


def check_window(since: int, until: int, limit: int) -> None:
    for name, value in (("since", since), ("until", until), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value <= 2**63 - 1:
            raise InvalidQuery(f"{name} {value!r} must be a whole number from -2**63 to 2**63 - 1")
    if since > until:
        raise InvalidQuery("since is after until")
    if limit < 1:
        raise InvalidQuery("limit must be at least 1")


def first_reports(keyed: Iterable[Keyed], uptake: Sequence[Uptake]) -> tuple[FirstReport, ...]:
    """For each value, the organization whose object carrying it came first, when no earlier one is seen and
    others followed: with a later object carrying it, or with a sighting (at or after the first report) of one
    of the counted objects carrying it."""
    by_key: dict[str, list[Keyed]] = {}
    for row in keyed:
        by_key.setdefault(row.key, []).append(row)
    sighted: dict[str, list[Uptake]] = {}
    for u in uptake:
        sighted.setdefault(u.id, []).append(u)
    found: list[FirstReport] = []
    for key in sorted(by_key):
        rows = by_key[key]
        if any(r.earlier for r in rows):
            continue
        first = min(rows, key=lambda r: (r.first, r.id, r.contributor))
        followers = {r.contributor for r in rows if r.contributor != first.contributor and r.first > first.first}
        followers.update(u.org for r in rows for u in sighted.get(r.id, ())
                         if u.org != first.contributor and u.first >= first.first)
        if followers:
            found.append(FirstReport(key, first.contributor, first.first, tuple(sorted(followers))))
    return tuple(found)


class Counted(NamedTuple):
    """One membership the reader sees, in the window."""

    at: int
    """Its ``date_added``."""
    seq: int
    """The version's store-wide sequence number (``Accepted.seq``)."""
    id: str
    version: int
    type: str
    contributor: str
    is_last: bool
    """Whether the version is the latest of its id."""


class ActivitySource(Protocol):
    """What a backend answers for ``compute``, about one reader's collections over one window."""

    def newest(self, limit: int) -> list[Counted]:
        """The newest ``limit`` memberships the reader sees in the window, newest first."""
        ...

    def seen_before(self, before: int) -> bool:
        """Whether the reader sees a membership in the window older than ``before``."""
        ...

    def sightings(self, counted: Sequence[Counted]) -> dict[int, tuple[str, str]]:
        """For those of ``counted`` that are "seen" sightings not revoked: seq -> (object sighted, organization)."""
        ...

    def keys(self, counted: Sequence[Counted]) -> Mapping[int, Sequence[str]]:
        """The keys of ``counted`` versions (seq -> keys, each once), ``ref:`` keys left out."""
        ...

    def reported_before(self, keys: Collection[str], before: int, reporting: tuple[str, ...]) -> set[str]:
        """Those of ``keys`` carried by a version of the ``reporting`` types the reader sees in a membership that
        entered one of its collections before ``before``."""
        ...


def compute(source: ActivitySource, *, since: int, limit: int, reporting: tuple[str, ...]) -> Activity:
    """``Store.activity`` from a backend's answers."""
    counted = source.newest(limit)
    oldest = counted[-1].at if counted else None
    complete = len(counted) < limit or oldest is None or not source.seen_before(oldest)
    start = since if complete or oldest is None else oldest
    # Reports before ``since`` and before the oldest counted are the same ones when the window was counted whole:
    # the reader sees nothing between the two.
    bound = oldest if len(counted) == limit and oldest is not None else since
    objects: dict[tuple[str, str], tuple[str, int]] = {}  # (id, contributor) -> (type, first date)
    for at, _, oid, _, kind, by, _ in reversed(counted):  # oldest first: the first date of each is the one set
        objects.setdefault((oid, by), (kind, at))
    per_type = Counter((by, kind) for (_, by), (kind, _) in objects.items())
    contributed = tuple(Contributed(by, kind, n) for (by, kind), n in sorted(per_type.items()))
    sightings = [r for r in counted if r[4] == "sighting" and r[6]]
    facts = source.sightings(sightings) if sightings else {}
    targets = {sighted for sighted, _ in facts.values()}
    by_id: dict[str, list[tuple[str, str, int]]] = {}
    for (oid, by), (kind, first) in objects.items():
        if oid in targets:
            by_id.setdefault(oid, []).append((by, kind, first))
    seen: dict[tuple[str, str, str], tuple[set[str], int]] = {}  # (object, contributor, org) -> (sightings, first)
    for row in sightings:
        found = facts.get(row.seq)
        if found is None:
            continue
        sighted, org = found
        for by, _, reported in by_id.get(sighted, ()):
            if org != by and row.at >= reported:
                ids, first = seen.get((sighted, by, org), (set(), row.at))
                ids.add(row.id)
                seen[(sighted, by, org)] = (ids, min(first, row.at))
    uptake = tuple(Uptake(oid, objects[(oid, by)][0], by, objects[(oid, by)][1], org, len(ids), first)
                   for (oid, by, org), (ids, first) in sorted(seen.items()))
    keyed: list[Keyed] = []
    reports = [r for r in counted if r[4] in reporting]
    if reports:
        keys = source.keys(reports)
        carried: dict[tuple[str, str, str], int] = {}  # (key, id, contributor) -> first date
        for at, seq, oid, _, _, by, _ in reversed(reports):  # oldest first
            for key in keys.get(seq, ()):
                carried.setdefault((key, oid, by), at)
        contributors: dict[str, set[str]] = {}
        for key, _, by in carried:
            contributors.setdefault(key, set()).add(by)
        sighted_ids = {u.id for u in uptake}
        wanted = {key for key, oid, _ in carried if len(contributors[key]) > 1 or oid in sighted_ids}
        earlier = source.reported_before(wanted, bound, reporting) if wanted else set()
        keyed = [Keyed(key, oid, by, first, key in earlier) for (key, oid, by), first in carried.items()
                 if key in wanted]
    return Activity(len(counted), start, complete, contributed, uptake, first_reports(keyed, uptake))


def counted_keys(keys: Mapping[int, Iterable[str]]) -> dict[int, tuple[str, ...]]:
    """Keys by seq, each once, ``ref:`` keys left out."""
    found = {seq: tuple({k for k in ks if not k.startswith(REF_PREFIX)}) for seq, ks in keys.items()}
    return {seq: ks for seq, ks in found.items() if ks}
