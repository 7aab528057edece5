"""Every settings class of the project refuses a bad value of every field it validates.

The gateway once accepted ``S3_ENDPOINT=not-a-url``: its own validator had the same method name as
S3Settings' and pydantic kept only one. This test finds every settings class (the platform's, each
deployed service's, the providers', auth's master keys, the emulator's), and every field that some class
of its MRO meant to validate (a ``@field_validator`` naming it, a constraint such as ``ge`` or
``pattern``, or a type that restricts values), and builds the class from a cleared environment holding
valid values plus ONE bad value of that field: the class must refuse it and name that variable.

A validated field without an entry in BAD_VALUES fails (add a value it must refuse), and so does a
required field without an entry in VALID. Both tables are keyed by variable name, so they hold for
every class that reads the variable.
"""

from __future__ import annotations

import base64
import enum
import importlib
import os
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import AliasChoices, BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from pm_contracts.services import deployed_services
from pm_platform.identity import raw_public_key
from pm_platform.settings import S3Settings, SettingsBase, SettingsError, load_settings

# A fixed identity key pair (not the published development one): the gateway checks that the public
# key of IDENTITY_SIGNING_KEY is among IDENTITY_PUBLIC_KEYS.
_SIGNING_KEY = bytes(range(1, 33))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Good values of the variables some class requires (no default).
VALID: dict[str, str] = {
    "DATABASE_URL": "postgresql://pm_test:a-test-password@127.0.0.1:15432/playlistmgr",
    "REDIS_URL": "redis://127.0.0.1:16379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
    "SERVICE_TOKEN": "a-long-service-token-value-123",
    "IDENTITY_PUBLIC_KEYS": _b64(raw_public_key(_SIGNING_KEY)),
    "IDENTITY_SIGNING_KEY": _b64(_SIGNING_KEY),
    "S3_ENDPOINT": "http://127.0.0.1:18333",
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key-value",
    "MASTER_KEY": _b64(bytes(range(100, 132))),
    "JWT_SECRET": "a-test-jwt-secret-that-is-long-enough-0123",
    "API_BASE_URL": "http://localhost:3101",
    "AUTH_URL": "http://auth:3102",
    "PLAYLIST_URL": "http://playlist:3103",
    "PROVIDER_SYNC_URL": "http://provider-sync:3104",
    "EXPORT_URL": "http://export:3105",
    "ENRICHMENT_URL": "http://enrichment:3106",
}

