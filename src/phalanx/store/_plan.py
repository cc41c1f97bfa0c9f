"""Deciding what one ``put_many`` batch does, the same way on every backend.

A backend loads what it holds about the ids in a batch (``Known``), this module walks the batch in order and
decides each row's status, which rows to insert, and which "first"/"last" flags move. The backend then writes
the plan in the same transaction. Keeping the decision here (pure, no I/O) is what makes the three backends
agree row for row.
"""

from __future__ import annotations

__all__ = ["Known", "MembershipInsert", "Plan", "VersionInsert", "check_rows", "make_plan"]

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import StoreError
from ._protocol import PutResult, PutStatus, VersionRow, WriteGuard, is_int64


@dataclass(slots=True)
class Known:
    """What the store holds about the ids of one batch, before the batch."""

    digests: dict[tuple[str, int], str] = field(default_factory=dict)
    """(id, version) -> digest, every stored version of those ids."""
    seqs: dict[tuple[str, int], int] = field(default_factory=dict)
    """(id, version) -> the version's store-wide sequence number (its first date_added)."""
    min_revoked: dict[str, int] = field(default_factory=dict)
    """id -> the oldest revoked version."""
    members: dict[tuple[str, int], int] = field(default_factory=dict)
    """(id, version) -> date_added, for the versions already in the batch's collection."""
    member_scopes: dict[tuple[str, int], tuple[str, frozenset[str] | None]] = field(default_factory=dict)
    """(id, version) -> (sharer, scope) of those memberships."""
    contributors: dict[tuple[str, int], str] = field(default_factory=dict)
    """(id, version) -> the organization that contributed it, every stored version of those ids."""
    top_levels: dict[tuple[str, int], int] = field(default_factory=dict)
    """(id, version) -> the top level (of any of its parts) it was stored with, every stored version of those
    ids."""


@dataclass(slots=True)
class VersionInsert:
    row: VersionRow
    seq: int
    is_first: bool
    is_last: bool


@dataclass(slots=True)
class MembershipInsert:
    id: str
    version: int
    type: str
    spec_version: str
    vseq: int
    date_added: int
    is_first: bool
    is_last: bool
    passed_on: bool = False
    """Whether the version's contributor is another organization than the one sharing it here."""


@dataclass(slots=True)
class Plan:
    results: list[PutResult]
    versions: list[VersionInsert]
    memberships: list[MembershipInsert]
    clear_version_first: list[tuple[str, int]]
    clear_version_last: list[tuple[str, int]]
    clear_member_first: list[tuple[str, int]]
    clear_member_last: list[tuple[str, int]]
    revoked: dict[str, int]
    """id -> oldest revoked version, for ids whose value changed."""


def check_rows(rows: Sequence[VersionRow]) -> None:
    """Refuse a batch holding an integer the store cannot keep, before anything is written (``StoreError``)."""
    for row in rows:
        for name, value in (("version", row.version), ("created", row.created)):
            if not (is_int64(value) or (name == "created" and value is None)):
                raise StoreError(
                    f"cannot store {row.id}: its {name} {value!r} is not a signed 64-bit integer; nothing was stored",
                    hint="Versions and created times are microseconds since 1970 and must fit in 64 bits: "
                    "check the object's 'modified' and 'created' timestamps.",
                )


_Bounds = tuple[int | None, int | None]


def _bounds(versions: Sequence[int]) -> _Bounds:
    return (min(versions), max(versions)) if versions else (None, None)


def _moved_bounds(
    touched: set[str], after: Iterable[tuple[str, int]], before: Collection[tuple[str, int]]
) -> tuple[dict[str, _Bounds], list[tuple[str, int]], list[tuple[str, int]]]:
    """For each touched id: its (first, last) version once the batch is in, and the (id, version) pairs that
    stop being first, and last. ``after`` holds every (id, version) after the batch, ``before`` those before."""
    versions_before: dict[str, list[int]] = {i: [] for i in touched}
    versions_after: dict[str, list[int]] = {i: [] for i in touched}
    for oid, ver in after:
        if oid in touched:
            versions_after[oid].append(ver)
            if (oid, ver) in before:
                versions_before[oid].append(ver)
    new_bounds: dict[str, _Bounds] = {}
    clear_first: list[tuple[str, int]] = []
    clear_last: list[tuple[str, int]] = []
    for oid in touched:
        old_first, old_last = _bounds(versions_before[oid])
        new_first, new_last = _bounds(versions_after[oid])
        new_bounds[oid] = (new_first, new_last)
        if old_first is not None and old_first != new_first:
            clear_first.append((oid, old_first))
        if old_last is not None and old_last != new_last:
            clear_last.append((oid, old_last))
    return new_bounds, clear_first, clear_last


def _all_new(rows: Sequence[VersionRow], allocate: Callable[[int], int]) -> Plan:
    """The common case of a bulk import: the store holds none of the ids and each id appears once in the
    batch. Every row is ADDED, the first and the last version of its id (store-wide and in the collection),
    with date_added and seq base, base + 1, ... in batch order; no flag moves."""
    base = allocate(len(rows))
    added = PutStatus.ADDED
    results = [PutResult(row.id, row.version, added, base + k) for k, row in enumerate(rows)]
    versions = [VersionInsert(row, base + k, True, True) for k, row in enumerate(rows)]
    memberships = [
        MembershipInsert(row.id, row.version, row.type, row.spec_version, base + k, base + k, True, True)
        for k, row in enumerate(rows)
    ]
    revoked = {row.id: row.version for row in rows if row.revoked}
    return Plan(results, versions, memberships, [], [], [], [], revoked)


