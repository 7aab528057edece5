"""HTTP routes of the auth service. Public routes arrive through the gateway under /api/v1; the
internal ones (``/internal/…``) are never routed by the gateway and need the service credential."""

from __future__ import annotations

from aiohttp import web

from pm_auth.http import accounts, internal, providers
from pm_auth.http.common import context
from pm_platform.service import Runtime


async def jwks(request: web.Request) -> web.Response:
    ctx = context(request)
    keys = []
    if ctx.settings.jws_alg == "EdDSA":
        assert ctx.signing is not None
        keys = [k.jwk() for k in await ctx.signing.published()]
    return web.json_response({"keys": keys}, headers={"Cache-Control": "public, max-age=60"})


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_get("/.well-known/jwks.json", jwks)
    r.add_post("/api/v1/auth/register", accounts.register)
    r.add_post("/api/v1/auth/login", accounts.login)
    r.add_post("/api/v1/auth/refresh", accounts.refresh)
    r.add_post("/api/v1/auth/logout", accounts.logout)
    r.add_get("/api/v1/auth/attempts/{attempt_id}", providers.attempt_status_handler)
    r.add_post("/api/v1/auth/{provider}/authorize", providers.authorize)
    r.add_get("/api/v1/auth/{provider}/start", providers.start)
    r.add_get("/api/v1/auth/{provider}/callback", providers.callback)
    r.add_get("/api/v1/me", accounts.me)
    r.add_delete("/api/v1/me", accounts.delete_me)
    r.add_post("/api/v1/me/password", accounts.change_password)
    r.add_get("/api/v1/sessions", accounts.list_sessions)
    r.add_delete("/api/v1/sessions", accounts.revoke_other_sessions)
    r.add_delete("/api/v1/sessions/{session_id}", accounts.revoke_session)
    r.add_get("/api/v1/providers", providers.list_links)
    r.add_delete("/api/v1/providers/{provider}", providers.unlink)
    r.add_post("/internal/provider-tokens/{user_id}/{provider}", internal.provider_token)
