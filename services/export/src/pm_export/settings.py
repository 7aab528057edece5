"""Settings of the export service, built once at start-up."""

from __future__ import annotations

from pydantic import Field, field_validator

from pm_platform.settings import InfraSettings, S3Settings, service_url


class ExportSettings(InfraSettings, S3Settings):
    """The shared settings, object storage (S3_*, with S3_PUBLIC_ENDPOINT for the links users follow),
    where the library and the provider links are read (``PLAYLIST_URL``, ``AUTH_URL``, with
    ``SERVICE_TOKEN``), and how long files live."""

    playlist_url: str = Field(alias="PLAYLIST_URL")
    # Auth's internal read of a user's provider links (a backup names them, without tokens).
    auth_url: str = Field(alias="AUTH_URL")
    # An export's file is kept this many days (the bucket's lifecycle rule deletes it; the API refuses it
    # from then on even where the store is late).
    export_retention_days: int = Field(default=7, alias="EXPORT_RETENTION_DAYS", ge=1, le=365)
    # A library backup is kept longer: it is what a user restores from after a mistake.
    backup_retention_days: int = Field(default=30, alias="BACKUP_RETENTION_DAYS", ge=1, le=3650)
    # A download link works this long after it is handed out (SigV4 allows at most 7 days); asking again
    # gives a fresh one while the file is kept.
    download_url_ttl_s: int = Field(default=3600, alias="DOWNLOAD_URL_TTL_S", ge=60, le=7 * 24 * 3600)

    @field_validator("playlist_url", "auth_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        return service_url(value)


def export_settings(settings: InfraSettings) -> ExportSettings:
    """The export service's settings, where the chassis hands them over as its base class."""
    assert isinstance(settings, ExportSettings)
    return settings
