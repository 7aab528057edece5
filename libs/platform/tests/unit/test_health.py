import asyncio

from aiohttp import web

from pm_platform.health import HealthCheck, add_health_routes


async def test_ready_names_each_failed_component(aiohttp_client):
    async def ok():
        return {"extra": 1}

    async def broken():
        raise ConnectionRefusedError("connection refused")

    async def hangs():
        await asyncio.sleep(10)

    app = web.Application()
    checks = [
        HealthCheck("postgres", ok),
        HealthCheck("kafka", broken),
        HealthCheck("s3", hangs, timeout_s=0.1),
    ]
    add_health_routes(app, "svc", "1.0", checks)
    client = await aiohttp_client(app)

    assert (await client.get("/health/live")).status == 200
    ready = await client.get("/health/ready")
    assert ready.status == 503
    body = await ready.json(content_type=None)
    assert body["failed"] == ["kafka", "s3"]
    assert body["checks"]["postgres"]["status"] == "up" and body["checks"]["postgres"]["extra"] == 1
    assert "ConnectionRefusedError" in body["checks"]["kafka"]["error"]
    basic = await client.get("/health")
    assert basic.status == 200 and (await basic.json())["status"] == "unready"
