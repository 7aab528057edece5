"""Helpers for services' tests: run a whole service in-process, deliver events to it, replay the
registry's example events.

The service runs with its real migrations against real PostgreSQL and Redis, through the same factory
as production. Kafka is real too (``broker="kafka"``), except in handler tests that do not need a
broker (``broker="memory"``): there FastStream's own in-memory test broker (TestKafkaBroker) stands in
for the cluster, so an event published on the service's bus reaches the service's real subscriber,
dispatcher (envelope, registry validation, inbox, dead letters) and handler at once, in the test's
task. Delivery guarantees (the outbox relay, redelivery, ordering) are tested against real Kafka.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import itertools
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import TestKafkaBroker
from pydantic import BaseModel

from pm_contracts.envelope import Envelope
from pm_contracts.registry import TOPICS, event_spec, event_type_of, topics_produced_by
from pm_contracts.services import deployed_services
from pm_contracts.users import UserDeleted
from pm_platform import db
from pm_platform.consumers import Outcome
from pm_platform.correlation import new_correlation_id
from pm_platform.identity import IDENTITY_HEADER, Identity, IdentitySigner, raw_public_key
from pm_platform.service import RUNTIME, Runtime, ServiceDefinition, create_app
from pm_platform.settings import load_settings

PROTO_DIR = Path(__file__).resolve().parents[4] / "proto"


@dataclass(frozen=True)
class GatewayIdentityKey:
    """Plays the gateway in a service's tests: a fresh identity key pair whose public key the service
    under test is given (``env["IDENTITY_PUBLIC_KEYS"] = key.public_keys``), and X-PM-Identity headers
    signed with its private key, exactly as the gateway signs them."""

    signer: IdentitySigner
    public_keys: str

    @classmethod
    def generate(cls) -> GatewayIdentityKey:
        private = secrets.token_bytes(32)
        return cls(IdentitySigner(private), base64.b64encode(raw_public_key(private)).decode())

    def headers(self, identity: Identity) -> dict[str, str]:
        return {IDENTITY_HEADER: self.signer.sign(identity)}


async def raw_exchange(
    port: int,
    request: bytes,
    sends: Sequence[tuple[float, bytes]] = (),
    *,
    host: str = "127.0.0.1",
    wait_s: float = 20.0,
) -> tuple[bytes, Literal["closed", "reset", ""]]:
    """Speak raw HTTP/1.1 where a client library would refuse to send the attack (a slow body, a
    malformed header, a smuggled request): send ``request``, then each ``(pause, data)`` of ``sends``
    while the connection is open, and read until the server closes it.

    Returns what the server sent and how the connection ended within ``wait_s``: ``"closed"`` (EOF),
    ``"reset"`` (the server reset it, perhaps before its answer could be read) or ``""`` (still open:
    ``wait_s`` bounds a server that never ends it; the test then fails on what it got, never hangs)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)

    async def sender() -> None:
        for pause, data in sends:
            await asyncio.sleep(pause)
            if reader.at_eof() or writer.is_closing():
                return
            writer.write(data)
            await writer.drain()

    sending = asyncio.create_task(sender())
    received = bytearray()
    ended: Literal["closed", "reset", ""] = ""
    try:
        async with asyncio.timeout(wait_s):
            while chunk := await reader.read(65536):
                received += chunk
            ended = "closed"
    except (ConnectionResetError, BrokenPipeError):
        ended = "reset"
    except TimeoutError:
        ended = ""
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return bytes(received), ended


def unreachable_infra_env() -> dict[str, str]:
    """A service's required settings, its servers on port 1 of loopback (where nothing listens): for
    unit tests that build and serve a service's app without PostgreSQL, Redis or Kafka."""
    return {
        "DATABASE_URL": "postgresql://pm_playlist:a-test-password@127.0.0.1:1/playlistmgr",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "SERVICE_TOKEN": "a-long-service-token-value-123",
        "IDENTITY_PUBLIC_KEYS": base64.b64encode(raw_public_key(secrets.token_bytes(32))).decode(),
        # The peers a service calls (the library's insights ask the catalog), likewise unreachable.
        "ENRICHMENT_URL": "http://127.0.0.1:1",
    }


