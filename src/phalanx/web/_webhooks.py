"""Webhooks over HTTP: thin handlers over ``node.webhooks`` (``phalanx.service.Webhooks``).

    GET    /api/v1/webhooks                                         the webhooks of the caller's organization
    POST   /api/v1/webhooks                                         make one (its secret is in this answer only)
    GET    /api/v1/webhooks/{webhook_id}                            one webhook, and where it is
    DELETE /api/v1/webhooks/{webhook_id}                            remove it, its log and its dead letters
    POST   /api/v1/webhooks/{webhook_id}/pause                      stop delivering (nothing is lost)
    POST   /api/v1/webhooks/{webhook_id}/resume                     go on from where it stopped
    GET    /api/v1/webhooks/{webhook_id}/deliveries[?limit=]        the delivery log, newest first
    GET    /api/v1/webhooks/{webhook_id}/dead-letters[?limit=]      the batches that failed every attempt
    POST   /api/v1/webhooks/{webhook_id}/dead-letters/{delivery_id}/redeliver   POST one again, now
"""

from __future__ import annotations

__all__ = ["webhook_routes"]

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._http import check_params
from ..errors import InvalidParameter
from ..identity import Actor
from ..service import Node
from ..service._webhooks import WebhookView
from ..stix import format_micros
from ..stix._json import dumps
from ..store import Attempt, Batch
from ..streams._sse import StreamFilter
from ._responses import json_response

Guard = Callable[[Callable[[Request, Actor], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]
JsonBody = Callable[[Request], Awaitable[dict[str, Any]]]


def _time(micros: int) -> str | None:
    return format_micros(micros) if micros else None


def webhook_json(view: WebhookView) -> dict[str, Any]:
    pending = view.pending
    return {
        "id": view.id, "organization": view.org_id, "url": view.url, "created": format_micros(view.created),
        "collections": list(view.filter.collections), "types": list(view.filter.types),
        "labels": list(view.filter.labels), "min_confidence": view.filter.min_confidence,
        "active": view.active, "last_event_id": str(view.cursor),
        "pending": None if pending is None else {
            "delivery": pending.delivery, "events": pending.events, "first_event": str(pending.first),
            "last_event": str(pending.last), "attempts": pending.attempts,
            "next_attempt": _time(pending.next_attempt), "last_error": pending.last_error},
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {"at": format_micros(attempt.at), "delivery": attempt.delivery, "attempt": attempt.attempt,
            "events": attempt.events, "first_event": str(attempt.first), "last_event": str(attempt.last),
            "status": attempt.status, "error": attempt.error, "duration_ms": round(attempt.duration / 1000, 3),
            "outcome": attempt.outcome.value}


def _dead_letter_json(letter: Batch) -> bytes:
    """A dead letter, with the payload as it was posted (its body, a JSON object, embedded as it is)."""
    head = dumps({"delivery": letter.delivery, "events": letter.events, "first_event": str(letter.first),
                          "last_event": str(letter.last), "attempts": letter.attempts,
                          "created": format_micros(letter.created), "failed": _time(letter.updated),
                          "last_error": letter.last_error})
    return head[:-1] + b',"payload":' + letter.body + b"}"


def _strings(body: dict[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidParameter(f"{name} must be a list of non-empty strings")
    return tuple(value)


def _wanted(body: dict[str, Any]) -> tuple[str, str | None, StreamFilter, int | None]:
    url = body.get("url")
    if not isinstance(url, str):
        raise InvalidParameter("url (the http:// or https:// URL to post to) is required")
    org = body.get("organization")
    if org is not None and not isinstance(org, str):
        raise InvalidParameter("organization must be a string (a name or an identity id)")
    confidence = body.get("min_confidence")
    if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int)):
        raise InvalidParameter(f"min_confidence {confidence!r} must be a whole number from 0 to 100")
    last = body.get("last_event_id")
    if last is not None and (not isinstance(last, str) or not last.isascii() or not last.isdigit()
                             or len(last) > 18):
        raise InvalidParameter(f"last_event_id {last!r} must be an event id (digits; \"0\" for everything)")
    wanted = StreamFilter(_strings(body, "collections"), _strings(body, "types"), _strings(body, "labels"),
                          confidence)
    return url, org, wanted, None if last is None else int(last)


def _limit(request: Request) -> int:
    check_params(request.query_params, ("limit",), single=("limit",))
    text = request.query_params.get("limit", "100")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1000:
        raise InvalidParameter(f"limit={text!r} must be a whole number from 1 to 1000")
    return int(text)


def webhook_routes(node: Node, guarded: Guard, json_body: JsonBody) -> list[Route]:
    hooks = node.webhooks

    async def collection(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        if request.method == "POST":
            url, org, wanted, cursor = _wanted(await json_body(request))
            view, secret = await run_in_threadpool(
                lambda: hooks.create(url, org=org, wanted=wanted, cursor=cursor, by=actor))
            return json_response({**webhook_json(view), "secret": secret}, 201)
        views = await run_in_threadpool(lambda: hooks.all(by=actor))
        return json_response({"webhooks": [webhook_json(v) for v in views]})

    async def one(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        webhook_id = request.path_params["webhook_id"]
        if request.method == "DELETE":
            await run_in_threadpool(lambda: hooks.delete(webhook_id, by=actor))
            return json_response({"id": webhook_id, "deleted": True})
        return json_response(webhook_json(await run_in_threadpool(lambda: hooks.get(webhook_id, by=actor))))

    async def pause(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        view = await run_in_threadpool(lambda: hooks.pause(request.path_params["webhook_id"], by=actor))
        return json_response(webhook_json(view))

    async def resume(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        view = await run_in_threadpool(lambda: hooks.resume(request.path_params["webhook_id"], by=actor))
        return json_response(webhook_json(view))

    async def deliveries(request: Request, actor: Actor) -> Response:
        limit = _limit(request)
        found = await run_in_threadpool(
            lambda: hooks.deliveries(request.path_params["webhook_id"], limit=limit, by=actor))
        return json_response({"deliveries": [attempt_json(a) for a in found]})

    async def dead_letters(request: Request, actor: Actor) -> Response:
        limit = _limit(request)
        found = await run_in_threadpool(
            lambda: hooks.dead_letters(request.path_params["webhook_id"], limit=limit, by=actor))
        return Response(b'{"dead_letters":[' + b",".join(_dead_letter_json(d) for d in found) + b"]}",
                        media_type="application/json")

    async def redeliver(request: Request, actor: Actor) -> Response:
        check_params(request.query_params, ())
        attempt = await run_in_threadpool(lambda: hooks.redeliver(
            request.path_params["webhook_id"], request.path_params["delivery_id"], by=actor))
        return json_response(attempt_json(attempt))

    base = "/api/v1/webhooks"
    return [
        Route(base, guarded(collection), methods=["GET", "POST"]),
        Route(base + "/{webhook_id}", guarded(one), methods=["GET", "DELETE"]),
        Route(base + "/{webhook_id}/pause", guarded(pause), methods=["POST"]),
        Route(base + "/{webhook_id}/resume", guarded(resume), methods=["POST"]),
        Route(base + "/{webhook_id}/deliveries", guarded(deliveries)),
        Route(base + "/{webhook_id}/dead-letters", guarded(dead_letters)),
        Route(base + "/{webhook_id}/dead-letters/{delivery_id}/redeliver", guarded(redeliver), methods=["POST"]),
    ]
