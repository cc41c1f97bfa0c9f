"""phalanx sighting: tell the community an indicator was seen (or is a false positive, or expired), and read what
its sightings add up to, k-anonymously (docs/sightings.md)."""

from __future__ import annotations

__all__ = ["sighting"]

import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import orjson

from ..identity import Actor, Role
from ..service import Node
from ..service._sightings import SightingReport, disclosed_json, result_json
from ..stix import Tlp
from ..store import SightingKind
from ._base import PhalanxGroup, State, echo_json, pass_state
from ._ledger_cmds import _answer, _http, _time


@click.group(cls=PhalanxGroup)
def sighting() -> None:
    """Sightings: "we saw this", "a false positive", "expired"; and what the community's add up to."""


@contextmanager
def _as(state: State, api_key: str | None, org: str | None, *, default_admin: bool) -> Iterator[tuple[Node, Actor]]:
    """The node in --home, and who acts on it: --key's holder, --org (as a contributor), or the operator."""
    if api_key is not None and org is not None:
        raise click.UsageError("give --key or --org, not both")
    with state.node() as node:
        if api_key is not None:
            yield node, node.admin.authenticate(api_key)
        elif org is not None:
            yield node, Actor(node.admin.organization(org).id, Role.CONTRIBUTOR)
        elif default_admin:
            yield node, Actor("", Role.ADMIN)
        else:
            raise click.UsageError("say who saw it: --org ORGANIZATION (the node in --home) or --key, or --url "
                                   "and --key (a hub)")


def _remote_key(url: str | None, api_key: str | None, org: str | None) -> str | None:
    if url is None:
        return None
    if api_key is None:
        raise click.UsageError("--url needs --key (or PHALANX_KEY): your API key on that hub")
    if org is not None:
        raise click.UsageError("--org is for the node in --home; with --url, your key says who you are")
    return api_key


_URL = click.option("--url", default=None, help="Your hub, e.g. http://127.0.0.1:8800 (default: the node in --home).")
_KEY = click.option("--key", "api_key", default=None, envvar="PHALANX_KEY", help="Your API key (env PHALANX_KEY).")


@sighting.command("add")
@click.argument("indicator_id")
@click.option("--false-positive", "kind", flag_value=SightingKind.FALSE_POSITIVE.value,
              help="Report it a false positive.")
@click.option("--expired", "kind", flag_value=SightingKind.EXPIRED.value, help="Report it no longer valid.")
@click.option("--anonymous", is_flag=True, help="Other members never learn it was your organization.")
@click.option("--count", type=click.IntRange(0, 999_999_999), default=1, show_default=True,
              help="How many times it was seen.")
@click.option("--first-seen", default=None, help="When it was first seen (RFC 3339).")
@click.option("--last-seen", default=None, help="When it was last seen (RFC 3339).")
@click.option("--collection", "collection_ref", default=None,
              help="Share it into this collection (default: one you may write where you read the indicator).")
@click.option("--tlp", default=None, help="Mark it with this TLP 2.0 level (default: the hub's default_tlp).")
@_URL
@_KEY
@click.option("--org", default=None, help="Without --url: the organization of the node in --home that saw it.")
@pass_state
def sighting_add(state: State, indicator_id: str, kind: str | None, anonymous: bool, count: int,
                 first_seen: str | None, last_seen: str | None, collection_ref: str | None, tlp: str | None,
                 url: str | None, api_key: str | None, org: str | None) -> None:
    """Record that your organization saw INDICATOR_ID (or that it is a false positive, or expired).

    The sighting is a STIX sighting shared like any object. With --anonymous it names nobody: the hub knows
    your organization, other members never do. Exit status 2 when the hub refused it."""
    level = None
    if tlp is not None:
        try:
            level = Tlp.parse(tlp)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--tlp") from None
    report = SightingReport(indicator_id, SightingKind(kind or SightingKind.SEEN.value), count,
                    _time(first_seen, "--first-seen"), _time(last_seen, "--last-seen"), anonymous)
    remote = _remote_key(url, api_key, org)
    if url is not None and remote is not None:
        body: dict[str, Any] = {"indicator": indicator_id, "kind": report.kind.value, "count": count,
                                "anonymous": anonymous}
        body.update({k: v for k, v in (("first_seen", first_seen), ("last_seen", last_seen),
                                        ("collection", collection_ref), ("tlp", tlp)) if v is not None})
        answer = _answer(*_http("POST", f"{url.rstrip('/')}/api/v1/sightings", api_key=remote,
                                body=orjson.dumps(body)))
        (result,) = answer["results"]
    else:
        with _as(state, api_key, org, default_admin=False) as (node, actor):
            result = result_json(node.sightings.record_many(actor, [report], collection=collection_ref,
                                                            tlp=level)[0])
    if result["outcome"] != "accepted":
        click.echo(f"refused {result['id']}: {result['detail']}", err=True)
        sys.exit(2)
    click.echo(f"{result['id']} ({result['detail']})")
    for warning in result.get("warnings", ()):
        click.echo(f"  warning: {warning}", err=True)


def _count(part: dict[str, Any]) -> str:
    value = part["organizations"]
    return f"fewer than {part['fewer_than']}" if value is None else str(value)


def _describe(found: dict[str, Any]) -> list[str]:
    seen, own = found["seen"], found["own"]
    line = f"{found['id']}: seen by {_count(seen)} organizations"
    if seen["organizations"] is not None:
        line += f" ({seen['sightings']} sightings, {seen['count']} times"
        line += f", {seen['first_seen']} .. {seen['last_seen']})" if seen["first_seen"] else ")"
    line += (f"; false positive for {_count(found['false_positive'])}; expired for {_count(found['expired'])}"
             f" (k = {found['k']})")
    lines = [line]
    if own["seen"] or own["false_positive"] or own["expired"]:
        mine = [f"seen {own['count']} times in {own['sightings']} sightings" if own["seen"] else "",
                "reported it a false positive" if own["false_positive"] else "",
                "reported it expired" if own["expired"] else ""]
        lines.append("  yours: " + ", ".join(m for m in mine if m))
    return lines


@sighting.command("show")
@click.argument("object_ids", nargs=-1, required=True)
@_URL
@_KEY
@click.option("--org", default=None, help="Without --url: as this organization of the node in --home "
                                          "(default: as the node's operator, who sees every count).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the API answers) instead of lines.")
@pass_state
def sighting_show(state: State, object_ids: tuple[str, ...], url: str | None, api_key: str | None,
                  org: str | None, as_json: bool) -> None:
    """What the sightings of OBJECT_IDS add up to, as you may see them: how many organizations saw each (and
    reported it a false positive, or expired), shown only when at least k organizations besides yours did."""
    remote = _remote_key(url, api_key, org)
    if url is not None and remote is not None:
        query = urllib.parse.urlencode({"ids": ",".join(object_ids)})
        found = _answer(*_http("GET", f"{url.rstrip('/')}/api/v1/sightings?{query}", api_key=remote))["sightings"]
    else:
        with _as(state, api_key, org, default_admin=True) as (node, actor):
            if org is not None:
                actor = Actor(actor.org_id, Role.READER)
            tallies = node.sightings.tallies(actor, list(object_ids))
        found = [disclosed_json(tallies[i]) for i in dict.fromkeys(object_ids)]
    if as_json:
        echo_json(found)
        return
    for item in found:
        for line in _describe(item):
            click.echo(line)
