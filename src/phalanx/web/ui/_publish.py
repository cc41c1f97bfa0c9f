"""Publishing: indicators from pasted values, or a report in Markdown with its indicators, at a TLP level and to
recipients, with a preview of who will see it before it is sent.

    GET  /publish[?kind=indicator|report]   the form (or ?format=json)
    POST /publish                           action=preview: the form again, with the audience and the patterns;
                                            otherwise share, then 303 to /objects/{id} (the report, or the
                                            first indicator)
    POST /publish/audience                  {"audience": ["ACME CERT — ...", ...], "notes": [...]}: what the
                                            page's script shows when the form changes

Everything is decided by the service layer (``node.publishing``): what a value is and its pattern
(``read_values``), who would see it (``Publishing.audience``, which asks ``phalanx.policy``), and the sharing itself
(``Publishing.publish``: ``Ingest.authorize`` then ``Ingest.together``, all of it or nothing). This module only
reads the form and shows the answers, each problem next to the field it is about.
"""

from __future__ import annotations

__all__ = ["publish_routes"]

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._http import check_params
from ...errors import Error, InvalidParameter, InvalidRecipients, NotFound, PermissionDenied
from ...identity import Actor
from ...service._publish import REPORT_TYPES, Audience, Draft, InvalidDraft, read_values
from ...stix import Tlp
from .._responses import json_response
from ._render import secure
from ._site import Site, Visit
from ._site import field as text_field

_KINDS = ("indicator", "report")
_FIELDS = ("collection", "values", "name", "description", "labels", "valid_days", "confidence", "title", "body",
           "tlp", "recipients", "people")
_T = TypeVar("_T")
_REPORT_FIELD = {"name": "title", "description": "body"}
"""A report's title and text are the draft's name and description."""


@dataclass
class Posted:
    """The form as sent: its fields (to show them again) and what is wrong with them, by field."""

    kind: Literal["indicator", "report"]
    fields: dict[str, str]
    report_types: list[str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.fields[name].splitlines() if line.strip()]

    def level(self, default: Tlp) -> Tlp:
        text = self.fields["tlp"]
        if not text:
            return default
        try:
            return Tlp.parse(text)
        except ValueError as exc:
            self.problem("tlp", str(exc))
            return default

    def number(self, name: str) -> float | None:
        text = self.fields[name].strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.problem(name, f"{text!r} is not a number")
            return None
        return value


def _posted(form: FormData) -> Posted:
    kind = text_field(form, "kind")
    if kind not in _KINDS:
        raise InvalidParameter(f"kind={kind!r}: publish an indicator or a report")
    fields = {name: text_field(form, name) for name in _FIELDS}
    types = [t for t in form.getlist("report_types") if isinstance(t, str)]
    return Posted("report" if kind == "report" else "indicator", fields, types)


def _labels(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(label.strip() for label in text.split(",") if label.strip()))


