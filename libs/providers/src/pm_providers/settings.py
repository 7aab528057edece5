"""Provider settings: every host, the timeout, retry policy, rate limits and quotas.

:class:`ProviderHostSettings` declares where each provider is reached, once for the project: auth (for
OAuth) and the adapters' :class:`ProviderSettings` both include it, so the variables are the same
everywhere and get the platform's ``<VAR>_FILE`` and production checks. Built once at start-up
(``load_settings`` from pm_platform) and passed in. Defaults are the real hosts and each provider's
documented or observed limits; :meth:`ProviderHostSettings.for_emulator` points every host at the
provider emulator (``http://127.0.0.1:3199/<host>``).
"""

from __future__ import annotations

import re
from importlib.metadata import version
from typing import Any, Literal, Self

import aiohttp
from pydantic import BaseModel, Field, field_validator, model_validator

from pm_platform.settings import SettingsBase
from pm_providers.models import LookupService, ProviderName

# Each provider host, by the setting that names it (the emulator mounts each under /<host>). The
# variables hold the host only, as everywhere in the project (auth, the native stack, compose); the
# API version path each adapter speaks is the code's business, in API_PATHS.
REAL_URLS: dict[str, str] = {
    "spotify_api_url": "https://api.spotify.com",
    "spotify_accounts_url": "https://accounts.spotify.com",
    "deezer_api_url": "https://api.deezer.com",
    "deezer_connect_url": "https://connect.deezer.com",
    "tidal_api_url": "https://openapi.tidal.com",
    "tidal_auth_url": "https://auth.tidal.com",
    "tidal_login_url": "https://login.tidal.com",
    "youtube_api_url": "https://www.googleapis.com",
    "google_oauth2_url": "https://oauth2.googleapis.com",
    "google_accounts_url": "https://accounts.google.com",
    "musicbrainz_url": "https://musicbrainz.org",
}
# Connecting to a provider takes no longer than this (within PROVIDER_TIMEOUT_S for the whole exchange).
CONNECT_TIMEOUT_S = 5.0
API_PATHS: dict[ProviderName, str] = {
    ProviderName.SPOTIFY: "/v1",
    ProviderName.DEEZER: "",
    ProviderName.TIDAL: "/v2",
    ProviderName.YOUTUBE: "/youtube/v3",
}


class BucketSpec(BaseModel):
    """A token bucket: at most ``capacity`` calls at once, refilled at ``per_second``.

    Over any window of W seconds it lets through at most ``capacity + per_second * W`` calls, so a
    provider's sliding-window limit of L per W is respected when ``capacity + per_second * W <= L``.
    """

    capacity: float = Field(gt=0)
    per_second: float = Field(gt=0)


class WindowSpec(BaseModel):
    """A sliding window: at most ``calls`` in any ``window_s`` seconds.

    A provider whose limit is a window (Deezer: 50 requests per 5 s) is kept to that window itself: a
    bucket that respects a window can sustain only ``per_second`` of it while keeping ``capacity`` in
    hand (``capacity + per_second * W <= L``), nine tenths of Deezer's.
    """

    calls: int = Field(gt=0)
    window_s: float = Field(gt=0)


class ProviderLimitsSpec(BaseModel):
    """Up-front throttling for one provider: the app-wide bucket (or window) and the per-user bucket."""

    provider: BucketSpec | WindowSpec
    user: BucketSpec | None = None

    @model_validator(mode="after")
    def _window_alone(self) -> ProviderLimitsSpec:
        if isinstance(self.provider, WindowSpec) and self.user is not None:
            raise ValueError("a provider limited by a sliding window takes no per-user bucket")
        return self


