"""Helpers for services' tests: run a whole service in-process, replay the registry's example events.

Nothing here fakes a server: the service runs with its real migrations against real PostgreSQL,
Redis and Kafka, through the same factory as production.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pm_contracts.registry import TOPICS
from pm_platform.consumers import Outcome
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


@asynccontextmanager
async def running_service(
    definition: ServiceDefinition, env: Mapping[str, str], ready_timeout_s: float = 60.0
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Runtime]]:
    """Start the service's app on a free port with ``env`` and wait until it is ready."""
    with mock.patch.dict(os.environ, dict(env), clear=False):
        settings = load_settings(definition.settings_cls)
    app = create_app(definition, settings)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        runtime = app[RUNTIME]
        await asyncio.wait_for(runtime.bus.connected.wait(), ready_timeout_s)
        yield client, runtime
    finally:
        await asyncio.wait_for(client.close(), 60)


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


def registry_examples(event_types: list[str]) -> list[tuple[str, str, bytes]]:
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


async def replay_registry_examples(runtime: Runtime) -> list[tuple[str, Outcome, Outcome]]:
    """Deliver each example event the service handles twice: (type, first outcome, second outcome)."""
    assert runtime.dispatcher is not None
    results = []
    for topic, event_type, raw in registry_examples(runtime.dispatcher.event_types):
        first = await runtime.dispatcher.dispatch(raw, topic)
        second = await runtime.dispatcher.dispatch(raw, topic)
        results.append((event_type, first, second))
    return results


async def check_service_basics(definition: ServiceDefinition, env: Mapping[str, str]) -> Runtime:
    """What every service must do: start ready, serve metrics, and handle each registry example it
    consumes once (a redelivery is a duplicate). Returns the runtime for service-specific checks."""
    async with running_service(definition, env) as (client, runtime):
        ready = await client.get("/health/ready")
        assert ready.status == 200, await ready.text()
        metrics = await client.get("/metrics")
        assert "pm_http_requests_total" in await metrics.text()
        results = await replay_registry_examples(runtime)
        assert results, f"{definition.name} handles no registry event"
        for event_type, first, second in results:
            assert first is Outcome.HANDLED, (event_type, first)
            assert second is Outcome.DUPLICATE, (event_type, second)
        return runtime
