"""The gateway in front of a real upstream (an aiohttp app standing in for every service), with the real
Redis: proxying, identity, upstream failures, limits, idempotency, CORS, revocation and jobs."""

import asyncio
import base64
import ipaddress
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_gateway.app import definition
from pm_gateway.storage.jobs import JobSnapshots
from pm_platform.consumers import Outcome
from pm_platform.identity import IdentityVerifier
from pm_platform.settings import decode_ed25519_key
from pm_platform.testing import running_service

pytestmark = pytest.mark.integration

ISSUER = "http://gateway.test"
TEST_REDIS_DB = 13  # not the stack's database (0): the gateway's fixed key prefix would collide


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Upstream:
    """Every service at once: records what it received and answers as each test needs."""

    def __init__(self, identity_public_keys: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        # Verifies X-PM-Identity as every service does, with the public keys only.
        self.identities = IdentityVerifier(decode_ed25519_key(k) for k in identity_public_keys.split(","))
        self.seen: list[dict] = []
        self.posts = 0
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.jwks = {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64(raw),
                    "kid": "test-1",
                    "use": "sig",
                    "alg": "EdDSA",
                }
            ]
        }
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self.jwks_handler)
        app.router.add_get("/api/v1/me", self.echo)
        app.router.add_get("/api/v1/playlists/slow", self.slow)
        app.router.add_get("/api/v1/playlists/crash", self.crash)
        app.router.add_get("/api/v1/playlists/problem", self.problem)
        app.router.add_get("/api/v1/playlists/big", self.big)
        app.router.add_post("/api/v1/playlists", self.create)
        app.router.add_post("/api/v1/auth/login", self.login)
        self.server = TestServer(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def token(self, user=None, session=None, kid="test-1", **claims) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": "playlist-manager",
            "sub": str(user or uuid.uuid4()),
            "sid": str(session or uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": kid})

    async def jwks_handler(self, _):
        return web.json_response(self.jwks)

    async def echo(self, request):
        headers = {k.lower(): v for k, v in request.headers.items()}
        identity = self.identities.verify(headers["x-pm-identity"])
        self.seen.append(headers)
        return web.json_response(
            {
                "user": str(identity.user_id),
                "headers": headers,
                "target": request.raw_path,
                "host": request.host,
            }
        )

    async def slow(self, _):
        await asyncio.sleep(3)
        return web.json_response({})

    async def crash(self, _):
        return web.Response(status=500, text="Traceback (most recent call last): secret internals")

    async def problem(self, _):
        return web.json_response(
            {"type": "https://playlist-manager.dev/problems/x", "title": "X", "status": 503},
            status=503,
            content_type="application/problem+json",
        )

    async def big(self, request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"x" * 16384)
        await response.write_eof()
        return response

    async def create(self, request):
        self.posts += 1
        body = await request.json()
        if body.get("slow"):
            await asyncio.sleep(0.6)  # less than UPSTREAM_TIMEOUT_S
        return web.json_response(
            {"n": self.posts, "echo": body}, status=201, headers={"Location": "/api/v1/playlists/1"}
        )

    async def login(self, _):
        return web.json_response({"ok": True})


@pytest.fixture(scope="module")
async def gateway(service_env_factory, infra):
    env = await service_env_factory("gateway")
    upstream = Upstream(env["IDENTITY_PUBLIC_KEYS"])
    await upstream.server.start_server()
    dead = f"http://127.0.0.1:{_free_port()}"
    env |= {
        "AUTH_URL": upstream.url,
        "PLAYLIST_URL": upstream.url,
        "PROVIDER_SYNC_URL": upstream.url,
        "ENRICHMENT_URL": upstream.url,
        "EXPORT_URL": dead,
        "API_BASE_URL": ISSUER,
        "REDIS_URL": infra.redis_url.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}",
        "UPSTREAM_TIMEOUT_S": "1",
        "MAX_BODY_BYTES": "2048",
        "RATE_LIMIT_GENERAL": "1000/s;burst=1000",
        "RATE_LIMIT_AUTH": "2/m;burst=2",
        "CORS_ORIGINS": "https://app.example.com",
    }
    redis = aioredis.from_url(env["REDIS_URL"])
    await _forget_gateway_keys(redis)
    async with running_service(definition(), env) as (client, runtime):
        yield client, runtime, upstream, redis
    await _forget_gateway_keys(redis)
    await redis.aclose()
    await upstream.server.close()


async def _forget_gateway_keys(redis: aioredis.Redis) -> None:
    keys = [k async for k in redis.scan_iter("pm:gateway:*")]
    if keys:
        await redis.delete(*keys)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ip() -> str:
    """A client address no other test (or earlier run within the limit window) uses: a random /64 of
    the IPv6 documentation range, since the gateway buckets IPv6 clients by /64."""
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | (uuid.uuid4().int & ((1 << 96) - 1))))


