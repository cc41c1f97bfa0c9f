"""What every dashboard page shares: who the visitor is (the session), CSRF on every form, the page chrome,
and errors shown as pages.

A handler is ``async (request, visit) -> Response``. ``Site.page`` wraps one that reads, ``Site.form`` one that
changes something (POST only, CSRF checked first). Both find the actor the same way the API does, through the
service layer (``Admin.session_actor``), so roles and the policy are decided in the same place for both.
"""

from __future__ import annotations

__all__ = ["Handler", "Site", "Visit"]

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..._http import read_body, status_of
from ...errors import AuthenticationError, Error, InvalidParameter, NotFound, PermissionDenied
from ...identity import Actor, Role
from ...policy import may_use_dashboard
from ...service import Node
from ._render import Renderer, secure
from ._session import COOKIE, Session, SessionCodec, load_secret

_MAX_FORM_BYTES = 1024 * 1024
_NAV = (("feed", "/feed", "Live feed"), ("search", "/search", "Search"), ("publish", "/publish", "Publish"),
        ("community", "/community", "Community"), ("network", "/network", "Federation & ledger"),
        ("admin", "/admin", "Administration"))


class CsrfRefused(PermissionDenied):
    """A form came without this session's CSRF token (a stale page, or another site posting it)."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One request's visitor: its session, and the actor it acts as (None: not signed in)."""

    session: Session
    actor: Actor | None
    csrf: str
    who: str
    organization: str
    new_cookie: str | None = None

    @property
    def signed_in(self) -> Actor:
        if self.actor is None:
            raise AuthenticationError("sign in first")
        return self.actor

    @property
    def administers(self) -> bool:
        return self.actor is not None and self.actor.role in (Role.ADMIN, Role.ORG_ADMIN)


Handler = Callable[[Request, Visit], Awaitable[Response]]


