"""The emulator's wiring, stored on the aiohttp application under one typed key."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.domain.clock import Clock
from pm_provider_emulator.domain.faults import FaultInjector
from pm_provider_emulator.domain.ratelimit import RateLimits
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.storage.state import Store


@dataclass(slots=True)
class RuntimeConfig:
    """Switches an admin call can flip without a restart (initial values from settings)."""

    spotify_mode: str
    youtube_quota_mode: str
    link_style: str
    public_base_url: str | None


@dataclass(slots=True)
class Emulator:
    settings: EmulatorSettings
    clock: Clock
    catalogs: Catalogs
    store: Store
    faults: FaultInjector
    limits: RateLimits
    config: RuntimeConfig


EMULATOR = web.AppKey("emulator", Emulator)
