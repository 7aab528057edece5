"""Settings from environment variables, the one way every service is configured.

Names follow the seed (DATABASE_URL, REDIS_URL, MASTER_KEY, JWT_SECRET, S3_*, CORS_ORIGINS, LOG_LEVEL,
ENABLE_METRICS, WORKER_CONCURRENCY) plus KAFKA_BOOTSTRAP_SERVERS. Any variable may instead come from
a file named by ``<VAR>_FILE`` (the Docker and Kubernetes secrets convention). Settings are built once
at start-up by :func:`load_settings` and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as SourceSettingsError


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


# Values shipped in examples and the compose file for local use. A production deployment that still
# carries one of them is misconfigured, so it must not start.
DEVELOPMENT_DEFAULTS: frozenset[str] = frozenset(
    {
        "postgres",
        "minio",
        "minio12345",
        "playlist-dev-password",
        "dev-jwt-secret-change-me-dev-jwt-secret-change-me",
        "ZGV2LW1hc3Rlci1rZXktY2hhbmdlLW1lLTMyYnl0ZXM=",
        "dev-service-token-change-me",
        # The identity key pair (IDENTITY_SIGNING_KEY, and its public key in IDENTITY_PUBLIC_KEYS).
        "ZGV2LWlkZW50aXR5LWtleS1jaGFuZ2UtbWUtMzJieXQ=",
        "DYSLt3iZhcvG0SAhogbu6+S3cNCxI+DeHOXS/xwz/4A=",
    }
)


def _env_name(field_name: str, field: FieldInfo) -> str:
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    return (alias or field_name).upper()


class SecretFileSource(PydanticBaseSettingsSource):
    """Reads ``<VAR>_FILE`` for every field: the file's content (one trailing newline dropped)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = _env_name(field_name, field)
        path = os.environ.get(f"{env_name}_FILE")
        if not path:
            return None, field_name, False
        if env_name in os.environ:
            raise SettingsError(f"{env_name}: set either {env_name} or {env_name}_FILE, not both")
        try:
            content = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"{env_name}_FILE: cannot read {path}: {exc.strerror}") from exc
        return content.removesuffix("\n"), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is None:
                continue
            try:  # JSON-typed fields (models, dicts, lists) are decoded as from the variable itself
                values[key] = self.prepare_field_value(field_name, field, value, False)
            except ValueError as exc:
                raise SettingsError(f"{_env_name(field_name, field)}_FILE: not valid JSON ({exc})") from None
        return values


class SettingsBase(BaseSettings):
    """Every settings class of the project: environment variables or ``<VAR>_FILE``, and no validator
    that silently replaces another.

    pydantic keeps one validator per method name, so a subclass (or a second base class) defining a
    validator under a name a base already uses drops the base's check without a word: the gateway once
    accepted ``S3_ENDPOINT=not-a-url`` that way. Defining such a class is a TypeError here.
    """

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        shadowed = _shadowed_validators(cls)
        if shadowed:
            raise TypeError(f"{cls.__name__}: {'; '.join(shadowed)}")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, SecretFileSource(settings_cls))


def _shadowed_validators(cls: type[BaseSettings]) -> list[str]:
    """Validator names defined by more than one class of ``cls``'s bases: all but one are lost."""
    owners: dict[str, set[str]] = {}
    for klass in cls.__mro__:
        decorators = klass.__dict__.get("__pydantic_decorators__")
        if decorators is None:
            continue
        for kind in ("field_validators", "model_validators"):
            for name in getattr(decorators, kind):
                if name in klass.__dict__:  # defined here, not inherited
                    owners.setdefault(name, set()).add(f"{klass.__module__}.{klass.__qualname__}")
    return [
        f"validator {name} is defined by {' and '.join(sorted(refs))}; rename one"
        for name, refs in sorted(owners.items())
        if len(refs) > 1
    ]


