"""HTTP routes of the gateway. Routing of /api/v1 to the services arrives with the accounts issue."""

from aiohttp import web

from pm_platform.service import Runtime


def add_routes(app: web.Application, rt: Runtime) -> None:
    """Health (reporting every service and infrastructure component) and metrics come from the chassis."""
