"""The service instances the gateway has heard of: each service.started recorded, and the latest
instance of each service reported by /health (proof that the event path works end to end)."""

from __future__ import annotations

from typing import Any

import asyncpg

from pm_contracts.system import ServiceStarted
from pm_gateway.storage.instances import latest_instances, record_instance
from pm_platform.service import Runtime


async def record_started(conn: asyncpg.Connection, event: ServiceStarted) -> None:
    await record_instance(conn, event)


async def announced(rt: Runtime) -> dict[str, Any]:
    """Which services announced themselves through Kafka: the latest instance of each."""
    async with rt.pool.acquire(timeout=2) as conn:
        return {"services": await latest_instances(conn)}
