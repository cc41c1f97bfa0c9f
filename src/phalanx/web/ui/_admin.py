"""Administration: organizations, communities, users, API keys and the node's settings.

    GET  /admin[?done=...]                               the page (or ?format=json)
    POST /admin/organizations                            add an organization            (node administrators)
    POST /admin/communities                              add a community                (node administrators)
    POST /admin/communities/{name}/members               add or remove a member         (node administrators)
    POST /admin/users                                    add a user (role, initial password)
    POST /admin/users/{user}/password                    set a user's password
    POST /admin/keys                                     make an API key: its secret is shown once, on the answer
    POST /admin/keys/{key_id}/revoke                     revoke a key

Node administrators manage everything; org-admins their own organization's users and keys; anyone else gets 403.
Every decision is the service layer's (``Admin`` with ``by=actor``, the same calls as the JSON API), so the page
and the API cannot disagree. After a change the browser is sent back to ``/admin?done=<what>&...`` and the notice
comes from a fixed table (the query string only fills in names, escaped like everything else); a refusal shows
the page again with the message next to the form.
"""

from __future__ import annotations

__all__ = ["admin_routes"]

import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..._http import check_params, status_of
from ...errors import AuthenticationError, Error, InvalidParameter
from ...identity import Actor, ApiKeyRecord, Role
from ...policy import may_set_password
from ...service._settings import shown_settings
from ...stix import format_micros, now_micros
from ._site import Site, Visit, field

NOTICES = {
    "organization-added": ("organizations", "Organization {organization} added."),
    "community-added": ("communities", "Community {community} added."),
    "member-added": ("communities", "{organization} is now a member of {community}."),
    "member-removed": ("communities", "{organization} is no longer a member of {community}."),
    "user-added": ("users", "User {user} added."),
    "password-set": ("users", "The password of {user} is set."),
    "key-revoked": ("keys", "API key {key} revoked: it no longer works, and sessions signed in with it have ended."),
    "key-already-revoked": ("keys", "API key {key} was revoked already."),
}
"""What ``/admin?done=<name>`` says, and in which section of the page; the names in braces come from the query
string of the same name."""
_SUBJECTS = ("organization", "community", "user", "key")
_PARAMS = ("done", *_SUBJECTS, "format")
_MAX_SUBJECT = 200
T = TypeVar("T")


def notice(request: Request) -> tuple[str, str]:
    """The section and the one-line notice of ``?done=...``: a fixed sentence from ``NOTICES`` (('', '') for an
    unknown one)."""
    found = NOTICES.get(request.query_params.get("done", ""))
    if found is None:
        return "", ""
    section, sentence = found
    subjects = {name: " ".join(request.query_params.get(name, "").split())[:_MAX_SUBJECT] for name in _SUBJECTS}
    return section, sentence.format(**subjects)


def _done(what: str, **subjects: str) -> str:
    return "/admin?" + urlencode({"done": what, **subjects}) + "#" + NOTICES[what][0]


def _role(text: str) -> Role | None:
    if not text:
        return None
    try:
        return Role(text)
    except ValueError:
        raise InvalidParameter(f"role {text!r} is not one of {', '.join(r.value for r in Role)}") from None


