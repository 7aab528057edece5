"""HTTP routes of the auth service. Public routes arrive through the gateway under /api/v1; the
internal ones (``/internal/…``) are never routed by the gateway and need the service credential."""

from __future__ import annotations

from aiohttp import web

from pm_auth.http import accounts, jwks, links, provider_tokens, sessions
from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    r = app.router
    r.add_get("/.well-known/jwks.json", jwks.jwks)
    r.add_post("/api/v1/auth/register", accounts.register)
    r.add_post("/api/v1/auth/login", accounts.login)
    r.add_post("/api/v1/auth/refresh", accounts.refresh)
    r.add_post("/api/v1/auth/logout", sessions.logout)
    r.add_get("/api/v1/auth/attempts/{attempt_id}", links.attempt_status)
    r.add_post("/api/v1/auth/{provider}/authorize", links.authorize)
    r.add_get("/api/v1/auth/{provider}/start", links.start)
    r.add_get("/api/v1/auth/{provider}/callback", links.callback)
    r.add_get("/api/v1/me", accounts.me)
    r.add_delete("/api/v1/me", accounts.delete_me)
    r.add_post("/api/v1/me/password", accounts.change_password)
    r.add_get("/api/v1/sessions", sessions.list_sessions)
    r.add_delete("/api/v1/sessions", sessions.revoke_other_sessions)
    r.add_delete("/api/v1/sessions/{session_id}", sessions.revoke_session)
    r.add_get("/api/v1/providers", links.list_links)
    r.add_delete("/api/v1/providers/{provider}", links.unlink)
    r.add_post("/internal/provider-tokens/{user_id}/{provider}", provider_tokens.provider_token)
    r.add_get("/internal/users/{user_id}/providers", links.user_links)