# Defaults from each provider's documented or observed limits (see the README's table):
# - Deezer: 50 requests per 5 s (documented), a sliding window, kept as one: 49 per 5.1 s (a call and
#   a tenth of a second in hand for the calls' travel; 96 % of the limit sustained, where a bucket could
#   sustain 90 %).
# - Spotify: a rolling 30 s window, unpublished and lower in development mode (the emulator uses
#   180 per 30 s): 20 + 5/s * 30 s = 170 per 30 s.
# - TIDAL: unpublished, but every answer advertises its token bucket (x-ratelimit-burst-capacity,
#   -replenish-rate, -requested-tokens; seen once as 10 tokens, 1/s, 5 a call: 2 calls, 0.2/s). The
#   limiter adopts it from the first answer on (RateLimiter.adopt: for an hour, shared in Redis, in
#   place of both buckets below), so these apply only until an answer has told it (the first calls)
#   and again an hour after answers stopped telling it. 20 burst, 10/s, 10 + 5/s per user is a guess,
#   higher than that once-seen bucket.
# - YouTube: the daily quota is the real limit (see YoutubeQuota); the bucket only smooths bursts.
# Per-user buckets keep one user's bulk job from taking a provider's whole budget.
DEFAULT_RATE_LIMITS: dict[ProviderName, ProviderLimitsSpec] = {
    ProviderName.SPOTIFY: ProviderLimitsSpec(
        provider=BucketSpec(capacity=20, per_second=5), user=BucketSpec(capacity=10, per_second=3)
    ),
    # The whole documented window for the app, and no smaller share per user: a user's transfer of
    # 1,000 tracks took 3.4 times what Deezer allows behind a per-user 3/s (docs/benchmarks.md).
    ProviderName.DEEZER: ProviderLimitsSpec(provider=WindowSpec(calls=49, window_s=5.1), user=None),
    ProviderName.TIDAL: ProviderLimitsSpec(
        provider=BucketSpec(capacity=20, per_second=10), user=BucketSpec(capacity=10, per_second=5)
    ),
    ProviderName.YOUTUBE: ProviderLimitsSpec(
        provider=BucketSpec(capacity=10, per_second=10), user=BucketSpec(capacity=5, per_second=5)
    ),
}


# Lookup services allow one call per interval and no burst: MusicBrainz 1 request per second on
# average per client IP, and above it answers every request 503 until the rate drops
# (https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting). Not a setting: a faster rate only gets
# the deployment blocked.
LOOKUP_INTERVALS_S: dict[LookupService, float] = {LookupService.MUSICBRAINZ: 1.0}

# What MusicBrainz asks of a User-Agent: the application, its version and a contact (URL or e-mail),
# e.g. ``MyPlaylister/0.3 ( https://example.org/contact )``; anonymous or library agents get 403.
MUSICBRAINZ_USER_AGENT_RE = re.compile(r"[^\s/()]+/[^\s/()]+ \( *[^\s()][^()]*\)")
DAY_S = 86_400


# The project's URL, as its problem types and schema ids name it (pm_platform.errors.PROBLEM_TYPE_BASE).
PROJECT_URL = "https://playlist-manager.dev"


def default_musicbrainz_user_agent() -> str:
    """This build's agent, naming the project; a deployment sets MUSICBRAINZ_USER_AGENT to a contact
    of its own operators, whom MusicBrainz can then reach about its traffic."""
    return f"PlaylistManager/{version('pm-providers')} ( {PROJECT_URL} )"


class RetryPolicy(BaseModel):
    """Bounded retries. 5xx/network: exponential backoff with jitter; 429: wait Retry-After."""

    max_attempts: int = Field(default=4, ge=1, le=10, description="attempts per request for 5xx/network")
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)
    max_rate_limit_waits: int = Field(default=3, ge=0, le=20, description="429s waited out per request")
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="a longer Retry-After is raised as RateLimited instead"
    )
    retry_after_buffer_s: float = Field(default=0.1, ge=0, description="added to Retry-After")
    default_retry_after_s: float = Field(default=1.0, ge=0, description="when a 429 names no wait")
    deezer_quota_wait_s: float = Field(
        default=5.0, ge=0, description="wait after Deezer's code 4 (it sends no Retry-After)"
    )


class YoutubeQuota(BaseModel):
    """YouTube Data API quota per project and Pacific day, counted in Redis before each call."""

    mode: Literal["current", "legacy"] = Field(
        default="current",
        description="current (2026-06): search has its own 100 calls/day; legacy: search costs 100 units",
    )
    units_per_day: int = Field(default=10_000, ge=0)
    search_calls_per_day: int = Field(default=100, ge=0)
    project: str = Field(default="default", description="quota key: one per Google Cloud project")


def _host(name: str) -> Any:
    return Field(default=REAL_URLS[name], alias=name.upper())