def _days(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        days = float(text)
    except ValueError:
        raise InvalidParameter(f"expires in {text!r} days: give a number of days") from None
    if not math.isfinite(days):
        raise InvalidParameter("give a finite number of days")
    return days  # the service bounds it


def _stamp(micros: int | None) -> str | None:
    return None if micros is None else format_micros(micros)


def _key_row(record: ApiKeyRecord, org_names: dict[str, str], usernames: dict[str, str], now: int) -> dict[str, Any]:
    if record.revoked is not None:
        status = "revoked"
    elif record.expires is not None and record.expires <= now:
        status = "expired"
    else:
        status = "active"
    return {"key_id": record.key_id, "organization": org_names.get(record.org_id, record.org_id),
            "role": record.role.value, "label": record.label,
            "user": None if record.user_id is None else usernames.get(record.user_id, record.user_id),
            "created": format_micros(record.created), "expires": _stamp(record.expires),
            "revoked": _stamp(record.revoked), "status": status}


def admin_routes(site: Site) -> list[Route]:
    node = site.node
    admin = node.admin

    def build(actor: Actor, *, done: tuple[str, str] = ("", ""), error: dict[str, Any] | None = None,
              form: dict[str, str] | None = None) -> dict[str, Any]:
        scope = admin.administered(actor)  # PermissionDenied for anyone who administers nothing
        operator = scope is None
        organizations = sorted(admin.organizations(by=actor), key=lambda o: o.name.lower())
        org_names = {o.id: o.name for o in organizations}
        org_names.setdefault(actor.org_id, admin.organization_name(actor.org_id) or actor.org_id)
        communities = admin.communities(by=actor)
        shown = {c.name for c in communities}
        collections: dict[str, list[dict[str, Any]]] = {c.name: [] for c in communities}
        for collection in admin.collections():
            if collection.community in shown:
                collections[collection.community].append(
                    {"id": collection.id, "title": collection.title, "public": collection.public})
        memberships: dict[str, list[str]] = {o.id: [] for o in organizations}
        community_rows = []
        for community in communities:
            members = admin.members(community.name, by=actor)
            for org in members:
                memberships.setdefault(org.id, []).append(community.name)
            member_ids = {o.id for o in members}
            community_rows.append({
                "name": community.name, "title": community.title,
                "members": [{"id": o.id, "name": o.name} for o in sorted(members, key=lambda o: o.name.lower())],
                "others": [o.name for o in organizations if o.id not in member_ids],
                "collections": collections[community.name]})
        users = sorted(admin.users(by=actor), key=lambda u: (org_names.get(u.org_id, u.org_id).lower(),
                                                              u.username.lower()))
        usernames = {u.id: u.username for u in users}
        now = now_micros()
        keys = sorted(admin.api_keys(by=actor), key=lambda k: k.created, reverse=True)
        return {
            "scope": "node" if operator else "organization",
            "organization": org_names[actor.org_id],
            "operator": operator,
            "notice": done[1],
            "notice_section": done[0],
            "error": error,
            "form": form or {},
            "organizations": [{"id": o.id, "name": o.name, "sectors": list(o.sectors),
                               "communities": memberships.get(o.id, [])} for o in organizations],
            "communities": community_rows,
            "users": [{"id": u.id, "username": u.username, "organization": org_names.get(u.org_id, u.org_id),
                       "role": u.role.value, "has_password": u.password_hash is not None,
                       "may_set_password": may_set_password(actor, user_id=u.id, org_id=u.org_id,
                                                            role=u.role).allowed,
                       "created": format_micros(u.created)} for u in users],
            "keys": [_key_row(k, org_names, usernames, now) for k in keys],
            "roles": [r.value for r in admin.assignable_roles(actor)],
            "choices": {"organizations": [{"id": o.id, "name": o.name} for o in organizations] if operator
                        else [{"id": actor.org_id, "name": org_names[actor.org_id]}],
                        "users": [{"id": u.id, "name": f"{u.username} ({u.role.value})"} for u in users]},
            "settings": None if not operator else [
                {"name": s.name, "env": s.env, "value": s.value, "default": s.default}
                for s in shown_settings(node.settings, by=actor)],
        }

    async def page(request: Request, visit: Visit) -> Response:
        actor = visit.signed_in
        check_params(request.query_params, _PARAMS)
        view = await run_in_threadpool(build, actor, done=notice(request))
        return site.render(request, visit, "admin.html", view, active="admin")

    async def act(request: Request, visit: Visit, section: str, form: dict[str, str],
                  change: Callable[[Actor], T], answer: Callable[[T], Response] | None = None) -> Response:
        """Run ``change`` as the visitor, and ``answer`` what it returned (by default: go to the location it
        returned). On a refusal show the page again, with the message next to ``section``'s form and what was
        typed (never a password or a key) kept."""
        actor = visit.signed_in
        await run_in_threadpool(admin.administered, actor)  # 403 before anything else for non-administrators
        try:
            result = await run_in_threadpool(change, actor)
        except AuthenticationError:
            raise
        except Error as exc:
            error = {"section": section, "message": exc.message, "hint": exc.hint, "title": type(exc).__name__}
            view = await run_in_threadpool(lambda: build(actor, error=error, form=form))
            return site.render(request, visit, "admin.html", view, active="admin", status=status_of(exc))
        if answer is not None:
            return answer(result)
        return site.redirect(request, visit, str(result))

    async def add_organization(request: Request, visit: Visit, data: FormData) -> Response:
        name, sectors = field(data, "name"), field(data, "sectors")

        def change(actor: Actor) -> str:
            org = admin.add_organization(name, sectors=tuple(s.strip() for s in sectors.split(",")), by=actor)
            return _done("organization-added", organization=org.name)

        return await act(request, visit, "organizations", {"org_name": name, "org_sectors": sectors}, change)

    async def add_community(request: Request, visit: Visit, data: FormData) -> Response:
        name, title, collection = field(data, "name").strip(), field(data, "title"), field(data, "collection")

        def change(actor: Actor) -> str:
            community = admin.add_community(name, title=title.strip(), collection=collection.strip() or None,
                                            by=actor)
            return _done("community-added", community=community.name)

        return await act(request, visit, "communities",
                         {"community_name": name, "community_title": title, "community_collection": collection},
                         change)

    async def membership(request: Request, visit: Visit, data: FormData) -> Response:
        community, organization, action = (request.path_params["name"], field(data, "organization"),
                                           field(data, "action", default="add"))

        def change(actor: Actor) -> str:
            if action == "add":
                org = admin.join(community, organization, by=actor)
                return _done("member-added", organization=org.name, community=community)
            if action == "remove":
                org = admin.leave(community, organization, by=actor)
                return _done("member-removed", organization=org.name, community=community)
            raise InvalidParameter(f"action {action!r} is neither 'add' nor 'remove'")

        return await act(request, visit, "communities", {}, change)

    async def add_user(request: Request, visit: Visit, data: FormData) -> Response:
        username, organization, role, password = (field(data, "username"), field(data, "organization"),
                                                  field(data, "role"), field(data, "password"))

        def change(actor: Actor) -> str:
            user = admin.add_user(username, org_ref=organization or actor.org_id,
                                  role=_role(role) or Role.CONTRIBUTOR, password=password or None, by=actor)
            return _done("user-added", user=user.username)

        return await act(request, visit, "users",
                         {"username": username, "user_organization": organization, "user_role": role}, change)

    async def set_password(request: Request, visit: Visit, data: FormData) -> Response:
        user_ref, password = request.path_params["user"], field(data, "password")

        def change(actor: Actor) -> str:
            user = admin.set_password(user_ref, password, by=actor)
            return _done("password-set", user=user.username)

        return await act(request, visit, "users", {"password_user": user_ref}, change)

    async def create_key(request: Request, visit: Visit, data: FormData) -> Response:
        organization, role, label, expires, user = (field(data, "organization"), field(data, "role"),
                                                    field(data, "label"), field(data, "expires_days"),
                                                    field(data, "user"))
        kept = {"key_organization": organization, "key_role": role, "key_label": label, "key_expires": expires,
                "key_user": user}

        def change(actor: Actor) -> dict[str, Any]:
            # a key for a user is of the user's organization: the organization chosen too matters only without one
            secret, record = admin.create_key(None if user else organization or None, _role(role), label=label.strip(),
                                              expires_days=_days(expires), user_ref=user or None, by=actor)
            org_name = admin.organization_name(record.org_id) or record.org_id
            holder = {} if record.user_id is None else {record.user_id: admin.user(record.user_id).username}
            return {"key": secret, "record": _key_row(record, {record.org_id: org_name}, holder, now_micros())}

        def shown_once(view: dict[str, Any]) -> Response:
            # the secret is in this answer only (no-store): never in a URL, a log, the session or the database
            return site.render(request, visit, "admin_key.html", view, active="admin", status=201)

        return await act(request, visit, "keys", kept, change, shown_once)

    async def revoke_key(request: Request, visit: Visit, data: FormData) -> Response:
        key_id = request.path_params["key_id"]

        def change(actor: Actor) -> str:
            record, now = admin.revoke_key(key_id, by=actor)
            return _done("key-revoked" if now else "key-already-revoked", key=record.key_id)

        return await act(request, visit, "keys", {}, change)

    return [
        Route("/admin", site.page(page), methods=["GET"]),
        Route("/admin/organizations", site.form(add_organization), methods=["POST"]),
        Route("/admin/communities", site.form(add_community), methods=["POST"]),
        Route("/admin/communities/{name}/members", site.form(membership), methods=["POST"]),
        Route("/admin/users", site.form(add_user), methods=["POST"]),
        Route("/admin/users/{user}/password", site.form(set_password), methods=["POST"]),
        Route("/admin/keys", site.form(create_key), methods=["POST"]),
        Route("/admin/keys/{key_id}/revoke", site.form(revoke_key), methods=["POST"]),
    ]
