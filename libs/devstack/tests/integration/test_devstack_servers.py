"""Private servers on other ports in temp dirs: start, check health, use, stop (and restart Kafka).

These install what is missing (Kafka jars into the stack's shared ``.state/kafka/libs``, Debian packages
as root) and never touch the main stack's running servers.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pm_devstack.apt import install_packages
from pm_devstack.bootstrap import bootstrap_database
from pm_devstack.config import StackConfig
from pm_devstack.errors import DevstackError
from pm_devstack.kafka import KafkaServer
from pm_devstack.ports import free_port_block, port_in_use
from pm_devstack.postgres import PostgresServer
from pm_devstack.redis import RedisServer
from pm_devstack.s3 import INTERNAL_PORT_OFFSET, SeaweedServer, internal_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def _released(ports: list[int], within: float = 5.0) -> bool:
    """All ports free again; the kernel may hold one for a moment after the process has exited."""
    deadline = time.monotonic() + within
    while any(port_in_use(port) for port in ports):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _system_packages(component: KafkaServer | RedisServer | PostgresServer, log: Path) -> None:
    install_packages(component.system_packages(), component=component.name, log_path=log)


@pytest.fixture(scope="module")
def kafka_libs() -> Path:
    """The main stack's jar dir: fetched once per machine, shared by every private broker."""
    return StackConfig.from_env().state_dir / "kafka" / "libs"


@pytest.fixture
def kafka(tmp_path: Path, kafka_libs: Path) -> Iterator[KafkaServer]:
    base = free_port_block((0, 1))
    server = KafkaServer(tmp_path / "kafka", base, base + 1, libs_dir=kafka_libs, name="test-kafka")
    _system_packages(server, tmp_path / "apt.log")
    server.install()
    yield server
    server.stop()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, topic: str) -> bytes | None:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id="devstack-test", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=15000, max_records=1)
        records = [record for records in batch.values() for record in records]
        return records[0].value if records else None
    finally:
        await consumer.stop()


def test_private_kafka_start_use_stop_restart(kafka: KafkaServer) -> None:
    assert not kafka.is_running()
    kafka.start()
    kafka.wait_healthy(90)
    assert kafka.is_running()
    assert kafka.check_health()

    asyncio.run(_produce(kafka.bootstrap_servers, "devstack.test", b"hello"))

    kafka.stop()
    assert not kafka.is_running()
    assert not kafka.check_health()
    assert _released([kafka.port, kafka.controller_port])

    # Same log.dirs: the topic and its message survive a restart (what the outbox test relies on).
    kafka.start()
    kafka.wait_healthy(90)
    assert asyncio.run(_consume_one(kafka.bootstrap_servers, "devstack.test")) == b"hello"
    kafka.stop()
    assert not kafka.is_running()


async def test_kafka_health_can_be_awaited_from_async_code(kafka: KafkaServer) -> None:
    kafka.start()
    # From inside an event loop: blocking calls still work; to_thread keeps the loop responsive.
    await asyncio.to_thread(kafka.wait_healthy, 90)
    assert kafka.check_health()
    await _produce(kafka.bootstrap_servers, "devstack.async", b"x")
    kafka.stop()


def test_private_redis_start_ping_stop(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", free_port_block())
    _system_packages(server, tmp_path / "apt.log")
    try:
        server.start()
        server.wait_healthy(30)
        assert server.is_running()
        server.start()  # idempotent: already running, nothing happens
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as conn:
            conn.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
            assert conn.recv(16) == b"+OK\r\n"
    finally:
        server.stop()
    assert not server.is_running()
    assert not server.check_health()
    assert _released([server.port])


def test_port_taken_by_someone_else_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = RedisServer(tmp_path / "redis", port)
        with pytest.raises(DevstackError, match=f"port {port} is already taken") as caught:
            server.start()
    assert caught.value.component == "redis"
    assert caught.value.log_path == tmp_path / "redis" / "redis.log"
    assert not server.is_running()


def test_private_s3_start_and_stop(tmp_path: Path) -> None:
    base = free_port_block((0, *(port - 21000 for port in internal_ports(21000).values())), stop=24000)
    assert internal_ports(base)["master.port"] == base + INTERNAL_PORT_OFFSET + 1
    server = SeaweedServer(tmp_path / "s3", base, "TESTKEY", "testsecret", buckets=["b1"])
    try:
        server.install()
        server.start()
        server.wait_healthy(60)
        # Authentication is on: an anonymous request is refused, not served.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{base}/b1/", timeout=5)
        assert refused.value.code == 403
    finally:
        server.stop()
    assert not server.is_running()
    assert _released(server.listen_ports())


@pytest.fixture
def pg_state() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are 0700, and as root PostgreSQL runs as the postgres user,
    # who must be able to walk down to the data dir.
    path = Path(tempfile.mkdtemp(prefix="pm-devstack-pg-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _role_checks(dsn: str) -> tuple[str, str, bool]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE items (id int)")
        path = await conn.fetchval("SHOW search_path")
        user = await conn.fetchval("SELECT current_user")
        try:
            await conn.execute("CREATE TABLE public.sneaky (id int)")
            public_denied = False
        except asyncpg.InsufficientPrivilegeError:
            public_denied = True
        return path, user, public_denied
    finally:
        await conn.close()


def test_private_postgres_and_bootstrap(pg_state: Path) -> None:
    server = PostgresServer(pg_state, free_port_block(), "superpw", owned_root=pg_state)
    _system_packages(server, pg_state / "apt.log")
    try:
        server.start()
        server.wait_healthy(60)
        roles = {"alpha": ("pm_alpha", "alphapw"), "beta": ("pm_beta", "betapw")}
        bootstrap_database(server.admin_dsn, "testdb", roles)
        bootstrap_database(server.admin_dsn, "testdb", roles)  # idempotent
        dsn = f"postgresql://pm_alpha:alphapw@127.0.0.1:{server.port}/testdb"
        assert asyncio.run(_role_checks(dsn)) == ("alpha", "pm_alpha", True)
    finally:
        server.stop()
    assert not server.is_running()
    assert _released([server.port])
