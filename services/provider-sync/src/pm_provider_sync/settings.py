"""Settings of the provider-sync service, built once at start-up."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from pm_platform.settings import InfraSettings
from pm_providers.settings import ProviderSettings


class ProviderSyncSettings(InfraSettings, ProviderSettings):
    """The shared settings, the providers' (hosts, timeout, retries, rate limits, YouTube's quota:
    :class:`~pm_providers.settings.ProviderSettings`, the project's one declaration of them) and where
    auth hands out the users' provider tokens (``AUTH_URL``, with ``SERVICE_TOKEN``)."""

    # Where auth listens, as the gateway reads the same variable: http://host[:port], the private network.
    auth_url: str = Field(alias="AUTH_URL")

    # Named apart from ProviderHostSettings' validator of the hosts: SettingsBase refuses a shadowing name.
    @field_validator("auth_url")
    @classmethod
    def _auth_service_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http://host[:port] URL")
        return value.rstrip("/")


def provider_sync_settings(settings: InfraSettings) -> ProviderSyncSettings:
    """provider-sync's settings, where the chassis hands them over as its base class (``rt.settings``)."""
    assert isinstance(settings, ProviderSyncSettings)
    return settings