def publish_routes(site: Site) -> list[Route]:
    node = site.node

    def blank(kind: Literal["indicator", "report"]) -> Posted:
        fields = dict.fromkeys(_FIELDS, "")
        fields["tlp"] = node.settings.default_tlp.label
        return Posted(kind, fields, ["threat-report"] if kind == "report" else [])

    def choices(actor: Actor) -> dict[str, Any]:
        accesses = node.reader.collections(actor)
        titles = {c.name: c.title for c in node.admin.communities(by=actor)}
        names = {o.id: o.name for o in node.admin.organizations(by=actor)}
        writable = [a for a in accesses if a.can_write]
        communities: dict[str, list[str]] = {}
        for access in writable:
            communities.setdefault(access.collection.community, sorted(
                (names.get(m, m) for m in access.venue.members), key=str.lower))
        why_not = None
        if not writable:
            why_not = {"description": "your organization is not a member of any community with a collection yet",
                       "hint": "Ask the node's operator to add your organization to a community."}
            if accesses:
                try:
                    node.ingest.authorize(actor, accesses[0].collection.id)
                except Error as exc:  # the policy's answer, with what to do
                    why_not = {"description": exc.message, "hint": exc.hint}
        return {
            "collections": [{"id": a.collection.id, "title": a.collection.title,
                             "community": a.collection.community,
                             "community_title": titles.get(a.collection.community, a.collection.community),
                             "public": a.collection.public} for a in writable],
            "members": [{"community": titles.get(c, c), "organizations": orgs} for c, orgs in communities.items()],
            "levels": [{"value": t.label, "title": t.title} for t in Tlp],
            "report_types": list(REPORT_TYPES),
            "can_publish": bool(writable),
            "why_not": why_not,
        }

    def view(actor: Actor, posted: Posted, *, preview: dict[str, Any] | None = None,
             refusals: list[str] | None = None, problem: str | None = None) -> dict[str, Any]:
        offered = choices(actor)
        form = dict(posted.fields)
        if not form["collection"] and offered["collections"]:
            form["collection"] = offered["collections"][0]["id"]
        return {"kind": posted.kind, **offered, "form": {**form, "report_types": posted.report_types},
                "errors": posted.errors, "preview": preview, "refusals": refusals or [], "problem": problem}

    def audience_view(audience: Audience) -> dict[str, Any]:
        return {"audience": [str(s) for s in audience.seers],
                "seers": [{"kind": s.kind, "name": s.name, "reason": s.reason} for s in audience.seers],
                "notes": list(audience.notes)}

    def attempt(posted: Posted, call: Callable[[], _T]) -> tuple[_T | None, int, str | None]:
        """``call()``, or why the service refused: next to the field it is about, or (the visitor's role) for the
        whole form; and the HTTP status."""
        try:
            return call(), 200, None
        except InvalidRecipients as exc:
            posted.problem("recipients", exc.message)
            return None, 400, None
        except NotFound as exc:
            posted.problem("collection", exc.message)
            return None, 404, None
        except PermissionDenied as exc:
            return None, 403, f"{exc.message}. {exc.hint}"

    def draft_of(posted: Posted, *, previewing: bool) -> Draft | None:
        """The draft the form describes, or None (its problems noted). A preview does not ask for what is only
        missing yet (the values, a report's title)."""
        report = posted.kind == "report"
        valid_days, confidence = posted.number("valid_days"), posted.number("confidence")
        if confidence is not None and not confidence.is_integer():
            posted.problem("confidence", "confidence is a whole number from 0 to 100")
            confidence = None
        found = read_values(posted.fields["values"])
        for message in found.problems:
            posted.problem("values", message)
        try:
            return Draft(posted.kind, found.values,
                         name=posted.fields["title" if report else "name"],
                         description=posted.fields["body" if report else "description"],
                         labels=() if report else _labels(posted.fields["labels"]),
                         valid_days=None if report else valid_days,
                         confidence=None if report or confidence is None else int(confidence),
                         report_types=tuple(posted.report_types) if report else ())
        except InvalidDraft as exc:
            missing = exc.field == "values" if not report else exc.field in ("values", "name")
            if not (previewing and missing) and not (exc.field == "values" and found.problems):
                posted.problem(_REPORT_FIELD.get(exc.field, exc.field) if report else exc.field, exc.message)
            return None

    def preview_of(actor: Actor, posted: Posted, level: Tlp, recipients: dict[str, list[str]]
                   ) -> tuple[dict[str, Any], int]:
        found = read_values(posted.fields["values"])
        audience, status, problem = attempt(posted, lambda: node.publishing.audience(
            actor, posted.fields["collection"], level, **recipients))
        preview = {
            "values": [{"line": v.line, "text": v.text, "kind": v.kind, "pattern": v.pattern} for v in found.values],
            "body": posted.fields["body"] if posted.kind == "report" else "",
            "level": level.title,
            **(audience_view(audience) if audience is not None else {"audience": [], "seers": [], "notes": []}),
        }
        return view(actor, posted, preview=preview, problem=problem), max(status, 400) if posted.errors else status

    def submit(actor: Actor, posted: Posted, action: str) -> tuple[dict[str, Any], int] | str:
        """The page to show again (and its status), or the id of the object shared."""
        offered = choices(actor)
        if offered["why_not"] is not None:  # refused before what was posted is read
            why = offered["why_not"]
            return view(actor, posted, problem=f"{why['description']}. {why.get('hint') or ''}".strip()), 403
        level = posted.level(node.settings.default_tlp)
        draft = draft_of(posted, previewing=action == "preview")
        recipients = {"organizations": posted.lines("recipients"), "people": posted.lines("people")}
        if action == "preview":
            return preview_of(actor, posted, level, recipients)
        if posted.errors or draft is None:
            return view(actor, posted), 400
        published, status, problem = attempt(posted, lambda: node.publishing.publish(
            actor, posted.fields["collection"], draft, level, **recipients))
        if published is None:
            return view(actor, posted, problem=problem), status
        if not published.stored:
            refusals = [f"{r.id}: {r.detail}" for r in published.refusals]
            return view(actor, posted, refusals=refusals,
                        problem="Nothing was shared: the node refused part of it (see below)."), 422
        return published.lead

    async def page(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        check_params(request.query_params, ("kind", "format"))
        kind = request.query_params.get("kind", "indicator")
        if kind not in _KINDS:
            raise InvalidParameter(f"kind={kind!r}: publish an indicator or a report")
        shown = await run_in_threadpool(view, actor, blank("report" if kind == "report" else "indicator"))
        return site.render(request, visit, "publish.html", shown, active="publish")

    async def send(request: Request, visit: Visit, form: FormData) -> Response:
        actor = visit.signed_in
        posted = _posted(form)
        action = text_field(form, "action", default="publish")
        outcome = await run_in_threadpool(submit, actor, posted, action)
        if isinstance(outcome, str):
            return site.redirect(request, visit, "/objects/" + outcome)
        shown, status = outcome
        return site.render(request, visit, "publish.html", shown, active="publish", status=status)

    async def audience(request: Request, visit: Visit, form: FormData) -> Response:
        actor = visit.signed_in
        posted = _posted(form)
        level = posted.level(node.settings.default_tlp)
        if posted.errors:
            raise InvalidParameter("; ".join(m for messages in posted.errors.values() for m in messages))
        found = await run_in_threadpool(lambda: node.publishing.audience(
            actor, posted.fields["collection"], level, organizations=posted.lines("recipients"),
            people=posted.lines("people")))
        return secure(json_response(audience_view(found)))

    return [Route("/publish", site.page(page), methods=["GET"]),
            Route("/publish", site.form(send), methods=["POST"]),
            Route("/publish/audience", site.form(audience), methods=["POST"])]
