"""Liveness and readiness (the chassis will replace these with pm_platform's)."""

from __future__ import annotations

from aiohttp import web

from pm_provider_emulator.http.common import emu, json_response


async def health(request: web.Request) -> web.Response:
    e = emu(request)
    return json_response(
        {
            "status": "ok",
            "service": "provider-emulator",
            "environment": e.settings.environment,
            "tracks": {
                "spotify": len(e.catalogs.spotify),
                "deezer": len(e.catalogs.deezer),
                "tidal": len(e.catalogs.tidal),
                "youtube": len(e.catalogs.youtube),
                "musicbrainz": len(e.catalogs.musicbrainz),
            },
        }
    )


async def live(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def routes() -> list[web.RouteDef]:
    return [web.get("/health", health), web.get("/health/live", live), web.get("/health/ready", ready)]