# A value each validated variable must refuse, in every class that reads it.
BAD_VALUES: dict[str, str] = {
    # BaseServiceSettings
    "ENVIRONMENT": "staging",
    "PORT": "0",
    "LOG_LEVEL": "loud",
    "LOG_JSON": "maybe",
    "ENABLE_METRICS": "maybe",
    "SHUTDOWN_TIMEOUT_S": "0",
    "BODY_TIMEOUT_S": "0",
    "MIN_BODY_RATE": "-1",
    "KEEPALIVE_TIMEOUT_S": "30",
    # InfraSettings
    "DATABASE_URL": "mysql://x",
    "DATABASE_POOL_MIN": "-1",
    "DATABASE_POOL_MAX": "0",
    "REDIS_URL": "http://127.0.0.1:16379",
    "KAFKA_BOOTSTRAP_SERVERS": "nohostport",
    "KAFKA_TOPIC_PREFIX": "Not A Prefix!",
    "KAFKA_REPLICATION_FACTOR": "6",
    "KAFKA_LAG_INTERVAL_S": "-1",
    "WORKER_CONCURRENCY": "0",
    "JOB_LEASE_S": "5",
    "SERVICE_TOKEN": "short",
    "IDENTITY_PUBLIC_KEYS": "not-base64",
    "SECRET_FILE_WATCH_INTERVAL_S": "-1",
    # S3Settings
    "S3_ENDPOINT": "not-a-url",
    "S3_PUBLIC_ENDPOINT": "ftp://files.example.com",
    "S3_BUCKET": "ab",
    # auth: MasterKeySettings, AuthSettings
    "MASTER_KEY": "not-base64!",
    "MASTER_KEY_PREVIOUS": _b64(b"sixteen-bytes-ok"),  # base64, but of 16 bytes, not 32
    "JWT_SECRET": "too-short",
    "AUTH_TOKEN_ALG": "RS256",
    "API_BASE_URL": "localhost:3101",
    "ACCESS_TOKEN_TTL_S": "30",
    "SESSION_RETENTION_DAYS": "0",
    "SESSION_PURGE_INTERVAL_S": "-1",
    "LOGIN_THROTTLE_FREE_ATTEMPTS": "0",
    "LOGIN_THROTTLE_BASE_DELAY_S": "0",
    "LOGIN_THROTTLE_MAX_DELAY_S": "0.5",
    "LOGIN_THROTTLE_WINDOW_S": "59",
    "LOGIN_THROTTLE_KNOWN_CLIENT_DAYS": "-1",
    # the provider hosts (pm_providers.ProviderHostSettings; auth)
    "SPOTIFY_API_URL": "api.spotify.com",
    "SPOTIFY_ACCOUNTS_URL": "ftp://accounts.spotify.com",
    "DEEZER_API_URL": "api.deezer.com",
    "DEEZER_CONNECT_URL": "connect.deezer.com",
    "TIDAL_API_URL": "openapi.tidal.com",
    "TIDAL_AUTH_URL": "auth.tidal.com",
    "TIDAL_LOGIN_URL": "login.tidal.com",
    "YOUTUBE_API_URL": "www.googleapis.com",
    "GOOGLE_OAUTH2_URL": "oauth2.googleapis.com",
    "GOOGLE_ACCOUNTS_URL": "accounts.google.com",
    "MUSICBRAINZ_URL": "musicbrainz.org",
    "PROVIDER_TIMEOUT_S": "0",
    # pm_providers.ProviderSettings (JSON values that parse but break the model)
    "PROVIDER_MAX_CONNECTIONS": "0",
    "PROVIDER_MAX_CONNECTIONS_PER_HOST": "0",
    "PROVIDER_RETRY": '{"max_attempts": 0}',
    "PROVIDER_RATE_LIMITS": '{"napster": {"provider": {"capacity": 1, "per_second": 1}}}',
    "YOUTUBE_QUOTA": '{"mode": "unlimited"}',
    "MUSICBRAINZ_USER_AGENT": "python-requests/2.31.0",  # no application, version and contact
    "MUSICBRAINZ_CACHE_TTL_S": "0",
    "MUSICBRAINZ_MISS_TTL_S": "0",
    # provider-sync
    "TRANSFER_PAGE": "501",
    "TRANSFER_SEARCH_CONCURRENCY": "0",
    "SYNC_TICK_S": "0",
    "YOUTUBE_VIDEO_DETAILS": "maybe",
    # enrichment
    "CATALOG_MISS_TTL_DAYS": "-1",
    "ENRICHMENT_BATCH": "0",
    "ENRICHMENT_LOOKUP_BATCH": "501",
    "ENRICHMENT_INTERVAL_S": "0",
    "ENRICHMENT_LOOKUP_RETRY_S": "0.5",
    # GatewaySettings
    "UPSTREAM_TIMEOUT_S": "301",
    "UPSTREAM_PROBE_INTERVAL_S": "0",
    "TOKEN_LEEWAY_S": "301",
    "JWKS_REFETCH_INTERVAL_S": "0",
    "RATE_LIMIT_GENERAL": "fast",
    "RATE_LIMIT_AUTH": "fast",
    "TRUSTED_PROXIES": "not-an-ip",
    "CORS_ORIGINS": "not an origin",
    "MAX_BODY_BYTES": "1023",
    "IDEMPOTENCY_TTL_S": "59",
    "IDENTITY_SIGNING_KEY": "not-base64",
    "AUTH_URL": "https://auth:3102",
    "PLAYLIST_URL": "playlist:3103",
    "PROVIDER_SYNC_URL": "http://",
    "EXPORT_URL": "http://export:3105?x=1",
    # export
    "EXPORT_RETENTION_DAYS": "0",
    "BACKUP_RETENTION_DAYS": "3651",
    "DOWNLOAD_URL_TTL_S": "604801",
    "ENRICHMENT_URL": "ftp://enrichment:3106",
    # the provider emulator (EMULATOR_ prefix)
    "EMULATOR_DEMO_USERS": "maybe",
    "EMULATOR_CLOCK": "sundial",
    "EMULATOR_CLOCK_START": "yesterday",
    "EMULATOR_LINK_STYLE": "fancy",
    "EMULATOR_SPOTIFY_MODE": "future",
    "EMULATOR_YOUTUBE_QUOTA_MODE": "unlimited",
    "EMULATOR_RATE_LIMITS": "maybe",
    "EMULATOR_GOOGLE_APP_TESTING": "maybe",
    "EMULATOR_TOKEN_TTL": "soon",
}


