"""Application factory: builds the catalogs, state and routes of every emulated host."""

from __future__ import annotations

import json

from aiohttp import web
from loguru import logger

from pm_provider_emulator.domain.catalog import Catalogs
from pm_provider_emulator.domain.clock import Clock, ManualClock, SystemClock
from pm_provider_emulator.domain.demo import DEMO_ACCOUNTS, plan_demo
from pm_provider_emulator.domain.faults import FaultConfig, FaultInjector
from pm_provider_emulator.domain.ids import IdGenerator
from pm_provider_emulator.domain.oauth import Client
from pm_provider_emulator.domain.ratelimit import RateLimits
from pm_provider_emulator.http import (
    admin,
    deezer_api,
    deezer_connect,
    google_oauth,
    health,
    musicbrainz,
    spotify_accounts,
    spotify_api,
    tidal_api,
    tidal_auth,
    tidal_v1_api,
    youtube_api,
)
from pm_provider_emulator.http.context import EMULATOR, Emulator, RuntimeConfig
from pm_provider_emulator.http.middleware import provider_middleware, slow_body_middleware, stamp_date
from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.storage.catalog_files import load_catalogs
from pm_provider_emulator.storage.state import PROVIDERS, Store

# Development OAuth clients present after every start and reset (documented in the README).
DEV_CLIENT_SECRETS = {
    "spotify": ("pm-dev-spotify", "pm-dev-spotify-secret"),
    "deezer": ("pm-dev-deezer", "pm-dev-deezer-secret"),
    "tidal": ("pm-dev-tidal", "pm-dev-tidal-secret"),
    "youtube": ("pm-dev-youtube.apps.googleusercontent.com", "pm-dev-youtube-secret"),
}
DEMO_TOKEN_TTL: dict[str, float | None] = {"spotify": None, "deezer": None, "tidal": None, "youtube": None}


class ProductionRefused(RuntimeError):
    pass


def seed_state(e: Emulator) -> None:
    """(Re)create the development clients and, unless disabled, the demo users. Idempotent after reset."""
    for provider, (client_id, secret) in DEV_CLIENT_SECRETS.items():
        e.store.add_client(Client(provider, client_id, secret))
    if e.settings.demo_users:
        for provider in PROVIDERS:
            e.store.apply_demo(plan_demo(e.catalogs, provider), access_ttl=None, refresh_lifetime=None)


def reset_state(e: Emulator, *, keep_config: bool = False) -> None:
    e.store.reset()
    e.limits.reset_counters()
    if not keep_config:
        e.faults.clear()
        e.limits = RateLimits()
        e.config.spotify_mode = e.settings.spotify_mode
        e.config.youtube_quota_mode = e.settings.youtube_quota_mode
        e.config.link_style = e.settings.link_style
        apply_fault_settings(e)
    seed_state(e)


def apply_fault_settings(e: Emulator) -> None:
    if not e.settings.faults.strip():
        return
    raw = json.loads(e.settings.faults)
    for provider, cfg in raw.items():
        e.faults.set(provider, FaultConfig.model_validate(cfg))


def with_trailing_slashes(routes: list[web.RouteDef]) -> list[web.RouteDef]:
    """The real services accept ``/v1/me/`` as ``/v1/me`` (spotipy calls ``me/``): serve both."""
    paths = {(r.method, r.path) for r in routes}
    extra = [
        web.RouteDef(r.method, r.path + "/", r.handler, r.kwargs)
        for r in routes
        if not r.path.endswith("/") and (r.method, r.path + "/") not in paths
    ]
    return routes + extra


def init_app(
    settings: EmulatorSettings, *, catalogs: Catalogs | None = None, clock: Clock | None = None
) -> web.Application:
    """Build the emulator app. Loading the catalogs blocks for about a second (pass them in tests)."""
    if settings.is_production:
        raise ProductionRefused(
            "the provider emulator is for development and tests only; ENVIRONMENT=production"
        )
    if clock is None:
        clock = ManualClock(settings.clock_start) if settings.clock == "manual" else SystemClock()
    catalogs = catalogs or load_catalogs(settings.data_dir)
    e = Emulator(
        settings=settings,
        clock=clock,
        catalogs=catalogs,
        store=Store(IdGenerator(settings.seed), clock),
        faults=FaultInjector(),
        limits=RateLimits(),
        config=RuntimeConfig(
            settings.spotify_mode, settings.youtube_quota_mode, settings.link_style, settings.public_base_url
        ),
    )
    apply_fault_settings(e)
    seed_state(e)
    # client_max_size bounds every body read (common.read_body; 413 beyond), forms included.
    app = web.Application(
        middlewares=[slow_body_middleware, provider_middleware], client_max_size=16 * 1024 * 1024
    )
    app[EMULATOR] = e
    app.on_response_prepare.append(stamp_date)
    app.router.add_routes(health.routes() + admin.routes())
    for module in (
        spotify_accounts,
        spotify_api,
        deezer_connect,
        deezer_api,
        tidal_auth,
        tidal_api,
        tidal_v1_api,
        google_oauth,
        youtube_api,
        musicbrainz,
    ):
        app.router.add_routes(with_trailing_slashes(module.routes()))
    logger.info(
        "provider emulator ready: {} demo users, spotify_mode={}, rate_limits={}",
        len(DEMO_ACCOUNTS) if settings.demo_users else 0,
        settings.spotify_mode,
        settings.rate_limits,
    )
    return app
