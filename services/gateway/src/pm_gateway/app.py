"""Wiring of the gateway: what the chassis runs for it."""

import gc
from collections.abc import AsyncIterator
from importlib import resources

from pm_gateway.events.handlers import handlers
from pm_gateway.http.context import edge_context
from pm_gateway.http.edge import edge_middleware
from pm_gateway.http.jobs import job_event_hub
from pm_gateway.http.routes import add_routes
from pm_gateway.http.upstreams import upstream_checks, upstream_client
from pm_gateway.settings import GatewaySettings
from pm_gateway.usecases.users import erase_job_snapshots
from pm_platform.health import HealthCheck
from pm_platform.s3 import object_store, object_store_check
from pm_platform.service import Runtime, ServiceDefinition
from pm_platform.users import UserData


async def _frozen_heap(_: Runtime) -> AsyncIterator[None]:
    """Once everything is built, move the start-up objects out of the collector's sight: the
    collections that follow only walk what requests allocate (a shorter pause in the tail latency)."""
    gc.collect()
    gc.freeze()
    yield


def _health_checks(rt: Runtime) -> list[HealthCheck]:
    return [object_store_check(rt), *upstream_checks(rt)]


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="gateway",
        distribution="pm-gateway",
        schema="gateway",
        settings_cls=GatewaySettings,
        migrations=resources.files("pm_gateway") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        user_data=UserData(erase=erase_job_snapshots),
        # The upstream client before the edge: the edge fetches the JWKS through it.
        resources=[object_store, upstream_client, edge_context, job_event_hub, _frozen_heap],
        health_checks=_health_checks,
        # Innermost: preflight, route lookup, token, rate limit and revocation, Idempotency-Key.
        middlewares=[edge_middleware],
    )
