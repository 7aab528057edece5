"""Wiring of the gateway: what the chassis runs for it."""

from importlib import resources
from typing import Any

from pm_gateway.events.handlers import handlers
from pm_gateway.http.edge import edge_middleware
from pm_gateway.http.routes import add_routes
from pm_gateway.resources import (
    UPSTREAM_READINESS,
    edge_context,
    job_event_hub,
    upstream_client,
    upstream_readiness,
)
from pm_gateway.settings import GatewaySettings, gateway_settings
from pm_gateway.usecases import instances
from pm_gateway.usecases.users import erase_job_snapshots
from pm_platform.health import Check, HealthCheck
from pm_platform.service import Runtime, ServiceDefinition
from pm_platform.users import UserData


def _health_checks(rt: Runtime) -> list[HealthCheck]:
    """Beyond the chassis' (PostgreSQL, Redis, Kafka: what the gateway needs to serve), informational
    only: each upstream's readiness (one service down must not take the only entrypoint out of
    rotation), and which services announced themselves through Kafka (proves the event path)."""

    def upstream(name: str) -> Check:
        async def last_probe() -> dict[str, Any]:
            return rt[UPSTREAM_READINESS].report(name)  # no network: the probe's last answer

        return last_probe

    checks = [
        HealthCheck(f"service:{name}", upstream(name), informational=True)
        for name in gateway_settings(rt).upstreams()
    ]
    checks.append(HealthCheck("events", lambda: instances.announced(rt), informational=True))
    return checks


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
        # The upstream client first: the readiness probe asks through it, the edge fetches the JWKS.
        resources=[upstream_client, upstream_readiness, edge_context, job_event_hub],
        health_checks=_health_checks,
        # Innermost: preflight, route lookup, token, rate limit and revocation, Idempotency-Key.
        middlewares=[edge_middleware],
    )
