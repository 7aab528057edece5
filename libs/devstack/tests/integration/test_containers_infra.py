"""PM_INFRA=containers for real: a private stack's infrastructure in a temp state dir on free ports, started
with testcontainers (Podman's API here, Docker where one answers), used, restarted, and removed by ``down``.

Marked ``containers`` (``make test-containers``): it builds the infrastructure images when missing.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pm_devstack import lifecycle
from pm_devstack.config import StackConfig, find_repo_root
from pm_devstack.containers import LABEL, ContainerRuntime
from pm_devstack.ports import free_port_block, http_ok, port_in_use
from pm_devstack.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.containers, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # A short path: the Podman API socket lives in the state dir (unix socket paths are limited to 108 bytes).
    state = Path(tempfile.mkdtemp(prefix="pm-tc-"))
    base = free_port_block((0, 1, 2, 3, 4))
    config = StackConfig(
        repo_root=find_repo_root(),
        state_dir=state,
        pg_port=base,
        redis_port=base + 1,
        kafka_port=base + 2,
        kafka_controller_port=base + 3,
        s3_port=base + 4,
        infra="containers",
    )
    # The Kafka image carries the native stack's jars: share its download instead of fetching again.
    shared_libs = StackConfig.from_env().state_dir / "kafka" / "libs"
    if shared_libs.is_dir():
        (state / "kafka").mkdir(parents=True)
        shutil.copytree(shared_libs, state / "kafka" / "libs")
    stack = Stack(config)
    try:
        lifecycle.up(stack, infra_only=True, say=lambda _: None)
        yield stack
    finally:
        lifecycle.down(stack, say=lambda _: None)
        shutil.rmtree(state, ignore_errors=True)


def test_every_server_is_healthy_and_published_on_its_port(stack: Stack) -> None:
    statuses = lifecycle.status(stack, infra_only=True)
    assert [s.name for s in statuses] == ["postgres", "redis", "kafka", "s3"]
    assert all(s.running and s.healthy for s in statuses), statuses
    assert http_ok(stack.config.s3_port, "/healthz")


async def test_postgres_bootstrapped_with_the_service_roles(stack: Stack) -> None:
    spec = next(spec for spec in stack.specs if spec.schema is not None)
    conn = await asyncpg.connect(stack.database_url(spec))
    try:
        assert await conn.fetchval("select current_user") == spec.role
        assert (await conn.fetchval("show fsync")) == "off"  # the native stack's settings
    finally:
        await conn.close()


async def test_kafka_round_trip_survives_a_restart(stack: Stack) -> None:
    bootstrap = stack.kafka_bootstrap()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("tc-check", b"before", key=b"k")
    finally:
        await producer.stop()
    await asyncio.to_thread(lifecycle.restart, stack, "kafka", say=lambda _: None)
    consumer = AIOKafkaConsumer(
        "tc-check", bootstrap_servers=bootstrap, group_id="tc", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), 30)
        assert message.value == b"before"
    finally:
        await consumer.stop()


def test_down_removes_the_containers_and_the_engine_service(stack: Stack) -> None:
    lifecycle.down(stack, say=lambda _: None)
    runtime = ContainerRuntime(stack.config)
    assert runtime.service_pid() is None
    assert not any(port_in_use(port) for _, port in stack.port_claims(include_dev=False)[:4])
    listed = runtime.engine().run("ps", "--all", "--filter", f"label={LABEL}={stack.config.state_dir}", "-q")
    assert listed.returncode == 0
    assert listed.stdout.strip() == ""
