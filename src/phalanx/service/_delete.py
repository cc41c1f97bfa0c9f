"""Deleting objects from a collection: what its contributing organization (or a node administrator) may do.

The check and the change are one: the store deletes only the versions the caller's organization contributed
or shared there, inside the transaction that deletes them. An object the caller may not see gets the same
answer as one that does not exist.
"""

from __future__ import annotations

__all__ = ["Deletion"]


from ..errors import NotFound, PermissionDenied
from ..identity import Actor
from ..policy import delete_owner
from ..store import Deleted, Query, Store, VersionFilter
from ._read import Reader


class Deletion:
    def __init__(self, store: Store, reader: Reader) -> None:
        self._store = store
        self._reader = reader

    def delete(self, actor: Actor, collection_ref: str, object_id: str, *,
               versions: tuple[VersionFilter | int, ...] = (VersionFilter.ALL,),
               spec_versions: tuple[str, ...] = ()) -> Deleted:
        """Delete the matching versions of ``object_id`` from the collection; ``NotFound`` when the caller sees
        none of them, ``PermissionDenied`` when it sees them but they are not its organization's."""
        owner = delete_owner(actor)
        collection = self._reader.readable(actor, collection_ref)
        query = Query(collection=collection.id, ids=(object_id,), versions=versions, spec_versions=spec_versions,
                      limit=1)
        if not self._reader.page(actor, query).items:
            raise NotFound(f"no object {object_id} in collection {collection.title!r}")
        deleted = self._store.delete(collection.id, object_id, versions=versions, spec_versions=spec_versions,
                                     owner=owner)
        if not deleted.versions:
            raise PermissionDenied(f"{object_id} was shared by another organization: only it may delete it",
                                   hint="Ask the organization that shared it, or a node administrator.")
        return deleted
