from pydantic import Field

from pm_platform.settings import InfraSettings, S3Settings


class GatewaySettings(InfraSettings, S3Settings):
    """Settings of the gateway: the shared ones, object storage (for readiness) and the upstreams."""

    port: int = Field(default=3101, alias="PORT", ge=1, le=65535)
    auth_url: str = Field(alias="AUTH_URL")
    playlist_url: str = Field(alias="PLAYLIST_URL")
    provider_sync_url: str = Field(alias="PROVIDER_SYNC_URL")
    export_url: str = Field(alias="EXPORT_URL")
    enrichment_url: str = Field(alias="ENRICHMENT_URL")
    upstream_timeout_s: float = Field(default=10.0, alias="UPSTREAM_TIMEOUT_S", gt=0, le=300)

    def upstreams(self) -> dict[str, str]:
        """Service name → base URL, for routing and readiness."""
        return {
            "auth": self.auth_url.rstrip("/"),
            "playlist": self.playlist_url.rstrip("/"),
            "provider-sync": self.provider_sync_url.rstrip("/"),
            "export": self.export_url.rstrip("/"),
            "enrichment": self.enrichment_url.rstrip("/"),
        }
