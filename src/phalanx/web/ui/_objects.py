"""One object's page: what it says, who may see it, what it is linked to, who saw it, and proof of where it
came from.

    GET  /objects/{id}              the page (or ?format=json)
    POST /objects/{id}/sightings    "Sighted" / "False positive" (kind=seen|false-positive, anonymous=1)
    GET  /objects/{id}/proof        the offline proof bundle, to verify with 'phalanx ledger verify'

The newest version the visitor may read, through any of its collections, is shown, as the API would serve it
(granular markings applied). An object the visitor may not read gets the same 404 page as one that does not
exist. Sightings are k-anonymous (``Sightings.of``), correlation and relationships come from the correlation
service, and provenance is the proof bundle checked by the same verifier members run themselves.
"""

from __future__ import annotations

__all__ = ["object_routes"]

from typing import Any
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import Error, InvalidParameter, NotFound
from ...identity import Actor, Role
from ...policy import named
from ...service._sightings import disclosed_json
from ...stix import Tlp, format_micros
from ...stix._json import dumps
from ._render import secure
from ._site import Site, Visit, field
from ._views import Names, contributor_of, display_name, sightings_view


class SightingRefused(InvalidParameter):
    """The node refused a sighting from the object page (its detail says why)."""


TLP_MEANING = {
    Tlp.CLEAR: "Recipients may spread this to the world: there is no limit on disclosure.",
    Tlp.GREEN: "Recipients may share this within their community, but not through publicly accessible channels.",
    Tlp.AMBER: "Limited disclosure: recipients may share this only within their organization and its clients, "
               "on a need-to-know basis.",
    Tlp.AMBER_STRICT: "Limited disclosure: recipients may share this only within their own organization.",
    Tlp.RED: "For the eyes and ears of the named recipients only: no further disclosure.",
}
_FACTS = ("name", "pattern", "pattern_type", "value", "valid_from", "valid_until", "first_seen", "last_seen",
          "published", "confidence", "relationship_type", "indicator_types", "malware_types", "report_types",
          "threat_actor_types", "aliases", "count", "created", "modified")
