"""HTTP routes of the provider-sync service. Public routes arrive through the gateway under /api/v1."""

from aiohttp import web

from pm_platform.service import Runtime
from pm_provider_sync.http import imports


def add_routes(app: web.Application, rt: Runtime) -> None:
    app.router.add_post("/api/v1/library/imports", imports.start_import)
