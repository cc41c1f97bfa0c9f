"""Signing in and out.

    GET  /signin[?next=/path]   the form: a user name and password, or an API key
    POST /signin                sign in (CSRF-checked like every form); a new session starts
    POST /signout               end the session

A wrong user name, a wrong password and an unknown key get the same answer. Signing in starts a new session
nonce (and so a new CSRF token); ``next`` may only name a path on this site. Signing out (and signing in again
over a signed-in session) ends the session on the server (``Site.end``): a copy of its cookie no longer works.
"""

from __future__ import annotations

__all__ = ["signin_routes"]

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import AuthenticationError
from ...policy import may_use_dashboard, require
from ._session import Session
from ._site import Site, Visit, field, safe_next


def signin_routes(site: Site, *, demo_hint: str = "") -> list[Route]:
    node = site.node

    def view(next_path: str, error: str = "") -> dict[str, Any]:
        return {"node": "Phalanx", "next": next_path, "error": error, "demo": demo_hint}

    async def form(request: Request, visit: Visit) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if visit.actor is not None:
            return site.redirect(request, visit, next_path)
        return site.render(request, visit, "signin.html", view(next_path), active="signin")

    async def sign_in(request: Request, visit: Visit, data: FormData) -> Response:
        next_path = safe_next(field(data, "next"))
        key, username, password = field(data, "key").strip(), field(data, "username").strip(), field(data, "password")
        try:
            if key:
                actor = await run_in_threadpool(node.admin.authenticate, key)
                require(may_use_dashboard(actor))
                session = Session.fresh(key_id=actor.key_id)
            else:
                actor = await run_in_threadpool(node.admin.sign_in, username, password)
                require(may_use_dashboard(actor))
                assert actor.user_id is not None
                stamp = await run_in_threadpool(node.admin.password_stamp, actor.user_id)
                session = Session.fresh(user_id=actor.user_id, stamp=stamp)
        except AuthenticationError as exc:
            return site.render(request, visit, "signin.html", view(next_path, exc.message), active="signin",
                               status=401)
        await site.end(visit.session)
        return site.redirect(request, visit, next_path, session=session)

    async def sign_out(request: Request, visit: Visit, data: FormData) -> Response:
        await site.end(visit.session)
        return site.redirect(request, visit, "/signin", session=visit.session.signed_out())

    return [Route("/signin", site.page(form), methods=["GET"]),
            Route("/signin", site.form(sign_in), methods=["POST"]),
            Route("/signout", site.form(sign_out), methods=["POST"])]
