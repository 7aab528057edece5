"""Provider linking: starting a link attempt (redirect and polling flows), binding it to the browser
that opens it, completing it on the OAuth callback, the attempt's status, the linked accounts and
unlinking. Tokens go into the vault sealed; the state is single-use.

A link attempt, step by step:

1. :func:`authorize` (the signed-in user) records a pending attempt and answers auth's own start URL;
2. :func:`start_attempt` (the browser opens that URL, once) makes the attempt's single-use state and a
   browser nonce whose cookie the caller sets, and names the provider's consent URL;
3. :func:`complete_link` (the provider sends the browser back) checks the state and the browser's
   cookie, redeems the code, seals the tokens and emits ``provider.linked``.

One provider account is linked to one user at most: an attempt that would link an account another user
has linked fails with ``account_already_linked`` (the unique index of migration 0007 decides, so two
users completing the same account at once cannot both have it); the same user linking it again is fine.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
from loguru import logger

from pm_auth.clients import provider_oauth
from pm_auth.domain import vault
from pm_auth.domain.oauth_clients import OAuthClient, Profile, ProviderResponseError, TokenError, TokenSet
from pm_auth.domain.oauth_flow import (
    ACCOUNT_ALREADY_LINKED,
    STATE_TTL,
    AttemptMode,
    AttemptStatus,
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
from pm_auth.errors import (
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
from pm_auth.resources import AUTH, AuthContext
from pm_auth.settings import AuthSettings
from pm_auth.storage import links as links_sql
from pm_contracts.provider_links import ProviderLinked, ProviderUnlinked
from pm_contracts.providers import PROVIDERS, ProviderName, is_provider
from pm_platform.service import Runtime
from pm_providers.errors import ProviderUnavailable

# Finished attempts stay this long (docs/operations.md: "OAuth callback errors"), then go.
ATTEMPT_RETENTION = timedelta(days=1)


def known_provider(name: str) -> ProviderName:
    """The provider a path names (UnknownProvider for anything else)."""
    if not is_provider(name):
        raise UnknownProvider(f"unknown provider {name[:40]!r}; one of {', '.join(PROVIDERS)}")
    return ProviderName(name)


def oauth_client(auth: AuthContext, provider: ProviderName) -> OAuthClient:
    """The provider's OAuth client (ProviderNotConfigured when this server has none)."""
    client = auth.clients.get(provider)
    if client is None:
        raise ProviderNotConfigured(
            f"{provider} has no OAuth client configured (set {provider.upper()}_CLIENT_ID)"
        )
    return client


def relink_url(settings: AuthSettings, provider: str) -> str:
    """Where a client starts linking again (POST, as for the first link)."""
    return f"{settings.api_base_url}/api/v1/auth/{provider}/authorize"


def _start_url(settings: AuthSettings, provider: str) -> str:
    return f"{settings.api_base_url}/api/v1/auth/{provider}/start"


def _cookie_path(client: OAuthClient) -> str:
    """The binding cookie goes to the callback only (it is set on the API host: the redirect URI's)."""
    return urlsplit(client.redirect_uri).path or "/"


def link_record(user_id: uuid.UUID, provider: str) -> str:
    """The vault record of a link's tokens (the AAD of its data key)."""
    return vault.record_name("provider_links", user_id, provider)


def _attempt_record(attempt_id: uuid.UUID) -> str:
    return vault.record_name("oauth_attempts", attempt_id)


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


def grant_token(ring: vault.KeyRing, link: links_sql.Link) -> str:
    """The token that revokes a link's grant at the provider: its refresh token, else its access token.
    Raises VaultError when the ring cannot open it."""
    data_key = vault.unwrap(ring, link_record(link.user_id, link.provider), link.wrapped)
    if link.refresh_token:
        return data_key.decrypt("refresh_token", link.refresh_token)
    return data_key.decrypt("access_token", link.access_token)


async def revoke_grant(auth: AuthContext, provider: str, token: str) -> None:
    """Best effort: revoke a grant where the provider offers revocation (and is still configured)."""
    client = auth.clients.get(ProviderName(provider)) if is_provider(provider) else None
    if client is not None:
        await provider_oauth.revoke(auth.http, client, token)


@dataclass(frozen=True)
class StartedAttempt:
    attempt_id: uuid.UUID
    authorization_url: str  # auth's start URL, not the provider's (see start_attempt)
    expires_at: datetime
    mode: AttemptMode


