"""phalanx correlate: who else reported a value, an object's observables, an object's neighbourhood
(docs/correlation.md)."""

from __future__ import annotations

__all__ = ["correlate"]

from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..identity import Actor, Role
from ..service import Node, ValueCorrelation
from ..service._correlation import object_json, value_json
from ..service._neighbourhood import graph_json
from ..stix import format_micros
from ._base import State, echo_json, pass_state


@contextmanager
def _as(state: State, api_key: str | None, org: str | None) -> Iterator[tuple[Node, Actor]]:
    """The node in --home, and who asks: --key's holder, --org (as a reader), or the operator."""
    if api_key is not None and org is not None:
        raise click.UsageError("give --key or --org, not both")
    with state.node() as node:
        if api_key is not None:
            yield node, node.admin.authenticate(api_key)
        elif org is not None:
            yield node, Actor(node.admin.organization(org).id, Role.READER)
        else:
            yield node, Actor("", Role.ADMIN)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _lines(found: ValueCorrelation, *, indent: str = "") -> list[str]:
    head = f"{indent}{found.observable}: "
    if found.first is None:
        lines = [head + "reported by nobody you may read"]
    else:
        lines = [head + f"reported by {_plural(len(found.organizations), 'organization')} "
                 f"({_plural(found.reports, 'indicator')}), first by {found.first.name} at "
                 f"{format_micros(found.first.first_added)}"]
    lines += [f"{indent}  {o.name}: {_plural(o.objects, 'indicator')}, first {format_micros(o.first_added)}"
              for o in found.organizations]
    for c in found.objects:
        revoked = " (revoked)" if c.revoked else ""
        lines.append(f"{indent}  {format_micros(c.first_added)}  {c.id}  {c.name or '(an observation)'}{revoked}")
    if found.more:
        lines.append(f"{indent}  ... more (raise --limit)")
    return lines


@click.command()
@click.argument("value")
@click.option("--kind", default=None,
              help="What VALUE is (ipv4-addr, ipv6-addr, domain-name, url, email-addr, mac-addr, md5, sha1, sha256, "
                   "sha512...); default: detected.")
@click.option("--object", "as_object", is_flag=True, help="VALUE is an object id: correlate each of its observables.")
@click.option("--neighbourhood", is_flag=True, help="VALUE is an object id: show the objects linked to it.")
@click.option("--depth", type=click.IntRange(1, 2), default=1, show_default=True,
              help="With --neighbourhood: steps from the object.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="At most this many objects (nodes, with --neighbourhood: at most 200).")
@click.option("--key", "api_key", default=None, envvar="PHALANX_KEY",
              help="Answer as this API key's holder may see it (env PHALANX_KEY).")
@click.option("--org", default=None, help="Answer as a reader of this organization may see it (default: as the "
                                          "node's operator, who sees everything).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the API answers) instead of lines.")
@pass_state
def correlate(state: State, value: str, kind: str | None, as_object: bool, neighbourhood: bool, depth: int,
              limit: int, api_key: str | None, org: str | None, as_json: bool) -> None:
    """Who reported VALUE (an IP address, domain, URL, e-mail address or hash): the organizations, the first
    one and when, and the objects carrying it, among what you may read.

    With --object, VALUE is an object id, and each of its observables is correlated; with --neighbourhood,
    the objects linked to it through shared observables, relationships and references."""
    if as_object and neighbourhood:
        raise click.UsageError("give --object or --neighbourhood, not both")
    with _as(state, api_key, org) as (node, actor):
        correlation = node.correlation
        if neighbourhood:
            graph = correlation.neighbourhood(actor, value, depth=depth, limit=min(limit, 200))
            if as_json:
                echo_json(graph_json(graph))
                return
            for n in graph.nodes:
                by = f"  ({n.org_name})" if n.org_name else ""
                click.echo(f"{'  ' * n.depth}{n.id}  {n.label}{by}")
            for e in graph.edges:
                via = f" (via {e.via})" if e.via else ""
                click.echo(f"{e.source} -> {e.target}: {e.reason}{via}")
            if graph.truncated:
                click.echo("... more objects are linked (raise --limit)")
        elif as_object:
            found = correlation.of_object(actor, value, limit=limit)
            if as_json:
                echo_json(object_json(found))
                return
            click.echo(f"{found.id}: {_plural(len(found.observables), 'observable')}")
            for item in found.observables:
                for line in _lines(item, indent="  "):
                    click.echo(line)
        else:
            answer = correlation.of_value(actor, value, kind=kind, limit=limit)
            if as_json:
                echo_json(value_json(answer))
                return
            for line in _lines(answer):
                click.echo(line)
