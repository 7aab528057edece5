"""Settings of the enrichment service, built once at start-up."""

from __future__ import annotations

from pydantic import Field

from pm_platform.settings import InfraSettings
from pm_providers.settings import ProviderSettings


class EnrichmentSettings(InfraSettings, ProviderSettings):
    """The shared settings, how long the catalog answers a miss (docs/catalog.md), the enrichment
    worker's pace (docs/enrichment.md), and MusicBrainz's client: ``MUSICBRAINZ_URL``,
    ``MUSICBRAINZ_USER_AGENT``, its cache and the providers' retry policy
    (:class:`~pm_providers.settings.ProviderSettings`, the project's one declaration of them)."""

    # Days a transfer's "nobody found this track on that service" (track.not_found) is answered by the
    # lookup: a provider's catalog grows, so a miss must expire and the track be looked for again. 0: no
    # miss is answered.
    catalog_miss_ttl_days: int = Field(default=7, alias="CATALOG_MISS_TTL_DAYS", ge=0, le=365)
    # Recordings the worker enriches in one transaction (their rows locked meanwhile, skipped by the
    # other replicas), and the recordings it claims for MusicBrainz at once (about a second a distinct
    # ISRC: MusicBrainz allows one call per second for the whole deployment).
    enrichment_batch: int = Field(default=100, alias="ENRICHMENT_BATCH", ge=1, le=1000)
    enrichment_lookup_batch: int = Field(default=20, alias="ENRICHMENT_LOOKUP_BATCH", ge=1, le=500)
    # How often the worker looks for due recordings when it found none the last time.
    enrichment_interval_s: float = Field(default=5.0, alias="ENRICHMENT_INTERVAL_S", gt=0, le=3600)
    # After MusicBrainz failed (unavailable after the client's retries), a recording's lookup waits this
    # long, doubling with each failure in a row up to a day.
    enrichment_lookup_retry_s: float = Field(default=60.0, alias="ENRICHMENT_LOOKUP_RETRY_S", ge=1, le=86400)


def enrichment_settings(settings: InfraSettings) -> EnrichmentSettings:
    """enrichment's settings, where the chassis hands them over as its base class (``rt.settings``)."""
    assert isinstance(settings, EnrichmentSettings)
    return settings
