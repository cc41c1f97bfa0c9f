"""phalanx policy: ask the sharing policy why an organization sees, or does not see, an object."""

from __future__ import annotations

__all__ = ["policy"]

from dataclasses import dataclass

import click

from ..policy import named
from ..service import Explanation, Node
from ..stix import format_micros
from ._base import PhalanxGroup, State, echo_json, pass_state


@click.group(cls=PhalanxGroup)
def policy() -> None:
    """The sharing policy (TLP 2.0, communities, recipients): see docs/policy.md."""


@dataclass(frozen=True, slots=True)
class _Names:
    """Who is who on the node, read once: organization and user ids to their names."""

    orgs: dict[str, str]
    users: dict[str, str]

    @classmethod
    def of(cls, node: Node) -> _Names:
        return cls({o.id: o.name for o in node.admin.organizations()},
                   {u.id: u.username for u in node.admin.users()})

    def recipients(self, scope: frozenset[str] | None) -> str:
        if scope is None:
            return "the whole community"
        orgs, people = named(scope)
        return ", ".join([self.orgs.get(o, o) for o in orgs] + [f"{self.users.get(p, p)} (person)" for p in people])


def _as_dict(names: _Names, e: Explanation) -> dict[str, object]:
    v = e.version
    return {
        "collection": e.collection.title,
        "community": e.collection.community,
        "version": format_micros(v.version),
        "level": e.level,
        "contributor": names.orgs.get(v.contributor, v.contributor),
        "shared_by": names.orgs.get(v.sharer or v.contributor, v.sharer),
        "recipients": names.recipients(v.scope),
        "collection_access": {"allowed": e.access.allowed, "reason": e.access.reason},
        "decision": {"allowed": e.decision.allowed, "reason": e.decision.reason,
                     **({"remedy": e.decision.remedy} if e.decision.remedy else {})},
        "removed": list(e.removed),
    }


@policy.command("explain")
@click.option("--key", "api_key", required=True, envvar="PHALANX_KEY", help="The API key whose view to explain.")
@click.option("--object", "object_id", required=True, help="The object id (type--uuid).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def explain(state: State, api_key: str, object_id: str, as_json: bool) -> None:
    """Say, for every version of an object in every collection, whether the key's organization may see it
    and why; and which parts (granular markings) are removed from its copy. Run by the node's operator: it
    names collections and versions the key itself cannot see."""
    with state.node() as node:
        actor = node.admin.authenticate(api_key)
        explained = node.reader.explain(actor, object_id)
        names = _Names.of(node)
        found = [_as_dict(names, e) for e in explained]
        who = node.admin.organization(actor.org_id).name
    if as_json:
        echo_json({"object": object_id, "organization": who, "role": actor.role.value, "versions": found})
        return
    click.echo(f"{object_id}, as seen by {who} ({actor.role.value}):")
    for e, item in zip(explained, found, strict=True):
        click.echo(f"  collection {e.collection.title!r} (community {e.collection.community}): "
                   f"{'may read' if e.access.allowed else 'may not read'} ({e.access.reason})")
        click.echo(f"    version {item['version']}: {e.level}; contributed by {item['contributor']}, "
                   f"shared by {item['shared_by']} with {item['recipients']}")
        click.echo(f"      {'SEES IT' if e.decision.allowed else 'DOES NOT SEE IT'}: {e.decision.reason}")
        if e.decision.remedy:
            click.echo(f"      what would change it: {e.decision.remedy}")
        if e.removed:
            click.echo(f"      removed from its copy: {', '.join(e.removed)}")