# Discovery ------------------------------------------------------------------------------------------


def _settings_modules() -> list[types.ModuleType]:
    names = [
        "pm_platform.settings",
        *(f"{spec.package}.settings" for spec in deployed_services()),
        "pm_providers.settings",
        "pm_auth.settings",
        "pm_provider_emulator.settings",
    ]
    return [importlib.import_module(name) for name in dict.fromkeys(names)]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _is_project_class(cls: type) -> bool:
    # Classes defined by tests (this one's included) are not the project's settings.
    parts = cls.__module__.split(".")
    return parts[0].startswith("pm_") and not any(p.startswith("test") or p == "tests" for p in parts)


def settings_classes() -> list[type[BaseSettings]]:
    found: dict[type[BaseSettings], None] = {}
    for module in _settings_modules():
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings:
                found[value] = None
    for sub in _subclasses(SettingsBase):
        if _is_project_class(sub):
            found[sub] = None
    found.pop(SettingsBase, None)  # no fields of its own
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def variable(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    """The environment variable a field is read from (the first one when it has several)."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0].upper()
    if isinstance(alias, str):
        return alias.upper()
    if field.alias:
        return field.alias.upper()
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _names(cls: type[BaseSettings]) -> dict[str, str]:
    """Every name an error location may use for a field (lower-cased) → the field's variable."""
    names: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        var = variable(cls, name, field)
        spellings = [name, field.alias]
        alias = field.validation_alias
        if isinstance(alias, str):
            spellings.append(alias)
        elif isinstance(alias, AliasChoices):
            spellings += [choice for choice in alias.choices if isinstance(choice, str)]
        for spelling in spellings:
            if spelling:
                names[spelling.lower()] = var
    return names


_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")


def _restricting_type(annotation: Any) -> bool:
    """Literal, Enum, bool, int, float, and JSON-decoded models and containers (Optional unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_restricting_type(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin is typing.Annotated:
        return _restricting_type(typing.get_args(annotation)[0])
    if origin in (dict, list, set, frozenset, tuple):
        return True
    return isinstance(annotation, type) and issubclass(annotation, (bool, int, float, enum.Enum, BaseModel))


def _complex_type(annotation: Any) -> bool:
    """Types pydantic-settings decodes as JSON from an environment variable."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_complex_type(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin in (dict, list, set, frozenset, tuple):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _validator_fields(cls: type[BaseSettings]) -> set[str]:
    """Fields some class of the MRO validates with a @field_validator of its own: what each class
    meant, whether or not its validator survived into ``cls`` (a shadowed one does not)."""
    covered: set[str] = set()
    for klass in cls.__mro__:
        decorators = klass.__dict__.get("__pydantic_decorators__")
        if decorators is None:
            continue
        for decorator in decorators.field_validators.values():
            fields = decorator.info.fields
            covered |= set(cls.model_fields) if "*" in fields else set(fields)
    return covered & set(cls.model_fields)


def validated_fields(cls: type[BaseSettings]) -> dict[str, str]:
    """Field name → variable, for every field whose values are restricted."""
    by_validator = _validator_fields(cls)
    validated = {}
    for name, field in cls.model_fields.items():
        constrained = any(
            getattr(item, constraint, None) is not None
            for item in field.metadata
            for constraint in _CONSTRAINTS
        )
        if name in by_validator or constrained or _restricting_type(field.annotation):
            validated[name] = variable(cls, name, field)
    return validated


def _class_id(cls: type) -> str:
    return cls.__qualname__


CLASSES = settings_classes()


@dataclass(frozen=True)
class Case:
    cls: type[BaseSettings]
    field: str
    variable: str
    source: str  # "env": VAR=value; "file": VAR_FILE names a file holding the value

    @property
    def id(self) -> str:
        return f"{_class_id(self.cls)}-{self.variable}-{self.source}"


def _sources(cls: type[BaseSettings]) -> tuple[str, ...]:
    # SettingsBase reads <VAR>_FILE too; a plain BaseSettings (the emulator's) reads the environment only.
    return ("env", "file") if issubclass(cls, SettingsBase) else ("env",)


CASES = [
    Case(cls, name, var, source)
    for cls in CLASSES
    for name, var in validated_fields(cls).items()
    for source in _sources(cls)
]


# Helpers --------------------------------------------------------------------------------------------


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An empty environment: settings see only what the test sets."""
    for key in list(os.environ):
        monkeypatch.delenv(key)
    return monkeypatch


def valid_env(cls: type[BaseSettings]) -> dict[str, str]:
    env = {}
    for name, field in cls.model_fields.items():
        if field.is_required():
            var = variable(cls, name, field)
            if var not in VALID:
                pytest.fail(f"{_class_id(cls)} requires {var}, which has no entry in VALID: add a good value")
            env[var] = VALID[var]
    return env


def set_environment(
    environ: pytest.MonkeyPatch, tmp_path: Path, cls: type[BaseSettings], var: str, value: str, source: str
) -> None:
    """The VALID environment of ``cls``, with ``var`` set to ``value`` from ``source``: the variable
    itself ("env"), or a file named by ``<VAR>_FILE`` ("file", one trailing newline as editors add)."""
    env = valid_env(cls)
    env.pop(var, None)
    if source == "env":
        env[var] = value
    else:
        secret = tmp_path / var.lower()
        secret.write_text(value + "\n", encoding="utf-8")
        env[f"{var}_FILE"] = str(secret)
    for key, item in env.items():
        environ.setenv(key, item)


def _named_variables(cls: type[BaseSettings], error: ValidationError) -> set[str]:
    names = _names(cls)
    named = set()
    for detail in error.errors():
        loc = detail.get("loc") or ()
        named.add(names.get(str(loc[0]).lower(), str(loc[0])) if loc else "<the whole model>")
    return named


# The tests ------------------------------------------------------------------------------------------


def test_discovery_finds_every_kind_of_settings_class() -> None:
    names = {cls.__qualname__ for cls in CLASSES}
    # The shared bases, one class per deployed service, the providers' and the emulator's.
    assert {"BaseServiceSettings", "InfraSettings", "S3Settings"} <= names
    assert "EmulatorSettings" in names and "MasterKeySettings" in names
    packages = {cls.__module__.split(".")[0] for cls in CLASSES}
    assert {spec.package for spec in deployed_services()} <= packages
    assert "pm_providers" in packages
    assert len(CASES) > 50


@pytest.mark.parametrize("cls", CLASSES, ids=_class_id)
def test_the_valid_environment_is_accepted(cls: type[BaseSettings], environ: pytest.MonkeyPatch) -> None:
    # Otherwise a bad-value case below could pass for the wrong reason.
    for key, value in valid_env(cls).items():
        environ.setenv(key, value)
    try:
        cls()
    except ValidationError as exc:
        pytest.fail(f"{_class_id(cls)} refuses the VALID environment: {exc}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_bad_value_of_a_validated_field_is_refused_and_named(
    case: Case, environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cls, var = case.cls, case.variable
    if var not in BAD_VALUES:
        pytest.fail(
            f"{_class_id(cls)}.{case.field} ({var}) is validated but BAD_VALUES has no entry for {var}: "
            "add a value it must refuse"
        )
    bad = BAD_VALUES[var]
    set_environment(environ, tmp_path, cls, var, bad, case.source)

    refused: ValidationError | None = None
    try:
        cls()
    except ValidationError as exc:
        refused = exc
    if refused is None:
        pytest.fail(
            f"{_class_id(cls)} accepted {var}={bad!r} (from {case.source}): its check is lost or missing"
        )
    assert _named_variables(cls, refused) == {var}, str(refused)

    if issubclass(cls, SettingsBase):
        # What an operator sees at start-up: one line naming the variable.
        with pytest.raises(SettingsError, match=rf"^{re.escape(var)}: "):
            load_settings(cls)


def test_every_bad_value_is_used() -> None:
    # An entry no class validates any longer is stale (renamed or removed): drop or rename it.
    used = {var for cls in CLASSES for var in validated_fields(cls).values()}
    assert sorted(set(BAD_VALUES) - used) == []


# Variables pydantic-settings decodes from JSON (models, dicts, lists), from each source.
COMPLEX = [
    pytest.param(cls, var, field.annotation, source, id=f"{_class_id(cls)}-{var}-{source}")
    for cls in CLASSES
    if issubclass(cls, SettingsBase)
    for name, field in cls.model_fields.items()
    if _complex_type(field.annotation)
    for var in [variable(cls, name, field)]
    for source in _sources(cls)
]


def _empty_json(annotation: Any) -> str:
    """A JSON value every model, dict or list field with defaults accepts: {} or []."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)] or [annotation]
    origin = typing.get_origin(args[0]) or args[0]
    return "[]" if origin in (list, set, frozenset, tuple) else "{}"


@pytest.mark.parametrize(("cls", "var", "annotation", "source"), COMPLEX)
def test_a_json_value_is_read_from_every_source(
    cls: type[BaseSettings],
    var: str,
    annotation: Any,
    source: str,
    environ: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Otherwise a bad JSON value above might be refused for the wrong reason (not decoded at all).
    set_environment(environ, tmp_path, cls, var, _empty_json(annotation), source)
    load_settings(cls)


@pytest.mark.parametrize(("cls", "var", "annotation", "source"), COMPLEX)
def test_malformed_json_is_a_settings_error_naming_the_variable(
    cls: type[BaseSettings],
    var: str,
    annotation: Any,
    source: str,
    environ: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # A value that is not JSON must still be the one-line SettingsError that exit_on_settings_error
    # prints, not a traceback.
    set_environment(environ, tmp_path, cls, var, "{not json", source)
    with pytest.raises(SettingsError, match=rf"^{re.escape(var)}(_FILE)?: "):
        load_settings(cls)


S3_CLASSES = [cls for cls in CLASSES if issubclass(cls, S3Settings)]


@pytest.mark.parametrize("cls", S3_CLASSES, ids=_class_id)
def test_s3_endpoint_not_a_url_is_refused_by_every_class_with_s3_settings(
    cls: type[BaseSettings], environ: pytest.MonkeyPatch
) -> None:
    for key, value in {**valid_env(cls), "S3_ENDPOINT": "not-a-url"}.items():
        environ.setenv(key, value)
    with pytest.raises(SettingsError, match=r"^S3_ENDPOINT: must be an http:// or https:// URL"):
        load_settings(cls)


def test_s3_settings_itself_is_among_them() -> None:
    assert S3Settings in S3_CLASSES


# SettingsBase's guard --------------------------------------------------------------------------------


def test_a_subclass_reusing_a_base_validator_name_is_a_type_error() -> None:
    class Base(SettingsBase):
        endpoint: str = Field(default="http://x", alias="T_ENDPOINT")

        @field_validator("endpoint")
        @classmethod
        def _url(cls, value: str) -> str:
            return value

    with pytest.raises(TypeError, match=r"validator _url is defined by .*Base and .*Child"):

        class Child(Base):
            public_url: str = Field(default="http://y", alias="T_PUBLIC_URL")

            @field_validator("public_url")
            @classmethod
            def _url(cls, value: str) -> str:
                return value


def test_two_bases_with_one_validator_name_is_a_type_error() -> None:
    # The gateway's case: InfraSettings-like and S3Settings-like bases, and the service's own class.
    class Storage(SettingsBase):
        s3: str = Field(default="http://s3", alias="T_S3")

        @field_validator("s3")
        @classmethod
        def _http_url(cls, value: str) -> str:
            return value

    class Service(SettingsBase):
        api: str = Field(default="http://api", alias="T_API")

        @field_validator("api")
        @classmethod
        def _http_url(cls, value: str) -> str:
            return value

    with pytest.raises(TypeError, match=r"validator _http_url is defined by"):

        class Both(Service, Storage):
            pass


def test_a_reused_model_validator_name_is_a_type_error() -> None:
    class Base(SettingsBase):
        @model_validator(mode="after")
        def _consistent(self) -> Base:
            return self

    with pytest.raises(TypeError, match=r"validator _consistent is defined by"):

        class Child(Base):
            @model_validator(mode="after")
            def _consistent(self) -> Child:
                return self


def test_inheriting_validators_without_redefining_them_is_fine(environ: pytest.MonkeyPatch) -> None:
    class Base(SettingsBase):
        endpoint: str = Field(default="http://x", alias="T_ENDPOINT")

        @field_validator("endpoint")
        @classmethod
        def _url(cls, value: str) -> str:
            if not value.startswith("http://"):
                raise ValueError("must be an http:// URL")
            return value

    class Child(Base):
        @field_validator("endpoint")
        @classmethod
        def _short(cls, value: str) -> str:
            return value

    environ.setenv("T_ENDPOINT", "nope")
    with pytest.raises(SettingsError, match=r"^T_ENDPOINT: must be an http:// URL$"):
        load_settings(Child)
