"""The live feed: the newest intelligence the visitor may read, filtered, and updated as it arrives.

    GET /feed[?type=&tlp=&community=&organization=&label=&limit=&after=&before=]   the page (or ?format=json)
    GET /feed/events                                                      a live stream: one event per change

The page's script listens to ``/feed/events`` (the same live stream as ``/api/v1/stream``, as the visitor's
session may see it) and, on each change, asks ``/feed?format=json&after=<newest shown>`` with the same filters
for the rows to add: the rows always come from the same code, under the same policy, as the page itself.
"""

from __future__ import annotations

__all__ = ["feed_routes"]

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ...errors import InvalidParameter
from ...identity import Actor
from ...service._overview import FeedFilter
from ...stix import Tlp
from ...streams._sse import StreamFilter
from .._stream import session_messages
from ._site import Site, Visit, check_page_params
from ._views import Names, object_rows

FEED_PARAMS = ("type", "tlp", "community", "organization", "label", "limit", "after", "before", "format")
_TYPES = ("indicator", "report", "sighting", "malware", "threat-actor", "intrusion-set", "campaign",
          "attack-pattern", "vulnerability", "course-of-action", "tool", "infrastructure", "identity",
          "relationship", "observed-data", "note", "opinion", "grouping", "location")
_LEVELS = {t.label: t for t in Tlp} | {t.title.lower(): t for t in Tlp}


def _values(request: Request, name: str) -> tuple[str, ...]:
    return tuple(v.strip() for value in request.query_params.getlist(name) for v in value.split(",") if v.strip())


def _int(request: Request, name: str, *, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParameter(f"{name}={raw!r} must be a whole number from {low} to {high}")
    return int(raw)


def feed_filter(request: Request, organizations: dict[str, str]) -> FeedFilter:
    levels = []
    for value in _values(request, "tlp"):
        level = _LEVELS.get(value.lower())
        if level is None:
            raise InvalidParameter(f"tlp={value!r} is not a TLP 2.0 level",
                                   hint="Use clear, green, amber, amber+strict or red.")
        levels.append(level)
    wanted_orgs = _values(request, "organization")
    by_name = {name.lower(): org_id for org_id, name in organizations.items()}
    contributors = tuple(by_name.get(o.lower(), o) for o in wanted_orgs)
    return FeedFilter(_values(request, "type"), tuple(levels), _values(request, "community"), contributors,
                      _values(request, "label"))


def _with(request: Request, name: str, value: str) -> str:
    """This page's address with ``name`` set to ``value`` (and no ``after`` or ``format``)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in (name, "after", "format")]
    return "/feed?" + urlencode([*params, (name, value)])


def feed_routes(site: Site) -> list[Route]:
    node = site.node

    def build(request: Request, visit: Visit) -> dict[str, Any]:
        actor = visit.signed_in
        check_page_params(request, FEED_PARAMS, repeatable=("type", "tlp", "community", "organization", "label"))
        organizations = {o.id: o.name for o in node.admin.organizations(by=actor)}
        wanted = feed_filter(request, organizations)
        limit = _int(request, "limit", low=1, high=200) or 50
        after = _int(request, "after", low=0, high=2**63 - 1)
        before = _int(request, "before", low=0, high=2**63 - 1)
        page = node.overview.feed(actor, wanted, limit=limit, after=after, before=before)
        names = Names(node)
        communities = sorted({a.collection.community for a in node.overview.collections(actor)})
        return {
            "rows": object_rows(node, actor, page.items, names),
            "newest": page.newest if page.newest is not None else after,
            "scanned": page.scanned,
            "complete": page.exhausted,
            "older": None if page.older is None else _with(request, "before", str(page.older)),
            "filters": {"type": list(wanted.types), "tlp": [t.label for t in wanted.levels],
                        "community": list(wanted.communities), "organization": list(_values(request, "organization")),
                        "label": list(wanted.labels)},
            "choices": {"type": list(_TYPES), "tlp": [t.label for t in Tlp], "community": communities,
                        "organization": sorted(organizations.values(), key=str.lower)},
            "query": request.url.query,
        }

    async def feed(request: Request, visit: Visit) -> Response:
        view = await run_in_threadpool(build, request, visit)
        return site.render(request, visit, "feed.html", view, active="feed")

    async def events(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        last = str(await run_in_threadpool(node.reader.last_change))
        subscriber = await run_in_threadpool(node.streams.open, actor, StreamFilter(), last)

        def still(current: Visit = visit) -> Actor:
            return node.admin.session_actor(user_id=current.session.user_id, key_id=current.session.key_id,
                                            stamp=current.session.stamp, token=current.session.token)

        return StreamingResponse(session_messages(node, subscriber, still), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return [Route("/feed", site.page(feed)), Route("/feed/events", site.page(events))]
