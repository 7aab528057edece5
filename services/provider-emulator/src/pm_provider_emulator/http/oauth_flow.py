"""The authorization-code flow shared by the four authorization servers.

Each provider module parses its own authorize and token requests and renders its own errors; this
module holds the common steps: the consent page (a plain HTML form a browser or a test can submit),
issuing single-use codes, and checking code, client, redirect URI and PKCE verifier at exchange.

PKCE is checked as RFC 9700 (OAuth 2.0 Security BCP) §2.1.1 and §4.8 require: a code issued with a
``code_challenge`` redeems only with the matching ``code_verifier``, and a ``code_verifier`` for a code
issued without a challenge is a PKCE downgrade, refused with ``invalid_grant``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from pm_provider_emulator.domain.oauth import AuthCode, Client, OAuthError, verify_pkce, with_query
from pm_provider_emulator.http.common import emu, read_form
from pm_provider_emulator.http.context import Emulator

CODE_TTL_S = 600.0
PKCE_DOWNGRADE = "code_verifier sent, but the authorization request had no code_challenge"


@dataclass(slots=True)
class AuthorizeRequest:
    provider: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    challenge: str | None
    challenge_method: str | None
    access_type: str = "online"
    params: dict[str, str] = field(default_factory=dict)


# parse(params) -> AuthorizeRequest, or a response for invalid requests (error page or redirect)
Parser = Callable[[Emulator, dict[str, str]], "AuthorizeRequest | web.Response"]


def error_page(status: int, message: str) -> web.Response:
    body = f"<!doctype html><html><head><title>Error</title></head><body><h1>{html.escape(message)}</h1></body></html>"
    return web.Response(status=status, text=body, content_type="text/html")


def consent_page(e: Emulator, req: AuthorizeRequest, action: str) -> web.Response:
    users = list(e.store.users[req.provider].values())
    options = "".join(
        f'<option value="{html.escape(u.id)}">{html.escape(u.name)} ({html.escape(u.id)})</option>'
        for u in users
        if u.id != "spotify"
    )
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in sorted(req.params.items())
    )
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in req.scopes)
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Emulated {req.provider} login</title></head>
<body>
<h1>Emulated {html.escape(req.provider.title())}: allow access?</h1>
<p>Client <code>{html.escape(req.client_id)}</code> asks for:</p><ul id="scopes">{scopes}</ul>
<form id="consent" method="post" action="{html.escape(action)}">
{hidden}
<label>Sign in as <select name="emulator_user">{options}<option value="new">a new empty user</option></select></label>
<button type="submit" name="emulator_decision" value="approve">Agree</button>
<button type="submit" name="emulator_decision" value="deny">Cancel</button>
</form>
</body></html>"""
    return web.Response(text=body, content_type="text/html")


async def authorize(
    request: web.Request, provider: str, parse: Parser, deny: dict[str, str]
) -> web.StreamResponse:
    """GET renders the consent form; POST (the form) redirects with a code or the denial params."""
    e = emu(request)
    if request.method == "GET":
        params = dict(request.query)
        parsed = parse(e, params)
        if isinstance(parsed, web.Response):
            return parsed
        return consent_page(e, parsed, request.path)
    form = await read_form(request)
    params = {k: v for k, v in form.items() if not k.startswith("emulator_")}
    params.update({k: v for k, v in request.query.items() if k not in params})
    parsed = parse(e, params)
    if isinstance(parsed, web.Response):
        return parsed
    state = {"state": parsed.state} if parsed.state is not None else {}
    if form.get("emulator_decision", "approve") != "approve":
        raise web.HTTPFound(with_query(parsed.redirect_uri, {**deny, **state}))
    user_id = form.get("emulator_user") or ""
    if user_id == "new" or user_id not in e.store.users[provider]:
        if user_id not in ("", "new"):
            return error_page(400, f"unknown {provider} user {user_id}")
        user_id = e.store.create_user(provider).id
    code = AuthCode(
        code=e.store.ids.token("code-"),
        provider=provider,
        client_id=parsed.client_id,
        redirect_uri=parsed.redirect_uri,
        scopes=parsed.scopes,
        user_id=user_id,
        challenge=parsed.challenge,
        challenge_method=parsed.challenge_method,
        expires_at=e.clock.now() + CODE_TTL_S,
        access_type=parsed.access_type,
    )
    e.store.issue_code(code)
    raise web.HTTPFound(with_query(parsed.redirect_uri, {"code": code.code, **state}))


def authenticate_client(
    e: Emulator, provider: str, client_id: str | None, secret: str | None, *, secret_required: bool
) -> Client:
    client = e.store.client(provider, client_id)
    if client is None:
        raise OAuthError("invalid_client", "Invalid client", 400)
    if secret is not None and secret != client.client_secret:
        raise OAuthError("invalid_client", "Invalid client secret", 400)
    if secret is None and secret_required:
        raise OAuthError("invalid_client", "Invalid client secret", 400)
    return client


def redeem_code(
    e: Emulator,
    provider: str,
    code_value: str | None,
    client: Client,
    redirect_uri: str | None,
    verifier: str | None,
    *,
    pkce_required: bool,
) -> AuthCode:
    """Check and consume a code. Raises :class:`OAuthError` (``invalid_grant`` …) on any mismatch."""
    verifier = verifier or None  # RFC 6749 §3.2: a parameter sent without a value counts as omitted
    code = e.store.codes.get(code_value or "")
    if code is None or code.provider != provider:
        raise OAuthError("invalid_grant", "Invalid authorization code")
    if code.used:
        raise OAuthError("invalid_grant", "Invalid authorization code")
    code.used = True  # a code is single-use even when this exchange fails
    if e.clock.now() > code.expires_at:
        raise OAuthError("invalid_grant", "Authorization code expired")
    if code.client_id != client.client_id:
        raise OAuthError("invalid_grant", "Invalid authorization code")
    if redirect_uri is not None and redirect_uri != code.redirect_uri:
        raise OAuthError("invalid_grant", "Invalid redirect URI")
    if code.challenge is None and verifier is not None:
        raise OAuthError("invalid_grant", PKCE_DOWNGRADE)
    if pkce_required and code.challenge is None:
        raise OAuthError("invalid_request", "code_challenge required")
    if code.challenge is not None and not verify_pkce(verifier, code.challenge, code.challenge_method):
        raise OAuthError("invalid_grant", "code_verifier was incorrect")
    return code
