"""accounts.spotify.com: authorize (consent page) and ``/api/token`` (code + PKCE, refresh, client credentials)."""

from __future__ import annotations

from aiohttp import web

from pm_provider_emulator.domain.oauth import OAuthError, is_loopback_http, parse_basic_auth, with_query
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

HOST = "/accounts.spotify.com"
ACCESS_TTL = 3600
# Refresh tokens die 6 months after consent since 2026 (refreshing does not extend them).
REFRESH_LIFETIME = 182 * 86_400
SCOPES = frozenset(
    {
        "playlist-read-private",
        "playlist-read-collaborative",
        "playlist-modify-public",
        "playlist-modify-private",
        "user-library-read",
        "user-library-modify",
        "user-read-private",
        "user-read-email",
        "ugc-image-upload",
        "user-read-playback-state",
        "user-modify-playback-state",
        "user-read-currently-playing",
        "user-follow-modify",
        "user-follow-read",
        "user-read-recently-played",
        "user-read-playback-position",
        "user-top-read",
        "app-remote-control",
        "streaming",
    }
)


def parse_authorize(e: Emulator, p: dict[str, str]) -> AuthorizeRequest | web.Response:
    client = e.store.client("spotify", p.get("client_id"))
    if client is None:
        return error_page(400, "INVALID_CLIENT: Invalid client")
    redirect_uri = p.get("redirect_uri", "")
    if not redirect_uri or not client.redirect_allowed(redirect_uri):
        return error_page(400, "INVALID_CLIENT: Invalid redirect URI")
    if not is_loopback_http(redirect_uri):
        return error_page(400, "INVALID_CLIENT: Insecure redirect URI")
    state = {"state": p["state"]} if "state" in p else {}
    if p.get("response_type") != "code":
        raise web.HTTPFound(with_query(redirect_uri, {"error": "unsupported_response_type", **state}))
    method = p.get("code_challenge_method")
    if p.get("code_challenge") and method != "S256":  # Spotify supports S256 only
        raise web.HTTPFound(with_query(redirect_uri, {"error": "invalid_request", **state}))
    if not p.get("code_challenge") and client.public:  # a client without a secret has only the PKCE flow
        raise web.HTTPFound(with_query(redirect_uri, {"error": "invalid_request", **state}))
    scopes = tuple(s for s in p.get("scope", "").replace(",", " ").split() if s)
    if any(s not in SCOPES for s in scopes):
        raise web.HTTPFound(with_query(redirect_uri, {"error": "invalid_scope", **state}))
    return AuthorizeRequest(
        provider="spotify",
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=p.get("state"),
        challenge=p.get("code_challenge") or None,
        challenge_method=method,
        params=p,
    )


async def authorize_handler(request: web.Request) -> web.StreamResponse:
    return await authorize(request, "spotify", parse_authorize, {"error": "access_denied"})


async def token_handler(request: web.Request) -> web.Response:
    e = emu(request)
    form = await read_form(request)
    basic = parse_basic_auth(request.headers.get("Authorization"))
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    grant = form.get("grant_type")
    ttl = e.settings.token_ttl or ACCESS_TTL
    try:
        if grant is None:
            raise OAuthError("unsupported_grant_type", "grant_type parameter is missing")
        if grant == "authorization_code":
            client = authenticate_client(e, "spotify", client_id, secret, secret_required=False)
            confidential = secret is not None
            code = redeem_code(
                e,
                "spotify",
                form.get("code"),
                client,
                form.get("redirect_uri"),
                form.get("code_verifier"),
                pkce_required=not confidential,
            )
            access = e.store.issue_access_token("spotify", client.client_id, code.user_id, code.scopes, ttl)
            refresh = e.store.issue_refresh_token(
                "spotify",
                client.client_id,
                code.user_id,
                code.scopes,
                lifetime=REFRESH_LIFETIME,
                rotates=not confidential,
            )
            return json_response(
                {
                    "access_token": access.token,
                    "token_type": "Bearer",
                    "expires_in": ttl,
                    "refresh_token": refresh.token,
                    "scope": " ".join(code.scopes),
                }
            )
        if grant == "refresh_token":
            client = authenticate_client(e, "spotify", client_id, secret, secret_required=False)
            old = e.store.refresh_tokens.get(form.get("refresh_token") or "")
            if old is None or old.provider != "spotify" or old.client_id != client.client_id:
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if old.expires_at is not None and e.clock.now() >= old.expires_at:
                raise OAuthError("invalid_grant", "Refresh token expired")
            access = e.store.issue_access_token("spotify", client.client_id, old.user_id, old.scopes, ttl)
            body: dict[str, object] = {
                "access_token": access.token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": " ".join(old.scopes),
            }
            if old.rotates:  # PKCE refresh tokens rotate: the old one stops working
                del e.store.refresh_tokens[old.token]
                new = e.store.issue_refresh_token(
                    "spotify",
                    client.client_id,
                    old.user_id,
                    old.scopes,
                    lifetime=REFRESH_LIFETIME,
                    rotates=True,
                    consented_at=old.consented_at,
                )
                body["refresh_token"] = new.token
            return json_response(body)
        if grant == "client_credentials":
            client = authenticate_client(e, "spotify", client_id, secret, secret_required=True)
            access = e.store.issue_access_token("spotify", client.client_id, None, (), ttl)
            return json_response({"access_token": access.token, "token_type": "Bearer", "expires_in": ttl})
        raise OAuthError("unsupported_grant_type", f"Unsupported grant type: {grant}")
    except OAuthError as err:
        return errors.spotify_oauth(err.error, err.description, err.status)


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{HOST}/authorize", authorize_handler),
        web.post(f"{HOST}/authorize", authorize_handler),
        web.post(f"{HOST}/api/token", token_handler),
    ]
