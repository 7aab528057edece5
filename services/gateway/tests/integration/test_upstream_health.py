"""The upstream services' readiness is information for the gateway, not a condition of its own: with one
service down the only entrypoint stays in rotation (every other route still works), and each service's
state shows in /health, /health/ready and ``pm_gateway_upstream_up`` (kept by a background probe too)."""

import asyncio
import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pm_contracts.services import deployed_services
from pm_gateway.app import definition
from pm_platform.testing import running_service

pytestmark = pytest.mark.integration

GAUGE = "pm_gateway_upstream_up"


class StandIn:
    """Every upstream but export: ready (version 9.9.9) until told otherwise."""

    ready = True

    async def health(self, _: web.Request) -> web.Response:
        if self.ready:
            return web.json_response({"status": "ready", "version": "9.9.9"})
        return web.json_response(
            {"status": "unready", "failed": ["postgres"]}, status=503, content_type="application/problem+json"
        )

    async def jwks(self, _: web.Request) -> web.Response:
        return web.json_response({"keys": []})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def gateway(service_env_factory):
    stand_in = StandIn()
    app = web.Application()
    app.add_routes(
        [web.get("/health/ready", stand_in.health), web.get("/.well-known/jwks.json", stand_in.jwks)]
    )
    server = TestServer(app)
    await server.start_server()
    env = await service_env_factory("gateway")
    env |= {
        spec.url_variable: f"http://127.0.0.1:{server.port}"
        for spec in deployed_services()
        if not spec.public
    }
    env["EXPORT_URL"] = f"http://127.0.0.1:{_closed_port()}"
    try:
        async with running_service(definition(), env) as (client, runtime):
            yield client, runtime, stand_in
    finally:
        await server.close()


async def _gauges(client) -> dict[str, float]:
    """pm_gateway_upstream_up as /metrics serves it: upstream → value."""
    text = await (await client.get("/metrics")).text()
    prefix = f'{GAUGE}{{upstream="'
    samples = [
        line.removeprefix(prefix).split('"} ') for line in text.splitlines() if line.startswith(prefix)
    ]
    return {upstream: float(value) for upstream, value in samples}


async def test_one_upstream_down_leaves_the_gateway_ready_and_reports_it(gateway):
    client, _, _ = gateway
    ready = await client.get("/health/ready")
    assert ready.status == 200, await ready.text()
    report = await ready.json()
    assert report["status"] == "ready"
    assert "failed" not in report
    checks = report["checks"]
    assert {checks[name]["status"] for name in ("postgres", "redis", "kafka")} == {"up"}
    export = checks["service:export"]
    assert export["status"] == "down"
    assert export["informational"] is True
    assert export["error"].startswith("ClientConnectorError: Cannot connect")
    playlist = checks["service:playlist"]
    assert playlist["status"] == "up"
    assert playlist["version"] == "9.9.9"
    assert playlist["informational"] is True
    assert checks["events"]["informational"] is True
    assert (await client.get("/health")).status == 200
    gauges = await _gauges(client)
    assert gauges["export"] == 0
    assert gauges["playlist"] == gauges["auth"] == 1


async def test_the_probe_keeps_the_gauge_current_without_anyone_asking(gateway):
    """No /health call: the probe started with the gateway sets the gauge of every upstream."""
    client, _, _ = gateway
    names = [spec.name for spec in deployed_services() if not spec.public]
    for _ in range(100):  # the first probe's answers arrive within a few seconds
        gauges = await _gauges(client)
        if len(gauges) == len(names):
            break
        await asyncio.sleep(0.1)
    assert gauges == {name: 0.0 if name == "export" else 1.0 for name in names}


async def test_each_health_check_updates_the_gauge(gateway):
    client, _, stand_in = gateway
    await client.get("/health")
    assert (await _gauges(client))["playlist"] == 1
    stand_in.ready = False  # the next probe is 15 s away: only the check itself can notice
    report = await (await client.get("/health/ready")).json()
    assert report["status"] == "ready"
    assert report["checks"]["service:playlist"]["error"] == "ConnectionError: answered 503 (postgres down)"
    assert (await _gauges(client))["playlist"] == 0
