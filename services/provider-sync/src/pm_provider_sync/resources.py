"""provider-sync's live resources beside the chassis runtime (app.py starts them).

- :func:`provider_resources` keeps :class:`~pm_providers.Providers` in the runtime as ``rt[PROVIDERS]``:
  the one HTTP session for the providers, the Redis rate limits shared by every replica, the providers'
  metrics on the service's ``/metrics``. An adapter per user and job comes from it
  (``providers.adapter``), the user's tokens from auth (``providers.user_tokens``).
- :func:`service_clients` keeps the HTTP client of the other services (the library, the shared match
  cache) as ``rt[SERVICES]``.
- :func:`counting_calls` counts the provider calls made inside it (a job's), for its result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pm_platform.resources import ResourceKey
from pm_platform.service import Runtime
from pm_provider_sync.clients.services import ServiceClients
from pm_provider_sync.settings import provider_sync_settings
from pm_providers import ProviderMetrics, Providers
from pm_providers.models import ProviderName
from pm_providers.ratelimit import RateLimiter

PROVIDERS = ResourceKey("providers", Providers)
SERVICES = ResourceKey("services", ServiceClients)

# The calls of the task that opened counting_calls(), by provider; None elsewhere.
_CALLS: ContextVar[Counter[str] | None] = ContextVar("provider_calls", default=None)


class CallCountingLimiter(RateLimiter):
    """The providers' rate limiter, counting each call it lets through for the task counting them.

    The request pipeline takes one token before every attempt it sends (pm_providers' README, "The
    pipeline"), so the count is the calls sent, retries included."""

    async def acquire(self, provider: ProviderName, user_key: str | None = None) -> float:
        calls = _CALLS.get()
        if calls is not None:
            calls[provider.value] += 1
        return await super().acquire(provider, user_key)


@contextmanager
def counting_calls() -> Iterator[Counter[str]]:
    """The provider calls made by this task (and tasks it starts) while inside, by provider name."""
    calls: Counter[str] = Counter()
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


async def provider_resources(rt: Runtime) -> AsyncIterator[None]:
    """The providers' session and rate limits, for the service's lifetime."""
    settings = provider_sync_settings(rt.settings)
    metrics = ProviderMetrics(rt.metrics.registry)
    providers = Providers(settings, rt.redis, metrics=metrics)
    providers.limiter = CallCountingLimiter(rt.redis, settings, metrics=metrics)
    async with providers:
        rt[PROVIDERS] = providers
        try:
            yield
        finally:
            del rt[PROVIDERS]


async def service_clients(rt: Runtime) -> AsyncIterator[None]:
    """The HTTP client of the other services' internal endpoints, for the service's lifetime."""
    clients = ServiceClients(rt)
    rt[SERVICES] = clients
    try:
        yield
    finally:
        del rt[SERVICES]
        await clients.close()
