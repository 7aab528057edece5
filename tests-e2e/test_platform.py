"""The foundation end to end: the stack is up, every service serves health and metrics, events flow
from each service's outbox through Kafka to the gateway, and no secret reaches a log."""

import asyncio

import aiohttp
import pytest

from pm_contracts.services import service_names
from pm_devstack.stack import Stack

SERVICES = list(service_names())  # the one list, proto/services.yaml


async def _get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with session.get(url) as response:
        return response.status, await response.json(content_type=None)


async def test_gateway_readiness_is_its_infrastructure_and_reports_every_service(gateway_url):
    async with aiohttp.ClientSession() as session:
        status, report = await _get_json(session, f"{gateway_url}/health/ready")
    assert status == 200, report
    checks = report["checks"]
    for component in ["postgres", "redis", "kafka"]:
        assert checks[component]["status"] == "up", component
    for service in SERVICES[1:]:
        assert checks[f"service:{service}"]["status"] == "up", service
        assert checks[f"service:{service}"]["informational"] is True, service


async def test_every_service_announced_itself_through_kafka(gateway_url):
    """service.started goes outbox → relay → Kafka → the gateway's consumer → its database."""
    async with aiohttp.ClientSession() as session:
        for _ in range(60):
            _, report = await _get_json(session, f"{gateway_url}/health")
            announced = report["checks"]["events"].get("services", {})
            if set(SERVICES) <= set(announced):
                break
            await asyncio.sleep(0.5)
    assert set(SERVICES) <= set(announced), announced


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_serves_liveness_and_metrics(stack: Stack, service):
    port = stack.spec(service).port
    async with aiohttp.ClientSession() as session:
        status, body = await _get_json(session, f"http://127.0.0.1:{port}/health/live")
        assert status == 200
        assert body["service"] == service
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    assert response.status == 200
    for metric in [
        "pm_http_requests_total",
        "pm_outbox_backlog",
        "pm_db_pool_size",
        "pm_kafka_produced_total",
        "process_resident_memory_bytes",  # the memory alert's series
    ]:
        assert metric in text, (service, metric)


async def test_errors_are_problem_json_with_the_correlation_id(gateway_url):
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway_url}/api/v1/no-such-route", headers={"X-Correlation-ID": "e2e-42"}) as r,
    ):
        body = await r.json(content_type=None)
    assert r.status == 404
    assert r.content_type == "application/problem+json"
    assert body["correlation_id"] == "e2e-42"
    assert r.headers["X-Correlation-ID"] == "e2e-42"


async def test_no_secret_reaches_any_log(stack: Stack, gateway_url):
    secrets = [value for value in stack.secrets.values.values() if len(value) >= 8]
    assert secrets
    # Plant secrets where a careless log line would pick them up.
    async with aiohttp.ClientSession() as session:
        for secret in secrets[:3]:
            async with session.get(
                f"{gateway_url}/api/v1/x?access_token={secret}", headers={"Authorization": f"Bearer {secret}"}
            ) as response:
                assert response.status == 404
    logs = sorted(stack.config.logs_dir.glob("*.log"))
    assert logs
    for log in logs:
        text = log.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"a secret appears in {log.name}"