def make_plan(rows: Sequence[VersionRow], known: Known, allocate: Callable[[int], int], *, contributor: str,
              guard: WriteGuard | None = None) -> Plan:
    """Decide the batch ``contributor`` shares. ``allocate(n)`` reserves ``n`` consecutive date_added values
    and returns the first; it is called once, after the statuses are known (with 0 when nothing new enters the
    collection). ``guard`` refuses what the writer may not do to others' objects (FOREIGN, RESTRICTED)."""
    if rows and not known.digests and not known.min_revoked and len({row.id for row in rows}) == len(rows):
        return _all_new(rows, allocate)
    return _general(rows, known, allocate, contributor, guard)


def _owners(contributors: dict[tuple[str, int], str]) -> dict[str, str]:
    """id -> the organization that contributed its oldest stored version: the object's owner."""
    oldest: dict[str, tuple[int, str]] = {}
    for (oid, ver), org in contributors.items():
        if oid not in oldest or ver < oldest[oid][0]:
            oldest[oid] = (ver, org)
    return {oid: org for oid, (_, org) in oldest.items()}


def _may_name(guard: WriteGuard, known: Known, key: tuple[str, int], row: VersionRow, owner: str, *,
              in_collection: bool) -> bool:
    """Whether the guarded writer may name another organization's stored version ``key``: to put it into this
    collection, it must be allowed to pass it on; when it is here already, it must see the whole of it here."""
    top = known.top_levels.get(key, row.top_level)
    if not in_collection:
        return top in guard.pass_on
    if guard.sees is None:
        return False
    sharer, scope = known.member_scopes.get(key, (owner, None))
    return guard.sees.admits(level=top, scope=scope, contributor=owner, sharer=sharer)


def _general(rows: Sequence[VersionRow], known: Known, allocate: Callable[[int], int], contributor: str,
             guard: WriteGuard | None) -> Plan:
    contributors = dict(known.contributors)
    owners = _owners(contributors)
    digests = dict(known.digests)
    min_revoked = dict(known.min_revoked)
    # New versions and memberships get a relative number k (0, 1, ...) until the dates are reserved.
    members: dict[tuple[str, int], tuple[bool, int]] = {k: (False, v) for k, v in known.members.items()}
    seqs: dict[tuple[str, int], tuple[bool, int]] = {k: (False, v) for k, v in known.seqs.items()}
    pending: list[tuple[VersionRow, PutStatus, tuple[bool, int] | None]] = []
    new_versions: list[VersionRow] = []
    new_members: list[tuple[VersionRow, int]] = []  # (row, k)
    for row in rows:
        key = (row.id, row.version)
        stored = digests.get(key)
        if stored is not None:
            owner_of_version = contributors.get(key, contributor)
            if guard is not None and owner_of_version != contributor and not _may_name(
                    guard, known, key, row, owner_of_version, in_collection=key in members):
                # Another organization's version the writer may not pass on, or not see whole: the same answer
                # whatever the row holds, so that no answer tells a guess of hidden content right from wrong.
                pending.append((row, PutStatus.RESTRICTED, None))
            elif stored != row.digest:
                pending.append((row, PutStatus.CONFLICT, None))
            elif key in members:
                pending.append((row, PutStatus.DUPLICATE, members[key]))
            else:
                members[key] = (True, len(new_members))
                pending.append((row, PutStatus.LINKED, members[key]))
                new_members.append((row, len(new_members)))
            continue
        owner = owners.get(row.id)
        if (guard is not None and not guard.may_version_others and owner is not None and owner != contributor
                and owner not in guard.relays):
            pending.append((row, PutStatus.FOREIGN, None))
            continue
        oldest_revoked = min_revoked.get(row.id)
        if oldest_revoked is not None and row.version > oldest_revoked:
            pending.append((row, PutStatus.REVOKED, None))
            continue
        digests[key] = row.digest
        contributors[key] = contributor
        owners.setdefault(row.id, contributor)
        members[key] = seqs[key] = (True, len(new_members))
        pending.append((row, PutStatus.ADDED, members[key]))
        new_versions.append(row)
        new_members.append((row, len(new_members)))
        if row.revoked and (oldest_revoked is None or row.version < oldest_revoked):
            min_revoked[row.id] = row.version

    base = allocate(len(new_members)) if new_members else 0

    def resolve(ref: tuple[bool, int]) -> int:
        relative, value = ref
        return base + value if relative else value

    results = [
        PutResult(row.id, row.version, status, None if ref is None else resolve(ref)) for row, status, ref in pending
    ]

    # Which versions are first and last, before and after, store-wide and in the collection.
    store_new_bounds, clear_vf, clear_vl = _moved_bounds({row.id for row in new_versions}, digests, known.digests)
    member_new_bounds, clear_mf, clear_ml = _moved_bounds({row.id for row, _ in new_members}, members, known.members)

    version_inserts = []
    for row in new_versions:
        first, last = store_new_bounds[row.id]
        version_inserts.append(
            VersionInsert(row, resolve(seqs[(row.id, row.version)]), row.version == first, row.version == last)
        )
    member_inserts = []
    for row, k in new_members:
        first, last = member_new_bounds[row.id]
        member_inserts.append(
            MembershipInsert(
                row.id,
                row.version,
                row.type,
                row.spec_version,
                resolve(seqs[(row.id, row.version)]),
                base + k,
                row.version == first,
                row.version == last,
                contributors.get((row.id, row.version), contributor) != contributor,
            )
        )
    revoked = {oid: ver for oid, ver in min_revoked.items() if known.min_revoked.get(oid) != ver}
    return Plan(results, version_inserts, member_inserts, clear_vf, clear_vl, clear_mf, clear_ml, revoked)