_DONE = {"seen": "Your organization's sighting was recorded.",
         "false-positive": "Your organization's false-positive report was recorded."}


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _links(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for ref in data.get("external_references") or []:
        if not isinstance(ref, dict):
            continue
        url = ref.get("url")
        safe = isinstance(url, str) and url.lower().startswith(("https://", "http://"))
        found.append({"source": str(ref.get("source_name", "")), "id": str(ref.get("external_id", "") or ""),
                      "url": url if safe else "", "text": str(url or ref.get("description") or "")})
    return found[:30]


def object_routes(site: Site) -> list[Route]:
    node = site.node

    def build(actor: Actor, object_id: str) -> dict[str, Any]:
        readable, _ = node.correlation.readable(actor)
        found = node.correlation.visible(actor, [object_id], readable).get(object_id)  # the newest it may see
        if found is None:
            raise NotFound(f"no object {object_id} that you may read",
                           hint="It may not exist, or it is not shared with your organization.")
        item, data = found.version, found.data
        names = Names(node)
        level = Tlp.of_rank(item.level)
        orgs, people = named(item.scope) if item.scope else ([], [])
        people_names = {u.id: u.username for u in node.admin.users()} if people else {}
        description = data.get("description")
        view: dict[str, Any] = {
            "id": item.id, "type": item.type, "name": display_name(data),
            "tlp": level.title, "tlp_meaning": TLP_MEANING[level],
            "recipients": [names(o) for o in orgs] + [people_names.get(p, p) for p in people],
            "contributor": contributor_of(actor, item, data, names),
            "created_by": _creator(actor, data.get("created_by_ref"), readable, names),
            "added": format_micros(item.date_added), "version": format_micros(item.version),
            "revoked": item.revoked,
            "description": description if isinstance(description, str) else "",
            "markdown": item.type in ("report", "note", "grouping", "opinion"),
            "facts": [{"name": k.replace("_", " "), "value": _text(data[k])} for k in _FACTS if k in data],
            "labels": [str(x) for x in data.get("labels") or []][:20],
            "links": _links(data),
            "raw": orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(),
            "sightable": item.type != "sighting",
            "reportable": item.type == "indicator" and actor.role is not Role.READER,
        }
        view["sightings"] = disclosed_json(node.sightings.of(actor, item.id)) if view["sightable"] else None
        view["sightings_short"] = sightings_view(node.sightings.tallies(actor, [item.id]).get(item.id))
        view["related"] = _related(actor, item.id, data, readable, names)
        view["correlation"] = _correlation(actor, item.id)
        view["provenance"] = _provenance(actor, item.collection, item.id, item.version)
        return view

    def _creator(actor: Actor, ref: object, readable: Any, names: Names) -> str | None:
        """The name of the identity that created the object: an organization of the node, or an identity object
        the visitor may read; None when neither is known."""
        if not isinstance(ref, str):
            return None
        known = names(ref)
        if known != ref:
            return known
        found = node.correlation.visible(actor, [ref], readable).get(ref)
        name = None if found is None else found.data.get("name")
        return name if isinstance(name, str) else None

    def _related(actor: Actor, object_id: str, data: dict[str, Any], readable: Any, names: Names
                 ) -> dict[str, Any]:
        graph = node.correlation.neighbourhood(actor, object_id, depth=1, limit=40)
        by_id = {n.id: n for n in graph.nodes}
        rows = []
        for edge in graph.edges:
            other = edge.target if edge.source == object_id else edge.source
            if other == object_id or other not in by_id:
                continue
            target = by_id[other]
            rows.append({"id": target.id, "type": target.type, "name": target.label, "reason": edge.reason,
                         "direction": "to" if edge.source == object_id else "from",
                         "organization": target.org_name or "", "url": "/objects/" + target.id})
        return {"rows": rows[:40], "truncated": graph.truncated}

    def _correlation(actor: Actor, object_id: str) -> list[dict[str, Any]]:
        found = node.correlation.of_object(actor, object_id, limit=20)
        out = []
        for value in found.observables:
            first = value.first
            others = [o for o in value.organizations if o.org_id != actor.org_id]
            out.append({"kind": value.observable.kind, "value": value.observable.value,
                        "organizations": len(value.organizations), "others": len(others),
                        "first": None if first is None else first.name,
                        "first_added": None if first is None else format_micros(first.first_added),
                        "objects": len(value.objects) + (1 if value.more else 0),
                        "search": "/search?q=" + quote(value.observable.value, safe="")})
        return out

    def _provenance(actor: Actor, collection: str | None, object_id: str, version: int) -> dict[str, Any]:
        if collection is None:
            return {"status": "unknown", "detail": "read across the store"}
        try:
            proved = node.provenance.verified(actor, node.reader, collection, object_id, version=version)
        except Error as exc:
            return {"status": "unproved", "detail": exc.message, "hint": exc.hint}
        names = Names(node)
        return {"status": "verified", "index": proved.index, "size": proved.size, "origin": proved.origin,
                "accepted": proved.accepted, "digest": proved.digest,
                "signer": None if proved.signer is None else names(proved.signer), "key_id": proved.key_id,
                "witnesses": list(proved.witnesses), "proof": f"/objects/{object_id}/proof"}

    async def page(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        view = await run_in_threadpool(build, actor, request.path_params["object_id"])
        done = request.query_params.get("done")
        view["notice"] = _DONE.get(done or "", "")
        return site.render(request, visit, "object.html", view, active="")

    async def sighting(request: Request, visit: Visit, form: FormData) -> Response:
        actor = visit.signed_in
        object_id = request.path_params["object_id"]
        kind = field(form, "kind", default="seen")
        anonymous = field(form, "anonymous") == "1"
        result = await run_in_threadpool(lambda: node.sightings.record(actor, object_id, kind=kind,
                                                                        anonymous=anonymous))
        if result.outcome == "refused":
            raise SightingRefused(f"the sighting was refused: {result.detail}")
        done = "false-positive" if kind == "false-positive" else "seen"
        return site.redirect(request, visit, f"/objects/{quote(object_id, safe='')}?done={done}")

    async def proof(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        object_id = request.path_params["object_id"]

        def work() -> dict[str, Any]:
            readable, _ = node.correlation.readable(actor)
            found = node.correlation.visible(actor, [object_id], readable).get(object_id)
            collection = None if found is None else found.version.collection
            if found is None or collection is None:
                raise NotFound(f"no object {object_id} that you may read")
            return node.provenance.bundle(actor, node.reader, collection, object_id, version=found.version.version)

        bundle = await run_in_threadpool(work)
        response = Response(dumps(bundle), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{object_id}.proof.json"'})
        return secure(response)

    return [Route("/objects/{object_id}", site.page(page)),
            Route("/objects/{object_id}/sightings", site.form(sighting), methods=["POST"]),
            Route("/objects/{object_id}/proof", site.page(proof))]
