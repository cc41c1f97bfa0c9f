"""The search page: a pasted value (IP, domain, URL, e-mail, hash), words, and filters, over what the visitor may
read.

    GET /search[?q=&type=&label=&organization=&since=&until=&before=&limit=]   the page (or ?format=json)

``q`` that is one value is correlated: the objects carrying it and the organizations that reported it, first
first (``Correlation.of_value``). Its words are searched in names, descriptions, labels and patterns through the
store's text index, with the filters: ``type``, ``label``, ``organization`` (a contributor, by name), ``since`` and
``until`` (dates, ``YYYY-MM-DD``, both days included). The search itself is ``Search.search`` in the service
layer; this handler only reads the parameters and renders what it found. ``before`` continues a listing
(the ``next`` link). A search examines only the newest ``scan`` matches in the index, whoever may read them: when
that bound stopped it (``bounded``), the page says so and ``next`` searches further back.
"""

from __future__ import annotations

__all__ = ["search_routes"]

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...analysis._text import MAX_QUERY_TERMS
from ...errors import InvalidParameter
from ...identity import Actor
from ...service._correlation import ValueCorrelation
from ...service._search import Found, Wanted
from ...stix import format_micros
from ._feed import _TYPES
from ._site import Site, Visit, check_page_params
from ._views import Names, object_rows

SEARCH_PARAMS = ("q", "type", "label", "organization", "since", "until", "before", "limit", "format")
_MAX_Q = 1000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_DAY = 86_400_000_000


def _text(request: Request, name: str, *, most: int = 200) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > most:
        raise InvalidParameter(f"{name} is longer than {most} characters", hint="Search for something shorter.")
    return value


def _day(request: Request, name: str) -> datetime | None:
    raw = _text(request, name, most=40)
    if not raw:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidParameter(f"{name}={raw!r} is not a date",
                               hint="Give a date as YYYY-MM-DD, for example 2026-03-31.") from None


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def _whole(request: Request, name: str, *, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParameter(f"{name}={raw[:40]!r} must be a whole number from {low} to {high}")
    return int(raw)


def wanted_of(request: Request, organizations: dict[str, str]) -> Wanted:
    """The search the query string asks for (``InvalidParameter`` naming what is wrong)."""
    kind = _text(request, "type", most=100)
    if kind and not _TYPE.fullmatch(kind):
        raise InvalidParameter(f"type={kind!r} is not a STIX type", hint="Choose a type such as indicator or report.")
    organization = _text(request, "organization")
    org_id = None
    if organization:
        by_name = {name.lower(): org_id for org_id, name in organizations.items()}
        org_id = by_name.get(organization.lower()) or (organization if organization in organizations else None)
        if org_id is None:
            raise InvalidParameter(f"no organization is named {organization!r}",
                                   hint="Choose one of the organizations in the list.")
    since, until = _day(request, "since"), _day(request, "until")
    if since is not None and until is not None and until < since:
        raise InvalidParameter("'until' is before 'since'", hint="Give a time range that ends after it begins.")
    return Wanted(text=_text(request, "q", most=_MAX_Q), type=kind or None, label=_text(request, "label") or None,
                  organization=org_id, since=None if since is None else _micros(since),
                  until=None if until is None else _micros(until) + _DAY)


def _value_view(found: ValueCorrelation) -> dict[str, Any]:
    first = found.first
    return {"kind": found.observable.kind, "value": found.observable.value,
            "reported_by": len(found.organizations), "reports": found.reports,
            "first": None if first is None else {"name": first.name,
                                                 "first_reported": format_micros(first.first_added)},
            "organizations": [{"name": o.name, "objects": o.objects, "first_reported": format_micros(o.first_added)}
                              for o in found.organizations],
            "more": found.more}


def search_routes(site: Site) -> list[Route]:
    node = site.node

    def form_view(request: Request, organizations: dict[str, str]) -> dict[str, Any]:
        asked = {name: request.query_params.get(name, "")[:_MAX_Q] for name in
                 ("q", "type", "label", "organization", "since", "until")}
        return {"query": asked, "searched": any(asked.values()), "error": None, "value": None, "carrying": [],
                "rows": [], "terms": [], "more": False, "next": None, "bounded": False, "scan": node.search.scan,
                "choices": {"type": list(_TYPES), "organization": sorted(organizations.values(), key=str.lower)},
                "max_terms": MAX_QUERY_TERMS}

    def build(request: Request, actor: Actor, view: dict[str, Any], organizations: dict[str, str]) -> None:
        check_page_params(request, SEARCH_PARAMS)
        wanted = wanted_of(request, organizations)
        limit = _whole(request, "limit", low=1, high=200) or 50
        before = _whole(request, "before", low=1, high=2**63 - 1)
        found: Found = node.search.search(actor, wanted, limit=limit, before=before)
        names = Names(node)
        view.update({
            "value": None if found.value is None else _value_view(found.value),
            "carrying": object_rows(node, actor, found.carrying, names),
            "rows": object_rows(node, actor, found.items, names),
            "terms": list(found.terms),
            "more": found.more,
            "bounded": found.bounded,
            "scan": found.scan,
            "next": None if found.next is None else "/search?" + urlencode(
                [(k, v) for k, v in view["query"].items() if v] + [("before", str(found.next)),
                                                                  ("limit", str(limit))]),
        })

    def run(request: Request, visit: Visit) -> tuple[dict[str, Any], int]:
        actor = visit.signed_in
        organizations = {o.id: o.name for o in node.admin.organizations(by=actor)}
        view = form_view(request, organizations)
        try:
            build(request, actor, view, organizations)
        except InvalidParameter as exc:
            view["error"] = {"message": exc.message, "hint": exc.hint}
            return view, 400
        return view, 200

    async def search(request: Request, visit: Visit) -> Response:
        view, status = await run_in_threadpool(run, request, visit)
        return site.render(request, visit, "search.html", view, active="search", status=status)

    return [Route("/search", site.page(search))]
