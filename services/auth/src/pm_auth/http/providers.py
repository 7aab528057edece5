"""Provider linking: authorize (redirect and polling flows), the OAuth callback, attempt status, the
linked-accounts list and unlinking. Tokens go into the vault sealed; the state is single-use."""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web
from loguru import logger

from pm_auth.context import AuthContext
from pm_auth.domain import vault
from pm_auth.domain.oauth_clients import (
    OAuthClient,
    Profile,
    ProviderName,
    ProviderResponseError,
    TokenError,
    TokenSet,
    is_provider,
)
from pm_auth.domain.oauth_flow import (
    STATE_TTL,
    attempt_status,
    binding_cookie_name,
    binding_hash,
    binding_matches,
    code_challenge_s256,
    new_binding_nonce,
    new_code_verifier,
    new_state,
    safe_return_to,
    state_hash,
    with_query,
)
from pm_auth.http.common import context, iso, json_answer, now_utc, parse_uuid, require_user, runtime
from pm_auth.http.models import MAX_BODY_BYTES, AuthorizeBody
from pm_auth.http.problems import (
    AttemptAlreadyStarted,
    AttemptNotFound,
    InvalidReturnTo,
    InvalidState,
    LinkNotFound,
    ProviderNotConfigured,
    StateAlreadyUsed,
    StateExpired,
    StateNotBound,
    UnknownProvider,
)
from pm_auth.storage import links as links_sql
from pm_auth.storage import provider_oauth
from pm_contracts.provider_links import ProviderLinked, ProviderUnlinked
from pm_platform.http import read_json
from pm_platform.service import Runtime

# Finished attempts stay this long (docs/operations.md: "OAuth callback errors"), then go.
ATTEMPT_RETENTION = timedelta(days=1)


def link_record(user_id: uuid.UUID, provider: str) -> str:
    return vault.record_name("provider_links", user_id, provider)


@dataclass(frozen=True)
class SealedTokens:
    """A provider's tokens as the link row stores them."""

    wrapped: vault.WrappedKey
    access_token: bytes
    refresh_token: bytes | None


def seal_tokens(ring: vault.KeyRing, user_id: uuid.UUID, provider: str, tokens: TokenSet) -> SealedTokens:
    """Encrypt a link's tokens under a new data key, wrapped by the current master key."""
    data_key, wrapped = vault.new_data_key(ring, link_record(user_id, provider))
    return SealedTokens(
        wrapped,
        data_key.encrypt("access_token", tokens.access_token),
        data_key.encrypt("refresh_token", tokens.refresh_token) if tokens.refresh_token else None,
    )


def attempt_record(attempt_id: uuid.UUID) -> str:
    return vault.record_name("oauth_attempts", attempt_id)


def relink_url(ctx: AuthContext, provider: str) -> str:
    """Where a client starts linking again (POST, as for the first link)."""
    return f"{ctx.settings.api_base_url}/api/v1/auth/{provider}/authorize"


def start_url(ctx: AuthContext, provider: str) -> str:
    return f"{ctx.settings.api_base_url}/api/v1/auth/{provider}/start"


def _cookie_path(client: OAuthClient) -> str:
    """The binding cookie goes to the callback only (it is set on the API host: the redirect URI's)."""
    return urlsplit(client.redirect_uri).path or "/"


def provider_from(request: web.Request) -> ProviderName:
    name = request.match_info["provider"]
    if not is_provider(name):
        raise UnknownProvider(f"unknown provider {name[:40]!r}; one of spotify, deezer, tidal, youtube")
    return name  # type: ignore[return-value]


def client_for(ctx: AuthContext, provider: ProviderName) -> OAuthClient:
    client = ctx.clients.get(provider)
    if client is None:
        raise ProviderNotConfigured(
            f"{provider} has no OAuth client configured (set {provider.upper()}_CLIENT_ID)"
        )
    return client


