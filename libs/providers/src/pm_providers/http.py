"""The one request pipeline every adapter uses (:class:`ProviderHttp`).

Per call, in order:

1. throttle up front: a token from the provider's and the user's Redis buckets, or for a lookup
   service (MusicBrainz) its next one-call slot (may wait);
2. ``before_attempt`` (YouTube charges its daily quota here; a call over quota is never sent);
3. the HTTP call on the shared ``aiohttp.ClientSession`` (pooled; ``PROVIDER_TIMEOUT_S`` per exchange),
   with the access token as ``Authorization: Bearer`` or, for Deezer, the ``access_token`` query
   parameter;
4. the provider's clock is learned from the answer's ``Date`` (:class:`~pm_providers.clock.ProviderClocks`),
   and the rate-limit bucket it advertises (``x-ratelimit-*``, TIDAL) from its headers, whatever its
   status (:meth:`~pm_providers.ratelimit.RateLimiter.adopt`: the limiter then throttles to it);
   then the adapter's classifier turns the answer into ``None`` (success) or a typed error, for every
   answer including HTTP 200 (Deezer's errors come with 200);
5. on 401 (or Deezer's invalid token): one refresh through the :class:`TokenSource`, then the call
   again; concurrent calls that hit the same expired token share one refresh;
6. on 429: wait ``Retry-After`` (+ a small buffer) when it is at most ``max_retry_after_s``, at most
   ``max_rate_limit_waits`` times, else raise :class:`RateLimited` (or :class:`QuotaExceeded` for
   answers that escalate, Deezer's code 4);
7. on 5xx and network errors (a timeout included): exponential backoff with jitter, the project's one
   :class:`pm_platform.retry.Backoff` (configured by :class:`RetryPolicy`), ``max_attempts`` in all.
   A write that is not idempotent is retried only when the failure proves it was not applied (503,
   refused connection); otherwise it fails at once with ``ProviderUnavailable(uncertain=True)``.

Tokens never reach a log line or an error message; URLs are never logged (Deezer's carry the token).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from pm_platform.errors import BadRequest
from pm_platform.http import parse_json
from pm_platform.logging import logger
from pm_platform.retry import Backoff
from pm_providers.clock import ProviderClocks
from pm_providers.domain.responses import ProviderResponse, parse_advertised_limit, parse_retry_after
from pm_providers.errors import (
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import ProviderName, Upstream
from pm_providers.ratelimit import RateLimiter
from pm_providers.settings import ProviderSettings, RetryPolicy

__all__ = [
    "AuthStyle",
    "Classifier",
    "ProviderHttp",
    "ProviderResponse",
    "StaticTokenSource",
    "TokenSource",
    "build_session",
    "decode_body",
    "parse_retry_after",
]

Params = Mapping[str, str | int | float]


class TokenSource(Protocol):
    """Where an adapter gets the user's access token. provider-sync asks auth; tests ask the emulator.

    ``refresh`` must return a new access token, or raise :class:`~pm_providers.errors.ReconsentRequired`
    when the refresh token is dead (``invalid_grant``).
    """

    async def access_token(self) -> str: ...

    async def refresh(self) -> str: ...


class StaticTokenSource:
    """A fixed token (Deezer ``offline_access`` tokens, scripts). ``refresh`` cannot help."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self) -> str:
        return self._token

    async def refresh(self) -> str:
        raise Unauthorized("the access token was refused and this token source cannot refresh")


class AuthStyle(StrEnum):
    BEARER = "bearer"
    QUERY = "query"  # Deezer: ?access_token=


Classifier = Callable[[ProviderResponse], ProviderError | None]
BeforeAttempt = Callable[[], Awaitable[None]]


def build_session(settings: ProviderSettings) -> aiohttp.ClientSession:
    """The process's one session for provider calls: pooled, keep-alive, bounded by PROVIDER_TIMEOUT_S."""
    connector = aiohttp.TCPConnector(
        limit=settings.max_connections,
        limit_per_host=settings.max_connections_per_host,
        keepalive_timeout=30,
    )
    return aiohttp.ClientSession(
        timeout=settings.client_timeout(), connector=connector, headers={"User-Agent": "PlaylistManager/0.1"}
    )


_OUTCOMES: tuple[tuple[type[ProviderError], str], ...] = (
    (Unauthorized, "unauthorized"),
    (QuotaExceeded, "quota"),
    (RateLimited, "rate_limited"),
    (ProviderUnavailable, "server_error"),
)


def _outcome(error: ProviderError | None) -> str:
    if error is None:
        return "ok"
    for kind, name in _OUTCOMES:
        if isinstance(error, kind):
            return name
    return "client_error"


