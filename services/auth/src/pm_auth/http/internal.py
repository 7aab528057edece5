"""Internal API (never routed by the gateway; ``Authorization: Service …``): provider access tokens.

No other service ever sees a refresh token. A token within 5 minutes of expiry is refreshed first —
once for any number of concurrent callers: callers in this process share one refresh task, and the
link row is locked (``FOR UPDATE``) during the refresh, so replicas re-check and reuse its result.
A refresh the provider refuses (``invalid_grant``) marks the link 'needs re-consent', emits
``provider.reconsent_required`` and answers 409 ``reconsent-required``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aiohttp import web
from loguru import logger

from pm_auth.context import AuthContext, auth_context
from pm_auth.domain import vault
from pm_auth.domain.oauth_clients import ProviderName, TokenError
from pm_auth.http.common import iso, json_answer, now_utc, parse_uuid, runtime
from pm_auth.http.problems import LinkNotFound, ReconsentRequired
from pm_auth.http.providers import client_for, link_record, provider_from, relink_url
from pm_auth.storage import links as links_sql
from pm_auth.storage import provider_oauth
from pm_contracts.provider_links import ProviderReconsentRequired
from pm_platform.errors import ServiceUnavailable, UpstreamFailed
from pm_platform.identity import require_service
from pm_platform.service import Runtime

REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_at: datetime | None
    account_id: str


def _fresh(link: links_sql.Link, now: datetime) -> bool:
    return link.access_expires_at is None or link.access_expires_at - now > REFRESH_MARGIN


def _reconsent(ctx: AuthContext, link: links_sql.Link) -> ReconsentRequired:
    return ReconsentRequired(
        f"{link.provider} refused to refresh the token ({link.status_reason or 'needs re-consent'}); link again",
        provider=link.provider,
        account_id=link.account_id,
        relink_url=relink_url(ctx, link.provider),
    )


def _open_access(ctx: AuthContext, link: links_sql.Link) -> AccessToken:
    data_key = vault.unwrap(ctx.master.ring, link_record(link.user_id, link.provider), link.wrapped)
    return AccessToken(
        data_key.decrypt("access_token", link.access_token), link.access_expires_at, link.account_id
    )


async def provider_access_token(rt: Runtime, user_id: uuid.UUID, provider: ProviderName) -> AccessToken:
    ctx = auth_context(rt)
    async with rt.pool.acquire() as conn:
        link = await links_sql.get_link(conn, user_id, provider)
    if link is None:
        raise LinkNotFound(f"the user has no linked {provider} account")
    if link.status == "needs_reconsent":
        raise _reconsent(ctx, link)
    if _fresh(link, now_utc()):
        return _open_access(ctx, link)
    key = (str(user_id), provider)
    task = ctx.inflight.get(key)
    if task is None:
        task = asyncio.create_task(_refresh(rt, ctx, user_id, provider), name=f"refresh-{provider}")
        ctx.inflight[key] = task
        task.add_done_callback(lambda _: ctx.inflight.pop(key, None))
    # shield: a caller that gives up does not cancel the refresh the others wait for.
    result: AccessToken = await asyncio.shield(task)
    return result


async def _refresh(rt: Runtime, ctx: AuthContext, user_id: uuid.UUID, provider: ProviderName) -> AccessToken:
    client = client_for(ctx, provider)
    assert ctx.http is not None
    refused: links_sql.Link | None = None
    async with rt.transaction() as conn:
        link = await links_sql.get_link(conn, user_id, provider, for_update=True)
        if link is None:
            raise LinkNotFound(f"the user has no linked {provider} account")
        if link.status == "needs_reconsent":
            raise _reconsent(ctx, link)
        now = now_utc()
        if _fresh(link, now):  # another replica refreshed while we waited for the lock
            return _open_access(ctx, link)
        ring = ctx.master.ring
        data_key = vault.unwrap(ring, link_record(user_id, provider), link.wrapped)
        refresh_token = data_key.decrypt("refresh_token", link.refresh_token) if link.refresh_token else None
        reason: str | None = None
        if refresh_token is None or not client.spec.refreshable:
            reason = "access token expired and the provider issues no refresh token"
        else:
            try:
                tokens = await provider_oauth.refresh(ctx.http, client, refresh_token)
            except TokenError as exc:
                if not exc.needs_reconsent:
                    logger.warning("{} refused a refresh with {}", provider, exc)
                    raise UpstreamFailed(f"{provider} refused the token refresh ({exc.error})") from None
                reason = f"{exc.error}: {exc.description}"[:500]
            except provider_oauth.ProviderUnavailable as exc:
                raise ServiceUnavailable(
                    f"{provider} is unavailable ({exc}); try again", headers={"Retry-After": "5"}
                ) from None
        if reason is not None:
            await links_sql.mark_needs_reconsent(conn, user_id, provider, reason, now)
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
            refused = replace(link, status="needs_reconsent", status_reason=reason)
        else:
            new_key, wrapped = vault.new_data_key(ring, link_record(user_id, provider))
            await links_sql.store_refreshed(
                conn,
                user_id=user_id,
                provider=provider,
                wrapped=wrapped,
                access_token=new_key.encrypt("access_token", tokens.access_token),
                refresh_token=new_key.encrypt("refresh_token", tokens.refresh_token)
                if tokens.refresh_token
                else None,
                access_expires_at=tokens.expires_at,
                scopes=list(tokens.scopes) or link.scopes,
                now=now,
            )
    if refused is not None:
        logger.info("{} link of user {} needs re-consent: {}", provider, user_id, refused.status_reason)
        raise _reconsent(ctx, refused)
    return AccessToken(tokens.access_token, tokens.expires_at, link.account_id)


async def provider_token(request: web.Request) -> web.Response:
    rt = runtime(request)
    require_service(request, rt.settings.service_token.get_secret_value())
    user_id = parse_uuid(request.match_info["user_id"])
    provider = provider_from(request)
    if user_id is None:
        raise LinkNotFound("no such user")
    token = await provider_access_token(rt, user_id, provider)
    return json_answer(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_at": iso(token.expires_at),
            "account_id": token.account_id,
            "provider": provider,
        }
    )