async def authorize(request: web.Request) -> web.Response:
    identity = await require_user(request)
    provider = provider_from(request)
    body = await read_json(request, AuthorizeBody, MAX_BODY_BYTES)
    rt, ctx = runtime(request), context(request)
    client = client_for(ctx, provider)
    if body.return_to is not None and not safe_return_to(body.return_to, ctx.settings.allowed_origins):
        raise InvalidReturnTo(
            errors=[{"field": "return_to", "message": "not an allowed origin", "type": "origin"}]
        )
    now = now_utc()
    attempt_id = uuid.uuid4()
    verifier = new_code_verifier() if client.spec.pkce else None
    data_key, wrapped = vault.new_data_key(ctx.master.ring, attempt_record(attempt_id))
    expires_at = now + STATE_TTL
    async with rt.transaction() as conn:
        await links_sql.purge_attempts(conn, identity.user_id, now - ATTEMPT_RETENTION)
        await links_sql.insert_attempt(
            conn,
            attempt_id=attempt_id,
            user_id=identity.user_id,
            provider=provider,
            mode=body.mode,
            return_to=body.return_to,
            wrapped=wrapped,
            code_verifier=data_key.encrypt("code_verifier", verifier) if verifier else None,
            now=now,
            expires_at=expires_at,
        )
    # Not the provider's URL: auth's start endpoint, which binds the browser that opens it (a cookie)
    # and only then sends it on to the provider. The callback requires that cookie.
    url = with_query(start_url(ctx, provider), {"attempt": str(attempt_id)})
    return json_answer(
        {
            "attempt_id": str(attempt_id),
            "authorization_url": url,
            "expires_at": iso(expires_at),
            "mode": body.mode,
        }
    )


async def start(request: web.Request) -> web.StreamResponse:
    """The link attempt's ``authorization_url``: opened once, by the browser that will consent.

    Makes the attempt's single-use state and a browser nonce, sets the nonce as an HttpOnly,
    SameSite=Lax cookie (Secure on https) scoped to the callback, stores its SHA-256 on the attempt and
    redirects to the provider. The callback refuses a browser without that cookie, so a provider URL
    handed to someone else cannot link their provider account to the initiator's user.
    """
    provider = provider_from(request)
    rt, ctx = runtime(request), context(request)
    client = client_for(ctx, provider)
    attempt_id = parse_uuid(request.query.get("attempt", "")[:64])
    if attempt_id is None:
        raise AttemptNotFound("no such link attempt")
    state, nonce, now = new_state(), new_binding_nonce(), now_utc()
    known: links_sql.Attempt | None = None
    async with rt.pool.acquire() as conn:
        attempt = await links_sql.start_attempt(
            conn, attempt_id, provider, state_hash(state), binding_hash(nonce), now
        )
        if attempt is None:
            known = await links_sql.attempt_by_id_any_user(conn, attempt_id)
    if attempt is None:
        if known is None or known.provider != provider:
            raise AttemptNotFound("no such link attempt")
        if known.started_at is not None:
            raise AttemptAlreadyStarted("this link attempt was already opened in a browser; start again")
        if now >= known.expires_at:
            raise StateExpired("the link attempt expired (10 minutes); start again")
        raise AttemptAlreadyStarted("this link attempt is finished; start again")
    challenge = None
    if attempt.code_verifier is not None:
        data_key = vault.unwrap(ctx.master.ring, attempt_record(attempt.id), attempt.wrapped)
        challenge = code_challenge_s256(data_key.decrypt("code_verifier", attempt.code_verifier))
    response = web.HTTPFound(
        client.authorization_url(state, challenge), headers={"Cache-Control": "no-store"}
    )
    response.set_cookie(
        binding_cookie_name(attempt.id),
        nonce,
        max_age=max(1, int((attempt.expires_at - now).total_seconds())),
        path=_cookie_path(client),
        httponly=True,
        secure=ctx.settings.api_base_url.startswith("https://"),
        samesite="Lax",
    )
    raise response


def _page(title: str, message: str, status: int) -> web.Response:
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Playlist Manager</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
    )


