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
    """Every upstream but export: ready (version 9.9.9) until told otherwise, or hanging (accepting the
    request and never answering). Counts the readiness calls it gets."""

    def __init__(self) -> None:
        self.ready = True
        self.hang = asyncio.Event()
        self.calls = 0

    async def health(self, _: web.Request) -> web.Response:
        self.calls += 1
        if self.hang.is_set():
            await asyncio.Event().wait()  # until the server closes
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


UPSTREAMS = [spec for spec in deployed_services() if not spec.public]


async def _start(service_env_factory, stand_in: StandIn, probe_interval_s: str):
    app = web.Application()
    app.add_routes(
        [web.get("/health/ready", stand_in.health), web.get("/.well-known/jwks.json", stand_in.jwks)]
    )
    server = TestServer(app)
    await server.start_server()
    env = await service_env_factory("gateway")
    env |= {spec.url_variable: f"http://127.0.0.1:{server.port}" for spec in UPSTREAMS}
    env["EXPORT_URL"] = f"http://127.0.0.1:{_closed_port()}"
    env["UPSTREAM_PROBE_INTERVAL_S"] = probe_interval_s
    return server, env


@pytest.fixture
async def gateway(service_env_factory):
    """The gateway with its upstreams on the stand-in (export on a closed port), probed every 0.2 s."""
    stand_in = StandIn()
    server, env = await _start(service_env_factory, stand_in, "0.2")
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


async def _until(client, upstream: str, predicate) -> dict:
    """The readiness report once ``predicate(report["checks"]["service:<upstream>"])`` holds (the probe
    runs in the background; a bounded number of looks, no timing assertion)."""
    for _ in range(300):
        report = await (await client.get("/health/ready")).json()
        if predicate(report["checks"][f"service:{upstream}"]):
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"service:{upstream} never reached the expected state: {report}")


async def test_one_upstream_down_leaves_the_gateway_ready_and_reports_it(gateway):
    client, _, _ = gateway
    report = await _until(
        client, "export", lambda check: check.get("error") != "UpstreamNotReady: not probed yet"
    )
    await _until(client, "playlist", lambda check: check["status"] == "up")
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
    assert export["error"].startswith("UpstreamNotReady: ClientConnectorError: Cannot connect")
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
    for _ in range(100):  # the first probe's answers arrive within a few seconds
        gauges = await _gauges(client)
        if len(gauges) == len(UPSTREAMS):
            break
        await asyncio.sleep(0.1)
    assert gauges == {spec.name: 0.0 if spec.name == "export" else 1.0 for spec in UPSTREAMS}


async def test_the_probe_notices_an_upstream_going_down(gateway):
    client, _, stand_in = gateway
    await _until(client, "playlist", lambda check: check["status"] == "up")
    stand_in.ready = False
    report = await _until(client, "playlist", lambda check: check["status"] == "down")
    assert report["status"] == "ready"
    assert report["checks"]["service:playlist"]["error"].startswith(
        "UpstreamNotReady: answered 503 (postgres down)"
    )
    assert (await _gauges(client))["playlist"] == 0


async def test_health_calls_never_ask_the_upstreams_so_a_hanging_one_cannot_hold_them(service_env_factory):
    """A service that accepts the probe and never answers: the gateway's readiness answers from the last
    probe, and no number of /health calls reaches the upstreams (a probe every hour: only the first)."""
    stand_in = StandIn()
    server, env = await _start(service_env_factory, stand_in, "3600")
    try:
        async with running_service(definition(), env) as (client, _):
            await _until(client, "playlist", lambda check: check["status"] == "up")
            first_probe = stand_in.calls
            assert first_probe == len(UPSTREAMS) - 1  # every upstream but export lives on the stand-in
            stand_in.hang.set()
            for _ in range(20):
                ready = await client.get("/health/ready")
                assert ready.status == 200
                assert (await client.get("/health")).status == 200
            assert stand_in.calls == first_probe
    finally:
        await server.close()