class BaseServiceSettings(SettingsBase):
    """Settings every service has. Services subclass this and add their own fields."""

    service_name: str = Field(default="service", alias="SERVICE_NAME")
    environment: Environment = Field(default=Environment.DEVELOPMENT, alias="ENVIRONMENT")
    # Loopback unless told otherwise: the images set HOST=0.0.0.0 (services/Dockerfile.template), where
    # network policies decide who may connect; the native stack sets 127.0.0.1 explicitly.
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8080, alias="PORT", ge=1, le=65535)
    log_level: str = Field(default="info", alias="LOG_LEVEL")
    log_json: bool | None = Field(default=None, alias="LOG_JSON")
    enable_metrics: bool = Field(default=True, alias="ENABLE_METRICS")
    shutdown_timeout_s: float = Field(default=10.0, alias="SHUTDOWN_TIMEOUT_S", gt=0)
    # A request body must arrive whole within BODY_TIMEOUT_S of the handler starting to read it and,
    # after the first 5 s, at MIN_BODY_RATE bytes a second on average (0: no minimum); 408 otherwise,
    # and the connection is closed (pm_platform.http.read_body).
    body_timeout_s: float = Field(default=30.0, alias="BODY_TIMEOUT_S", gt=0, le=3600)
    min_body_rate: int = Field(default=500, alias="MIN_BODY_RATE", ge=0, le=1 << 30)
    # aiohttp's one timer for an idle keep-alive connection AND for receiving a request line and headers
    # (counted from the connection's start, or from the previous response). Above 30 s: the gateway's
    # upstream pool (and pm_providers) reuse idle connections for up to 30 s, and a server closing them
    # sooner makes requests fail at random. Behind a load balancer, above its idle timeout.
    keepalive_timeout_s: float = Field(default=75.0, alias="KEEPALIVE_TIMEOUT_S", gt=30, le=3600)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of trace, debug, info, warning, error, critical")
        return level

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    def secret_values(self) -> list[str]:
        """Every secret this settings object holds, so logging can scrub them."""
        secrets: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                secrets.append(value.get_secret_value())
        return secrets

    @model_validator(mode="after")
    def _no_development_defaults_in_production(self) -> BaseServiceSettings:
        if not self.is_production:
            return self
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(raw, str) and _contains_development_default(raw):
                raise ValueError(
                    f"{_env_name(name, field)} still holds a development default; set a real value"
                )
        return self


def _contains_development_default(raw: str) -> bool:
    if raw in DEVELOPMENT_DEFAULTS:
        return True
    # Lists (IDENTITY_PUBLIC_KEYS) must not carry one either.
    if "," in raw and any(part.strip() in DEVELOPMENT_DEFAULTS for part in raw.split(",")):
        return True
    # DSNs carry the password between ':' and '@'.
    if "://" in raw and "@" in raw:
        userinfo = raw.split("://", 1)[1].rsplit("@", 1)[0]
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        return password in DEVELOPMENT_DEFAULTS
    return False


