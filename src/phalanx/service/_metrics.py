"""Community metrics: who belongs to the communities an actor may know of, and what each organization contributed
over a window of days, what others then saw of it, and who protected others first (the dashboard's community
page).

    >>> from phalanx.config import Settings
    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.service import Node
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> acme = node.admin.add_organization("ACME CERT")
    >>> node.metrics.contributions(Actor(acme.id, Role.READER)).organizations
    ()
    >>> node.close()

Every number is made of what the actor may read, and only of that: the policy is compiled into the store's query
(``Store.activity``), one visibility per collection the actor may read, as for a page of objects. Then
``phalanx.policy`` decides what the actor is told:

- what an organization *shared* (its objects, by kind) is attributed as the feed attributes it; sightings are
  left out, since some are anonymous and an aggregate cannot tell which (``may_learn_contributor``);
- what others *then saw* (sightings by other organizations of its objects, the time from its report to the
  first of them) and what it *reported first* (values it reported before anyone else, that others then reported
  or sighted) rest on other organizations' sightings: each count is shown only when at least ``sighting_k``
  organizations other than the actor's stand behind it (``disclose``), as for an object's sightings. Who they
  are is never shown.

The store counts the newest ``limit`` memberships of the window at most (``Contributions.complete`` says whether
that was all of them), so the page costs the same whatever the store holds; a short-lived cache keyed by the
actor's organization, role and exact visibility (and by the store's last change) serves repeated views. It never
gives one organization another's numbers: a different visibility is a different key.
"""

from __future__ import annotations

__all__ = ["CommunityInfo", "Contributions", "Member", "Metrics", "OrganizationMetrics", "Reach"]

import statistics
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..config import Settings
from ..errors import InvalidParameter, NotFound
from ..identity import Actor, Collection, Directory, Role
from ..policy import disclose, may_see_community
from ..stix import now_micros
from ..store import Activity, SightingTally, Store, Tally, Uptake, Visibility
from ._read import Reader

DAY = 86_400 * 1_000_000
MAX_DAYS = 365
DEFAULT_DAYS = 30
LIMIT = 5_000
"""The most memberships one view counts (the newest of the window)."""
CACHE_SECONDS = 60.0
_CACHE_SIZE = 128
REPORTING = ("indicator",)
"""The types whose contributors report the values they carry (as ``phalanx.service.Correlation`` counts them)."""
UNATTRIBUTED = ("sighting",)
"""Types never counted for their contributor here: a sighting may be anonymous (``may_learn_contributor``), and an
aggregate cannot tell which one is."""
KINDS = {"indicator": "indicators", "report": "reports"}
"""What "shared" is broken down into; every other type is "other"."""


@dataclass(frozen=True, slots=True)
class Member:
    org_id: str
    name: str
    sectors: tuple[str, ...]
    registered: int
    """When the organization was added to this node (microseconds). The node does not record when it joined a
    community."""


@dataclass(frozen=True, slots=True)
class CommunityInfo:
    name: str
    title: str
    created: int
    members: tuple[Member, ...]
    collections: tuple[Collection, ...]


@dataclass(frozen=True, slots=True)
class Reach:
    """What others did after an organization (or the community) shared: None where withheld (fewer than ``k``
    organizations other than the actor's stand behind it)."""

    objects: int | None
    """Its objects (shared in the window) that other organizations then sighted."""
    organizations: int | None
    """The other organizations that sighted them."""
    sightings: int | None
    median_micros: int | None
    """The median time from an object's first report to its first sighting by another organization."""
    first_values: int | None
    """Values it reported first in the window that other organizations then reported or sighted."""
    followers: int | None
    """The other organizations that then reported or sighted those values."""
    withheld: bool
    """Something above was withheld (k-anonymity)."""


@dataclass(frozen=True, slots=True)
class OrganizationMetrics:
    org_id: str
    name: str
    member: bool
    """A member of the communities looked at (contributors from elsewhere reach them through peers or sharing)."""
    shared: dict[str, int]
    """Objects shared in the window, by kind: indicators, reports, other."""
    reach: Reach

    @property
    def total(self) -> int:
        return sum(self.shared.values())


