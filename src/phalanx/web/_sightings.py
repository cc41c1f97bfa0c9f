"""Sightings over HTTP: thin handlers over ``node.sightings`` (``phalanx.service.Sightings``, docs/sightings.md).

    POST /api/v1/sightings                        record sightings for the caller's organization
    GET  /api/v1/sightings?ids=ID,ID              what the caller is told of the sightings of these objects
    GET  /api/v1/objects/{object_id}/sightings    the same for one object it reads (404 otherwise)
"""

from __future__ import annotations

__all__ = ["sighting_routes"]

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import split, timestamp
from ..errors import InvalidParameter
from ..identity import Actor
from ..service import Node
from ..service._sightings import SightingReport, disclosed_json, result_json
from ..stix import Tlp, is_identifier
from ..store import SightingKind
from ._params import allow_only
from ._responses import json_response

Guard = Callable[[Callable[[Request, Actor], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]
JsonBody = Callable[[Request], Awaitable[dict[str, Any]]]

_FIELDS = frozenset({"indicator", "kind", "count", "first_seen", "last_seen", "anonymous", "observed_data_refs",
                     "observed"})
_BATCH_FIELDS = frozenset({"sightings", "collection", "tlp"})
_MAX_IDS = 1000


def _time(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be an RFC 3339 timestamp like 2024-01-31T12:00:00Z")
    return timestamp(value, name)


def _report(body: Any) -> SightingReport:
    """One sighting to record, from its JSON (docs/api.md)."""
    if not isinstance(body, dict):
        raise InvalidParameter("each sighting is a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidParameter(f"a sighting takes no {', '.join(map(repr, unknown))}",
                               hint="Send indicator, kind, count, first_seen, last_seen, anonymous, "
                                    "observed_data_refs, observed (docs/api.md).")
    sighted = body.get("indicator")
    if not is_identifier(sighted):
        raise InvalidParameter("indicator must be the id of the object seen (indicator--...)")
    kind = body.get("kind", SightingKind.SEEN.value)
    try:
        parsed_kind = SightingKind(kind)
    except (ValueError, TypeError):
        raise InvalidParameter(f"kind must be one of {', '.join(k.value for k in SightingKind)}") from None
    count = body.get("count", 1)
    if type(count) is not int:
        raise InvalidParameter("count must be a whole number")
    anonymous = body.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise InvalidParameter("anonymous must be true or false")
    refs = body.get("observed_data_refs", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InvalidParameter("observed_data_refs must be a list of observed-data ids")
    observed = body.get("observed", [])
    if not isinstance(observed, list) or not all(isinstance(o, dict) for o in observed):
        raise InvalidParameter('observed must be a list of cyber-observables like {"type": "ipv4-addr", '
                               '"value": "198.51.100.7"}')
    return SightingReport(str(sighted), parsed_kind, count, _time(body, "first_seen"), _time(body, "last_seen"),
                  anonymous, tuple(refs), tuple(observed))


def _options(body: dict[str, Any]) -> tuple[str | None, Tlp | None]:
    collection, tlp = body.pop("collection", None), body.pop("tlp", None)
    if collection is not None and not isinstance(collection, str):
        raise InvalidParameter("collection must be a collection's title or id")
    if tlp is None:
        return collection, None
    try:
        if isinstance(tlp, str):
            return collection, Tlp.parse(tlp)
    except ValueError:
        pass
    raise InvalidParameter("tlp must be clear, green, amber, amber+strict or red")


def sighting_routes(node: Node, guarded: Guard, json_body: JsonBody) -> list[Route]:
    async def record(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        body = dict(await json_body(request))
        collection, tlp = _options(body)
        if "sightings" in body:
            unknown = sorted(set(body) - _BATCH_FIELDS)
            if unknown:
                raise InvalidParameter(f"a batch of sightings takes no {', '.join(map(repr, unknown))}")
            if not isinstance(body["sightings"], list) or not body["sightings"]:
                raise InvalidParameter("sightings must be a non-empty list of sightings")
            reports = [_report(item) for item in body["sightings"]]
        else:
            reports = [_report(body)]
        results = await run_in_threadpool(node.sightings.record_many, actor, reports, collection=collection, tlp=tlp)
        return json_response({"accepted": sum(r.outcome == "accepted" for r in results),
                              "refused": sum(r.outcome == "refused" for r in results),
                              "results": [result_json(r) for r in results]})

    async def tallies(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ("ids",))
        ids = split(request.query_params, "ids")
        if not ids or len(ids) > _MAX_IDS or not all(is_identifier(i) for i in ids):
            raise InvalidParameter(f"ids must name 1 to {_MAX_IDS} objects by id (ids=indicator--...,indicator--...)")
        found = await run_in_threadpool(node.sightings.tallies, actor, ids)
        return json_response({"sightings": [disclosed_json(found[i]) for i in dict.fromkeys(ids)]})

    async def of_object(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        object_id = request.path_params["object_id"]
        if not is_identifier(object_id):
            raise InvalidParameter(f"{object_id!r} is not a STIX id (type--UUID)")
        found = await run_in_threadpool(node.sightings.of, actor, object_id)
        return json_response(disclosed_json(found))

    async def sightings(request: Request, actor: Actor) -> Response:
        return await (record(request, actor) if request.method == "POST" else tallies(request, actor))

    return [
        Route("/api/v1/sightings", guarded(sightings), methods=["GET", "POST"]),
        Route("/api/v1/objects/{object_id}/sightings", guarded(of_object)),
    ]