@dataclass(slots=True)
class _Attempt:
    """Counters of one logical request across its attempts."""

    backoff: Backoff  # counts the 5xx / network attempts
    rate_waits: int = 0
    refreshed: bool = False


class ProviderHttp:
    """One provider's view of the pipeline for one user (cheap; share the session, limiter, metrics).

    A lookup service (``LookupService``) goes through the same pipeline with no tokens: it is throttled
    by :meth:`RateLimiter.reserve`, and its errors carry no ``provider`` (that names streaming providers)."""

    def __init__(
        self,
        provider: Upstream,
        *,
        session: aiohttp.ClientSession,
        base_url: str,
        classify: Classifier,
        tokens: TokenSource | None,
        policy: RetryPolicy,
        auth_style: AuthStyle = AuthStyle.BEARER,
        limiter: RateLimiter | None = None,
        user_key: str | None = None,
        metrics: ProviderMetrics | None = None,
        default_headers: Mapping[str, str] | None = None,
        clocks: ProviderClocks | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """``clocks`` learns the provider's clock from every answer (None: not learned; answers are
        stamped by the system clock). ``sleep`` waits out backoff and Retry-After; ``rand`` is the
        backoff's jitter (``Backoff.rand``: 0 waits the whole delay, 1 half of it). Tests replace both."""
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._classify = classify
        self._tokens = tokens
        self._policy = policy
        self._auth_style = auth_style
        self._limiter = limiter
        self._user_key = user_key
        self._metrics = metrics
        self._headers = dict(default_headers or {})
        self._clocks = clocks
        self._sleep = sleep
        self._rand = rand
        self._token: str | None = None
        self._refresh_lock = asyncio.Lock()
        self._log = logger.bind(provider=provider.value)

    @property
    def _named_provider(self) -> ProviderName | None:
        """The provider an error names: None for a lookup service (errors name streaming providers)."""
        return self.provider if isinstance(self.provider, ProviderName) else None

    def url(self, path: str) -> str:
        """Absolute URL for ``path``; absolute URLs must stay under the base (tokens go nowhere else)."""
        if path.startswith(("http://", "https://")):
            if not (path == self.base_url or path.startswith(self.base_url + "/")):
                raise ValueError(f"{self.provider.value}: refusing a link outside the configured base URL")
            return path
        return self.base_url + ("" if path.startswith("/") else "/") + path

    async def _access_token(self) -> str | None:
        if self._tokens is None:
            return None
        if self._token is None:
            self._token = await self._tokens.access_token()
        return self._token

    async def _refresh(self, failed: str | None) -> None:
        """One refresh for every call that failed with the same token."""
        if self._tokens is None:
            raise Unauthorized("no token source to refresh with", provider=self._named_provider)
        async with self._refresh_lock:
            if self._token is not None and self._token != failed:
                return  # another call refreshed meanwhile
            try:
                self._token = await self._tokens.refresh()
            except ProviderError:
                self._count_refresh("failed")
                raise
            except Exception as exc:
                self._count_refresh("failed")
                raise ProviderUnavailable(
                    f"token refresh failed ({type(exc).__name__})", provider=self._named_provider
                ) from exc
            self._count_refresh("ok")

    def _count_refresh(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.token_refreshes.labels(self.provider.value, outcome).inc()

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Params | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        before_attempt: BeforeAttempt | None = None,
    ) -> ProviderResponse:
        """Send one logical request (with its retries) and return the successful answer.

        May block: throttling, Retry-After waits and backoff. Raises a typed
        :class:`~pm_providers.errors.ProviderError`. ``idempotent`` defaults to GET/HEAD only.
        """
        method = method.upper()
        safe = idempotent if idempotent is not None else method in ("GET", "HEAD")
        url = self.url(path)
        state = _Attempt(
            Backoff(
                initial_s=self._policy.backoff_base_s,
                max_s=self._policy.backoff_max_s,
                rand=self._rand,
                sleeper=self._sleep,
            )
        )
        while True:
            if self._limiter is not None:
                if isinstance(self.provider, ProviderName):
                    await self._limiter.acquire(self.provider, self._user_key)
                else:
                    await self._limiter.reserve(self.provider)
            if before_attempt is not None:
                await before_attempt()
            token = await self._access_token()
            query: dict[str, str] = {k: str(v) for k, v in (params or {}).items()}
            send_headers = CIMultiDict(self._headers)
            send_headers.update(headers or {})
            if token is not None:
                if self._auth_style is AuthStyle.QUERY:
                    query["access_token"] = token
                else:
                    send_headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            try:
                response = await self._send(method, url, query, send_headers, json_body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._observe(endpoint, "network", started)
                not_sent = isinstance(exc, aiohttp.ClientConnectorError)
                lost = ProviderUnavailable(
                    f"{endpoint}: network error ({type(exc).__name__})",
                    provider=self._named_provider,
                    uncertain=not safe and not not_sent,
                    code="network",
                )
                if (safe or not_sent) and await self._backoff(state, lost, endpoint, "network"):
                    continue
                raise lost from None
            if isinstance(self.provider, ProviderName):
                await self._learn(self.provider, response)
            error = self._classify(response)
            self._observe(endpoint, _outcome(error), started)
            if error is None:
                return response
            if error.provider is None:
                error.provider = self._named_provider
            if isinstance(error, Unauthorized) and not state.refreshed and self._tokens is not None:
                state.refreshed = True
                self._retried("token_refresh")
                await self._refresh(token)
                continue
            if isinstance(error, RateLimited):
                if await self._wait_rate_limit(state, error, endpoint):
                    continue
                if error.escalates:
                    raise QuotaExceeded(
                        error.message,
                        provider=self._named_provider,
                        status=error.status,
                        code=error.code,
                    ) from error
                raise error
            if isinstance(error, ProviderUnavailable):
                retry_write = error.status == 503
                if not safe and not retry_write:
                    error.uncertain = True
                    raise error
                if await self._backoff(state, error, endpoint, "server_error"):
                    continue
            raise error

    async def _learn(self, provider: ProviderName, response: ProviderResponse) -> None:
        """What an answer tells about the provider: its clock, the bucket it advertises."""
        if self._clocks is not None:
            self._clocks.observe(provider, response.headers.get("Date"), response.received_at)
        if self._limiter is not None:
            advertised = parse_advertised_limit(response.headers)
            if advertised is not None:
                await self._limiter.adopt(provider, advertised)

    async def _send(
        self, method: str, url: str, query: dict[str, str], headers: CIMultiDict[str], body: Any
    ) -> ProviderResponse:
        kwargs: dict[str, Any] = {"params": query or None, "headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        async with self._session.request(method, url, **kwargs) as resp:
            raw = await resp.read()
            received = self._clocks.now() if self._clocks is not None else datetime.now(UTC)
            return ProviderResponse(
                resp.status, CIMultiDictProxy(CIMultiDict(resp.headers)), decode_body(raw), received
            )

    async def _backoff(self, state: _Attempt, error: ProviderError, endpoint: str, reason: str) -> bool:
        """After a failed attempt: wait and return True, or False when it was the last attempt."""
        backoff = state.backoff
        delay = backoff.next_delay()
        if backoff.attempts >= self._policy.max_attempts:
            return False
        self._log.warning(
            "{} failed ({}), retry {} of {} in {:.2f}s",
            endpoint,
            error.code or error.status or reason,
            backoff.attempts,
            self._policy.max_attempts - 1,
            delay,
        )
        self._retried(reason)
        self._waited("backoff", delay)
        await backoff.wait(delay)
        return True

    async def _wait_rate_limit(self, state: _Attempt, error: RateLimited, endpoint: str) -> bool:
        wait = error.retry_after
        if state.rate_waits >= self._policy.max_rate_limit_waits or wait > self._policy.max_retry_after_s:
            return False
        state.rate_waits += 1
        wait += self._policy.retry_after_buffer_s
        self._log.info("{} rate limited, waiting {:.2f}s", endpoint, wait)
        self._retried("rate_limited")
        self._waited("rate_limited", wait)
        await self._sleep(wait)
        return True

    def _observe(self, endpoint: str, outcome: str, started: float) -> None:
        if self._metrics is None:
            return
        self._metrics.requests.labels(self.provider.value, endpoint, outcome).inc()
        self._metrics.latency.labels(self.provider.value, endpoint).observe(time.perf_counter() - started)

    def _retried(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.retries.labels(self.provider.value, reason).inc()

    def _waited(self, reason: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.wait_seconds.labels(self.provider.value, reason).inc(seconds)


def decode_body(raw: bytes) -> Any:
    """A response body as ProviderResponse holds it: parsed JSON, else the text; None when empty.

    JSON within the project's one set of bounds (:func:`pm_platform.http.parse_json`): a body nested
    too deep or holding a huge number is text, which the classifiers and parsers take for the
    "not JSON" answer it is, never a RecursionError that fails the job or the request."""
    if not raw:
        return None
    try:
        return parse_json(raw)
    except BadRequest:  # not JSON, or beyond the bounds: the same answer to the caller
        return raw.decode("utf-8", errors="replace")
