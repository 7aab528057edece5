"""Provider adapters: the one way a service calls Spotify, Deezer, TIDAL or YouTube (and MusicBrainz).

Start at :class:`Providers` (shared session, Redis rate limits, metrics) and its ``adapter()``;
every adapter implements :class:`ProviderAdapter`; ``Providers.musicbrainz()`` looks up ISRCs and
recordings (:mod:`pm_providers.musicbrainz`); errors are in :mod:`pm_providers.errors`.
"""

from pm_providers.base import ProviderAdapter, WriteProgress
from pm_providers.client import Providers
from pm_providers.clock import ProviderClocks
from pm_providers.domain.musicbrainz import MbArtistCredit, MbRecording, MbRelease
from pm_providers.http import StaticTokenSource, TokenSource
from pm_providers.metrics import ProviderMetrics
from pm_providers.models import (
    LookupService,
    MediaType,
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)
from pm_providers.musicbrainz import MusicBrainz
from pm_providers.settings import ProviderSettings
from pm_providers.tokens import AuthTokenSource

__all__ = [
    "AuthTokenSource",
    "LookupService",
    "MbArtistCredit",
    "MbRecording",
    "MbRelease",
    "MediaType",
    "MusicBrainz",
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
