"""HTTP routes of the enrichment service. Public routes arrive through the gateway under /api/v1; internal
ones (``/internal/...``, the service credential) are never routed by it."""

from aiohttp import web

from pm_enrichment.http import catalog
from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    app.router.add_post("/internal/catalog/lookup", catalog.lookup)
    app.router.add_post("/internal/catalog/recordings/{recording_id}/split", catalog.split)
