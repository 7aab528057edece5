"""Emulator settings, read once at startup from the environment (``EMULATOR_*``, plus ``PORT`` etc.)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMULATOR_", extra="ignore")

    port: int = Field(3199, ge=1, le=65535, validation_alias=AliasChoices("PORT", "EMULATOR_PORT"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST", "EMULATOR_HOST"))
    environment: str = Field(
        "development", validation_alias=AliasChoices("ENVIRONMENT", "EMULATOR_ENVIRONMENT")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "EMULATOR_LOG_LEVEL"))

    data_dir: Path | None = Field(None, description="catalog directory; default: the package's data/")
    seed: str = Field("pm-provider-emulator", description="seed of generated ids and tokens")
    demo_users: bool = Field(True, description="create the demo users at startup and on reset")
    clock: Literal["system", "manual"] = Field(
        "system", description="manual: time moves only via /_admin/clock"
    )
    clock_start: float = Field(1_780_000_000.0, description="start of the manual clock (epoch seconds)")

    public_base_url: str | None = Field(None, description="base of absolute links; default: from the request")
    link_style: Literal["emulator", "real"] = Field(
        "emulator", description="emulator: next/href links point at the emulator; real: at the real hosts"
    )
    spotify_mode: Literal["current", "legacy"] = Field(
        "current",
        description="current: 2026 dev-mode surface (/items, item+track); legacy: pre-2026 (/tracks)",
    )
    youtube_quota_mode: Literal["current", "legacy"] = Field(
        "current", description="current: search has its own 100 calls/day; legacy: search costs 100 units"
    )
    rate_limits: bool = Field(True, description="apply each provider's rate limits")
    faults: str = Field("", description='JSON {"spotify": {"error_rate": 0.1}, ...}, see domain/faults.py')
    google_app_testing: bool = Field(False, description="Google refresh tokens expire after 7 days")
    token_ttl: int | None = Field(None, description="override every provider's access-token lifetime (s)")

    @property
    def is_production(self) -> bool:
        return self.environment.strip().lower() in ("production", "prod")
