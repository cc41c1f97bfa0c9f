"""The ledger over HTTP: checkpoints, proofs, signing keys, and the C2SP tlog-witness endpoint.

    GET  /api/v1/ledger/checkpoint                 the latest signed checkpoint, with cosignatures (text/plain);
                                                   no key needed
    GET  /api/v1/ledger/consistency?old=M&new=N    a consistency proof between two sizes (JSON); no key needed
    GET  /api/v1/ledger/trust                      the log's origin and public keys (a trust file); no key needed
    GET  /api/v1/ledger/keys[?org=ORG]             the published signing keys (any API key)
    POST /api/v1/ledger/keys                       publish a public key (org-admins: their own organization)
    POST /api/v1/ledger/keys/{key_id}/compromised  report a key compromised from "at"
    POST /api/v1/ledger/keys/{key_id}/retire       end a key's validity (now, or "at")
    GET  /api/v1/ledger/extension-definition       the STIX extension-definition of the signature block
    GET  /api/v1/collections/{ref}/objects/{id}/proof[?version=]   the offline proof bundle of an object
    POST /witness/add-checkpoint                   tlog-witness: cosign another log's checkpoint
"""

from __future__ import annotations

__all__ = ["ledger_routes"]

import re
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .._http import read_body, status_of
from ..errors import Error, InvalidParameter
from ..identity import Actor
from ..ledger import EXTENSION_DEFINITION, PHALANX_IDENTITY, PublicKey
from ..ledger._base64 import encode
from ..ledger._note import MAX_NOTE_BYTES
from ..ledger._witness import Witness, WitnessRefusal
from ..service import Node
from ..stix import parse_micros
from ._params import allow_only
from ._responses import error_response, json_response

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)

Guard = Callable[[Callable[[Request, Actor], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]


def _size(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or not _SIZE.fullmatch(raw):
        raise InvalidParameter(f"{name} must be a tree size (a whole number, no leading zeros)")
    return int(raw)


def _at(body: dict[str, object], required: bool) -> int | None:
    value = body.get("at")
    if value is None:
        if required:
            raise InvalidParameter("'at' (an RFC 3339 timestamp) is required")
        return None
    if not isinstance(value, str):
        raise InvalidParameter("'at' must be an RFC 3339 timestamp")
    try:
        return parse_micros(value)
    except ValueError as exc:
        raise InvalidParameter(f"'at': {exc}") from None


def ledger_routes(node: Node, guarded: Guard, json_body: Callable[[Request], Awaitable[dict[str, object]]]
                  ) -> list[Route]:
    witness = Witness(node.backend.ledger, node.ledger.cosigner)

    def public(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Error as exc:
                return error_response(exc)

        return run

    async def checkpoint(request: Request) -> Response:
        allow_only(request.query_params, ())

        def work() -> str:
            latest = node.ledger.latest() or node.ledger.checkpoint()
            return node.ledger.cosigned(latest)

        return PlainTextResponse(await run_in_threadpool(work))

    async def consistency(request: Request) -> Response:
        allow_only(request.query_params, ("old", "new"))
        old, new = _size(request, "old"), _size(request, "new")
        proof = await run_in_threadpool(node.ledger.consistency, old, new)
        return json_response({"old": old, "new": new, "proof": [encode(h) for h in proof]})

    async def trust(request: Request) -> Response:
        allow_only(request.query_params, ())
        record = (await run_in_threadpool(node.ledger.trust)).record()
        record["witness_key"] = node.ledger.witness_key
        return json_response(record)

    async def keys(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ("org",))
        org = request.query_params.get("org")
        found = await run_in_threadpool(
            node.provenance.keys, None if org is None else node.admin.organization(org).id)
        return json_response({"keys": [k.record() for k in found]})

    async def publish_key(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        key = PublicKey.from_record(await json_body(request))
        index = await run_in_threadpool(node.provenance.publish, actor, key)
        return json_response({"key": key.record(), "ledger_index": index}, 201)

    async def compromised(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        at = _at(await json_body(request), required=True)
        assert at is not None
        key = await run_in_threadpool(node.provenance.compromised, actor, request.path_params["key_id"], at=at)
        return json_response({"key": key.record()})

    async def retire(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ())
        at = _at(await json_body(request), required=False)
        key = await run_in_threadpool(node.provenance.retire, actor, request.path_params["key_id"], at=at)
        return json_response({"key": key.record()})

    async def extension(request: Request) -> Response:
        allow_only(request.query_params, ())
        return json_response({"type": "bundle", "id": "bundle--c480c8d4-9928-4994-96db-c94d6ff0b831",
                      "objects": [PHALANX_IDENTITY, EXTENSION_DEFINITION]})

    async def proof(request: Request, actor: Actor) -> Response:
        allow_only(request.query_params, ("version",))
        raw = request.query_params.get("version")
        try:
            version = None if raw is None else parse_micros(raw)
        except ValueError as exc:
            raise InvalidParameter(f"version: {exc}") from None
        bundle = await run_in_threadpool(node.provenance.bundle, actor, node.reader, request.path_params["ref"],
                                         request.path_params["object_id"], version=version)
        return json_response(bundle)

    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_NOTE_BYTES + 8192)
        except Error as exc:  # too large (413), or a body that cannot be read
            return Response(exc.message + "\n", status_code=status_of(exc), media_type="text/plain")
        try:
            line = await run_in_threadpool(witness.add_checkpoint, body)
        except WitnessRefusal as refusal:
            media = "text/x.tlog.size" if refusal.status == 409 and refusal.body else "text/plain"
            return Response(refusal.body or refusal.reason + "\n", status_code=refusal.status, media_type=media)
        return PlainTextResponse(line)

    return [
        Route("/api/v1/ledger/checkpoint", public(checkpoint)),
        Route("/api/v1/ledger/consistency", public(consistency)),
        Route("/api/v1/ledger/trust", public(trust)),
        Route("/api/v1/ledger/keys", guarded(keys), methods=["GET"]),
        Route("/api/v1/ledger/keys", guarded(publish_key), methods=["POST"]),
        Route("/api/v1/ledger/keys/{key_id}/compromised", guarded(compromised), methods=["POST"]),
        Route("/api/v1/ledger/keys/{key_id}/retire", guarded(retire), methods=["POST"]),
        Route("/api/v1/ledger/extension-definition", public(extension)),
        Route("/api/v1/collections/{ref}/objects/{object_id}/proof", guarded(proof)),
        Route("/witness/add-checkpoint", add_checkpoint, methods=["POST"]),
    ]