@dataclass(frozen=True, slots=True)
class Contributions:
    """An actor's view of the contributions to a community (or to every collection it reads) over a window."""

    community: str | None
    days: int
    since: int
    until: int
    """The window, as of when it was counted (``until``)."""
    start: int
    """Where counting began: ``since``, unless the window held more than ``limit`` memberships."""
    complete: bool
    counted: int
    limit: int
    k: int
    organizations: tuple[OrganizationMetrics, ...]
    """Most objects shared first."""
    community_reach: Reach
    shared: dict[str, int]
    cached: bool
    """Served from the short-lived cache."""


class Metrics:
    def __init__(self, store: Store, directory: Directory, reader: Reader, settings: Settings, *,
                 clock: Callable[[], int] = now_micros, limit: int = LIMIT,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self._store = store
        self._directory = directory
        self._reader = reader
        self._settings = settings
        self._clock = clock
        self.limit = limit
        self._cache_micros = int(cache_seconds * 1_000_000)
        self._cache: OrderedDict[Hashable, tuple[int, int, Activity]] = OrderedDict()
        self._lock = threading.Lock()

    # who belongs ------------------------------------------------------------------------------------------

    def communities(self, actor: Actor) -> list[CommunityInfo]:
        """The communities ``actor`` may know of (its organization's; node administrators: all), with their
        member organizations and collections."""
        collections = self._directory.list_collections()
        found: list[CommunityInfo] = []
        for community in sorted(self._directory.list_communities(), key=lambda c: c.name):
            ids = self._directory.members(community.name)
            if not may_see_community(actor, community=community.name, members=ids).allowed:
                continue
            members = []
            for org_id in ids:
                try:
                    org = self._directory.get_organization(org_id)
                except NotFound:
                    continue
                members.append(Member(org.id, org.name, org.sectors, org.created))
            found.append(CommunityInfo(community.name, community.title, community.created,
                                       tuple(sorted(members, key=lambda m: m.name.lower())),
                                       tuple(sorted((c for c in collections if c.community == community.name),
                                                    key=lambda c: c.title.lower()))))
        return found

    # what they did ----------------------------------------------------------------------------------------

    def readable(self, actor: Actor, community: str | None = None
                 ) -> tuple[dict[str, Visibility], dict[str, tuple[str, ...]]]:
        """The collections ``actor`` may read (of ``community`` only, when given), what it sees in each, and the
        types those serving only some types serve it (``Reader.visibilities``)."""
        return self._reader.visibilities(actor, community=community)

    def contributions(self, actor: Actor, *, community: str | None = None, days: int = DEFAULT_DAYS
                      ) -> Contributions:
        """What each organization shared over the last ``days`` among what ``actor`` may read (in ``community``,
        or every collection it reads), what others then saw of it, and who reported values first."""
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise InvalidParameter(f"days must be a whole number from 1 to {MAX_DAYS}")
        members: set[str] = set()
        if community is not None:
            infos = {c.name: c for c in self.communities(actor)}
            if community not in infos:
                raise NotFound(f"no community {community!r}", hint="The community page lists yours.")
            members = {m.org_id for m in infos[community].members}
        else:
            members = {m.org_id for c in self.communities(actor) for m in c.members}
        readable, types = self.readable(actor, community)
        until, activity, cached = self._activity(actor, readable, types, days)
        since = until - days * DAY
        k = self._settings.sighting_k
        uptake = [u for u in activity.uptake if u.type not in UNATTRIBUTED]
        shared: dict[str, dict[str, int]] = {}
        for c in activity.contributed:
            if c.type in UNATTRIBUTED:
                continue
            kinds = shared.setdefault(c.contributor, dict.fromkeys(("indicators", "reports", "other"), 0))
            kinds[KINDS.get(c.type, "other")] += c.objects
        by_contributor: dict[str, list[Uptake]] = {}
        for u in uptake:
            by_contributor.setdefault(u.contributor, []).append(u)
        firsts: dict[str, list[tuple[str, ...]]] = {}
        for f in activity.first_reports:
            firsts.setdefault(f.contributor, []).append(f.followers)
        rows = []
        for org_id in sorted(set(shared) | members | set(by_contributor) | set(firsts)):
            rows.append(OrganizationMetrics(
                org_id, self._name(org_id), org_id in members,
                shared.get(org_id, dict.fromkeys(("indicators", "reports", "other"), 0)),
                self._reach(actor, k, by_contributor.get(org_id, []), firsts.get(org_id, []))))
        rows.sort(key=lambda r: (-r.total, r.name.lower(), r.org_id))
        totals = dict.fromkeys(("indicators", "reports", "other"), 0)
        for kinds in shared.values():
            for kind, n in kinds.items():
                totals[kind] += n
        community_reach = self._reach(actor, k, uptake, [f.followers for f in activity.first_reports])
        return Contributions(community, days, since, until, activity.start if not activity.complete else since,
                             activity.complete, activity.counted, self.limit, k, tuple(rows), community_reach,
                             totals, cached)

    def _name(self, org_id: str) -> str:
        try:
            return self._directory.get_organization(org_id).name
        except NotFound:
            return org_id

    def _reach(self, actor: Actor, k: int, uptake: Sequence[Uptake], followers: Sequence[tuple[str, ...]]) -> Reach:
        """What ``actor`` may learn of the uptake of some objects and of the values reported first."""
        sighters = {u.org for u in uptake}
        first: dict[tuple[str, str], tuple[int, int]] = {}  # (object, contributor) -> (reported, first sighting)
        for u in uptake:
            key = (u.id, u.contributor)
            reported, seen = first.get(key, (u.reported, u.first))
            first[key] = (reported, min(seen, u.first))
        median = round(statistics.median(seen - reported for reported, seen in first.values())) if first else None
        followed = {org for group in followers for org in group}
        sightings_shown = _shown(actor, sighters, sum(u.sightings for u in uptake), k)
        firsts_shown = _shown(actor, followed, len(followers), k)
        return Reach(
            len(first) if sightings_shown else None,
            len(sighters) if sightings_shown else None,
            sum(u.sightings for u in uptake) if sightings_shown else None,
            median if sightings_shown else None,
            len(followers) if firsts_shown else None,
            len(followed) if firsts_shown else None,
            not (sightings_shown and firsts_shown))

    def _activity(self, actor: Actor, readable: Mapping[str, Visibility], types: Mapping[str, tuple[str, ...]],
                  days: int) -> tuple[int, Activity, bool]:
        """The store's activity for this exact visibility (``until``, it, whether it came from the cache)."""
        now = self._clock()
        key = (actor.org_id, actor.role, actor.user_id, _frozen(readable.items()), _frozen(types.items()), days,
               self.limit, self._store.last_change())
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] <= self._cache_micros:
                self._cache.move_to_end(key)
                return hit[1], hit[2], True
        until = now + 1  # the window includes this microsecond
        found = self._store.activity(readable, since=until - days * DAY, until=until, limit=self.limit,
                                     reporting=REPORTING, types=types)
        with self._lock:
            self._cache[key] = (now, until, found)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return until, found, False


def _frozen(items: Iterable[tuple[str, object]]) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(items, key=lambda item: item[0]))


def _shown(actor: Actor, organizations: set[str], count: int, k: int) -> bool:
    """Whether a count made by ``organizations`` may be shown to ``actor`` (``phalanx.policy.disclose``)."""
    own = actor.role is not Role.ANONYMOUS and actor.org_id in organizations
    tally = SightingTally("", Tally(seen=len(organizations), sightings=count), Tally(seen=int(own)))
    return disclose(actor, tally, k=k).seen is not None