async def test_proxied_request_carries_identity_not_the_clients_credentials(gateway):
    client, _, upstream, _ = gateway
    user = uuid.uuid4()
    response = await client.get(
        "/api/v1/me",
        headers={
            "Authorization": f"Bearer {upstream.token(user)}",
            "X-PM-Identity": "forged",
            "Connection": "X-Hop",
            "X-Hop": "1",
            "X-Correlation-ID": "corr-1",
            "X-Forwarded-For": "203.0.113.77",
        },
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["user"] == str(user)
    seen = body["headers"]
    assert "authorization" not in seen
    assert "x-hop" not in seen
    assert seen["x-correlation-id"] == "corr-1"
    assert seen["x-forwarded-for"] == "203.0.113.77, 127.0.0.1"
    assert response.headers["X-Correlation-ID"] == "corr-1"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["RateLimit-Remaining"]) >= 0


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda up: up.token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda up: up.token(iss="https://evil"), id="issuer"),
        pytest.param(lambda up: up.token(aud="other"), id="audience"),
        pytest.param(lambda up: up.token(kid="nope"), id="unknown-kid"),
        pytest.param(lambda up: "a.b.c", id="garbage"),
    ],
)
async def test_bad_tokens_are_refused_with_a_bearer_challenge(gateway, mutate):
    client, _, upstream, _ = gateway
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {mutate(upstream)}"})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/problem+json"


async def test_upstream_failures_are_problems_that_reveal_nothing(gateway):
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token()}"}
    crash = await client.get("/api/v1/playlists/crash", headers=auth)
    assert crash.status == 502
    assert crash.content_type == "application/problem+json"
    assert "Traceback" not in await crash.text()
    problem = await client.get("/api/v1/playlists/problem", headers=auth)
    assert problem.status == 503
    assert (await problem.json())["type"].endswith("/x")  # the service's own problem passes through
    slow = await client.get("/api/v1/playlists/slow", headers=auth)
    assert slow.status == 504
    refused = await client.get("/api/v1/exports", headers=auth)
    assert refused.status == 503
    assert refused.content_type == "application/problem+json"


