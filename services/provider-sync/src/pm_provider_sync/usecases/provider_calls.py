"""What every job that calls a provider for a user shares: the user's adapter, waiting out a short
Retry-After in place, and giving back an adapter's listing left before its end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from loguru import logger

from pm_contracts.providers import ProviderName
from pm_platform.service import Runtime
from pm_provider_sync.domain.pauses import RATE_LIMIT_WAITS, waits_in_place
from pm_provider_sync.resources import PROVIDERS
from pm_provider_sync.settings import provider_sync_settings
from pm_providers import ProviderAdapter
from pm_providers.errors import RateLimited

T = TypeVar("T")


def user_adapter(rt: Runtime, user_id: uuid.UUID, provider: ProviderName) -> ProviderAdapter:
    """The user's adapter for ``provider``, its tokens from auth (one per job and provider)."""
    providers = rt[PROVIDERS]
    settings = provider_sync_settings(rt.settings)
    tokens = providers.user_tokens(
        user_id, provider, auth_url=settings.auth_url, service_token=settings.service_token.get_secret_value()
    )
    return providers.adapter(provider, tokens, user_key=str(user_id))


async def patiently(step: Callable[[], Awaitable[T]]) -> T:
    """``step()``, again after a short Retry-After (a few times); a long one is raised (it pauses)."""
    for attempt in range(RATE_LIMIT_WAITS + 1):
        try:
            return await step()
        except RateLimited as error:
            if attempt == RATE_LIMIT_WAITS or not waits_in_place(error):
                raise
            logger.info("rate limited by {}: waiting {:.1f} s", error.provider, error.retry_after)
            await asyncio.sleep(error.retry_after)
    raise AssertionError("unreachable")


async def close_pages(pages: AsyncIterator[Any]) -> None:
    """An adapter's listing left before its end gives back what it holds (an async generator's aclose)."""
    aclose = getattr(pages, "aclose", None)
    if aclose is not None:
        await aclose()
