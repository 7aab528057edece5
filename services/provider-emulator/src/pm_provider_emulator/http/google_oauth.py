"""accounts.google.com (consent) and oauth2.googleapis.com/token for the YouTube Data API.

Codes redeem with client id and secret (and the PKCE verifier when a challenge was sent); a refresh
token is issued only for ``access_type=offline``; refreshing returns no new refresh token. With
``EMULATOR_GOOGLE_APP_TESTING=true`` refresh tokens expire 7 days after consent, as for apps whose
OAuth consent screen is in "Testing".
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

ACCESS_TTL = 3599
TESTING_REFRESH_LIFETIME = 7 * 86_400
YOUTUBE_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/youtube",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/youtube.force-ssl",
        "https://www.googleapis.com/auth/youtubepartner",
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)


def parse_authorize(e: Emulator, p: dict[str, str]) -> AuthorizeRequest | web.Response:
    client = e.store.client("youtube", p.get("client_id"))
    if client is None:
        return error_page(401, "Error 401: invalid_client")
    redirect_uri = p.get("redirect_uri", "")
    if not redirect_uri or not client.redirect_allowed(redirect_uri):
        return error_page(400, "Error 400: redirect_uri_mismatch")
    state = {"state": p["state"]} if "state" in p else {}
    if p.get("response_type") != "code":
        raise web.HTTPFound(with_query(redirect_uri, {"error": "unsupported_response_type", **state}))
    scopes = tuple(s for s in p.get("scope", "").split() if s)
    if not scopes or any(s not in YOUTUBE_SCOPES for s in scopes):
        return error_page(400, "Error 400: invalid_scope")
    method = p.get("code_challenge_method", "plain") if p.get("code_challenge") else None
    return AuthorizeRequest(
        "youtube",
        client.client_id,
        redirect_uri,
        scopes,
        p.get("state"),
        p.get("code_challenge") or None,
        method,
        access_type=p.get("access_type", "online"),
        params=p,
    )


async def authorize_handler(request: web.Request) -> web.StreamResponse:
    return await authorize(request, "youtube", parse_authorize, {"error": "access_denied"})


async def token_handler(request: web.Request) -> web.Response:
    e = emu(request)
    form = await read_form(request)
    basic = parse_basic_auth(request.headers.get("Authorization"))
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    grant = form.get("grant_type")
    ttl = e.settings.token_ttl or ACCESS_TTL
    refresh_lifetime = TESTING_REFRESH_LIFETIME if e.settings.google_app_testing else None
    try:
        if grant == "authorization_code":
            client = authenticate_client(e, "youtube", client_id, secret, secret_required=True)
            if not form.get("redirect_uri"):
                raise OAuthError("invalid_request", "Missing required parameter: redirect_uri")
            code = redeem_code(
                e,
                "youtube",
                form.get("code"),
                client,
                form.get("redirect_uri"),
                form.get("code_verifier"),
                pkce_required=False,
            )
            access = e.store.issue_access_token("youtube", client.client_id, code.user_id, code.scopes, ttl)
            body: dict[str, object] = {
                "access_token": access.token,
                "expires_in": ttl,
                "scope": " ".join(code.scopes),
                "token_type": "Bearer",
            }
            if code.access_type == "offline":
                body["refresh_token"] = e.store.issue_refresh_token(
                    "youtube",
                    client.client_id,
                    code.user_id,
                    code.scopes,
                    lifetime=refresh_lifetime,
                    rotates=False,
                ).token
            return json_response(body)
        if grant == "refresh_token":
            client = authenticate_client(e, "youtube", client_id, secret, secret_required=True)
            old = e.store.refresh_tokens.get(form.get("refresh_token") or "")
            if old is None or old.provider != "youtube" or old.client_id != client.client_id:
                raise OAuthError("invalid_grant", "Bad Request")
            if old.expires_at is not None and e.clock.now() >= old.expires_at:
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            access = e.store.issue_access_token("youtube", client.client_id, old.user_id, old.scopes, ttl)
            return json_response(
                {
                    "access_token": access.token,
                    "expires_in": ttl,
                    "scope": " ".join(old.scopes),
                    "token_type": "Bearer",
                }
            )
        raise OAuthError("unsupported_grant_type", "Invalid grant_type: " + (grant or ""))
    except OAuthError as err:
        if err.error == "invalid_client":
            return errors.google_oauth("invalid_client", "Unauthorized", 401)
        return errors.google_oauth(err.error, err.description, 400)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/accounts.google.com/o/oauth2/v2/auth", authorize_handler),
        web.post("/accounts.google.com/o/oauth2/v2/auth", authorize_handler),
        web.get("/accounts.google.com/o/oauth2/auth", authorize_handler),
        web.post("/accounts.google.com/o/oauth2/auth", authorize_handler),
        web.post("/oauth2.googleapis.com/token", token_handler),
    ]
