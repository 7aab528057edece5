"""connect.deezer.com: ``/oauth/auth.php`` (consent) and ``/oauth/access_token.php`` (no PKCE, no refresh)."""

from __future__ import annotations

from aiohttp import web

from pm_provider_emulator.domain.oauth import OAuthError
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

HOST = "/connect.deezer.com"
ACCESS_TTL = 3600
PERMS = frozenset(
    {
        "basic_access",
        "email",
        "offline_access",
        "manage_library",
        "delete_library",
        "manage_community",
        "listening_history",
    }
)


def parse_authorize(e: Emulator, p: dict[str, str]) -> AuthorizeRequest | web.Response:
    client = e.store.client("deezer", p.get("app_id"))
    if client is None:
        return error_page(400, "Wrong app_id")
    redirect_uri = p.get("redirect_uri", "")
    if not redirect_uri or not client.redirect_allowed(redirect_uri):
        return error_page(400, "Wrong redirect_uri")
    perms = tuple(x for x in p.get("perms", "basic_access").replace(" ", ",").split(",") if x)
    if any(x not in PERMS for x in perms):
        return error_page(400, "Wrong perms")
    if "basic_access" not in perms:
        perms = ("basic_access", *perms)
    return AuthorizeRequest(
        "deezer", client.client_id, redirect_uri, perms, p.get("state"), None, None, params=p
    )


async def authorize_handler(request: web.Request) -> web.StreamResponse:
    return await authorize(request, "deezer", parse_authorize, {"error_reason": "user_denied"})


async def access_token_handler(request: web.Request) -> web.Response:
    e = emu(request)
    params = {**(await read_form(request)), **request.query}
    as_json = params.get("output") == "json"
    try:
        client = authenticate_client(
            e, "deezer", params.get("app_id"), params.get("secret"), secret_required=True
        )
    except OAuthError:
        return (
            errors.deezer(300, "Invalid OAuth access token.")
            if as_json
            else web.Response(text="wrong app_id or secret")
        )
    try:
        code = redeem_code(e, "deezer", params.get("code"), client, None, None, pkce_required=False)
    except OAuthError:
        return web.Response(text="wrong code")
    offline = "offline_access" in code.scopes
    ttl = None if offline else (e.settings.token_ttl or ACCESS_TTL)
    token = e.store.issue_access_token("deezer", client.client_id, code.user_id, code.scopes, ttl)
    expires = 0 if ttl is None else ttl
    if as_json:
        return json_response({"access_token": token.token, "expires": expires})
    return web.Response(text=f"access_token={token.token}&expires={expires}")


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{HOST}/oauth/auth.php", authorize_handler),
        web.post(f"{HOST}/oauth/auth.php", authorize_handler),
        web.get(f"{HOST}/oauth/access_token.php", access_token_handler),
        web.post(f"{HOST}/oauth/access_token.php", access_token_handler),
    ]