def _finish_response(
    attempt: links_sql.Attempt, ok: bool, error: str | None, cookie_path: str
) -> web.StreamResponse:
    response: web.StreamResponse
    if attempt.mode == "redirect" and attempt.return_to:
        params = {
            "provider": attempt.provider,
            "attempt_id": str(attempt.id),
            "status": "succeeded" if ok else "failed",
        }
        if error:
            params["error"] = error
        found = web.HTTPFound(with_query(attempt.return_to, params), headers={"Cache-Control": "no-store"})
        found.del_cookie(binding_cookie_name(attempt.id), path=cookie_path)
        raise found
    if ok:
        response = _page("Account linked", "You can close this window and return to Playlist Manager.", 200)
    else:
        response = _page(
            "Linking failed", f"The provider did not link the account ({error}). Try again.", 400
        )
    response.del_cookie(binding_cookie_name(attempt.id), path=cookie_path)
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """The provider sends the browser here with ``code`` and ``state`` (or an error)."""
    provider = provider_from(request)
    rt, ctx = runtime(request), context(request)
    state = request.query.get("state", "")
    if not state or len(state) > 200:
        raise InvalidState("the callback has no valid state parameter")
    hashed = state_hash(state)
    now = now_utc()
    client = client_for(ctx, provider)
    cookie_path = _cookie_path(client)
    async with rt.pool.acquire() as conn:
        known = await links_sql.attempt_by_state(conn, hashed)
        if known is None or known.provider != provider:
            raise InvalidState("unknown state; start linking again")
        if known.state_used_at is not None:
            raise StateAlreadyUsed("this link attempt was already completed; start again")
        # The browser that brings the code must be the one that opened the start URL (account-linking
        # CSRF). Not consumed on a mismatch: the rightful browser may still complete the attempt.
        if not binding_matches(request.cookies.get(binding_cookie_name(known.id)), known.binding_hash):
            raise StateNotBound(
                "this link attempt was started in another browser; start linking again from the app"
            )
        attempt = await links_sql.consume_state(conn, provider, hashed, now)
        if attempt is None:
            raise StateAlreadyUsed("this link attempt was already completed; start again")
        if now >= attempt.expires_at:
            await links_sql.finish_attempt(conn, attempt.id, "expired", "state_expired", now)
            raise StateExpired("the link attempt expired (10 minutes); start again")
    error = request.query.get("error") or request.query.get("error_reason")
    code = request.query.get("code")
    if error or not code:
        return await _fail(rt, attempt, (error or "missing_code")[:100], now, cookie_path)
    assert ctx.http is not None
    try:
        verifier = None
        if attempt.code_verifier is not None:
            data_key = vault.unwrap(ctx.master.ring, attempt_record(attempt.id), attempt.wrapped)
            verifier = data_key.decrypt("code_verifier", attempt.code_verifier)
        tokens = await provider_oauth.redeem_code(ctx.http, client, code, verifier)
        profile = await provider_oauth.profile(ctx.http, client, tokens.access_token)
    except TokenError as exc:
        logger.info("{} refused the authorization code: {}", provider, exc)
        return await _fail(rt, attempt, exc.error, now, cookie_path)
    except (provider_oauth.ProviderUnavailable, ProviderResponseError) as exc:
        logger.warning("{} failed during linking: {}", provider, exc)
        return await _fail(rt, attempt, "provider_unavailable", now, cookie_path)
    except vault.VaultError as exc:
        logger.error("cannot open the PKCE verifier of attempt {}: {}", attempt.id, exc)
        return await _fail(rt, attempt, "internal_error", now, cookie_path)

    sealed = seal_tokens(ctx.master.ring, attempt.user_id, provider, tokens)
    linked_at = now_utc()
    try:
        await _store_link(rt, attempt, provider, profile, tokens, sealed, linked_at)
    except asyncpg.ForeignKeyViolationError:
        # The user was deleted while the browser was at the provider: nothing to link to.
        logger.info("link attempt {} completed after its user was deleted", attempt.id)
        raise InvalidState("this link attempt no longer exists; log in and start again") from None
    return _finish_response(attempt, True, None, cookie_path)