async def authorize(
    rt: Runtime, user_id: uuid.UUID, provider: ProviderName, mode: AttemptMode, return_to: str | None
) -> StartedAttempt:
    """A new link attempt of the user; its URL is to be opened by the browser that will consent."""
    auth = rt[AUTH]
    client = oauth_client(auth, provider)
    if return_to is not None and not safe_return_to(return_to, auth.settings.allowed_origins):
        raise InvalidReturnTo(
            errors=[{"field": "return_to", "message": "not an allowed origin", "type": "origin"}]
        )
    now = datetime.now(UTC)
    attempt_id = uuid.uuid4()
    verifier = new_code_verifier() if client.spec.pkce else None
    data_key, wrapped = vault.new_data_key(auth.master.ring, _attempt_record(attempt_id))
    expires_at = now + STATE_TTL
    async with rt.transaction() as conn:
        await links_sql.purge_attempts(conn, user_id, now - ATTEMPT_RETENTION)
        await links_sql.insert_attempt(
            conn,
            attempt_id=attempt_id,
            user_id=user_id,
            provider=provider,
            mode=mode,
            return_to=return_to,
            wrapped=wrapped,
            code_verifier=data_key.encrypt("code_verifier", verifier) if verifier else None,
            now=now,
            expires_at=expires_at,
        )
    # Not the provider's URL: auth's start endpoint, which binds the browser that opens it (a cookie)
    # and only then sends it on to the provider. The callback requires that cookie.
    url = with_query(_start_url(auth.settings, provider), {"attempt": str(attempt_id)})
    return StartedAttempt(attempt_id, url, expires_at, mode)


@dataclass(frozen=True)
class BrowserBinding:
    """Where the start URL sends the browser (the provider's consent page), and the cookie that binds
    the browser to the attempt: HttpOnly, SameSite=Lax, scoped to the callback."""

    consent_url: str
    cookie_name: str
    cookie_value: str
    max_age_s: int
    cookie_path: str
    secure: bool  # on https


async def start_attempt(rt: Runtime, provider: ProviderName, attempt_id: uuid.UUID | None) -> BrowserBinding:
    """Opened once, by the browser that will consent: makes the attempt's single-use state and a browser
    nonce (its SHA-256 stored on the attempt). The callback refuses a browser without that nonce's
    cookie, so a provider URL handed to someone else cannot link their provider account to the
    initiator's user."""
    auth = rt[AUTH]
    client = oauth_client(auth, provider)
    if attempt_id is None:
        raise AttemptNotFound("no such link attempt")
    state, nonce, now = new_state(), new_binding_nonce(), datetime.now(UTC)
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
        data_key = vault.unwrap(auth.master.ring, _attempt_record(attempt.id), attempt.wrapped)
        challenge = code_challenge_s256(data_key.decrypt("code_verifier", attempt.code_verifier))
    return BrowserBinding(
        consent_url=client.authorization_url(state, challenge),
        cookie_name=binding_cookie_name(attempt.id),
        cookie_value=nonce,
        max_age_s=max(1, int((attempt.expires_at - now).total_seconds())),
        cookie_path=_cookie_path(client),
        secure=auth.settings.api_base_url.startswith("https://"),
    )


@dataclass(frozen=True)
class LinkOutcome:
    """How a callback ended, for the browser: sent back to ``return_to`` (redirect mode) or shown a
    page; either way its binding cookie is cleared."""

    attempt_id: uuid.UUID
    provider: str
    mode: str
    return_to: str | None
    linked: bool
    error: str | None  # why it failed (an OAuth error code or auth's own)
    cookie_name: str
    cookie_path: str


async def complete_link(
    rt: Runtime,
    provider: ProviderName,
    *,
    state: str,
    code: str | None,
    error: str | None,
    cookies: Mapping[str, str],
) -> LinkOutcome:
    """The provider sent the browser back with ``code`` and ``state`` (or an error). Problems for what
    cannot be tied to a live attempt of this browser; otherwise the attempt succeeds or fails."""
    auth = rt[AUTH]
    hashed = state_hash(state)
    now = datetime.now(UTC)
    client = oauth_client(auth, provider)
    cookie_path = _cookie_path(client)
    async with rt.pool.acquire() as conn:
        known = await links_sql.attempt_by_state(conn, hashed)
        if known is None or known.provider != provider:
            raise InvalidState("unknown state; start linking again")
        if known.state_used_at is not None:
            raise StateAlreadyUsed("this link attempt was already completed; start again")
        # The browser that brings the code must be the one that opened the start URL (account-linking
        # CSRF). Not consumed on a mismatch: the rightful browser may still complete the attempt.
        if not binding_matches(cookies.get(binding_cookie_name(known.id)), known.binding_hash):
            raise StateNotBound(
                "this link attempt was started in another browser; start linking again from the app"
            )
        attempt = await links_sql.consume_state(conn, provider, hashed, now)
        if attempt is None:
            raise StateAlreadyUsed("this link attempt was already completed; start again")
        if now >= attempt.expires_at:
            await links_sql.finish_attempt(conn, attempt.id, "expired", "state_expired", now)
            raise StateExpired("the link attempt expired (10 minutes); start again")
    if error or not code:
        return await _fail(rt, attempt, (error or "missing_code")[:100], now, cookie_path)
    try:
        verifier = None
        if attempt.code_verifier is not None:
            data_key = vault.unwrap(auth.master.ring, _attempt_record(attempt.id), attempt.wrapped)
            verifier = data_key.decrypt("code_verifier", attempt.code_verifier)
        tokens = await provider_oauth.redeem_code(auth.http, client, code, verifier)
        profile = await provider_oauth.profile(auth.http, client, tokens.access_token)
    except TokenError as exc:
        logger.info("{} refused the authorization code: {}", provider, exc)
        return await _fail(rt, attempt, exc.error, now, cookie_path)
    except (ProviderUnavailable, ProviderResponseError) as exc:
        logger.warning("{} failed during linking: {}", provider, exc)
        return await _fail(rt, attempt, "provider_unavailable", now, cookie_path)
    except vault.VaultError as exc:
        logger.error("cannot open the PKCE verifier of attempt {}: {}", attempt.id, exc)
        return await _fail(rt, attempt, "internal_error", now, cookie_path)

    sealed = seal_tokens(auth.master.ring, attempt.user_id, provider, tokens)
    linked_at = datetime.now(UTC)
    try:
        await _store_link(rt, attempt, provider, profile, tokens, sealed, linked_at)
    except links_sql.AccountAlreadyLinked:
        # Another user has this provider account: refused, and that user is not named. The new grant is
        # not revoked at the provider: some providers revoke the whole grant of the app and the account,
        # the other user's link included. Its tokens are simply not kept.
        logger.info("link attempt {}: the {} account is already linked to another user", attempt.id, provider)
        return await _fail(rt, attempt, ACCOUNT_ALREADY_LINKED, linked_at, cookie_path)
    except asyncpg.ForeignKeyViolationError:
        # The user was deleted while the browser was at the provider: nothing to link to.
        logger.info("link attempt {} completed after its user was deleted", attempt.id)
        raise InvalidState("this link attempt no longer exists; log in and start again") from None
    return _outcome(attempt, True, None, cookie_path)


