"""Settings of the gateway, from the environment (README, "Configuration")."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, create_model, field_validator, model_validator

from pm_contracts.services import ServiceSpec, deployed_services
from pm_gateway.domain.clients import TrustedProxies
from pm_gateway.domain.cors import parse_origins
from pm_gateway.domain.origins import Origin
from pm_gateway.domain.ratelimit import RateLimit
from pm_platform.identity import identity_key_id, raw_public_key
from pm_platform.service import Runtime
from pm_platform.settings import InfraSettings, SettingsBase, check_jwt_secret, decode_ed25519_key


def upstream_services() -> list[ServiceSpec]:
    """The services behind the gateway: every deployed one of proto/services.yaml but the public one."""
    return [spec for spec in deployed_services() if not spec.public]


def _upstream_base_url(value: str) -> str:
    Origin.parse(value)
    return value.rstrip("/")


def _upstream_url_settings() -> type[SettingsBase]:
    """One required setting per upstream service, named after it (``provider-sync`` → PROVIDER_SYNC_URL),
    built from the one list of services rather than spelled out here."""
    fields: dict[str, Any] = {
        spec.url_variable.lower(): (str, Field(alias=spec.url_variable)) for spec in upstream_services()
    }
    check = field_validator(*fields)(_upstream_base_url)
    return create_model(
        "UpstreamUrlSettings", __base__=SettingsBase, __validators__={"_upstream_url": check}, **fields
    )


class GatewaySettings(InfraSettings, _upstream_url_settings()):  # type: ignore[misc]
    """Settings of the gateway: the shared ones, the upstreams (AUTH_URL, PLAYLIST_URL, …: one per
    service behind it), token verification, rate limits, CORS and body limits (docs/security.md is the
    contract they serve)."""

    port: int = Field(default=3101, alias="PORT", ge=1, le=65535)
    upstream_timeout_s: float = Field(default=10.0, alias="UPSTREAM_TIMEOUT_S", gt=0, le=300)
    # How often the upstreams' readiness is probed (for /health and pm_gateway_upstream_up).
    upstream_probe_interval_s: float = Field(default=15.0, alias="UPSTREAM_PROBE_INTERVAL_S", gt=0, le=3600)
    # Public base URL: the `iss` of every access token, and whether HSTS is sent (https only).
    api_base_url: str = Field(alias="API_BASE_URL")
    # The one algorithm access tokens may use; HS256 (with JWT_SECRET) is the documented fallback only.
    auth_token_alg: Literal["EdDSA", "HS256"] = Field(default="EdDSA", alias="AUTH_TOKEN_ALG")
    jwt_secret: SecretStr | None = Field(default=None, alias="JWT_SECRET")
    token_leeway_s: int = Field(default=30, alias="TOKEN_LEEWAY_S", ge=0, le=300)
    # A key id still unknown after a JWKS fetch is not looked up again for this long (clients/jwks.py).
    jwks_refetch_interval_s: float = Field(default=30.0, alias="JWKS_REFETCH_INTERVAL_S", gt=0)
    # Rate limits per client IP and per user, e.g. "10/s;burst=20" (units s, m, h).
    rate_limit_general: str = Field(default="10/s;burst=20", alias="RATE_LIMIT_GENERAL")
    rate_limit_auth: str = Field(default="5/m;burst=5", alias="RATE_LIMIT_AUTH")
    # Peers whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated). Nobody by default:
    # the client is the TCP peer. Behind a reverse proxy or load balancer, name exactly its addresses
    # (docs/security.md); the native stack names loopback, where its tests play many clients.
    trusted_proxies: str = Field(default="", alias="TRUSTED_PROXIES")
    cors_origins: str = Field(default="", alias="CORS_ORIGINS")
    max_body_bytes: int = Field(default=1 << 20, alias="MAX_BODY_BYTES", ge=1024, le=256 << 20)
    # proto/openapi.yaml, served as /openapi.json; found above the working directory when unset.
    openapi_path: Path | None = Field(default=None, alias="OPENAPI_PATH")
    idempotency_ttl_s: int = Field(default=24 * 3600, alias="IDEMPOTENCY_TTL_S", ge=60)
    # Signs the identity assertions (X-PM-Identity) the services trust: base64 of the raw 32-byte Ed25519
    # private key. Only the gateway has it; its public key must be in IDENTITY_PUBLIC_KEYS.
    # Either the variable or IDENTITY_SIGNING_KEY_FILE (exactly one): the file is re-read on SIGHUP and
    # when it changes, and its key taken if its public key is among the identity public keys in use.
    identity_signing_key: SecretStr = Field(alias="IDENTITY_SIGNING_KEY")
    identity_signing_key_file: str | None = Field(default=None, alias="IDENTITY_SIGNING_KEY_FILE")

    @field_validator("api_base_url")
    @classmethod
    def _public_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        return check_jwt_secret(value) if value is not None else None

    @field_validator("identity_signing_key")
    @classmethod
    def _ed25519_private_key(cls, value: SecretStr) -> SecretStr:
        decode_ed25519_key(value.get_secret_value())
        return value

    @field_validator("rate_limit_general", "rate_limit_auth")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        TrustedProxies.parse(value)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)
        return value

    @model_validator(mode="after")
    def _hs256_needs_secret(self) -> "GatewaySettings":
        if self.uses_hs256 and self.jwt_secret is None:
            raise ValueError("JWT_SECRET is required when AUTH_TOKEN_ALG=HS256")
        return self

    @model_validator(mode="after")
    def _signing_key_is_published(self) -> "GatewaySettings":
        # Otherwise every service would refuse every assertion the gateway signs.
        kid = identity_key_id(raw_public_key(self.identity_signing_key_bytes()))
        if kid not in {identity_key_id(key) for key in self.identity_public_key_bytes()}:
            raise ValueError(
                f"IDENTITY_SIGNING_KEY: its public key (kid {kid}) is not among IDENTITY_PUBLIC_KEYS"
            )
        return self

    def identity_signing_key_bytes(self) -> bytes:
        """IDENTITY_SIGNING_KEY decoded: the raw 32-byte Ed25519 private key."""
        return decode_ed25519_key(self.identity_signing_key.get_secret_value())

    def upstreams(self) -> dict[str, str]:
        """Service name → base URL, for routing and readiness: every deployed service but the public
        one (the gateway), in proto/services.yaml's order, from its ``<NAME>_URL`` setting."""
        return {spec.name: getattr(self, spec.url_variable.lower()) for spec in upstream_services()}

    def rate_limits(self) -> dict[str, RateLimit]:
        """Rate-limit class → its limit (see domain/routes.py for which route has which class)."""
        return {
            "general": RateLimit.parse(self.rate_limit_general),
            "auth": RateLimit.parse(self.rate_limit_auth),
        }

    @property
    def uses_hs256(self) -> bool:
        """The documented fallback: access tokens signed with JWT_SECRET instead of auth's Ed25519 keys."""
        return self.auth_token_alg == "HS256"  # noqa: S105 - an algorithm name, not a secret

    @property
    def is_https(self) -> bool:
        return self.api_base_url.startswith("https://")


def gateway_settings(rt: Runtime) -> GatewaySettings:
    """The runtime's settings, as the gateway's own."""
    settings = rt.settings
    assert isinstance(settings, GatewaySettings)
    return settings
