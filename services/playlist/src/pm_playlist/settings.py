"""Settings of the playlist service, built once at start-up."""

from __future__ import annotations

from pydantic import Field, field_validator

from pm_platform.settings import InfraSettings, service_url


class PlaylistSettings(InfraSettings):
    """The shared settings, and where the canonical catalog answers (``ENRICHMENT_URL``, with
    ``SERVICE_TOKEN``): the library's insights ask it which recording each track is."""

    enrichment_url: str = Field(alias="ENRICHMENT_URL")

    @field_validator("enrichment_url")
    @classmethod
    def _peer_url(cls, value: str) -> str:
        return service_url(value)


def playlist_settings(settings: InfraSettings) -> PlaylistSettings:
    """The playlist service's settings, where the chassis hands them over as its base class."""
    assert isinstance(settings, PlaylistSettings)
    return settings
