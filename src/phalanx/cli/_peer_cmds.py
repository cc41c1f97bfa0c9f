"""phalanx peer: federation with other nodes (docs/federation.md)."""

from __future__ import annotations

__all__ = ["peer"]

from typing import TYPE_CHECKING, Any

import click

from ..stix import format_micros
from ._base import PhalanxGroup, State, echo_json, pass_state

if TYPE_CHECKING:
    from ..federation import PeerStatus


@click.group(cls=PhalanxGroup)
def peer() -> None:
    """Peers: other nodes this node follows, and invitations for others to follow this one."""


@peer.command("invite")
@click.argument("name")
@click.option("--community", default=None, help="The community the peer reads from (default: the only one).")
@click.option("--collection", "collections", multiple=True,
              help="Let it read only this collection (title or id; repeatable; default: all the policy allows).")
@click.option("--type", "types", multiple=True, help="Let it read only this STIX type (repeatable; default: any).")
@click.option("--key-only", is_flag=True, help="Print only the key (for $(...) in a script).")
@pass_state
def peer_invite(state: State, name: str, community: str | None, collections: tuple[str, ...],
                types: tuple[str, ...], key_only: bool) -> None:
    """Make a peer key for the node NAME, so that it can follow this node: it reads what the policy lets the
    organization 'peer NAME' (a member of the community) read, within --collection and --type (its egress
    allowlists; inviting again replaces them), and may share into the community."""
    from ..federation import Federation

    split = tuple(part.strip() for value in types for part in value.split(",") if part.strip())
    with state.node() as node:
        secret, record = Federation(node).invite(name, community=community, collections=collections, types=split)
        url = f"http://{node.settings.host}:{node.settings.port}"
    if key_only:
        click.echo(secret)
        return
    click.echo(f"On node {name}, run:\n\n  phalanx peer add {url} --key {secret}\n")
    click.echo(f"(key id {record.key_id}, role peer; shown once. Revoke it with 'phalanx key revoke "
               f"{record.key_id}' to cut the link.)", err=True)


@peer.command("add")
@click.argument("url")
@click.option("--key", "api_key", required=True, envvar="PHALANX_PEER_KEY",
              help="The peer key its operator made for this node ('phalanx peer invite' there).")
@click.option("--name", default=None, help="What to call the peer here (default: HOST-PORT).")
@click.option("--collection", "collections", multiple=True,
              help="Follow only this collection of the peer (title or id; repeatable; default: all it lets you read).")
@click.option("--type", "types", multiple=True, help="Take only this STIX type (repeatable; default: any).")
@click.option("--community", default=None, help="The community here that receives what it sends (default: the only "
                                                "one).")
@click.option("--direction", type=click.Choice(["pull", "push", "both"]), default="pull", show_default=True,
              help="pull: follow the peer; push: send it what it may read here (for a peer that cannot reach this "
                   "node); both.")
@click.option("--as", "home", default=None,
              help="The organization here that AMBER+STRICT and RED objects from the peer are for (default: the only "
                   "member organization of the community).")
@pass_state
def peer_add(state: State, url: str, api_key: str, name: str | None, collections: tuple[str, ...],
             types: tuple[str, ...], community: str | None, direction: str, home: str | None) -> None:
    """Follow the node at URL: its collections are caught up over TAXII 2.1, then followed live, by 'phalanx
    serve' on this node."""
    from ..federation import Federation

    split = tuple(part.strip() for value in types for part in value.split(",") if part.strip())
    with state.node() as node:
        record = Federation(node).add(url, api_key, name=name, collections=collections, types=split,
                                      community=community, home=home, direction=direction)
    verb = {"pull": "following", "push": "pushing to", "both": "following and pushing to"}[record.direction]
    click.echo(f"{verb} peer {record.name!r} at {record.url} (community {record.community!r} here); "
               "'phalanx serve' keeps it in sync ('phalanx peer status' tells how it goes)")


@peer.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_state
def peer_list(state: State, as_json: bool) -> None:
    """List the peers this node follows."""
    from ..federation import Federation

    with state.node() as node:
        federation = Federation(node)
        found = [federation.status(record.name, refusals=0) for record in federation.peers()]
    if as_json:
        echo_json([_status_json(s) for s in found])
        return
    for s in found:
        error = f"  error: {s.state.last_error}" if s.state.last_error else ""
        click.echo(f"{s.record.name}  {s.record.url}  received {s.state.received}, refused {s.state.refused}{error}")


@peer.command("status")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--refusals", default=10, show_default=True, help="How many recent refusals to show.")
@pass_state
def peer_status(state: State, name: str, as_json: bool, refusals: int) -> None:
    """How following peer NAME goes: where each collection got to, counts, lag, its log, refusals."""
    from ..federation import Federation

    with state.node() as node:
        status = Federation(node).status(name, refusals=refusals)
    data = _status_json(status)
    if as_json:
        echo_json(data)
        return
    for field in ("name", "url", "direction", "community", "received", "refused", "last_contact", "lag_ms", "log_size",
                  "last_error"):
        click.echo(f"{field:>13}: {data[field]}")
    for collection, cursor in data["cursors"].items():
        click.echo(f"   collection {collection}: up to {cursor}")
    for refusal in data["refusals"]:
        click.echo(f"      refused {refusal['at']} {refusal['object_id'] or '-'}: {refusal['reason']}")


@peer.command("reconcile")
@click.argument("name")
@pass_state
def peer_reconcile(state: State, name: str) -> None:
    """Compare every collection followed from peer NAME with the peer now (range-based set reconciliation) and
    fetch the versions it lets this node read that this node lacks. 'phalanx serve' does it every
    reconcile_seconds by itself."""
    from ..federation import Federation

    with state.node() as node:
        report = Federation(node).reconcile(name)
    click.echo(f"{report.collections} collections compared in {report.rounds} rounds "
               f"({report.sent + report.received:,} bytes): {report.missing} versions missing here, "
               f"{report.stored} stored")


@peer.command("remove")
@click.argument("name")
@pass_state
def peer_remove(state: State, name: str) -> None:
    """Stop following peer NAME (what it sent stays)."""
    from ..federation import Federation

    with state.node() as node:
        Federation(node).remove(name)
    click.echo(f"no longer following peer {name!r}")


def _status_json(status: PeerStatus) -> dict[str, Any]:
    record, state = status.record, status.state
    return {
        "name": record.name, "url": record.url, "community": record.community, "direction": record.direction,
        "collections": list(record.collections), "types": list(record.types),
        "received": state.received, "refused": state.refused,
        "last_contact": None if state.last_contact is None else format_micros(state.last_contact),
        "lag_ms": None if state.lag is None else round(state.lag / 1000, 1),
        "log_size": state.checkpoint_size, "last_error": state.last_error,
        "cursors": {c: format_micros(v) for c, v in state.cursors.items()},
        "refusals": [{"at": format_micros(r.at), "object_id": r.object_id, "reason": r.reason}
                     for r in status.refusals],
    }
