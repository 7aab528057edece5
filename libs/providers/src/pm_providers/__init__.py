"""Provider adapters: the one way a service calls Spotify, Deezer, TIDAL or YouTube.

Start at :class:`Providers` (shared session, Redis rate limits, metrics) and its ``adapter()``;
every adapter implements :class:`ProviderAdapter`; errors are in :mod:`pm_providers.errors`.
"""

from pm_providers.base import ProviderAdapter, WriteProgress
from pm_providers.client import Providers
from pm_providers.clock import ProviderClocks
from pm_providers.http import StaticTokenSource, TokenSource
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import (
    MediaType,
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)
from pm_providers.settings import ProviderSettings
from pm_providers.tokens import AuthTokenSource

__all__ = [
    "AuthTokenSource",
    "MediaType",
    "ProviderAdapter",
    "ProviderClocks",
    "ProviderLimits",
    "ProviderMetrics",
    "ProviderName",
    "ProviderPlaylist",
    "ProviderSettings",
    "ProviderTrack",
    "ProviderUser",
    "Providers",
    "StaticTokenSource",
    "TokenSource",
    "WriteProgress",
    "WriteResult",
]
