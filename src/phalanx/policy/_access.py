"""Who may use a collection, administer the node, or hold a key with a given role."""

from __future__ import annotations

__all__ = ["may_administer", "may_grant", "may_manage_key", "may_manage_user", "may_manage_webhook", "may_operate",
           "may_read", "may_read_status", "may_see_community", "may_see_webhook", "may_set_password", "may_write"]

from collections.abc import Collection as Members

from ..identity import Actor, Role
from ._decision import Decision

_WRITERS = frozenset({Role.ADMIN, Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.PEER})
_READERS = frozenset({Role.ADMIN, Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.READER, Role.PEER})


def may_read(actor: Actor, *, community: str, members: Members[str], public: bool = False) -> Decision:
    """Read a collection of ``community``: a member organization with any reading role, a node admin, and for
    a public collection anyone (what each sees of it is the audience rules' business)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrators may read every collection")
    if actor.role in _READERS and actor.org_id in members:
        return Decision(True, f"your organization is a member of community {community!r}")
    if public:
        return Decision(True, "the collection is public: anyone may read its TLP:CLEAR objects")
    if actor.role is Role.ANONYMOUS:
        return Decision(False, "this collection is for members: send credentials",
                        "Send an API key: 'Authorization: Bearer KEY' (or HTTP Basic with the key as password).")
    if actor.role not in _READERS:
        return Decision(False, f"role {actor.role.value} may not read")
    return Decision(False, f"your organization is not a member of community {community!r}", _join_remedy(community))


def may_write(actor: Actor, *, community: str, members: Members[str]) -> Decision:
    """Share into a collection of ``community``: a member organization with a contributing role."""
    if actor.role not in _WRITERS:
        return Decision(False, f"role {actor.role.value} may not share objects (contributor or above may)",
                        "Use a key with the contributor role.")
    if actor.role is not Role.ADMIN and actor.org_id not in members:
        return Decision(False, f"your organization is not a member of community {community!r}",
                        _join_remedy(community))
    return Decision(True, f"role {actor.role.value} of a member organization of {community!r}")


def may_administer(actor: Actor, *, org_id: str | None = None) -> Decision:
    """Manage organizations, communities and keys (org-admins: only their own organization's keys and users)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is Role.ORG_ADMIN and org_id is not None and org_id == actor.org_id:
        return Decision(True, "administrator of this organization")
    return Decision(False, "only node administrators (or org-admins, for their own organization) may do this")


def may_use_dashboard(actor: Actor) -> Decision:
    """Sign in to the dashboard: people of organizations, through a password or an API key; not another node
    (a peer's key exchanges objects through the API, and acts for no person)."""
    if actor.role is Role.PEER:
        return Decision(False, "this is a peer node's key: it exchanges objects through the API, and does not sign "
                        "in to the dashboard", "Sign in with your user name and password, or a key of your own.")
    return Decision(True, f"role {actor.role.value}")


def may_operate(actor: Actor) -> Decision:
    """Run the node's directory: add organizations and communities, change who is a member of a community, and
    read the node's settings. Node administrators only (the CLI acts as the operator and is not asked)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    return Decision(False, "only node administrators add organizations and communities, change memberships and "
                    "read the node's settings", "Ask a node administrator (or the operator: 'phalanx org add', "
                    "'phalanx community add', 'phalanx community join').")


def may_see_community(actor: Actor, *, community: str, members: Members[str]) -> Decision:
    """Know of community ``community``, its members and its collections: node administrators every community,
    anyone else the communities its organization is a member of."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is not Role.ANONYMOUS and actor.org_id in members:
        return Decision(True, f"your organization is a member of community {community!r}")
    return Decision(False, f"your organization is not a member of community {community!r}")


def may_manage_user(actor: Actor, *, org_id: str, role: Role) -> Decision:
    """Add a user with ``role`` to organization ``org_id``. Node administrators any; org-admins users of their own
    organization with no more power than theirs (as for keys: never an admin or a peer)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is not Role.ORG_ADMIN or actor.org_id != org_id:
        return Decision(False, "only node administrators, or org-admins for their own organization, add users")
    if role in (Role.ADMIN, Role.PEER, Role.ANONYMOUS):
        return Decision(False, f"{role.value} users are added by node administrators only", "Ask a node administrator.")
    return Decision(True, f"org-admin of this organization; a {role.value} has no more power than you")


def may_manage_key(actor: Actor, *, org_id: str, role: Role, person: str | None = None) -> Decision:
    """Create or revoke a key of organization ``org_id`` with ``role`` (``person``: the user it acts as, when
    making one). Node administrators any; org-admins their own organization's keys up to org-admin, never an
    admin or peer key (not even one held in their organization: that would be acting on the node
    administrator's credentials), and no key acting as another person (it would read what is shared with that
    person by name)."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is not Role.ORG_ADMIN or actor.org_id != org_id:
        return Decision(False, "only node administrators, or org-admins for their own organization, manage keys")
    if role in (Role.ADMIN, Role.PEER, Role.ANONYMOUS):
        return Decision(False, f"{role.value} keys are managed by node administrators only",
                        "Ask a node administrator.")
    if person is not None and person != actor.user_id:
        return Decision(False, "an org-admin makes keys for its organization or for itself; a key for another "
                        "person would act as that person",
                        "Ask a node administrator, or the person, for a key of theirs.")
    return Decision(True, f"org-admin of this organization; a {role.value} key has no more power than yours")


def may_set_password(actor: Actor, *, user_id: str, org_id: str, role: Role) -> Decision:
    """Set the password of user ``user_id`` (of organization ``org_id``, with ``role``). Node administrators
    any; a person its own, when acting with its whole role (a key narrowed below the person's role may not: the
    password would give back the power the key was narrowed from). Nobody else: whoever sets a person's
    password can sign in as that person and read what is shared with it by name (as ``may_manage_key`` refuses
    org-admins a key acting as another person). Org-admins give a new user its first password with
    ``add_user``."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.user_id is not None and actor.user_id == user_id:
        if actor.role is role:
            return Decision(True, "your own password")
        return Decision(False, f"this {actor.role.value} key is narrower than your role {role.value}: it may "
                        "not change your password", "Sign in, or use a key with your whole role.")
    return Decision(False, "only node administrators set another person's password: whoever sets it can act as "
                    "that person", "Ask a node administrator, or the person, to set it.")


def may_read_status(actor: Actor, *, owner: str) -> Decision:
    """Read the status of a request that shared objects: the organization that made it, and node
    administrators."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.role is not Role.ANONYMOUS and actor.org_id == owner:
        return Decision(True, "your organization made the request")
    return Decision(False, "the status of a request is for the organization that made it")


def may_see_webhook(actor: Actor, *, owner: str) -> Decision:
    """See a webhook of organization ``owner``, its delivery log and its dead letters: the organization's people
    and tools (any role that reads), and node administrators. To anyone else it does not exist."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.org_id == owner and actor.role in (Role.ORG_ADMIN, Role.CONTRIBUTOR, Role.READER):
        return Decision(True, "the webhook is your organization's")
    return Decision(False, "a webhook is for the organization it belongs to")


def may_manage_webhook(actor: Actor, *, owner: str) -> Decision:
    """Make, remove, pause or resume a webhook of organization ``owner``, or redeliver its dead letters: the
    organization's org-admins and contributors, and node administrators."""
    if actor.role is Role.ADMIN:
        return Decision(True, "node administrator")
    if actor.org_id != owner:
        return Decision(False, "only the organization a webhook is for (or a node administrator) manages it")
    if actor.role in (Role.ORG_ADMIN, Role.CONTRIBUTOR):
        return Decision(True, f"{actor.role.value} of the webhook's organization")
    return Decision(False, f"role {actor.role.value} may not manage webhooks (contributor or above may)",
                    "Use a key of your organization with the contributor or org-admin role.")


_POWER = {Role.READER: 0, Role.CONTRIBUTOR: 1, Role.ORG_ADMIN: 2, Role.ADMIN: 3}


def may_grant(holder: Role, granted: Role) -> Decision:
    """Whether a key with role ``granted`` may be made for a user whose role is ``holder`` (never more power)."""
    if Role.ANONYMOUS in (holder, granted):
        return Decision(False, "'anonymous' is the role of callers without credentials; no key or user has it")
    if granted is holder:
        return Decision(True, f"the key has the user's own role, {holder.value}")
    if Role.PEER in (holder, granted):
        return Decision(False, "peer keys belong to nodes, not to people, and people's keys cannot be peer keys")
    if _POWER[granted] < _POWER[holder]:
        return Decision(True, f"{granted.value} is narrower than the user's role {holder.value}")
    return Decision(False, f"a user with role {holder.value} cannot hold a key with role {granted.value}")


def _join_remedy(community: str) -> str:
    return (f"Ask the node's operator to add your organization to {community!r} "
            f"(phalanx community join {community} ORGANIZATION).")