async def _store_link(
    rt: Runtime,
    attempt: links_sql.Attempt,
    provider: ProviderName,
    profile: Profile,
    tokens: TokenSet,
    sealed: SealedTokens,
    linked_at: datetime,
) -> None:
    async with rt.transaction() as conn:
        await links_sql.upsert_link(
            conn,
            user_id=attempt.user_id,
            provider=provider,
            account_id=profile.account_id,
            display_name=profile.display_name,
            scopes=list(tokens.scopes),
            wrapped=sealed.wrapped,
            access_token=sealed.access_token,
            refresh_token=sealed.refresh_token,
            access_expires_at=tokens.expires_at,
            now=linked_at,
        )
        await links_sql.finish_attempt(conn, attempt.id, "succeeded", None, linked_at)
        await rt.emit(
            conn,
            "provider.linked",
            str(attempt.user_id),
            ProviderLinked(
                user_id=attempt.user_id,
                provider=provider,
                provider_account_id=profile.account_id,
                display_name=(profile.display_name or "")[:500] or None,
                scopes=list(tokens.scopes),
                linked_at=linked_at,
            ),
        )


async def _fail(
    rt: Runtime, attempt: links_sql.Attempt, error: str, now: datetime, cookie_path: str
) -> web.StreamResponse:
    async with rt.pool.acquire() as conn:
        await links_sql.finish_attempt(conn, attempt.id, "failed", error, now)
    return _finish_response(attempt, False, error, cookie_path)


async def attempt_status_handler(request: web.Request) -> web.Response:
    """The polling flow: the app polls this until the attempt succeeded (or failed, or expired)."""
    identity = await require_user(request)
    attempt_id = parse_uuid(request.match_info["attempt_id"])
    attempt = None
    if attempt_id is not None:
        async with runtime(request).pool.acquire() as conn:
            attempt = await links_sql.attempt_by_id(conn, attempt_id, identity.user_id)
    if attempt is None:
        raise AttemptNotFound("no such link attempt")
    status = attempt_status(attempt.status, attempt.expires_at, now_utc())
    answer: dict[str, str | None] = {
        "attempt_id": str(attempt.id),
        "status": status,
        "provider": attempt.provider,
        "expires_at": iso(attempt.expires_at),
    }
    if status in ("failed", "expired"):
        answer["error"] = attempt.error or "state_expired"
    return json_answer(answer)


async def list_links(request: web.Request) -> web.Response:
    identity = await require_user(request)
    ctx = context(request)
    async with runtime(request).pool.acquire() as conn:
        links = await links_sql.links_of_user(conn, identity.user_id)
    answer = []
    for link in links:
        item: dict[str, object] = {
            "provider": link.provider,
            "account_id": link.account_id,
            "display_name": link.display_name,
            "status": link.status,
            "scopes": link.scopes,
            "linked_at": iso(link.linked_at),
        }
        if link.status == "needs_reconsent":
            item["relink_url"] = relink_url(ctx, link.provider)
            item["reason"] = link.status_reason
        answer.append(item)
    return json_answer({"links": answer})


async def unlink(request: web.Request) -> web.Response:
    """Revoke at the provider where it offers revocation (best effort), then delete the tokens."""
    identity = await require_user(request)
    provider = provider_from(request)
    rt, ctx = runtime(request), context(request)
    now = now_utc()
    token: str | None = None
    async with rt.transaction() as conn:
        link = await links_sql.get_link(conn, identity.user_id, provider, for_update=True)
        if link is None:
            raise LinkNotFound(f"no {provider} account is linked")
        try:
            data_key = vault.unwrap(ctx.master.ring, link_record(identity.user_id, provider), link.wrapped)
            sealed, column = (
                (link.refresh_token, "refresh_token")
                if link.refresh_token
                else (link.access_token, "access_token")
            )
            token = data_key.decrypt(column, sealed)
        except vault.VaultError as exc:
            logger.warning("cannot open the {} tokens to revoke them before unlinking: {}", provider, exc)
        await links_sql.delete_link(conn, identity.user_id, provider)
        await rt.emit(
            conn,
            "provider.unlinked",
            str(identity.user_id),
            ProviderUnlinked(
                user_id=identity.user_id,
                provider=provider,
                provider_account_id=link.account_id,
                unlinked_at=now,
            ),
        )
    client = ctx.clients.get(provider)
    if token is not None and client is not None and ctx.http is not None:
        await provider_oauth.revoke(ctx.http, client, token)
    return web.Response(status=204)
