"""login.tidal.com/authorize (consent) and auth.tidal.com/v1/oauth2/token (OAuth 2.1: PKCE required).

Refreshing returns no new refresh token (keep the old one), as TIDAL's SDK documents.
"""

from __future__ import annotations

from aiohttp import web

from pm_provider_emulator.domain.oauth import OAuthError, parse_basic_auth, with_query
from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import emu, json_response, read_form
from pm_provider_emulator.http.context import Emulator
from pm_provider_emulator.http.oauth_flow import (
    AuthorizeRequest,
    authenticate_client,
    authorize,
    error_page,
    redeem_code,
)

ACCESS_TTL = 86_400
SCOPES = frozenset(
    {
        "user.read",
        "collection.read",
        "collection.write",
        "playlists.read",
        "playlists.write",
        "search.read",
        "search.write",
        "recommendations.read",
        "entitlements.read",
        "playback",
    }
)


def parse_authorize(e: Emulator, p: dict[str, str]) -> AuthorizeRequest | web.Response:
    client = e.store.client("tidal", p.get("client_id"))
    if client is None:
        return error_page(400, "Invalid client_id")
    redirect_uri = p.get("redirect_uri", "")
    if not redirect_uri or not client.redirect_allowed(redirect_uri):
        return error_page(400, "Invalid redirect_uri")
    state = {"state": p["state"]} if "state" in p else {}
    if p.get("response_type") != "code":
        raise web.HTTPFound(with_query(redirect_uri, {"error": "unsupported_response_type", **state}))
    if not p.get("code_challenge") or p.get("code_challenge_method") != "S256":
        raise web.HTTPFound(
            with_query(
                redirect_uri,
                {"error": "invalid_request", "error_description": "PKCE (S256) is required", **state},
            )
        )
    scopes = tuple(s for s in p.get("scope", "").split() if s)
    if any(s not in SCOPES for s in scopes):
        raise web.HTTPFound(with_query(redirect_uri, {"error": "invalid_scope", **state}))
    return AuthorizeRequest(
        "tidal", client.client_id, redirect_uri, scopes, p.get("state"), p["code_challenge"], "S256", params=p
    )


async def authorize_handler(request: web.Request) -> web.StreamResponse:
    return await authorize(request, "tidal", parse_authorize, {"error": "access_denied"})


async def token_handler(request: web.Request) -> web.Response:
    e = emu(request)
    form = await read_form(request)
    basic = parse_basic_auth(request.headers.get("Authorization"))
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    grant = form.get("grant_type")
    ttl = e.settings.token_ttl or ACCESS_TTL
    try:
        if grant == "authorization_code":
            client = authenticate_client(e, "tidal", client_id, secret, secret_required=False)
            code = redeem_code(
                e,
                "tidal",
                form.get("code"),
                client,
                form.get("redirect_uri"),
                form.get("code_verifier"),
                pkce_required=True,
            )
            access = e.store.issue_access_token("tidal", client.client_id, code.user_id, code.scopes, ttl)
            refresh = e.store.issue_refresh_token(
                "tidal", client.client_id, code.user_id, code.scopes, lifetime=None, rotates=False
            )
            return json_response(
                {
                    "scope": " ".join(code.scopes),
                    "user_id": int(code.user_id),
                    "token_type": "Bearer",
                    "access_token": access.token,
                    "refresh_token": refresh.token,
                    "expires_in": ttl,
                }
            )
        if grant == "refresh_token":
            client = authenticate_client(e, "tidal", client_id, secret, secret_required=False)
            old = e.store.refresh_tokens.get(form.get("refresh_token") or "")
            if old is None or old.provider != "tidal" or old.client_id != client.client_id:
                raise OAuthError("invalid_grant", "Token could not be verified")
            scopes = tuple(form["scope"].split()) if form.get("scope") else old.scopes
            if any(s not in old.scopes for s in scopes):
                raise OAuthError("invalid_scope", "Requested scope exceeds the granted scope")
            access = e.store.issue_access_token("tidal", client.client_id, old.user_id, scopes, ttl)
            return json_response(
                {
                    "scope": " ".join(scopes),
                    "user_id": int(old.user_id),
                    "token_type": "Bearer",
                    "access_token": access.token,
                    "expires_in": ttl,
                }
            )
        if grant == "client_credentials":
            client = authenticate_client(e, "tidal", client_id, secret, secret_required=True)
            access = e.store.issue_access_token("tidal", client.client_id, None, (), ttl)
            return json_response(
                {"scope": "", "token_type": "Bearer", "access_token": access.token, "expires_in": ttl}
            )
        raise OAuthError("unsupported_grant_type", "Unsupported grant type")
    except OAuthError as err:
        status = 401 if err.error == "invalid_client" else err.status
        return errors.tidal_oauth(err.error, err.description, status, 1002 if status == 401 else 11101)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/login.tidal.com/authorize", authorize_handler),
        web.post("/login.tidal.com/authorize", authorize_handler),
        web.get("/auth.tidal.com/v1/oauth2/authorize", authorize_handler),
        web.post("/auth.tidal.com/v1/oauth2/authorize", authorize_handler),
        web.post("/auth.tidal.com/v1/oauth2/token", token_handler),
    ]