@asynccontextmanager
async def stand_in_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    path: str = "/{tail:.*}",
    method: str = "*",
) -> AsyncIterator[str]:
    """Another party (a provider, a service) played by ``handler`` on a free loopback port, answering
    ``method`` requests to ``path`` (every request by default); yields its base URL."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


# The /64s handed out by simulated_client_ip: consecutive from a random start, so that no two in one
# process are the same (random draws would collide: about 1% at 10,000) and two runs hardly overlap.
_SIMULATED_NETWORKS = itertools.count(secrets.randbits(32))


def simulated_client_ip() -> str:
    """A fresh address for a simulated client of the gateway (sent as X-Forwarded-For from loopback, which
    the native stack trusts as a proxy), so that tests do not drain each other's per-address buckets.

    An IPv6 address in a /64 of its own (the gateway's per-address bucket for IPv6) under 2001:db8::/32
    (RFC 3849, documentation: a header value only, never routed)."""
    network = next(_SIMULATED_NETWORKS) & 0xFFFF_FFFF
    return str(ipaddress.IPv6Address((0x2001_0DB8 << 96) | (network << 64) | 1))


@asynccontextmanager
async def running_service(
    definition: ServiceDefinition,
    env: Mapping[str, str],
    ready_timeout_s: float = 60.0,
    *,
    broker: Literal["kafka", "memory"] = "kafka",
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Runtime]]:
    """Start the service's app on a free port with ``env`` and wait until it is ready.

    ``broker="memory"``: FastStream's in-memory broker instead of the Kafka cluster (module docstring).
    """
    with mock.patch.dict(os.environ, dict(env), clear=False):
        settings = load_settings(definition.settings_cls)
    if broker == "memory":
        # No cluster holds the topics: no consumer lag to sample from their offsets.
        settings = settings.model_copy(update={"kafka_lag_interval_s": 0.0})
    app = create_app(definition, settings)
    runtime = app[RUNTIME]
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    async with contextlib.AsyncExitStack() as stack:
        if broker == "memory":
            # No cluster to create topics on or to ask for metadata; the broker itself is faked.
            stack.enter_context(mock.patch.object(runtime.bus, "ensure_topics", _nothing))
            stack.enter_context(mock.patch.object(runtime.bus, "ping", _nothing))
            await stack.enter_async_context(TestKafkaBroker(runtime.bus.broker, connect_only=True))
        await client.start_server()
        try:
            await asyncio.wait_for(runtime.bus.connected.wait(), ready_timeout_s)
            yield client, runtime
        finally:
            await asyncio.wait_for(client.close(), 60)


async def _nothing(*_: object, **__: object) -> None:
    return None


def envelope_of(
    event_type: str, data: BaseModel, *, source: str = "tests", subject: str | None = None
) -> bytes:
    """A registry event as a producer would publish it (``subject`` defaults to the topic's key field)."""
    topic, spec = event_spec(event_type)
    if subject is None:
        subject = str(getattr(data, topic.key, topic.key))
    return Envelope(
        source=f"/services/{source}",
        type=event_type,
        subject=subject,
        schemaversion=spec.version,
        correlationid=new_correlation_id(),
        data=data.model_dump(mode="json"),
    ).to_json()


async def deliver(runtime: Runtime, data: BaseModel, *, raw: bytes | None = None) -> Outcome:
    """Publish one event (``data``, a registry payload model; or ``raw`` bytes of it) on the service's
    bus and return how its dispatcher ended it. With ``broker="memory"`` it is handled before this
    returns, through the service's own subscriber."""
    event_type = event_type_of(type(data))
    topic, _ = event_spec(event_type)
    body = raw if raw is not None else envelope_of(event_type, data)
    reply = await runtime.bus.broker.request(body, runtime.bus.topic(topic.name), key=b"test")
    return Outcome(reply.body.decode())


def insider_assertion(identity: Identity, service_token: str, kid: str | None = None) -> str:
    """What any service could mint before the identity key was the gateway's alone: an HS256 assertion
    with the right claims, keyed from SERVICE_TOKEN (which every service holds). Services must refuse it."""
    key = hmac.new(service_token.encode(), b"identity", hashlib.sha256).digest()
    now = int(time.time())
    claims = {
        "iss": "pm-gateway",
        "aud": "pm-internal",
        "sub": str(identity.user_id),
        "sid": str(identity.session_id),
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid} if kid else None)


def registry_examples(event_types: set[str]) -> list[tuple[str, str, bytes]]:
    """(topic, event type, raw envelope) for every committed example of the given types."""
    found = []
    for topic in TOPICS:
        for event in topic.events:
            if event.type not in event_types:
                continue
            for index in range(1, len(event.examples) + 1):
                path = PROTO_DIR / "examples" / event.type / f"{index}.json"
                raw = json.dumps(json.loads(path.read_text())).encode()
                found.append((topic.name, event.type, raw))
    return found


async def check_registry_examples(runtime: Runtime) -> None:
    """Every committed example of every event type the service handles, delivered twice through its
    bus: handled the first time, a duplicate the second (the inbox)."""
    handled = runtime.definition.all_event_handlers().event_types
    examples = registry_examples(handled)
    assert {event_type for _, event_type, _ in examples} == handled, "an event type without an example"
    for _, event_type, raw in examples:
        _, spec = event_spec(event_type)
        payload = spec.model.model_validate(json.loads(raw)["data"])
        first = await deliver(runtime, payload, raw=raw)
        second = await deliver(runtime, payload, raw=raw)
        assert (first, second) == (Outcome.HANDLED, Outcome.DUPLICATE), (event_type, first, second)


async def check_service_basics(definition: ServiceDefinition, env: Mapping[str, str]) -> None:
    """What every service must do against the real servers: start and connect to Kafka, answer ready,
    serve metrics."""
    async with running_service(definition, env) as (client, _):
        ready = await client.get("/health/ready")
        assert ready.status == 200, await ready.text()
        metrics = await client.get("/metrics")
        assert "pm_http_requests_total" in await metrics.text()


async def check_user_erasure(runtime: Runtime) -> None:
    """``user.deleted`` erases the user's jobs (the chassis) and nothing of another user's. Services
    that keep more (UserData) assert that in their own tests."""
    deleted, kept = uuid.uuid4(), uuid.uuid4()
    async with runtime.transaction() as conn:
        for user in (deleted, deleted, kept):
            await runtime.jobs.create(conn, "test.erasure", user)
    event = UserDeleted(user_id=deleted, deleted_at=datetime.now(UTC))
    assert await deliver(runtime, event) is Outcome.HANDLED
    async with runtime.pool.acquire() as conn:
        assert await runtime.jobs.list_for_user(conn, deleted) == []
        assert len(await runtime.jobs.list_for_user(conn, kept)) == 1


def check_definition(definition: ServiceDefinition) -> None:
    """What a service's definition must agree with, checked without any server: its entry in
    proto/services.yaml, the topic registry (both directions), and its migrations for the tables whose
    rows of a deleted user it declares (each must exist with a ``user_id`` column)."""
    spec = next((s for s in deployed_services() if s.name == definition.name), None)
    assert spec is not None, f"{definition.name} is not in proto/services.yaml"
    assert (spec.schema, spec.package) == (definition.schema, definition.distribution.replace("-", "_"))
    definition.all_event_handlers()  # raises RegistryMismatch
    sql = "\n".join(m.sql for m in db.read_migrations(definition.name, definition.migrations))
    for table in definition.user_data.tables:
        created = re.search(rf"CREATE TABLE (?:IF NOT EXISTS )?{table}\s*\((?P<body>.*?)\n\);", sql, re.S)
        assert created is not None, f"UserData names {table}, which no migration of {definition.name} creates"
        assert re.search(r"^\s*user_id\s", created["body"], re.M), f"{table} has no user_id column"


async def published_events(
    runtime: Runtime, subject: str, event_type: str | None = None, timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    """The envelopes (parsed JSON) the service has published with Kafka key ``subject``, oldest first,
    read back from its topics on the real Kafka: first every outbox row of that subject is awaited
    until the relay published it (the relay deletes a row once Kafka acknowledged it), then each topic
    the service produces is read from its start to its end offsets."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with runtime.pool.acquire() as conn:
            pending = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE partition_key = $1 AND failed_at IS NULL", subject
            )
        if not pending:
            break
        if loop.time() > deadline:
            raise AssertionError(f"{pending} event(s) of {subject} still unpublished after {timeout_s} s")
        await asyncio.sleep(0.05)
    # The registry's partition counts: the service created its topics with them.
    partitions = [
        TopicPartition(runtime.bus.topic(topic.name), partition)
        for topic in topics_produced_by(runtime.name)
        for partition in range(topic.partitions)
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=runtime.bus.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[int, dict[str, Any]]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if record.key == subject.encode():
                        found.append((record.timestamp, json.loads(record.value)))
    finally:
        await consumer.stop()
    found.sort(key=lambda item: (item[0], item[1]["time"]))
    return [e for _, e in found if event_type is None or e["type"] == event_type]