def _outcome(attempt: links_sql.Attempt, linked: bool, error: str | None, cookie_path: str) -> LinkOutcome:
    return LinkOutcome(
        attempt.id,
        attempt.provider,
        attempt.mode,
        attempt.return_to,
        linked,
        error,
        binding_cookie_name(attempt.id),
        cookie_path,
    )


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
) -> LinkOutcome:
    async with rt.pool.acquire() as conn:
        await links_sql.finish_attempt(conn, attempt.id, "failed", error, now)
    return _outcome(attempt, False, error, cookie_path)


@dataclass(frozen=True)
class AttemptProgress:
    """A link attempt as the polling flow sees it."""

    attempt_id: uuid.UUID
    status: AttemptStatus
    provider: str
    expires_at: datetime
    error: str | None  # set once it failed or expired


async def attempt_progress(rt: Runtime, user_id: uuid.UUID, attempt_id: uuid.UUID | None) -> AttemptProgress:
    """The user's link attempt (AttemptNotFound for anything else): the app polls this until it
    succeeded (or failed, or expired)."""
    attempt = None
    if attempt_id is not None:
        async with rt.pool.acquire() as conn:
            attempt = await links_sql.attempt_by_id(conn, attempt_id, user_id)
    if attempt is None:
        raise AttemptNotFound("no such link attempt")
    status = attempt_status(attempt.status, attempt.expires_at, datetime.now(UTC))
    error = (attempt.error or "state_expired") if status in ("failed", "expired") else None
    return AttemptProgress(attempt.id, status, attempt.provider, attempt.expires_at, error)


@dataclass(frozen=True)
class LinkedAccount:
    provider: str
    account_id: str
    display_name: str | None
    status: str
    scopes: list[str]
    linked_at: datetime
    # Set when the link needs re-consent: where to link again, and why.
    relink_url: str | None
    reason: str | None


async def linked_accounts(rt: Runtime, user_id: uuid.UUID) -> list[LinkedAccount]:
    settings = rt[AUTH].settings
    async with rt.pool.acquire() as conn:
        links = await links_sql.links_of_user(conn, user_id)
    return [
        LinkedAccount(
            link.provider,
            link.account_id,
            link.display_name,
            link.status,
            link.scopes,
            link.linked_at,
            relink_url(settings, link.provider) if link.status == "needs_reconsent" else None,
            link.status_reason if link.status == "needs_reconsent" else None,
        )
        for link in links
    ]


async def unlink(rt: Runtime, user_id: uuid.UUID, provider: ProviderName) -> None:
    """Delete the link's tokens (``provider.unlinked``), then revoke the grant at the provider where it
    offers revocation (best effort)."""
    auth = rt[AUTH]
    now = datetime.now(UTC)
    token: str | None = None
    async with rt.transaction() as conn:
        link = await links_sql.get_link(conn, user_id, provider, for_update=True)
        if link is None:
            raise LinkNotFound(f"no {provider} account is linked")
        try:
            token = grant_token(auth.master.ring, link)
        except vault.VaultError as exc:
            logger.warning("cannot open the {} tokens to revoke them before unlinking: {}", provider, exc)
        await links_sql.delete_link(conn, user_id, provider)
        await rt.emit(
            conn,
            "provider.unlinked",
            str(user_id),
            ProviderUnlinked(
                user_id=user_id,
                provider=provider,
                provider_account_id=link.account_id,
                unlinked_at=now,
            ),
        )
    if token is not None:
        await revoke_grant(auth, provider, token)