class Site:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.renderer = Renderer()
        secret = load_secret(node.settings.session_secret, node.settings.home)
        self.codec = SessionCodec(secret, lifetime_seconds=node.settings.session_hours * 3600)

    # who is visiting
    async def visit(self, request: Request) -> Visit:
        session = self.codec.decode(request.cookies.get(COOKIE))
        fresh = session is None
        if session is None:
            session = Session.fresh()
        actor: Actor | None = None
        who = organization = ""
        if session.signed_in:
            started = session
            try:
                actor = await run_in_threadpool(lambda: self.node.admin.session_actor(
                    user_id=started.user_id, key_id=started.key_id, stamp=started.stamp, token=started.token))
                if not may_use_dashboard(actor).allowed:  # a person made a peer since
                    raise AuthenticationError("this account may not use the dashboard")
            except AuthenticationError:
                session, fresh = session.signed_out(), True
            else:
                who, organization = await run_in_threadpool(self._names, session, actor)
        cookie = self.codec.encode(session) if fresh else None
        return Visit(session, actor, self.codec.csrf_token(session), who, organization, cookie)

    async def end(self, session: Session) -> None:
        """End a signed-in session on the server (signing out): a copy of its cookie is refused from now on, by
        every process of the node (``Admin.end_session``)."""
        if session.signed_in:
            until = self.codec.expires(session) * 1_000_000
            await run_in_threadpool(self.node.admin.end_session, session.token, until)

    def _names(self, session: Session, actor: Actor) -> tuple[str, str]:
        admin = self.node.admin
        if session.user_id is not None:
            try:  # one user by id, not every user of the node on every page
                who = admin.user(session.user_id).username
            except NotFound:
                who = session.user_id
        else:
            who = f"API key {session.key_id}"
        return who, admin.organization_name(actor.org_id) or actor.org_id

    def set_session(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(COOKIE, self.codec.encode(session), max_age=int(self.codec.lifetime), path="/",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")

    # the page chrome
    def chrome(self, visit: Visit, active: str) -> dict[str, Any]:
        me = None if visit.actor is None else {
            "who": visit.who, "organization": visit.organization, "role": visit.actor.role.value}
        nav = [{"name": n, "href": h, "title": t, "current": n == active} for n, h, t in _NAV
               if n != "admin" or visit.administers]
        return {"me": me, "csrf": visit.csrf, "nav": nav if me else [], "active": active}

    def render(self, request: Request, visit: Visit, template: str, view: Mapping[str, Any], *, active: str,
               status: int = 200) -> Response:
        response = self.renderer.page(request, template, view, chrome=self.chrome(visit, active), status=status)
        if visit.new_cookie is not None:
            self.set_session(request, response, visit.session)
        return response

    def error(self, request: Request, visit: Visit, exc: Error) -> Response:
        status = status_of(exc)
        if isinstance(exc, AuthenticationError) and visit.actor is None and request.method == "GET" \
                and not _wants_json(request):
            return self.redirect(request, visit, "/signin?next=" + quote(_local(request), safe=""))
        view = {"title": type(exc).__name__, "description": exc.message, "hint": exc.hint, "status": status}
        return self.render(request, visit, "error.html", view, active="", status=status)

    def redirect(self, request: Request, visit: Visit, location: str, *, session: Session | None = None) -> Response:
        response = secure(RedirectResponse(location, status_code=303))
        if session is not None:
            self.set_session(request, response, session)
        elif visit.new_cookie is not None:
            self.set_session(request, response, visit.session)
        return response

    # handlers
    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            visit = await self.visit(request)
            try:
                return await handler(request, visit)
            except Error as exc:
                return self.error(request, visit, exc)

        return run

    def form(self, handler: Callable[[Request, Visit, FormData], Awaitable[Response]]
             ) -> Callable[[Request], Awaitable[Response]]:
        """A POST handler: the form is read (bounded), and refused unless it carries the session's CSRF token."""
        async def run(request: Request) -> Response:
            visit = await self.visit(request)
            try:
                form = await read_form(request)
                if not self.codec.csrf_valid(visit.session, _field(form, "csrf")):
                    raise CsrfRefused("this form is out of date or did not come from this site",
                                      hint="Reload the page and send the form again.")
                return await handler(request, visit, form)
            except Error as exc:
                return self.error(request, visit, exc)

        return run


async def read_form(request: Request) -> FormData:
    """The form of a POST: ``application/x-www-form-urlencoded`` (what every form of the dashboard sends), at most
    1 MiB, UTF-8."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "" and request.headers.get("content-length", "0") == "0":
        return FormData()  # an empty POST: an empty form (refused for its missing CSRF token)
    if kind != "application/x-www-form-urlencoded":
        raise InvalidParameter("send the form as application/x-www-form-urlencoded",
                               hint="The dashboard's own forms do; reload the page.")
    body = await read_body(request, _MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8", errors="strict"), keep_blank_values=True, max_num_fields=2000,
                          strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidParameter("the form is not UTF-8") from None
    except ValueError as exc:  # too many fields
        raise InvalidParameter(f"the form cannot be read: {exc}") from None
    fields: list[tuple[str, str | UploadFile]] = list(pairs)
    return FormData(fields)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, *, default: str = "") -> str:
    """A text field of a form ('' when absent)."""
    value = form.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be text, not a file")
    return value


def check_page_params(request: Request, allowed: tuple[str, ...], *, repeatable: tuple[str, ...] = ()) -> None:
    """Refuse a parameter the page does not take, or one given twice (but those ``repeatable``); an empty one is
    none (a form's field left blank, or its "any")."""
    for name in request.query_params:
        if name not in allowed:
            raise InvalidParameter(f"unknown parameter {name[:40]!r}: this page takes {', '.join(allowed)}")
        if name not in repeatable and len(request.query_params.getlist(name)) > 1:
            raise InvalidParameter(f"{name} may be given once")


def _wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json"


def _local(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a full URL)."""
    if not target:
        return "/feed"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/feed"
    return target
