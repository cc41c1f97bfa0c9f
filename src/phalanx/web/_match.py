"""Matching over HTTP: a thin handler over ``node.matching`` (``phalanx.service.Matching``).

    POST /api/v1/match    observables and/or STIX observed-data -> the matches the caller may see

The body is JSON: ``{"observables": [...], "objects": [...], "flagged": false}``. An observable is a string (its
kind is detected) or ``{"kind": "ipv4", "value": "...", "time": "2026-11-29T12:00:00Z"}``; ``objects`` holds
observed-data with the objects it refers to (a STIX bundle may be posted as the body itself).
"""

from __future__ import annotations

__all__ = ["MAX_OBSERVABLES", "match_routes", "records_of"]

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import check_params, read_json_object
from ..errors import InvalidObservation, InvalidParameter
from ..identity import Actor
from ..matching._detector import Match
from ..matching._extract import Record, Stats, document_records, micros_of
from ..matching._kinds import KINDS, detect, kind_named, normalize
from ..matching._run import match_json
from ..pattern import Observations
from ..service import Node
from ._responses import json_response

Guard = Callable[[Callable[[Request, Actor], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]

MAX_OBSERVABLES = 10_000
"""Observables (and observed-data) in one request; send more in several."""


def _observable(index: int, item: Any) -> Record | None:
    if isinstance(item, str):
        kind = detect(item)
        if kind is None:
            raise InvalidParameter(f"observables[{index}] {item[:80]!r} is not an IP address, domain, URL, e-mail "
                                   "address or file hash", hint='Give its kind: {"kind": "domain", "value": "..."}.')
        return Record(index, kind, normalize(kind, item), "")
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        raise InvalidParameter(f"observables[{index}] must be a string or an object with a string 'value'")
    value, named, when = item["value"], item.get("kind"), item.get("time")
    if named is not None and not isinstance(named, str):
        raise InvalidParameter(f"observables[{index}].kind must be a string")
    try:
        kind = kind_named(named) if named is not None else None
    except KeyError:
        raise InvalidParameter(f"observables[{index}].kind {named!r} is not a kind of observable",
                               hint=f"Kinds: {', '.join([*KINDS, 'ip', 'hash'])}.") from None
    kind = kind if kind is not None else detect(value)
    if kind is None:
        raise InvalidParameter(f"observables[{index}] {value[:80]!r}: its kind is not clear; name it with 'kind'")
    time = micros_of(when) if when is not None else None
    if when is not None and time is None:
        raise InvalidParameter(f"observables[{index}].time {when!r} is not a time (RFC 3339, or epoch seconds)")
    return Record(index, kind, normalize(kind, value), "", time)


def records_of(body: dict[str, Any]) -> tuple[list[Record], bool]:
    """The records a request asks about, and whether flagged indicators should alert too."""
    if body.get("type") == "bundle":
        body = {"objects": body.get("objects")}
    unknown = set(body) - {"observables", "objects", "flagged"}
    if unknown:
        raise InvalidParameter(f"unknown field(s) {', '.join(sorted(unknown))}",
                               hint="Send observables, objects (STIX observed-data and its objects), flagged.")
    observables, objects, flagged = body.get("observables", []), body.get("objects", []), body.get("flagged", False)
    if not isinstance(observables, list) or not isinstance(objects, list) or not isinstance(flagged, bool):
        raise InvalidParameter("observables and objects must be lists; flagged true or false")
    if len(observables) + len(objects) > MAX_OBSERVABLES:
        raise InvalidParameter(f"more than {MAX_OBSERVABLES:,} observables and objects in one request",
                               hint="Send them in several requests.")
    records = [r for i, item in enumerate(observables) if (r := _observable(i, item)) is not None]
    if objects:
        if not all(isinstance(o, dict) for o in objects):
            raise InvalidParameter("objects must be STIX objects (JSON objects)")
        found = document_records(objects, Stats())
        for record in found:
            try:
                Observations.from_stix(record.objects)
            except InvalidObservation as exc:
                raise InvalidParameter(f"objects: {exc.message}",
                                       hint="Send observed-data with first_observed, last_observed, "
                                            "number_observed and the objects it refers to.") from None
        records += found
    return records, flagged


def _json(match: Match) -> dict[str, Any]:
    found = match_json(match)
    line = found.pop("line")
    if match.record.objects:
        found["observed_data"] = found.pop("value")
        del found["field"], found["kind"]
    else:
        found["observable"] = line
        del found["field"]
    return found


def match_routes(node: Node, guarded: Guard) -> list[Route]:
    async def match(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        # 10,000 URLs do not fit in the 64 KiB of the other JSON bodies
        records, flagged = records_of(await read_json_object(request, node.settings.max_document_bytes))
        found = await run_in_threadpool(lambda: node.matching.match(actor, records, flagged=flagged))
        return json_response({"matches": [_json(m) for m in found]})

    return [Route("/api/v1/match", guarded(match), methods=["POST"])]