class ProviderHostSettings(SettingsBase):
    """Where each provider is reached, and how long one exchange with a provider may take.

    Declared once: auth's settings and the adapters' :class:`ProviderSettings` include this class.
    """

    spotify_api_url: str = _host("spotify_api_url")
    spotify_accounts_url: str = _host("spotify_accounts_url")
    deezer_api_url: str = _host("deezer_api_url")
    deezer_connect_url: str = _host("deezer_connect_url")
    tidal_api_url: str = _host("tidal_api_url")
    tidal_auth_url: str = _host("tidal_auth_url")
    tidal_login_url: str = _host("tidal_login_url")
    youtube_api_url: str = _host("youtube_api_url")
    google_oauth2_url: str = _host("google_oauth2_url")
    google_accounts_url: str = _host("google_accounts_url")
    musicbrainz_url: str = _host("musicbrainz_url")
    # One HTTP exchange with a provider (connecting, sending, reading the whole answer); retries and
    # Retry-After waits come on top.
    provider_timeout_s: float = Field(default=10.0, gt=0, le=600, alias="PROVIDER_TIMEOUT_S")

    @field_validator(*REAL_URLS, mode="after")
    @classmethod
    def _provider_host_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def client_timeout(self) -> aiohttp.ClientTimeout:
        """The timeout of every HTTP session that talks to a provider (the adapters', auth's OAuth)."""
        return aiohttp.ClientTimeout(
            total=self.provider_timeout_s, connect=min(CONNECT_TIMEOUT_S, self.provider_timeout_s)
        )

    @model_validator(mode="after")
    def _provider_hosts_over_https_in_production(self) -> Self:
        # Client secrets, codes and tokens travel to these hosts: never in the clear in production (a
        # leftover development value pointing at the emulator is refused here too).
        if getattr(self, "is_production", False):
            for name in REAL_URLS:
                if not getattr(self, name).startswith("https://"):
                    raise ValueError(f"{name.upper()}: must be an https:// URL in production")
        return self

    def for_emulator(self, base: str = "http://127.0.0.1:3199") -> Self:
        """A copy with every host at ``<base>/<host>`` (the emulator's one substitution)."""
        base = base.rstrip("/")
        urls = {name: f"{base}/{url.split('://', 1)[1]}" for name, url in REAL_URLS.items()}
        return self.model_copy(update=urls)


class ProviderSettings(ProviderHostSettings):
    """What the adapters need: the hosts, the timeout, pooling, retries, rate limits and quotas."""

    max_connections: int = Field(default=100, ge=1, alias="PROVIDER_MAX_CONNECTIONS")
    max_connections_per_host: int = Field(default=20, ge=1, alias="PROVIDER_MAX_CONNECTIONS_PER_HOST")

    retry: RetryPolicy = Field(default_factory=RetryPolicy, alias="PROVIDER_RETRY")
    # JSON, e.g. {"deezer": {"provider": {"capacity": 20, "per_second": 5}, "user": null}}; providers
    # not named keep their defaults.
    rate_limits: dict[ProviderName, ProviderLimitsSpec] = Field(
        default_factory=dict, alias="PROVIDER_RATE_LIMITS"
    )
    rate_limit_key_prefix: str = Field(default="pm:providers", alias="PROVIDER_REDIS_PREFIX")
    youtube_quota: YoutubeQuota = Field(default_factory=YoutubeQuota, alias="YOUTUBE_QUOTA")

    spotify_market: str = Field(
        default="from_token", alias="SPOTIFY_MARKET", description="market for is_playable"
    )
    tidal_country_code: str | None = Field(
        default=None, alias="TIDAL_COUNTRY_CODE", description="default: the user's country"
    )
    youtube_video_details: bool = Field(
        default=True,
        alias="YOUTUBE_VIDEO_DETAILS",
        description="read durations with one videos.list call per page of playlist items",
    )

    musicbrainz_user_agent: str = Field(
        default_factory=default_musicbrainz_user_agent,
        alias="MUSICBRAINZ_USER_AGENT",
        description="App/version ( contact ), sent on every MusicBrainz call",
    )
    # An answer (recordings found) is kept long: MusicBrainz data changes slowly and each call costs a
    # second of the deployment's one-per-second budget. "None found" is kept shorter: recordings and
    # ISRCs are added every day.
    musicbrainz_cache_ttl_s: int = Field(
        default=30 * DAY_S, ge=60, le=365 * DAY_S, alias="MUSICBRAINZ_CACHE_TTL_S"
    )
    musicbrainz_miss_ttl_s: int = Field(default=DAY_S, ge=60, le=365 * DAY_S, alias="MUSICBRAINZ_MISS_TTL_S")

    @field_validator("musicbrainz_user_agent", mode="after")
    @classmethod
    def _descriptive_user_agent(cls, value: str) -> str:
        value = value.strip()
        if not MUSICBRAINZ_USER_AGENT_RE.fullmatch(value):
            raise ValueError(
                "must name the application, its version and a contact, as MusicBrainz requires: "
                "App/version ( contact-url-or-email )"
            )
        return value

    def api_base(self, provider: ProviderName) -> str:
        """The base URL an adapter's paths are relative to: the host plus the API version path."""
        host = {
            ProviderName.SPOTIFY: self.spotify_api_url,
            ProviderName.DEEZER: self.deezer_api_url,
            ProviderName.TIDAL: self.tidal_api_url,
            ProviderName.YOUTUBE: self.youtube_api_url,
        }[provider]
        return host + API_PATHS[provider]

    def limits_for(self, provider: ProviderName) -> ProviderLimitsSpec:
        return self.rate_limits.get(provider, DEFAULT_RATE_LIMITS[provider])
