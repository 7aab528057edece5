"""Test tiers for the whole repository.

- Unit tests (unmarked) need no network: a connection to anything but a server the test itself
  started on loopback fails. In practice: connecting to the native stack's ports is refused.
- ``@pytest.mark.integration`` tests use the real servers of the native stack (`make up`), each in
  throwaway databases of their own, so they never touch the stack's data.
- ``@pytest.mark.e2e`` tests drive the running stack through the gateway and the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient

from pm_devstack.scratch import create_scratch_database, drop_databases
from pm_devstack.stack import InfraEndpoints, Stack
from pm_platform.service import Runtime, ServiceDefinition
from pm_platform.testing import running_service

REAL_TIERS = ("integration", "e2e")


def _stack_ports(stack: Stack) -> set[int]:
    return {port for _, port in stack.port_claims()}


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if any(request.node.get_closest_marker(tier) for tier in REAL_TIERS):
        return
    forbidden = _stack_ports(Stack.from_env())
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address: Any) -> None:
        if isinstance(address, tuple) and len(address) >= 2:
            host, port = address[0], address[1]
            if host not in ("127.0.0.1", "::1", "localhost") or port in forbidden:
                raise ConnectionRefusedError(f"unit tests may not use the network ({host}:{port})")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _check(address)
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack.from_env()


@pytest.fixture(scope="session")
def infra(stack: Stack) -> InfraEndpoints:
    return stack.infra_endpoints()


@pytest.fixture
async def redis(infra: InfraEndpoints) -> AsyncIterator[aioredis.Redis]:
    """A client of the stack's Redis, closed after the test (keys are each test's to prefix and drop)."""
    client = aioredis.from_url(infra.redis_url)
    yield client
    await client.aclose()


DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
async def make_database(stack: Stack, infra: InfraEndpoints) -> AsyncIterator[DatabaseFactory]:
    """Creates a throwaway database with the service role for ``schema``; returns that role's DSN."""
    created: list[str] = []

    async def factory(schema: str) -> str:
        name, dsn = await asyncio.to_thread(create_scratch_database, stack, schema)
        created.append(name)
        return dsn

    yield factory
    await drop_databases(infra.admin_dsn, created)


@pytest.fixture(scope="session")
async def service_env_factory(
    stack: Stack, infra: InfraEndpoints, make_database: DatabaseFactory
) -> AsyncIterator[Callable[[str], Awaitable[dict[str, str]]]]:
    """The environment `make up` gives a service, but with a throwaway database, Kafka topics and
    consumer group of its own: the running stack's services never see the test's events, and the test
    never takes theirs. The topics are deleted at the end of the session."""
    prefixes: list[str] = []

    async def factory(service: str) -> dict[str, str]:
        env = dict(stack.service_env(service))
        # The stack's identity keys as plain variables, which a test may replace with its own: the
        # running services' key files are theirs (a rotation rewrites them), never a test's.
        for name in ("IDENTITY_PUBLIC_KEYS", "IDENTITY_SIGNING_KEY"):
            path = env.pop(f"{name}_FILE", None)
            if path is not None:
                env[name] = (await asyncio.to_thread(Path(path).read_text)).strip()
        schema = stack.spec(service).schema
        assert schema is not None
        env["DATABASE_URL"] = await make_database(schema)
        run = uuid.uuid4().hex[:8]
        prefixes.append(f"test-{run}.")
        env["KAFKA_TOPIC_PREFIX"] = prefixes[-1]
        env["KAFKA_CONSUMER_GROUP"] = f"{service}-test-{run}"
        return env

    yield factory
    if prefixes:
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
        await admin.start()
        try:
            doomed = [t for t in await admin.list_topics() if t.startswith(tuple(prefixes))]
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()


@pytest.fixture
async def start_in_memory(
    service_env_factory: Callable[[str], Awaitable[dict[str, str]]],
) -> AsyncIterator[Callable[[ServiceDefinition], Awaitable[Runtime]]]:
    """``await start_in_memory(definition())``: the service running in-process on a throwaway database
    with FastStream's in-memory broker instead of Kafka (pm_platform.testing), stopped at the end."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(definition: ServiceDefinition) -> Runtime:
            env = await service_env_factory(definition.name)
            _, runtime = await stack.enter_async_context(running_service(definition, env, broker="memory"))
            return runtime

        yield start