class InfraSettings(BaseServiceSettings):
    """A service that uses PostgreSQL, Redis and Kafka (all six do)."""

    database_url: SecretStr = Field(alias="DATABASE_URL")
    database_pool_min: int = Field(default=1, alias="DATABASE_POOL_MIN", ge=0)
    database_pool_max: int = Field(default=10, alias="DATABASE_POOL_MAX", ge=1)
    redis_url: SecretStr = Field(alias="REDIS_URL")
    kafka_bootstrap_servers: str = Field(alias="KAFKA_BOOTSTRAP_SERVERS")
    # Namespaces topics on a shared cluster (and keeps test runs apart from the running stack).
    kafka_topic_prefix: str = Field(default="", alias="KAFKA_TOPIC_PREFIX", pattern=r"^[a-z0-9._-]*$")
    kafka_consumer_group: str | None = Field(default=None, alias="KAFKA_CONSUMER_GROUP")
    # Replicas of the topics a service creates when missing; 3 on a production cluster.
    kafka_replication_factor: int = Field(default=1, alias="KAFKA_REPLICATION_FACTOR", ge=1, le=5)
    # How often a consuming service samples its group's lag from the offsets (pm_kafka_consumer_lag,
    # pm_platform.lag); 0 turns the sampling off.
    kafka_lag_interval_s: float = Field(default=15.0, alias="KAFKA_LAG_INTERVAL_S", ge=0, le=3600)
    worker_concurrency: int = Field(default=5, alias="WORKER_CONCURRENCY", ge=1, le=256)
    # How long a running job stays its worker's without a renewal (renewed every quarter of it): a job
    # whose worker died (kill -9, a lost node) goes back to the queue within about this long.
    job_lease_s: float = Field(default=120.0, alias="JOB_LEASE_S", ge=10, le=3600)
    # Credential for /internal/... endpoints, shared by every service (pm_platform.identity).
    service_token: SecretStr = Field(alias="SERVICE_TOKEN", min_length=16)
    # The public keys that verify the gateway's identity assertions (X-PM-Identity), comma-separated
    # base64 of raw Ed25519 keys; more than one while the gateway's key is rotated (docs/operations.md).
    # Either the variable or IDENTITY_PUBLIC_KEYS_FILE (exactly one): the file is re-read on SIGHUP and
    # when it changes, so a rotation needs no restart.
    identity_public_keys: str = Field(alias="IDENTITY_PUBLIC_KEYS")
    identity_public_keys_file: str | None = Field(default=None, alias="IDENTITY_PUBLIC_KEYS_FILE")
    # How often the running service looks at its reloadable secret files for changes (pm_platform.reloading;
    # SIGHUP re-reads them at once); 0 turns the watcher off. auth's older name still sets it.
    secret_file_watch_interval_s: float = Field(
        default=5.0,
        validation_alias=AliasChoices("SECRET_FILE_WATCH_INTERVAL_S", "MASTER_KEY_WATCH_INTERVAL_S"),
        ge=0,
    )

    @field_validator("identity_public_keys")
    @classmethod
    def _ed25519_public_keys(cls, value: str) -> str:
        return ",".join(parse_identity_public_keys(value))

    def identity_public_key_bytes(self) -> list[bytes]:
        """IDENTITY_PUBLIC_KEYS decoded: the raw 32-byte Ed25519 public keys."""
        return [decode_ed25519_key(key) for key in self.identity_public_keys.split(",")]

    @field_validator("database_url")
    @classmethod
    def _postgres_dsn(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_dsn(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError("must be a comma-separated list of host:port")
        return value


class S3Settings(SettingsBase):
    """Object storage reached through the minio client (path-style, SigV4)."""

    s3_endpoint: str = Field(alias="S3_ENDPOINT")
    s3_bucket: str = Field(default="playlist-exports", alias="S3_BUCKET", min_length=3)
    s3_region: str = Field(default="us-east-1", alias="S3_REGION")
    aws_access_key_id: SecretStr = Field(alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr = Field(alias="AWS_SECRET_ACCESS_KEY")
    # Where users' clients reach the store, for the presigned URLs handed to them (downloads, uploads):
    # the store's public address when S3_ENDPOINT is a private one; default S3_ENDPOINT.
    s3_public_endpoint: str | None = Field(default=None, alias="S3_PUBLIC_ENDPOINT")

    @field_validator("s3_endpoint", "s3_public_endpoint")
    @classmethod
    def _s3_endpoint_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


def service_url(value: str) -> str:
    """Another service of the deployment, as its URL variable gives it (AUTH_URL, PLAYLIST_URL, …):
    ``http://host[:port]`` on the private network, no query or fragment; without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an http://host[:port] URL")
    return value.rstrip("/")


def decode_master_key(value: str) -> bytes:
    """MASTER_KEY is base64 of exactly 32 bytes (AES-256)."""
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64") from exc
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes, got {len(key)}")
    return key


def decode_ed25519_key(value: str) -> bytes:
    """IDENTITY_SIGNING_KEY and each of IDENTITY_PUBLIC_KEYS: base64 of a raw 32-byte Ed25519 key."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64 of a raw 32-byte Ed25519 key") from exc
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes (a raw Ed25519 key), got {len(key)}")
    return key


def parse_identity_public_keys(value: str) -> list[str]:
    """IDENTITY_PUBLIC_KEYS (or its file's content): comma-separated base64 raw Ed25519 public keys,
    at least one; the keys, stripped. ValueError naming the position of a bad one."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("must list at least one base64 Ed25519 public key")
    for position, key in enumerate(keys, start=1):
        try:
            decode_ed25519_key(key)
        except ValueError as exc:
            raise ValueError(f"key {position}: {exc}") from None
    return keys


def check_jwt_secret(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < 32:
        raise ValueError("must be at least 32 characters")
    return value


S = TypeVar("S", bound=BaseSettings)


def describe_validation_error(exc: ValidationError, settings_cls: type[BaseSettings]) -> str:
    """One line naming each offending variable, e.g. 'DATABASE_URL: missing; PORT: ...'."""
    aliases = {_env_name(n, f).lower(): _env_name(n, f) for n, f in settings_cls.model_fields.items()}
    parts: list[str] = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        field_name = str(loc[0]) if loc else ""
        field = settings_cls.model_fields.get(field_name)
        if field is not None:
            name = _env_name(field_name, field)
        else:
            name = aliases.get(field_name.lower(), field_name.upper() or "settings")
        message = "missing" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(sorted(parts, key=lambda p: not p.startswith("DATABASE_URL")))


# pydantic-settings' own error for a JSON-typed variable that is not JSON names the field like this.
_SOURCE_ERROR = re.compile(r'error parsing value for field "(?P<field>[^"]+)"')


def load_settings(settings_cls: type[S]) -> S:
    """Build settings from the environment or raise SettingsError with a one-line message."""
    try:
        return settings_cls()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, settings_cls)) from None
    except SourceSettingsError as exc:
        match = _SOURCE_ERROR.match(str(exc))
        field = settings_cls.model_fields.get(match["field"]) if match else None
        name = _env_name(match["field"], field) if match and field is not None else "settings"
        raise SettingsError(f"{name}: not valid JSON ({exc.__cause__})") from None


def exit_on_settings_error(error: SettingsError, service: str) -> NoReturn:
    """Print the one-line configuration error and exit non-zero, never a traceback."""
    print(f"{service}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
