"""phalanx signing-key | sign | publish | ledger | verify: signed contributions and the transparency log.

Member side (no node needed): ``signing-key generate``, ``sign``, ``publish`` (to a hub over HTTP), ``verify``.
Operator side (the node in --home): ``signing-key publish|list|retire|compromised|custodial``, ``ledger ...``.
"""

from __future__ import annotations

__all__ = ["ledger", "publish", "sign", "signing_key", "verify"]

import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from ..errors import Error, InvalidProof, UnreadableInput
from ..ledger import PrivateKey, PublicKey, generate_key, sign_object
from ..ledger._base64 import decode
from ..ledger._bundle import Trust, check_equivocation, verify_bundle, verify_checkpoint
from ..ledger._merkle import verify_consistency
from ..stix import Limits, Mode, Parsed, StixObject, format_micros, now_micros, parse_document, parse_micros
from ..stix._json import dumps
from ._base import PhalanxGroup, State, echo_json, pass_state


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise UnreadableInput(f"{path} is not JSON: {exc}") from exc


def _private_key(path: Path) -> PrivateKey:
    try:
        return PrivateKey.from_file(path.read_bytes())
    except OSError as exc:
        raise UnreadableInput(f"cannot read the key file {path}: {exc}") from exc


def _time(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_micros(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def signed_objects(parsed: Iterable[Parsed], key: PrivateKey, mode: Mode, limits: Limits | None = None
                   ) -> Iterator[Parsed]:
    """Each parsed object signed with ``key`` (refusals pass through unchanged)."""
    limits = limits or Limits()
    for item in parsed:
        yield StixObject.from_dict(sign_object(item.properties(), key), mode=mode, limits=limits) if isinstance(
            item, StixObject) else item


# -- signing keys ---------------------------------------------------------------------------------------------


@click.group("signing-key", cls=PhalanxGroup)
def signing_key() -> None:
    """Organizations' signing keys (Ed25519, or hybrid Ed25519 + ML-DSA-44)."""


@signing_key.command("generate")
@click.option("--org", "org_ref", required=True,
              help="Your organization's STIX identity id (or its name on the node in --home).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the key file (secret: whoever holds it signs as your organization).")
@click.option("--hybrid", is_flag=True, help="Add an ML-DSA-44 key: every signature then carries both.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Valid for this many days (default: until retired).")
@pass_state
def key_generate(state: State, org_ref: str, out: Path, hybrid: bool, days: float | None) -> None:
    """Make a signing key on this machine; the hub only ever sees its public half ('signing-key publish')."""
    if out.exists():
        raise click.ClickException(f"{out} exists: choose another file (keys are never overwritten)")
    org_id = org_ref
    if not org_ref.startswith("identity--"):
        with state.node() as node:
            org_id = node.admin.organization(org_ref).id
    key = generate_key(org_id, now=now_micros(), hybrid=hybrid, days=days)
    out.write_bytes(key.to_file())
    out.chmod(0o600)
    public = out.with_name(out.name + ".pub")
    public.write_bytes(orjson.dumps(key.public.record(), option=orjson.OPT_INDENT_2) + b"\n")
    click.echo(f"key {key.key_id} ({key.public.algorithm}) for {org_id}")
    click.echo(f"  private: {out}  (keep it secret)\n  public:  {public}  (give it to your hub's operator)")


@signing_key.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def key_publish(state: State, file: Path) -> None:
    """Publish a public key (a .pub file, or a key file: only its public half is used) and log it."""
    record = _read_json(file)
    key = PublicKey.from_record(record)
    with state.node() as node:
        index = node.provenance.publish(None, key)
    click.echo(f"published key {key.key_id} of {key.org} (ledger entry {index})")


@signing_key.command("list")
@click.option("--org", "org_ref", default=None, help="Only this organization's keys (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def key_list(state: State, org_ref: str | None, as_json: bool) -> None:
    """List the published signing keys."""
    with state.node() as node:
        keys = node.provenance.keys(node.admin.organization(org_ref).id if org_ref else None)
    if as_json:
        echo_json([k.record() for k in keys])
        return
    for k in keys:
        state_ = ("compromised from " + format_micros(k.compromised_after) if k.compromised_after
                  else "retired " + format_micros(k.not_after) if k.not_after else "valid")
        click.echo(f"{k.key_id}  {k.algorithm:<18} {k.org}  from {format_micros(k.not_before)}  {state_}")


@signing_key.command("retire")
@click.argument("key_id")
@click.option("--at", default=None, help="When it stops being valid (RFC 3339; default now).")
@pass_state
def key_retire(state: State, key_id: str, at: str | None) -> None:
    """End a key's validity: it signs nothing new; what it signed before still verifies."""
    with state.node() as node:
        key = node.provenance.retire(None, key_id, at=_time(at, "--at"))
    click.echo(f"key {key.key_id} valid until {format_micros(key.not_after or 0)}")


@signing_key.command("compromised")
@click.argument("key_id")
@click.option("--at", required=True, help="From when the key may have been in other hands (RFC 3339).")
@pass_state
def key_compromised(state: State, key_id: str, at: str) -> None:
    """Report a key compromised: signatures logged from --at on are refused; older ones still verify."""
    when = _time(at, "--at")
    assert when is not None
    with state.node() as node:
        key = node.provenance.compromised(None, key_id, at=when)
    click.echo(f"key {key.key_id} compromised from {format_micros(key.compromised_after or 0)}")


@signing_key.command("custodial")
@click.option("--org", "org_ref", required=True, help="The organization that opts in (name or id).")
@click.option("--hybrid", is_flag=True, help="An Ed25519 + ML-DSA-44 key.")
@pass_state
def key_custodial(state: State, org_ref: str, hybrid: bool) -> None:
    """Make a key the hub holds for an organization and signs its unsigned contributions with."""
    with state.node() as node:
        key = node.provenance.custodial(None, org_ref, hybrid=hybrid)
    click.echo(f"custodial key {key.key_id} for {key.org}: the hub now signs what this organization shares")


# -- signing and publishing (member side) ---------------------------------------------------------------------


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your organization's key file ('phalanx signing-key generate').")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the signed bundle here (default: standard output).")
@click.option("--tolerant", is_flag=True, help="Accept custom properties and x- types.")
def sign(files: tuple[Path, ...], key_file: Path, output: Path | None, tolerant: bool) -> None:
    """Sign every object of FILES (bundles, objects or JSON lines) and write them as one STIX bundle."""
    key = _private_key(key_file)
    mode = Mode.TOLERANT if tolerant else Mode.STRICT
    objects: list[bytes] = []
    refused = 0
    for path in files:
        for item in signed_objects(parse_document(path.read_bytes(), mode=mode, limits=Limits()), key, mode):
            if isinstance(item, StixObject):
                objects.append(item.canonical)
            else:
                refused += 1
                click.echo(f"refused {item.object_id or '<no id>'}: {item.error.message}", err=True)
    body = (b'{"type":"bundle","id":' + dumps(f"bundle--{uuid.uuid4()}") + b',"objects":[' + b",".join(objects)
            + b"]}\n")
    if output is None:
        sys.stdout.buffer.write(body)
    else:
        output.write_bytes(body)
        click.echo(f"signed {len(objects)} objects with {key.key_id} into {output}", err=True)
    if refused:
        sys.exit(2)


def _http(method: str, url: str, *, api_key: str | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise UnreadableInput(f"cannot reach {url}: {exc}", hint="Check --url and that the node is running.") from exc


def _answer(status: int, data: bytes) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = data.decode(errors="replace")
    if status >= 400:
        if isinstance(value, dict) and "description" in value:
            raise click.ClickException(f"{value['description']}\n  what to do: {value.get('hint', '')}")
        raise click.ClickException(f"the node answered {status}: {value}")
    return value


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The hub, e.g. http://127.0.0.1:8800.")
@click.option("--collection", "collection_ref", required=True, help="The collection to share into (title or id).")
@click.option("--key", "api_key", required=True, envvar="PHALANX_KEY", help="Your API key (env PHALANX_KEY).")
@click.option("--sign", "sign_with", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Sign every object with this key file before sending.")
@click.option("--tolerant", is_flag=True, help="Accept custom properties and x- types.")
def publish(files: tuple[Path, ...], url: str, collection_ref: str, api_key: str, sign_with: Path | None,
            tolerant: bool) -> None:
    """Share FILES with a hub over its API, signed on this machine with --sign."""
    mode = Mode.TOLERANT if tolerant else Mode.STRICT
    key = _private_key(sign_with) if sign_with else None
    endpoint = f"{url.rstrip('/')}/api/v1/collections/{urllib.parse.quote(collection_ref, safe='')}/objects"
    if tolerant:
        endpoint += "?tolerant=true"
    refused = False
    for path in files:
        data = path.read_bytes()
        if key is not None:
            parsed = list(signed_objects(parse_document(data, mode=mode, limits=Limits()), key, mode))
            data = b"\n".join(item.canonical for item in parsed if isinstance(item, StixObject))
        answer = _answer(*_http("POST", endpoint, api_key=api_key, body=data))
        click.echo(f"{path}: {answer['accepted']} accepted, {answer['refused']} refused")
        for result in answer["results"]:
            if result["outcome"] == "refused":
                click.echo(f"  refused {result['id']}: {result['detail']}", err=True)
        refused = refused or answer["refused"] > 0
    if refused:
        sys.exit(2)


# -- the ledger -----------------------------------------------------------------------------------------------


@click.group(cls=PhalanxGroup)
def ledger() -> None:
    """The node's transparency log: checkpoints, proofs, witnesses."""


@ledger.command("checkpoint")
@click.option("--url", default=None, help="Ask this node over HTTP instead of the node in --home.")
@pass_state
def ledger_checkpoint(state: State, url: str | None) -> None:
    """Print the latest signed checkpoint (C2SP signed note), with its witnesses' cosignatures."""
    if url:
        status, data = _http("GET", f"{url.rstrip('/')}/api/v1/ledger/checkpoint")
        click.echo(_answer(status, data), nl=False)
        return
    with state.node() as node:
        node.sequencer.run_once()
        latest = node.ledger.latest()
        assert latest is not None
        click.echo(node.ledger.cosigned(latest), nl=False)


@ledger.command("trust")
@click.option("--quorum", type=click.IntRange(min=0), default=0, show_default=True,
              help="How many of the witnesses must have cosigned a checkpoint.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
@pass_state
def ledger_trust(state: State, quorum: int, output: Path | None) -> None:
    """Print the trust file verifiers need: this log's origin and keys, and its witnesses' keys."""
    with state.node() as node:
        trust = node.ledger.trust(quorum)
    if quorum > len(trust.witness_keys):
        raise click.BadParameter(f"there are {len(trust.witness_keys)} witnesses", param_hint="--quorum")
    record = trust.record()
    text = orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"
    if output:
        output.write_bytes(text)
    else:
        sys.stdout.buffer.write(text)


@ledger.command("prove")
@click.argument("object_id")
@click.option("--collection", "collection_ref", required=True, help="A collection you read it from (title or id).")
@click.option("--version", default=None, help="Which version (its modified timestamp); default the latest.")
@click.option("--key", "api_key", required=True, envvar="PHALANX_KEY", help="Your API key (env PHALANX_KEY).")
@click.option("--url", default=None, help="Ask this node over HTTP instead of the node in --home.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the bundle here (default: standard output).")
@pass_state
def ledger_prove(state: State, object_id: str, collection_ref: str, version: str | None, api_key: str,
                 url: str | None, output: Path | None) -> None:
    """Write the offline proof bundle of an object: check it anywhere with 'phalanx verify'."""
    if url:
        query = f"?version={urllib.parse.quote(version)}" if version else ""
        path = (f"/api/v1/collections/{urllib.parse.quote(collection_ref, safe='')}/objects/"
                f"{urllib.parse.quote(object_id, safe='')}/proof{query}")
        bundle = _answer(*_http("GET", url.rstrip("/") + path, api_key=api_key))
    else:
        with state.node() as node:
            actor = node.admin.authenticate(api_key)
            bundle = node.provenance.bundle(actor, node.reader, collection_ref, object_id,
                                            version=_time(version, "--version"))
    text = orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"
    if output:
        output.write_bytes(text)
        click.echo(f"proof bundle of {object_id} written to {output}", err=True)
    else:
        sys.stdout.buffer.write(text)


@ledger.command("verify")
@click.option("--url", required=True, help="The node whose log to check.")
@click.option("--trust", "trust_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where the last checkpoint seen is kept between runs (made on the first).")
def ledger_verify(url: str, trust_file: Path, state_file: Path) -> None:
    """Check that the log's latest checkpoint extends the one seen last time (a monitor's job).

    Exit status 0: consistent; 1: the log forked or rewrote its history (the evidence is printed)."""
    trust = Trust.from_record(_read_json(trust_file))
    status, data = _http("GET", f"{url.rstrip('/')}/api/v1/ledger/checkpoint")
    note = _answer(status, data)
    new, witnesses = verify_checkpoint(note, trust)
    old_note = state_file.read_text(encoding="utf-8") if state_file.exists() else None
    if old_note is not None:
        old, _ = verify_checkpoint(old_note, Trust(trust.origin, trust.log_keys))
        try:
            if old.size == new.size:
                check_equivocation(old_note, note, trust)
            elif old.size > new.size:
                raise InvalidProof(f"the log shrank from {old.size} to {new.size} entries")
            else:
                answer = _answer(*_http("GET", f"{url.rstrip('/')}/api/v1/ledger/consistency?old={old.size}"
                                                f"&new={new.size}"))
                hashes = answer.get("proof") if isinstance(answer, dict) else None
                try:
                    proof = [decode(h) for h in (hashes if isinstance(hashes, list) else [None])]
                except ValueError as exc:
                    raise InvalidProof(f"a hash of the node's consistency proof {exc}") from None
                verify_consistency(old.size, new.size, old.root, new.root, proof)
        except Error as exc:
            click.echo(f"INCONSISTENT: {exc.message}\n--- checkpoint seen before ---\n{old_note}"
                       f"--- checkpoint now ---\n{note}", err=True)
            sys.exit(1)
        click.echo(f"consistent: {old.size} -> {new.size} entries")
    else:
        click.echo(f"first checkpoint seen: {new.size} entries")
    click.echo(f"witnesses: {', '.join(witnesses) or 'none'}")
    state_file.write_text(note, encoding="utf-8")


@ledger.group("witness", cls=PhalanxGroup)
def witness() -> None:
    """Witnesses: other nodes that cosign this log's checkpoints, and the logs this node witnesses."""


@witness.command("add")
@click.argument("name")
@click.argument("url")
@click.argument("vkey")
@pass_state
def witness_add(state: State, name: str, url: str, vkey: str) -> None:
    """Ask the witness NAME at URL (its /witness prefix) to cosign; VKEY is its witness key."""
    from ..ledger._note import verifier_from_key

    verifier_from_key(vkey)
    with state.node() as node:
        node.backend.ledger.set_witness(name, url, vkey)
    click.echo(f"witness {name} at {url}: it is asked to cosign every new checkpoint")


@witness.command("list")
@pass_state
def witness_list(state: State) -> None:
    """The witnesses this log asks, and the logs this node witnesses."""
    with state.node() as node:
        for name, url, vkey, size in node.backend.ledger.witnesses():
            click.echo(f"witness {name}  {url}  cosigned up to {size}  {vkey}")
        for log in node.backend.ledger.witnessed_logs():
            click.echo(f"witnessing {log.origin}  up to {log.size}")
        click.echo(f"this node's witness key: {node.ledger.witness_key}")


@witness.command("remove")
@click.argument("name")
@pass_state
def witness_remove(state: State, name: str) -> None:
    with state.node() as node:
        node.backend.ledger.remove_witness(name)
    click.echo(f"witness {name} removed")


@witness.command("watch")
@click.argument("origin")
@click.argument("vkeys", nargs=-1, required=True)
@pass_state
def witness_watch(state: State, origin: str, vkeys: tuple[str, ...]) -> None:
    """Witness the log ORIGIN, whose checkpoints VKEYS sign: cosign them at POST /witness/add-checkpoint."""
    from ..ledger._witness import Witness

    with state.node() as node:
        Witness(node.backend.ledger, node.ledger.cosigner).watch(origin, list(vkeys))
        click.echo(f"witnessing {origin}; give its operator this node's witness key:\n  {node.ledger.witness_key}")


# -- verifying offline ----------------------------------------------------------------------------------------


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", "trust_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The log's trust file ('phalanx ledger trust'), obtained from a source you trust.")
@click.option("--witnesses", "quorum", type=click.IntRange(min=0), default=None,
              help="Require this many witness cosignatures (default: the trust file's quorum).")
@click.option("--json", "as_json", is_flag=True, help="Print what was proved as JSON.")
def verify(file: Path, trust_file: Path, quorum: int | None, as_json: bool) -> None:
    """Check a proof bundle with no access to the node: who signed the object, that the log holds it, and
    that the witnesses saw the same log. Exit status 0 when it verifies, 1 otherwise."""
    trust = Trust.from_record(_read_json(trust_file))
    if quorum is not None:
        if quorum > len(trust.witness_keys):
            raise click.BadParameter(f"the trust file names {len(trust.witness_keys)} witnesses",
                                     param_hint="--witnesses")
        trust = Trust(trust.origin, trust.log_keys, trust.witness_keys, quorum)
    result = verify_bundle(_read_json(file), trust)
    if as_json:
        echo_json({"verified": True, "object": result.object_id, "version": result.version,
                   "digest": result.digest, "signer": result.signer, "key": result.key_id,
                   "accepted": result.accepted, "index": result.index, "size": result.size,
                   "log": result.origin, "witnesses": list(result.witnesses)})
        return
    signer = f"signed by {result.signer} (key {result.key_id})" if result.signer else "unsigned"
    click.echo(f"verified: {result.object_id} version {result.version}, {signer}")
    click.echo(f"  in the log {result.origin} as entry {result.index} of {result.size}, accepted {result.accepted}")
    click.echo(f"  witnessed by {len(result.witnesses)}: {', '.join(result.witnesses) or 'none'}")
