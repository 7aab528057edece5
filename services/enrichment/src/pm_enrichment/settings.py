"""Settings of the enrichment service, built once at start-up."""

from __future__ import annotations

from pydantic import Field

from pm_platform.settings import InfraSettings


class EnrichmentSettings(InfraSettings):
    """The shared settings, and how long the catalog answers a miss (docs/catalog.md)."""

    # Days a transfer's "nobody found this track on that service" (track.not_found) is answered by the
    # lookup: a provider's catalog grows, so a miss must expire and the track be looked for again. 0: no
    # miss is answered.
    catalog_miss_ttl_days: int = Field(default=7, alias="CATALOG_MISS_TTL_DAYS", ge=0, le=365)


def enrichment_settings(settings: InfraSettings) -> EnrichmentSettings:
    """enrichment's settings, where the chassis hands them over as its base class (``rt.settings``)."""
    assert isinstance(settings, EnrichmentSettings)
    return settings
