"""SQL for the service instances the gateway has heard of."""

from typing import Any

import asyncpg

from pm_contracts.system import ServiceStarted


async def record_instance(conn: asyncpg.Connection, event: ServiceStarted) -> None:
    await conn.execute(
        """INSERT INTO service_instances (instance, service, version, schema_migrations, started_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (instance) DO UPDATE SET version = EXCLUDED.version,
               schema_migrations = EXCLUDED.schema_migrations, started_at = EXCLUDED.started_at, seen_at = now()""",
        event.instance,
        event.service,
        event.version,
        event.schema_migrations,
        event.started_at,
    )


async def latest_instances(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """The most recently started instance of each service."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (service) service, instance, version, started_at
           FROM service_instances ORDER BY service, started_at DESC"""
    )
    return {
        r["service"]: {
            "instance": r["instance"],
            "version": r["version"],
            "started_at": r["started_at"].isoformat(),
        }
        for r in rows
    }
