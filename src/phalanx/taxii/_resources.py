"""The JSON of TAXII 2.1 resources: discovery, API root, collection, manifest records, envelopes, versions,
status, error messages. Envelopes are written around the objects' stored canonical bytes, never re-encoded."""

from __future__ import annotations

__all__ = [
    "api_root",
    "collection",
    "discovery",
    "envelope",
    "error_message",
    "manifest",
    "status",
    "versions",
]

from collections.abc import Sequence
from typing import Any

from ..service import CollectionAccess, StatusView
from ..stix import format_micros
from ..stix._json import dumps
from ..store import Page, StatusEntry, StatusOutcome, StoredVersion
from ._media import STIX, TAXII


def discovery(root_url: str) -> dict[str, Any]:
    return {
        "title": "Phalanx",
        "description": "A Phalanx node: STIX 2.1 intelligence shared by the organizations of its communities.",
        "default": root_url,
        "api_roots": [root_url],
    }


def api_root(max_content_length: int) -> dict[str, Any]:
    return {
        "title": "Phalanx collections",
        "description": "The collections of this node's communities; each caller sees those it may use.",
        "versions": [TAXII],
        "max_content_length": max_content_length,
    }


def collection(access: CollectionAccess) -> dict[str, Any]:
    c = access.collection
    found: dict[str, Any] = {"id": c.id, "title": c.title}
    if c.description:
        found["description"] = c.description
    found.update(can_read=access.can_read, can_write=access.can_write, media_types=[STIX])
    return found


def version_of(item: StoredVersion) -> str:
    """An object version as TAXII names it: ``modified``, else ``created``; for objects with neither (SCOs),
    the time it was added (TAXII 2.1 section 3.4.2)."""
    if item.version == 0 and item.created is None:
        return format_micros(item.date_added)
    return format_micros(item.version)


def _paging(page: Page) -> bytes:
    text = b'"more":' + (b"true" if page.more else b"false")
    if page.next_cursor is not None:
        text += b',"next":' + dumps(page.next_cursor)
    return text


def envelope(page: Page) -> bytes:
    body = b"{" + _paging(page)
    if page.items:
        body += b',"objects":[' + b",".join(item.canonical for item in page.items) + b"]"
    return body + b"}"


def manifest(page: Page) -> bytes:
    records = [{"id": item.id, "date_added": format_micros(item.date_added), "version": version_of(item),
                "media_type": STIX} for item in page.items]
    return b"{" + _paging(page) + (b',"objects":' + dumps(records) if records else b"") + b"}"


def versions(page: Page) -> bytes:
    found = [version_of(item) for item in page.items]
    return b"{" + _paging(page) + (b',"versions":' + dumps(found) if found else b"") + b"}"


def _details(entries: Sequence[StatusEntry]) -> list[dict[str, str]]:
    return [{"id": e.object_id, "version": e.version, **({"message": e.message} if e.message else {})}
            for e in entries]


def status(view: StatusView) -> dict[str, Any]:
    record = view.record
    successes, failures, pendings = (view.of(o) for o in StatusOutcome)
    found: dict[str, Any] = {
        "id": record.id,
        "status": "complete" if view.complete else "pending",
        "request_timestamp": format_micros(record.created),
        "total_count": len(record.entries),
        "success_count": len(successes),
        "failure_count": len(failures),
        "pending_count": len(pendings),
    }
    for name, entries in (("successes", successes), ("failures", failures), ("pendings", pendings)):
        if entries:
            found[name] = _details(entries)
    return found


def error_message(title: str, description: str, status_code: int, hint: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"title": title, "description": description, "http_status": str(status_code)}
    if hint:
        found["details"] = {"what_to_do": hint}
    return found
