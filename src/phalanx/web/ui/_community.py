"""The community: who belongs, and who contributes what.

    GET /community[?community=NAME&days=N&format=json]

The communities the visitor's organization belongs to (node administrators: all), each with its member
organizations and collections; then, over the last ``days`` (default 30, at most 365), what each organization
shared (indicators, reports, other objects), what other organizations then saw of it (their sightings, and the
median time from its report to the first of them), and the values it reported first that others then reported or
sighted. ``community`` narrows the numbers to one community's collections (default: every collection the visitor
reads).

Everything comes from ``Metrics`` (``phalanx.service``): the numbers count only what the visitor may read, and
what rests on others' sightings is withheld below ``sighting_k`` organizations; this handler only formats it.
"""

from __future__ import annotations

__all__ = ["community_routes"]

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import InvalidParameter
from ...service._metrics import DEFAULT_DAYS, MAX_DAYS, CommunityInfo, Contributions, OrganizationMetrics, Reach
from ...stix import format_micros
from ._site import Site, Visit

PARAMS = ("community", "days", "format")


def span(micros: int | None) -> str | None:
    """A span of time for people, to two units: ``40 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if micros is None:
        return None
    seconds = round(max(micros, 0) / 1_000_000)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        return f"{hours} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{days} d" + (f" {hours % 24} h" if hours % 24 else "")


def _check(request: Request) -> None:
    """Only ``PARAMS``, each at most once. An empty value is the default (the page's own form sends
    ``community=`` for "all of yours")."""
    for name in request.query_params:
        if name not in PARAMS:
            raise InvalidParameter(f"unknown parameter {name[:40]!r}: this page takes {', '.join(PARAMS)}")
        if len(request.query_params.getlist(name)) > 1:
            raise InvalidParameter(f"{name} may be given once")


def _days(request: Request) -> int:
    raw = request.query_params.get("days", "")
    if raw == "":
        return DEFAULT_DAYS
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidParameter(f"days={raw[:20]!r} must be a whole number from 1 to {MAX_DAYS}")
    return int(raw)


def _reach(reach: Reach) -> dict[str, Any]:
    return {
        "objects": reach.objects, "organizations": reach.organizations, "sightings": reach.sightings,
        "median_seconds": None if reach.median_micros is None else round(reach.median_micros / 1_000_000, 3),
        "median": span(reach.median_micros),
        "first_values": reach.first_values, "followers": reach.followers, "withheld": reach.withheld,
    }


def _organization(row: OrganizationMetrics, own: str) -> dict[str, Any]:
    return {"id": row.org_id, "name": row.name, "member": row.member, "yours": row.org_id == own,
            "shared": dict(row.shared), "total": row.total, "reach": _reach(row.reach)}


def _community(info: CommunityInfo) -> dict[str, Any]:
    return {
        "name": info.name, "title": info.title or info.name, "created": format_micros(info.created),
        "members": [{"id": m.org_id, "name": m.name, "sectors": list(m.sectors),
                     "registered": format_micros(m.registered)} for m in info.members],
        "collections": [{"id": c.id, "title": c.title, "description": c.description, "public": c.public,
                         "types": list(c.types)} for c in info.collections],
    }


def _window(found: Contributions) -> dict[str, Any]:
    return {"days": found.days, "since": format_micros(found.since), "until": format_micros(found.until),
            "start": format_micros(found.start), "complete": found.complete, "counted": found.counted,
            "limit": found.limit, "cached": found.cached}


def community_routes(site: Site) -> list[Route]:
    node = site.node

    def build(request: Request, visit: Visit) -> dict[str, Any]:
        actor = visit.signed_in
        _check(request)
        days = _days(request)
        chosen = request.query_params.get("community") or None
        infos = node.metrics.communities(actor)
        found = node.metrics.contributions(actor, community=chosen, days=days)
        return {
            "communities": [_community(c) for c in infos],
            "community": chosen,
            "choices": [{"name": c.name, "title": c.title or c.name} for c in infos],
            "window": _window(found),
            "k": found.k,
            "organizations": [_organization(r, actor.org_id) for r in found.organizations],
            "totals": {"shared": dict(found.shared), "total": sum(found.shared.values()),
                       "reach": _reach(found.community_reach)},
        }

    async def community(request: Request, visit: Visit) -> Response:
        view = await run_in_threadpool(build, request, visit)
        return site.render(request, visit, "community.html", view, active="community")

    return [Route("/community", site.page(community))]
