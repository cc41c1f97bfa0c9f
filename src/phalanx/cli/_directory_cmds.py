"""phalanx org | community | collection | key: the directory of who shares with whom."""

from __future__ import annotations

__all__ = ["collection", "community", "key", "org", "user"]

import sys

import click

from ..identity import MAX_KEY_DAYS, Collection, Role, WeakPassword, check_password
from ..stix import format_micros
from ._base import PhalanxGroup, State, echo_json, pass_state

_ROLES = [r.value for r in Role if r is not Role.ANONYMOUS]


@click.group(cls=PhalanxGroup)
def org() -> None:
    """Organizations: the members of communities."""


@org.command("add")
@click.argument("name")
@click.option("--sector", "sectors", multiple=True, help="An industry sector (repeatable), e.g. energy.")
@pass_state
def org_add(state: State, name: str, sectors: tuple[str, ...]) -> None:
    """Add an organization called NAME; prints its STIX identity id."""
    with state.node() as node:
        created = node.admin.add_organization(name, sectors=sectors)
    click.echo(f"added organization {created.name!r} as {created.id}")


@org.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_state
def org_list(state: State, as_json: bool) -> None:
    """List organizations."""
    with state.node() as node:
        orgs = node.admin.organizations()
    if as_json:
        echo_json([{"id": o.id, "name": o.name, "sectors": list(o.sectors)} for o in orgs])
        return
    for o in orgs:
        click.echo(f"{o.id}  {o.name}" + (f"  [{', '.join(o.sectors)}]" if o.sectors else ""))


@click.group(cls=PhalanxGroup)
def community() -> None:
    """Communities: named groups of organizations that share through collections."""


@community.command("add")
@click.argument("name")
@click.option("--title", default="", help="A human title (default: NAME).")
@click.option("--no-collection", is_flag=True, help="Do not create a collection named after the community.")
@pass_state
def community_add(state: State, name: str, title: str, no_collection: bool) -> None:
    """Add a community NAME (lowercase letters, digits, - and _), with a collection of the same name."""
    with state.node() as node:
        node.admin.add_community(name, title=title, collection="" if no_collection else None)
    click.echo(f"added community {name!r}" + ("" if no_collection else f" with collection {name!r}"))


@community.command("join")
@click.argument("name")
@click.argument("organization")
@pass_state
def community_join(state: State, name: str, organization: str) -> None:
    """Make ORGANIZATION (name or identity id) a member of community NAME."""
    with state.node() as node:
        org_ = node.admin.join(name, organization)
    click.echo(f"{org_.name} is a member of {name!r}")


@community.command("leave")
@click.argument("name")
@click.argument("organization")
@pass_state
def community_leave(state: State, name: str, organization: str) -> None:
    """Remove ORGANIZATION from community NAME."""
    with state.node() as node:
        org_ = node.admin.leave(name, organization)
    click.echo(f"{org_.name} is no longer a member of {name!r}")


@community.command("list")
@pass_state
def community_list(state: State) -> None:
    """List communities and their members."""
    with state.node() as node:
        for c in node.admin.communities():
            names = ", ".join(o.name for o in node.admin.members(c.name)) or "(no members)"
            click.echo(f"{c.name}  {c.title}: {names}")


@click.group(cls=PhalanxGroup)
def collection() -> None:
    """Collections: where a community's objects are shared (TAXII collections)."""


def _types(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t.strip() for value in values for t in value.split(",") if t.strip())


def _describe(c: Collection) -> str:
    extra = [f"community {c.community}"]
    if c.public:
        extra.append("public")
    if c.types:
        extra.append("only " + ", ".join(c.types))
    return f"{c.id}  {c.title}  ({'; '.join(extra)})"


@collection.command("add")
@click.argument("title")
@click.option("--community", "community_name", required=True, help="The community that shares through it.")
@click.option("--description", default="", help="What belongs in it.")
@click.option("--public", is_flag=True,
              help="Anyone may read its TLP:CLEAR objects without credentials (members see as usual).")
@click.option("--types", "types", multiple=True,
              help="Only these STIX types may be shared into it and are served (repeat, or indicator,malware).")
@pass_state
def collection_add(state: State, title: str, community_name: str, description: str, public: bool,
                   types: tuple[str, ...]) -> None:
    """Add a collection TITLE for a community."""
    with state.node() as node:
        c = node.admin.add_collection(title, community=community_name, description=description, public=public,
                                      types=_types(types))
    click.echo(f"added collection {_describe(c)}")


@collection.command("set")
@click.argument("ref")
@click.option("--public/--members-only", default=None, help="Whether anyone may read its TLP:CLEAR objects.")
@click.option("--types", "types", multiple=True, help="The STIX types it takes (repeat, or a,b).")
@click.option("--any-type", is_flag=True, help="Take every type again (drop the types filter).")
@click.option("--description", default=None, help="A new description.")
@pass_state
def collection_set(state: State, ref: str, public: bool | None, types: tuple[str, ...], any_type: bool,
                   description: str | None) -> None:
    """Change collection REF (title or id): public or members only, its types filter, its description."""
    if types and any_type:
        raise click.UsageError("--types and --any-type contradict each other")
    with state.node() as node:
        c = node.admin.configure_collection(ref, public=public, description=description,
                                            types=() if any_type else (_types(types) or None))
    click.echo(f"collection {_describe(c)}")