async def test_expect_100_continue_is_answered_by_the_gateway_alone(gateway):
    client, _, upstream, _ = gateway
    response = await client.post(
        "/api/v1/playlists",
        json={"name": "continued"},
        headers={"Authorization": f"Bearer {upstream.token()}"},
        expect100=True,
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["echo"] == {"name": "continued"}


async def test_an_absolute_form_request_reaches_the_service_in_origin_form(gateway):
    """``GET http://evil.example/...`` must not hand the service another host (or an odd path)."""
    client, _, upstream, _ = gateway
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(
            (
                "GET http://evil.example/api/v1/me?q=1 HTTP/1.1\r\nHost: evil.example\r\n"
                f"Authorization: Bearer {upstream.token()}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    seen = json.loads(body)
    assert seen["target"] == "/api/v1/me?q=1"
    assert seen["host"] == seen["headers"]["host"] == upstream.url.removeprefix("http://")


async def test_large_answers_stream_through(gateway):
    client, _, upstream, _ = gateway
    response = await client.get(
        "/api/v1/playlists/big", headers={"Authorization": f"Bearer {upstream.token()}"}
    )
    assert response.status == 200
    assert len(await response.read()) == 64 * 16384


async def test_body_limit(gateway):
    client, _, upstream, _ = gateway
    response = await client.post(
        "/api/v1/playlists",
        data=b"{" + b" " * 4096 + b"}",
        headers={"Authorization": f"Bearer {upstream.token()}", "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_login_is_limited_per_ip(gateway):
    client, _, _, _ = gateway
    ip = _ip()
    statuses = []
    for _ in range(3):
        response = await client.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": ip})
        statuses.append(response.status)
    assert statuses == [200, 200, 429]
    assert int(response.headers["Retry-After"]) >= 29
    assert response.headers["RateLimit-Limit"] == "2"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert (await response.json())["status"] == 429
    # Another client is not affected.
    other = await client.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": _ip()})
    assert other.status == 200


async def test_idempotency_key(gateway):
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token()}", "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/api/v1/playlists", json={"name": "a"}, headers=auth)
    assert first.status == 201
    calls = upstream.posts
    again = await client.post("/api/v1/playlists", json={"name": "a"}, headers=auth)
    assert again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == "/api/v1/playlists/1"
    assert await again.json() == await first.json()
    assert upstream.posts == calls
    other = await client.post("/api/v1/playlists", json={"name": "b"}, headers=auth)
    assert other.status == 422
    assert (await other.json())["type"].endswith("/idempotency-key-reused")


async def test_idempotency_key_in_flight_is_a_conflict(gateway):
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token()}", "Idempotency-Key": str(uuid.uuid4())}
    first, second = await asyncio.gather(
        client.post("/api/v1/playlists", json={"slow": True}, headers=auth),
        _after(0.2, client.post("/api/v1/playlists", json={"slow": True}, headers=auth)),
    )
    assert sorted([first.status, second.status]) == [201, 409]


async def _after(delay, coro):
    await asyncio.sleep(delay)
    return await coro


async def test_cors(gateway):
    client, _, _, _ = gateway
    preflight = await client.options(
        "/api/v1/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    refused = await client.options(
        "/api/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    actual = await client.get("/api/v1/me", headers={"Origin": "https://app.example.com"})
    assert actual.status == 401
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Origin" in actual.headers["Vary"]


async def test_revoked_sessions_are_refused(gateway):
    client, runtime, upstream, _ = gateway
    session = uuid.uuid4()
    token = upstream.token(session=session)
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status == 200
    now = datetime.now(UTC)
    event = SessionRevoked(
        user_id=uuid.uuid4(),
        session_id=session,
        reason="logout",
        revoked_at=now,
        access_expires_at=now + timedelta(minutes=15),
    )
    envelope = Envelope(
        source="/services/auth",
        type="session.revoked",
        subject=str(event.user_id),
        schemaversion=1,
        correlationid="test",
        data=event.model_dump(mode="json"),
    )
    outcome = await runtime.dispatcher.dispatch(envelope.to_json(), "pm.sessions")
    assert outcome is Outcome.HANDLED
    refused = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401
    assert "revoked" in (await refused.json())["detail"]


async def test_jobs_are_visible_to_their_owner_only_and_stream(gateway):
    client, runtime, upstream, redis = gateway
    owner, job = uuid.uuid4(), uuid.uuid4()
    snapshots = JobSnapshots(redis, runtime.redis_key())
    t0 = datetime.now(UTC)
    await snapshots.store(_job(job, owner, "running", t0))
    mine = {"Authorization": f"Bearer {upstream.token(owner)}"}
    response = await client.get(f"/api/v1/jobs/{job}", headers=mine)
    assert response.status == 200
    assert (await response.json())["state"] == "running"
    theirs = await client.get(f"/api/v1/jobs/{job}", headers={"Authorization": f"Bearer {upstream.token()}"})
    assert theirs.status == 404
    assert (await client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=mine)).status == 404
    assert (await client.get("/api/v1/jobs/not-a-uuid", headers=mine)).status == 404

    stream = await client.get(f"/api/v1/jobs/{job}/events", headers=mine)
    assert stream.status == 200
    assert stream.content_type == "text/event-stream"
    first = await stream.content.readuntil(b"\n\n")
    assert b'"state":"running"' in first
    await asyncio.sleep(0.2)
    await snapshots.store(_job(job, owner, "succeeded", t0 + timedelta(seconds=1)))
    rest = await asyncio.wait_for(stream.content.read(), 5)  # ends after the terminal state
    assert b'"state":"succeeded"' in rest


def _job(job_id, user_id, state, at) -> JobUpdated:
    return JobUpdated(
        job_id=job_id,
        service="export",
        kind="export.playlist",
        user_id=user_id,
        state=state,
        progress=1.0 if state == "succeeded" else 0.5,
        created_at=at,
        updated_at=at,
    )


async def test_unknown_routes_and_openapi(gateway):
    client, _, _, _ = gateway
    assert (await client.get("/api/v1/nothing")).status == 404
    assert (await client.get("/api/v1/me/../../internal/x")).status == 404
    docs = await client.get("/docs")
    assert docs.status == 200
    assert "script-src 'sha256-" in docs.headers["Content-Security-Policy"]
    spec = await client.get("/openapi.json")
    assert spec.status in (200, 503)
    if spec.status == 200:
        assert json.loads(await spec.text())["openapi"].startswith("3.1")
