"""HTTP routes of the enrichment service. Public routes arrive through the gateway under /api/v1."""

from aiohttp import web

from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    """No API of its own yet: health and metrics come from the chassis."""
