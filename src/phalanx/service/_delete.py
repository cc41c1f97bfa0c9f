"""Deleting objects from a collection: what its contributing organization (or a node administrator) may do.

The check and the change are one: the store deletes only the versions the caller's organization contributed
or shared there, inside the transaction that deletes them. An object the caller may not see gets the same
answer as one that does not exist.
"""

from __future__ import annotations

__all__ = ["Deletion"]

from collections.abc import Callable, Sequence

from ..errors import NotFound, PermissionDenied
from ..identity import Actor
from ..policy import delete_owner
from ..store import Deleted, Query, Store, Unlogged, VersionFilter
from ._read import Reader

_TRIES = 5
"""Attempts at a delete that other writers keep overtaking (each logs what they stored first)."""


class Deletion:
    def __init__(self, store: Store, reader: Reader, *, logged: Callable[[], int] | None = None) -> None:
        """``logged`` logs every version the store holds and returns the ledger's cursor: a version is removed
        from the store only once it is in the log, so that one deleted right after it was stored (even by
        another process) is in the log all the same."""
        self._store = store
        self._reader = reader
        self._logged = logged

    def delete(self, actor: Actor, collection_ref: str, object_ids: Sequence[str], *,
               versions: tuple[VersionFilter | int, ...] = (VersionFilter.ALL,),
               spec_versions: tuple[str, ...] = ()) -> list[Deleted]:
        """Delete the matching versions of each of ``object_ids`` from the collection. Every id is checked
        before anything is deleted: ``NotFound`` when the caller sees none of an object's matching versions,
        ``PermissionDenied`` when it sees them but none is its organization's; then nothing is deleted."""
        owner = delete_owner(actor)
        collection = self._reader.readable(actor, collection_ref).collection
        object_ids = list(dict.fromkeys(object_ids))  # each once: a repeated id is one object
        for object_id in object_ids:
            query = Query(collection=collection.id, ids=(object_id,), versions=versions,
                          spec_versions=spec_versions, limit=self._LOOK)
            seen = self._reader.page(actor, query).items
            if not seen:
                raise NotFound(f"no object {object_id} in collection {collection.title!r}",
                               hint="Check the object id (and match[version]): the collection's objects list what "
                                    "you may see.")
            if owner is not None and not any(owner in (v.contributor, v.sharer) for v in seen):
                raise _not_yours(object_id)
        done = []
        for object_id in object_ids:
            deleted = self._delete_logged(collection.id, object_id, versions, spec_versions, owner)
            if not deleted.versions:  # changed since the check: the store decides, in its own transaction
                raise _not_yours(object_id)
            done.append(deleted)
        return done

    def _delete_logged(self, collection: str, object_id: str, versions: tuple[VersionFilter | int, ...],
                       spec_versions: tuple[str, ...], owner: str | None) -> Deleted:
        for _ in range(_TRIES - 1):
            try:
                return self._store.delete(collection, object_id, versions=versions, spec_versions=spec_versions,
                                          owner=owner, logged_through=None if self._logged is None else self._logged())
            except Unlogged:
                continue  # stored meanwhile: log it, and try again
        return self._store.delete(collection, object_id, versions=versions, spec_versions=spec_versions,
                                  owner=owner, logged_through=None if self._logged is None else self._logged())

    _LOOK = 1000
    """Versions of one object looked at to decide whether the caller may delete any."""


def _not_yours(object_id: str) -> PermissionDenied:
    return PermissionDenied(f"{object_id} was shared by another organization: only it may delete it",
                            hint="Ask the organization that shared it, or a node administrator.")