@collection.command("list")
@pass_state
def collection_list(state: State) -> None:
    """List collections."""
    with state.node() as node:
        for c in node.admin.collections():
            click.echo(_describe(c))


@click.group(cls=PhalanxGroup)
def key() -> None:
    """API keys: how members' people and tools authenticate."""


@key.command("create")
@click.option("--org", "organization", default=None, help="Organization (name or identity id).")
@click.option("--user", "username", default=None, help="A user (name or id): the key acts for that person.")
@click.option("--role", type=click.Choice(_ROLES), default=None,
              help="What the key may do (default: the user's role, or contributor). Never more than the user's.")
@click.option("--label", default="", help="A note saying what the key is for.")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True, max=MAX_KEY_DAYS), default=None,
              help="Expire the key after this many days (default: never).")
@pass_state
def key_create(state: State, organization: str | None, username: str | None, role: str | None, label: str,
               expires_days: float | None) -> None:
    """Create an API key for an organization (--org) or one of its users (--user).

    The key is printed once and never stored: keep it safe."""
    with state.node() as node:
        secret, record = node.admin.create_key(organization, Role(role) if role else None, label=label,
                                               expires_days=expires_days, user_ref=username)
    click.echo(secret)
    click.echo(f"(key id {record.key_id}, role {record.role.value}; shown once, store it now)", err=True)


@click.group(cls=PhalanxGroup)
def user() -> None:
    """Users: the people of member organizations (passwords to sign in, API keys).

    A user signs in to the dashboard with a password ('user password'), and tools act for it with API keys
    ('key create --user')."""


def _stdin_password() -> str:
    """The password piped in: all of standard input but its final line break."""
    text = sys.stdin.read()
    return text.removesuffix("\n").removesuffix("\r")


_PASSWORD_STDIN = click.option("--password-stdin", is_flag=True,
                               help="Read the password from standard input (its final line break is dropped).")


@user.command("add")
@click.argument("username")
@click.option("--org", "organization", required=True, help="Their organization (name or identity id).")
@click.option("--role", type=click.Choice(_ROLES), default=Role.READER.value, show_default=True,
              help="What they may do.")
@_PASSWORD_STDIN
@pass_state
def user_add(state: State, username: str, organization: str, role: str, password_stdin: bool) -> None:
    """Add a user USERNAME to an organization.

    With --password-stdin the user gets a password to sign in with; else 'phalanx user password' sets one later."""
    password = _stdin_password() if password_stdin else None
    with state.node() as node:
        created = node.admin.add_user(username, org_ref=organization, role=Role(role), password=password)
    click.echo(f"added user {created.username!r} ({created.role.value}) as {created.id}"
               + (" with a password" if password is not None else ""))


@user.command("password")
@click.argument("username")
@_PASSWORD_STDIN
@pass_state
def user_password(state: State, username: str, password_stdin: bool) -> None:
    """Set the password USERNAME signs in with (asked twice, unseen).

    The password signs in to the dashboard: 12 to 1024 characters, not containing the user name. With
    --password-stdin it is read from standard input instead of asked."""
    with state.node() as node:
        found = node.admin.user(username)  # "no such user" before asking for a password

        def fit(password: str) -> str:  # a weak password is asked again, saying why
            try:
                check_password(password, found.username)
            except WeakPassword as exc:
                raise click.UsageError(exc.message) from None
            return password

        password = _stdin_password() if password_stdin else str(
            click.prompt("New password", hide_input=True, confirmation_prompt=True, value_proc=fit))
        changed = node.admin.set_password(found.id, password)
    click.echo(f"set the password of user {changed.username!r}")


@user.command("list")
@click.option("--org", "organization", default=None, help="Only this organization's users.")
@pass_state
def user_list(state: State, organization: str | None) -> None:
    """List users."""
    with state.node() as node:
        users = node.admin.users(organization)
        names = {o.id: o.name for o in node.admin.organizations()}
    for u in users:
        click.echo(f"{u.id}  {u.username}  {names.get(u.org_id, u.org_id)}  {u.role.value}")


@key.command("list")
@click.option("--org", "organization", default=None, help="Only this organization's keys.")
@pass_state
def key_list(state: State, organization: str | None) -> None:
    """List API keys (ids, roles and states; never the secrets)."""
    with state.node() as node:
        records = node.admin.api_keys(organization)
        names = {o.id: o.name for o in node.admin.organizations()}
    for r in records:
        status = "revoked" if r.revoked is not None else "active"
        if r.expires is not None:
            status += f", expires {format_micros(r.expires)}"
        click.echo(f"{r.key_id}  {names.get(r.org_id, r.org_id)}  {r.role.value}  {status}  {r.label}")


@key.command("revoke")
@click.argument("key_id")
@pass_state
def key_revoke(state: State, key_id: str) -> None:
    """Revoke the key KEY_ID (the id shown by 'key list'); it stops working at once."""
    with state.node() as node:
        record, now = node.admin.revoke_key(key_id)
    if now:
        click.echo(f"revoked key {key_id}")
    else:
        click.echo(f"key {key_id} was already revoked at {format_micros(record.revoked or 0)}")
