"""Provider access tokens for the other services (the internal token endpoint): the user's current
token at a provider, refreshed first when it needs it (domain/provider_tokens.py says when). No other
service ever sees a refresh token.

The refresh happens once for any number of concurrent callers:

- callers in this process share one refresh task;
- across replicas, a short transaction claims the refresh on the link row (``refresh_claim``, lapsing
  after the claim TTL so a crashed replica blocks no one); the provider is then called with no
  transaction open and no row lock held; the new tokens are stored only if the claim still holds or,
  should it have lapsed, the row still holds the tokens the refresh started from (compare-and-set: a
  re-link, an unlink or a newer refresh meanwhile wins, and this refresh's result is dropped); a
  refusal marks the link only under the same two conditions (a refusal of a refresh token that a
  lapsed refresh already rotated says nothing about the link);
- a replica that finds a live claim does not call the provider: it re-reads the row until the claim
  is gone (the other's result is stored), for at most the provider timeout plus a moment, then
  answers 503 with ``Retry-After``.

A refresh the provider refuses (``invalid_grant``), or a dead token that cannot be refreshed, marks the
link 'needs re-consent' and emits ``provider.reconsent_required`` in the same transaction
(ReconsentRequired, 409). A provider that cannot be reached is a 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
from loguru import logger

from pm_auth.clients import provider_oauth
from pm_auth.domain import vault
from pm_auth.domain.oauth_clients import OAuthClient, TokenError, TokenSet
from pm_auth.domain.provider_tokens import AccessToken, claim_ttl, claim_wait_s, is_rejected, needs_refresh
from pm_auth.errors import LinkNotFound, ReconsentRequired
from pm_auth.resources import AUTH, AuthContext
from pm_auth.storage import links as links_sql
from pm_auth.usecases.links import link_record, oauth_client, relink_url, seal_tokens
from pm_contracts.provider_links import ProviderReconsentRequired
from pm_contracts.providers import ProviderName
from pm_platform.errors import ServiceUnavailable, UpstreamFailed
from pm_platform.retry import Backoff
from pm_platform.service import Runtime
from pm_providers.errors import ProviderUnavailable

RETRY_AFTER_S = "5"


def _reconsent(auth: AuthContext, link: links_sql.Link) -> ReconsentRequired:
    return ReconsentRequired(
        f"{link.provider} refused to refresh the token ({link.status_reason or 'needs re-consent'}); link again",
        provider=link.provider,
        account_id=link.account_id,
        relink_url=relink_url(auth.settings, link.provider),
    )


def _open_access(auth: AuthContext, link: links_sql.Link) -> AccessToken:
    data_key = vault.unwrap(auth.master.ring, link_record(link.user_id, link.provider), link.wrapped)
    return AccessToken(
        data_key.decrypt("access_token", link.access_token), link.access_expires_at, link.account_id
    )


def _unavailable(provider: str, why: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"{provider} {why}; try again", headers={"Retry-After": RETRY_AFTER_S})


async def provider_access_token(
    rt: Runtime, user_id: uuid.UUID, provider: ProviderName, *, rejected_sha256: str | None = None
) -> AccessToken:
    """The user's current access token at ``provider``, refreshed first when near expiry or when it is
    the token named by ``rejected_sha256``. May wait for a refresh (the provider's, or another
    replica's); raises LinkNotFound, ReconsentRequired, ServiceUnavailable or UpstreamFailed."""
    auth = rt[AUTH]
    async with rt.pool.acquire() as conn:
        link = await links_sql.get_link(conn, user_id, provider)
    if link is None:
        raise LinkNotFound(f"the user has no linked {provider} account")
    if link.status == "needs_reconsent":
        raise _reconsent(auth, link)
    current = _open_access(auth, link)
    if not needs_refresh(current, datetime.now(UTC), rejected_sha256):
        return current
    key = (str(user_id), provider)
    task = auth.inflight.get(key)
    if task is None:
        task = asyncio.create_task(
            _refresh(rt, auth, user_id, provider, rejected_sha256), name=f"refresh-{provider}"
        )
        auth.inflight[key] = task
        task.add_done_callback(lambda _: auth.inflight.pop(key, None))
    # shield: a caller that gives up does not cancel the refresh the others wait for.
    result: AccessToken = await asyncio.shield(task)
    return result


async def _refresh(
    rt: Runtime, auth: AuthContext, user_id: uuid.UUID, provider: ProviderName, rejected_sha256: str | None
) -> AccessToken:
    """Refresh once across replicas: claim, call the provider outside any transaction, compare-and-set.
    While another replica's claim is live (or after ours was lost), wait and re-read, within a bound."""
    client = oauth_client(auth, provider)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + claim_wait_s(auth.settings.provider_timeout_s)
    # Re-reads come quickly at first, then every half second; replicas waiting for the same claim do
    # not re-read in step (jitter).
    backoff = Backoff(initial_s=0.05, max_s=0.5)
    while True:
        token = await _refresh_attempt(rt, auth, client, user_id, provider, rejected_sha256)
        if token is not None:
            return token
        if loop.time() >= give_up:
            raise _unavailable(provider, "token refresh is still in progress elsewhere")
        await backoff.sleep()


async def _refresh_attempt(
    rt: Runtime,
    auth: AuthContext,
    client: OAuthClient,
    user_id: uuid.UUID,
    provider: ProviderName,
    rejected_sha256: str | None,
) -> AccessToken | None:
    """One try: the token (the stored one if it needs no refresh any more, else a new one), or None
    when another refresh holds the claim or ours was lost (the caller waits and tries again)."""
    claim = uuid.uuid4()
    async with rt.transaction() as conn:  # short: no I/O but the database while the row is locked
        locked = await links_sql.lock_for_refresh(conn, user_id, provider)
        if locked is None:
            raise LinkNotFound(f"the user has no linked {provider} account")
        link, claimed_elsewhere = locked
        if link.status == "needs_reconsent":
            raise _reconsent(auth, link)
        current = _open_access(auth, link)
        if not needs_refresh(current, datetime.now(UTC), rejected_sha256):
            return current  # refreshed meanwhile (here or by another replica)
        if claimed_elsewhere:
            return None
        await links_sql.claim_refresh(
            conn, user_id, provider, claim, claim_ttl(auth.settings.provider_timeout_s)
        )

    # The claim is ours: from here until the result is stored, no transaction is open.
    try:
        tokens, reason = await _call_provider(
            auth, client, link, rejected=is_rejected(current, rejected_sha256)
        )
    except Exception:
        await _release(rt, user_id, provider, claim)
        raise
    now = datetime.now(UTC)
    if reason is not None:
        async with rt.transaction() as conn:
            if not await links_sql.mark_needs_reconsent(
                conn, user_id, provider, reason, now, claim=claim, refreshed_from=link.wrapped
            ):
                return None  # the link changed meanwhile: judge it afresh
            await rt.emit(
                conn,
                "provider.reconsent_required",
                str(user_id),
                ProviderReconsentRequired(
                    user_id=user_id,
                    provider=provider,
                    provider_account_id=link.account_id,
                    detected_at=now,
                    reason=reason,
                ),
            )
        logger.info("{} link of user {} needs re-consent: {}", provider, user_id, reason)
        raise _reconsent(auth, replace(link, status="needs_reconsent", status_reason=reason))
    assert tokens is not None
    sealed = seal_tokens(auth.master.ring, user_id, provider, tokens)
    async with rt.transaction() as conn:
        stored = await links_sql.store_refreshed(
            conn,
            user_id=user_id,
            provider=provider,
            claim=claim,
            refreshed_from=link.wrapped,
            wrapped=sealed.wrapped,
            access_token=sealed.access_token,
            refresh_token=sealed.refresh_token,
            access_expires_at=tokens.expires_at,
            scopes=list(tokens.scopes) or link.scopes,
            now=now,
        )
    if not stored:
        logger.warning(
            "the {} link of user {} changed during a token refresh; the refreshed tokens are dropped",
            provider,
            user_id,
        )
        return None
    return AccessToken(tokens.access_token, tokens.expires_at, link.account_id)


async def _call_provider(
    auth: AuthContext, client: OAuthClient, link: links_sql.Link, *, rejected: bool
) -> tuple[TokenSet | None, str | None]:
    """The provider's new tokens, or the reason the link needs re-consent. Raises UpstreamFailed when
    the provider refuses for another reason, ServiceUnavailable when it cannot be reached."""
    provider = link.provider
    data_key = vault.unwrap(auth.master.ring, link_record(link.user_id, provider), link.wrapped)
    refresh_token = data_key.decrypt("refresh_token", link.refresh_token) if link.refresh_token else None
    if refresh_token is None or not client.spec.refreshable:
        if rejected:
            return None, "the provider rejected the access token and issues no refresh token"
        return None, "access token expired and the provider issues no refresh token"
    try:
        return await provider_oauth.refresh(auth.http, client, refresh_token), None
    except TokenError as exc:
        if not exc.needs_reconsent:
            logger.warning("{} refused a refresh with {}", provider, exc)
            raise UpstreamFailed(f"{provider} refused the token refresh ({exc.error})") from None
        return None, f"{exc.error}: {exc.description}"[:500]
    except ProviderUnavailable as exc:
        raise _unavailable(provider, f"is unavailable ({exc.message})") from None


async def _release(rt: Runtime, user_id: uuid.UUID, provider: str, claim: uuid.UUID) -> None:
    """Best effort after a failed refresh: otherwise the claim simply lapses."""
    with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        async with rt.pool.acquire() as conn:
            await links_sql.release_refresh_claim(conn, user_id, provider, claim)
