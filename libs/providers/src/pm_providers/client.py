"""``Providers``: the process-wide entry point. One HTTP session, one rate limiter, one set of metrics;
an adapter per user on demand.

    providers = Providers(settings, redis, metrics=ProviderMetrics(service_metrics.registry))
    await providers.start()                      # or: async with Providers(...) as providers:
    tokens = providers.user_tokens(user_id, "spotify", auth_url=..., service_token=...)  # auth's tokens
    spotify = providers.adapter("spotify", tokens, user_key=str(user_id))
    async for track in spotify.playlist_tracks(playlist_id): ...
    await providers.aclose()
"""

from __future__ import annotations

import uuid
from types import TracebackType

import aiohttp
from redis.asyncio import Redis

from pm_providers.adapters.common import AdapterContext
from pm_providers.adapters.deezer import DeezerAdapter
from pm_providers.adapters.spotify import SpotifyAdapter
from pm_providers.adapters.tidal import JSONAPI, TidalAdapter
from pm_providers.adapters.youtube import YoutubeAdapter
from pm_providers.base import ProviderAdapter
from pm_providers.clock import ProviderClocks
from pm_providers.domain.classify import classify_deezer, classify_spotify, classify_tidal, classify_youtube
from pm_providers.domain.musicbrainz import classify_musicbrainz
from pm_providers.domain.responses import ProviderResponse
from pm_providers.errors import ProviderError
from pm_providers.http import AuthStyle, Classifier, ProviderHttp, TokenSource, build_session
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import LookupService, ProviderName
from pm_providers.musicbrainz import API_PATH, MusicBrainz, MusicBrainzCache
from pm_providers.ratelimit import DailyQuota, RateLimiter
from pm_providers.settings import ProviderSettings, RetryPolicy
from pm_providers.tokens import AuthTokenSource


def classifier(provider: ProviderName, policy: RetryPolicy) -> Classifier:
    table = {
        ProviderName.SPOTIFY: classify_spotify,
        ProviderName.DEEZER: classify_deezer,
        ProviderName.TIDAL: classify_tidal,
        ProviderName.YOUTUBE: classify_youtube,
    }
    fn = table[provider]

    def classify(resp: ProviderResponse) -> ProviderError | None:
        return fn(resp, policy)

    return classify


class Providers:
    """Owns the shared resources; :meth:`adapter` is cheap (call it per user and job).

    ``clocks``: what the providers' answers said about their clocks (one per process; tests may pass
    one with their own notion of this machine's time)."""

    def __init__(
        self,
        settings: ProviderSettings,
        redis: Redis,
        *,
        metrics: ProviderMetrics | None = None,
        session: aiohttp.ClientSession | None = None,
        clocks: ProviderClocks | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.clocks = clocks if clocks is not None else ProviderClocks()
        self.metrics = metrics if metrics is not None else ProviderMetrics()
        self.limiter = RateLimiter(redis, settings, metrics=self.metrics)
        self._session = session
        self._owns_session = session is None

    async def start(self) -> Providers:
        if self._session is None:
            self._session = build_session(self.settings)
        return self

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Providers:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def base_url(self, provider: ProviderName) -> str:
        return self.settings.api_base(provider)

    def youtube_quota(self) -> DailyQuota:
        """YouTube's ledger, its day judged by YouTube's clock as its answers showed it."""
        q = self.settings.youtube_quota
        return DailyQuota(
            self.redis,
            prefix=self.settings.rate_limit_key_prefix,
            provider=ProviderName.YOUTUBE,
            project=q.project,
            limits={"units": q.units_per_day, "search": q.search_calls_per_day},
            metrics=self.metrics,
            now=self.clocks.now,
            offset=lambda: self.clocks.offset(ProviderName.YOUTUBE),
        )

    def user_tokens(
        self, user_id: uuid.UUID, provider: ProviderName | str, *, auth_url: str, service_token: str
    ) -> AuthTokenSource:
        """The user's tokens for ``provider`` from auth (pm_providers.tokens), over the shared session."""
        if self._session is None:
            raise RuntimeError("Providers is not started (await providers.start())")
        return AuthTokenSource(
            self._session,
            auth_url,
            service_token,
            user_id,
            ProviderName(provider),
            provider_timeout_s=self.settings.provider_timeout_s,
        )

    def adapter(
        self,
        provider: ProviderName | str,
        tokens: TokenSource | None,
        *,
        user_key: str | None = None,
        country: str | None = None,
    ) -> ProviderAdapter:
        """An adapter for one user. ``user_key`` names the user's rate-limit bucket (e.g. our user id);
        ``country``: TIDAL's ``countryCode`` (default: the provider's default for the user)."""
        if self._session is None:
            raise RuntimeError("Providers is not started (await providers.start())")
        name = ProviderName(provider)
        http = ProviderHttp(
            name,
            session=self._session,
            base_url=self.base_url(name),
            classify=classifier(name, self.settings.retry),
            tokens=tokens,
            policy=self.settings.retry,
            auth_style=AuthStyle.QUERY if name is ProviderName.DEEZER else AuthStyle.BEARER,
            limiter=self.limiter,
            user_key=user_key,
            metrics=self.metrics,
            default_headers={"Accept": JSONAPI}
            if name is ProviderName.TIDAL
            else {"Accept": "application/json"},
            clocks=self.clocks,
        )
        if name is ProviderName.SPOTIFY:
            return SpotifyAdapter(AdapterContext(http, self.settings))
        if name is ProviderName.DEEZER:
            return DeezerAdapter(AdapterContext(http, self.settings))
        if name is ProviderName.TIDAL:
            return TidalAdapter(AdapterContext(http, self.settings), country=country)
        return YoutubeAdapter(AdapterContext(http, self.settings, self.youtube_quota()))

    def musicbrainz(self, *, cached: bool = True) -> MusicBrainz:
        """MusicBrainz lookups over the shared session and limiter (one call per second for every
        replica sharing the Redis), sending ``MUSICBRAINZ_USER_AGENT``; answers kept in Redis unless
        ``cached`` is False."""
        if self._session is None:
            raise RuntimeError("Providers is not started (await providers.start())")
        http = ProviderHttp(
            LookupService.MUSICBRAINZ,
            session=self._session,
            base_url=self.settings.musicbrainz_url + API_PATH,
            classify=classify_musicbrainz,
            tokens=None,
            policy=self.settings.retry,
            limiter=self.limiter,
            metrics=self.metrics,
            default_headers={
                "User-Agent": self.settings.musicbrainz_user_agent,
                "Accept": "application/json",
            },
        )
        return MusicBrainz(http, MusicBrainzCache(self.redis, self.settings) if cached else None)
