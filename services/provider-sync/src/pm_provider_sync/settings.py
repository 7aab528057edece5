"""Settings of the provider-sync service, built once at start-up."""

from __future__ import annotations

from pydantic import Field, field_validator

from pm_platform.settings import InfraSettings, service_url
from pm_providers.settings import ProviderSettings


class ProviderSyncSettings(InfraSettings, ProviderSettings):
    """The shared settings, the providers' (hosts, timeout, retries, rate limits, YouTube's quota:
    :class:`~pm_providers.settings.ProviderSettings`, the project's one declaration of them), where
    auth hands out the users' provider tokens (``AUTH_URL``, with ``SERVICE_TOKEN``), and the services a
    transfer reads from: the library (``PLAYLIST_URL``) and the shared match cache (``ENRICHMENT_URL``)."""

    # Where the services listen, as the gateway reads the same variables: http://host[:port], the
    # private network.
    auth_url: str = Field(alias="AUTH_URL")
    playlist_url: str = Field(alias="PLAYLIST_URL")
    enrichment_url: str = Field(alias="ENRICHMENT_URL")
    # Source tracks matched per step of a transfer (one catalog lookup, one ISRC batch, then searches),
    # and the searches in flight at once (the rate limits pace them; more only waits longer).
    transfer_page: int = Field(default=100, alias="TRANSFER_PAGE", ge=1, le=500)
    transfer_search_concurrency: int = Field(default=8, alias="TRANSFER_SEARCH_CONCURRENCY", ge=1, le=64)
    # How often the sync scheduler looks for scheduled links that are due (docs/sync.md).
    sync_tick_s: float = Field(default=30.0, alias="SYNC_TICK_S", gt=0, le=3600)

    # Named apart from ProviderHostSettings' validator of the hosts: SettingsBase refuses a shadowing name.
    @field_validator("auth_url", "playlist_url", "enrichment_url")
    @classmethod
    def _auth_service_url(cls, value: str) -> str:
        return service_url(value)


def provider_sync_settings(settings: InfraSettings) -> ProviderSyncSettings:
    """provider-sync's settings, where the chassis hands them over as its base class (``rt.settings``)."""
    assert isinstance(settings, ProviderSyncSettings)
    return settings
