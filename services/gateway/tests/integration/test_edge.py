"""The gateway in front of a real upstream (an aiohttp app standing in for every service), with the real
Redis: proxying, identity, the client's address, upstream failures, limits, idempotency, CORS,
revocation, jobs and requests aiohttp's parser refuses."""

import asyncio
import base64
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
from multidict import CIMultiDict

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobUpdated
from pm_contracts.sessions import SessionRevoked
from pm_gateway.app import definition
from pm_gateway.domain.headers import API_CSP
from pm_gateway.domain.idempotency import Record, storage_id
from pm_gateway.storage.jobs import JobSnapshots
from pm_platform.consumers import Outcome
from pm_platform.identity import IdentityVerifier, open_client_ip, seal_client_ip
from pm_platform.settings import decode_ed25519_key
from pm_platform.testing import running_service, simulated_client_ip

pytestmark = pytest.mark.integration

ISSUER = "http://gateway.test"
TEST_REDIS_DB = 13  # not the stack's database (0): the gateway's fixed key prefix would collide


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Upstream:
    """Every service at once: records what it received and answers as each test needs."""

    def __init__(self, identity_public_keys: str, service_token: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        # Verifies X-PM-Identity as every service does, with the public keys only.
        self.identities = IdentityVerifier(decode_ed25519_key(k) for k in identity_public_keys.split(","))
        # Opens X-PM-Client-IP as every service does.
        self.service_token = service_token
        self.seen: list[dict] = []
        # (path, Idempotency-Key or None) of every request that reached the service.
        self.idempotency_keys: list[tuple[str, str | None]] = []
        self.posts = 0
        # Refresh tokens as auth keeps them: each is used once; presenting a used one is reuse.
        self.refresh_tokens: dict[str, bool] = {}  # token → used
        self.refreshes = 0
        self.credential_posts = 0
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
        app = web.Application(middlewares=[self.record_idempotency_key])
        app.router.add_get("/.well-known/jwks.json", self.jwks_handler)
        app.router.add_get("/api/v1/me", self.echo)
        app.router.add_get("/api/v1/playlists/slow", self.slow)
        app.router.add_get("/api/v1/catalog/slow", self.slow)
        app.router.add_get("/api/v1/playlists/crash", self.crash)
        app.router.add_get("/api/v1/playlists/problem", self.problem)
        app.router.add_get("/api/v1/playlists/big", self.big)
        app.router.add_post("/api/v1/playlists", self.create)
        app.router.add_post("/api/v1/auth/login", self.login)
        app.router.add_post("/api/v1/auth/refresh", self.refresh)
        app.router.add_post("/api/v1/me/password", self.change_password)
        app.router.add_delete("/api/v1/me", self.delete_me)
        app.router.add_post("/api/v1/library/shares", self.share)
        app.router.add_post("/api/v1/library/sessions", self.cookie)
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

    @web.middleware
    async def record_idempotency_key(self, request, handler):
        self.idempotency_keys.append((request.path, request.headers.get("Idempotency-Key")))
        return await handler(request)

    def keys_received(self, path: str) -> list[str | None]:
        return [key for seen, key in self.idempotency_keys if seen == path]

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
                # As a service believes them (None: not sealed by the gateway), and as they came.
                "client_ips": [
                    open_client_ip(value, self.service_token)
                    for value in request.headers.getall("X-PM-Client-IP", [])
                ],
                "sealed_client_ips": request.headers.getall("X-PM-Client-IP", []),
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

    def issue_refresh_token(self) -> str:
        token = uuid.uuid4().hex
        self.refresh_tokens[token] = False
        return token

    async def refresh(self, request):
        """Auth's rotation: a fresh pair for an unused refresh token; a used one again is reuse."""
        self.refreshes += 1
        presented = (await request.json())["refresh_token"]
        if presented not in self.refresh_tokens:
            return _problem(401, "invalid-refresh-token")
        if self.refresh_tokens[presented]:
            return _problem(401, "refresh-token-reused")
        self.refresh_tokens[presented] = True
        return web.json_response(
            {
                "access_token": f"access-{uuid.uuid4().hex}",
                "token_type": "Bearer",
                "expires_in": 900,
                "refresh_token": self.issue_refresh_token(),
                "session_id": str(uuid.uuid4()),
            }
        )

    async def change_password(self, _):
        return web.Response(status=204)

    async def delete_me(self, _):
        return web.json_response({"deleted": True}, status=202)

    async def share(self, _):
        """A route outside auth whose answer carries a credential, nested."""
        self.credential_posts += 1
        return web.json_response(
            {"share": {"url": "/s/1", "access_token": f"share-{uuid.uuid4().hex}"}}, status=201
        )

    async def cookie(self, _):
        self.credential_posts += 1
        response = web.json_response({"n": self.credential_posts}, status=201)
        response.set_cookie("pm_session", uuid.uuid4().hex, httponly=True)
        return response


def _problem(status: int, code: str) -> web.Response:
    return web.json_response(
        {"type": f"https://playlist-manager.dev/problems/{code}", "title": code, "status": status},
        status=status,
        content_type="application/problem+json",
    )


async def _gateway_env(service_env_factory, infra, upstream=None):
    env = await service_env_factory("gateway")
    if upstream is None:
        upstream = Upstream(env["IDENTITY_PUBLIC_KEYS"], env["SERVICE_TOKEN"])
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
        # As the native stack sets it: the tests play many clients through loopback.
        "TRUSTED_PROXIES": "127.0.0.1,::1",
    }
    return env, upstream


@pytest.fixture(scope="module")
async def gateway(service_env_factory, infra):
    env, upstream = await _gateway_env(service_env_factory, infra)
    redis = aioredis.from_url(env["REDIS_URL"])
    await _forget_gateway_keys(redis)
    async with running_service(definition(), env) as (client, runtime):
        yield client, runtime, upstream, redis
    await _forget_gateway_keys(redis)
    await redis.aclose()
    await upstream.server.close()


@pytest.fixture(scope="module")
async def untrusting_gateway(gateway, service_env_factory, infra):
    """A second gateway in front of the same upstream, with TRUSTED_PROXIES left at its default."""
    _, _, upstream, redis = gateway
    env, _ = await _gateway_env(service_env_factory, infra, upstream)
    del env["TRUSTED_PROXIES"]
    await _forget_gateway_keys(redis)
    async with running_service(definition(), env) as (client, _):
        yield client, upstream


async def _forget_gateway_keys(redis: aioredis.Redis) -> None:
    keys = [k async for k in redis.scan_iter("pm:gateway:*")]
    if keys:
        await redis.delete(*keys)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


async def test_the_librarys_routes_wait_longer_than_the_upstream_timeout(gateway):
    """A whole provider playlist in one edit is seconds of work: the library's routes wait 60 s where
    every other waits UPSTREAM_TIMEOUT_S (1 s here; the fake service answers after 3 s)."""
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token()}"}
    slow = await client.get("/api/v1/playlists/slow", headers=auth)
    assert slow.status == 200


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
    slow = await client.get("/api/v1/catalog/slow", headers=auth)
    assert slow.status == 504
    assert (await slow.json())["type"].endswith("/upstream-timeout")
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
    # /api/v1/exports takes the gateway's MAX_BODY_BYTES (the library's routes take more: test_routes).
    response = await client.post(
        "/api/v1/exports",
        data=b"{" + b" " * 4096 + b"}",
        headers={"Authorization": f"Bearer {upstream.token()}", "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert response.content_type == "application/problem+json"


async def test_login_is_limited_per_ip(gateway):
    client, _, _, _ = gateway
    ip = simulated_client_ip()
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
    other = await client.post(
        "/api/v1/auth/login", json={}, headers={"X-Forwarded-For": simulated_client_ip()}
    )
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
    assert auth["Idempotency-Key"] in upstream.keys_received("/api/v1/playlists")  # honoured: passed on
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


async def test_the_identified_client_address_goes_upstream_in_its_own_header(gateway):
    """X-PM-Client-IP: the address the gateway limits the client by, sealed with SERVICE_TOKEN; one from
    outside is replaced, even one sealed right (the gateway alone says which address it identified)."""
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token()}"}
    forwarded = await client.get(
        "/api/v1/me",
        headers={**auth, "X-Forwarded-For": "198.51.100.23", "X-PM-Client-IP": "6.6.6.6"},
    )
    assert forwarded.status == 200
    body = await forwarded.json()
    assert body["client_ips"] == ["198.51.100.23"]
    [sealed] = body["sealed_client_ips"]
    assert sealed != "198.51.100.23" and sealed.startswith("198.51.100.23 ")  # not the bare address
    assert open_client_ip(sealed, upstream.service_token + "x") is None  # only SERVICE_TOKEN opens it
    direct = await client.get(
        "/api/v1/me",
        headers={**auth, "x-pm-client-ip": seal_client_ip("6.6.6.6", upstream.service_token)},
    )
    assert (await direct.json())["client_ips"] == ["127.0.0.1"]  # loopback is the TCP peer here


async def test_every_x_forwarded_for_line_counts(gateway):
    """A proxy may add its own X-Forwarded-For line below the client's (HAProxy's ``option forwardfor``):
    the lines are one list, in order, and the client's own line cannot choose its address."""
    client, _, upstream, _ = gateway
    headers = CIMultiDict(
        [
            ("Authorization", f"Bearer {upstream.token()}"),
            ("X-Forwarded-For", "6.6.6.6"),
            ("X-Forwarded-For", "198.51.100.24"),
        ]
    )
    response = await client.get("/api/v1/me", headers=headers)
    body = await response.json()
    assert body["client_ips"] == ["198.51.100.24"]
    assert body["headers"]["x-forwarded-for"] == "6.6.6.6, 198.51.100.24, 127.0.0.1"


async def test_without_trusted_proxies_the_tcp_peer_is_the_client(untrusting_gateway):
    """TRUSTED_PROXIES is empty by default: X-Forwarded-For chooses neither the address services see
    nor the rate-limit bucket."""
    client, upstream = untrusting_gateway
    response = await client.get(
        "/api/v1/me",
        headers={
            "Authorization": f"Bearer {upstream.token()}",
            "X-Forwarded-For": "198.51.100.23",
            "X-PM-Client-IP": "6.6.6.6",
        },
    )
    body = await response.json()
    assert body["client_ips"] == ["127.0.0.1"]
    assert body["headers"]["x-forwarded-for"] == "127.0.0.1"
    statuses = []
    for _ in range(3):
        login = await client.post(
            "/api/v1/auth/login", json={}, headers={"X-Forwarded-For": simulated_client_ip()}
        )
        statuses.append(login.status)
    assert statuses == [200, 200, 429]  # one client, whatever it claims


async def test_refresh_with_an_idempotency_key_is_never_replayed(gateway):
    """A rotated refresh token presented again must reach auth (reuse detection), never get the old
    answer back; and the answer, tokens included, is not kept in Redis."""
    client, _, upstream, redis = gateway
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Forwarded-For": simulated_client_ip()}
    body = {"refresh_token": upstream.issue_refresh_token()}
    first = await client.post("/api/v1/auth/refresh", json=body, headers=headers)
    assert first.status == 200
    tokens = await first.json()
    before = upstream.refreshes
    again = await client.post("/api/v1/auth/refresh", json=body, headers=headers)
    assert upstream.refreshes == before + 1
    assert again.status == 401
    assert "Idempotent-Replayed" not in again.headers
    assert (await again.json())["type"].endswith("/refresh-token-reused")
    assert upstream.keys_received("/api/v1/auth/refresh")[-2:] == [None, None]  # as if it had none
    await _assert_not_kept(redis, tokens["access_token"], tokens["refresh_token"])


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register"])
async def test_no_auth_route_keeps_an_answer_for_idempotency_key(gateway, path):
    """The key is ignored there (neither checked nor stored, and dropped): both requests reach auth, as if
    they had none."""
    client, _, upstream, redis = gateway
    ip, key = simulated_client_ip(), str(uuid.uuid4())
    headers = {"Idempotency-Key": key, "X-Forwarded-For": ip}
    before = len(upstream.keys_received(path))
    await client.post(path, json={"email": "a@example.com", "password": "x"}, headers=headers)
    again = await client.post(path, json={"email": "a@example.com", "password": "x"}, headers=headers)
    assert "Idempotent-Replayed" not in again.headers
    assert not await redis.exists(f"pm:gateway:idem:{storage_id(f'ip:{ip}', 'POST', path, key)}")
    assert upstream.keys_received(path)[before:] == [None, None]


@pytest.mark.parametrize("path", ["/api/v1/library/shares", "/api/v1/library/sessions"])
async def test_an_answer_carrying_credentials_is_not_kept_for_replay(gateway, path):
    """Outside auth too: a body naming access_token or refresh_token, or a Set-Cookie, is never stored;
    the key is let go and a retry is sent upstream again."""
    client, _, upstream, redis = gateway
    headers = {"Authorization": f"Bearer {upstream.token()}", "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(path, json={}, headers=headers)
    assert first.status == 201
    before = upstream.credential_posts
    again = await client.post(path, json={}, headers=headers)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers
    assert upstream.credential_posts == before + 1
    if path.endswith("/shares"):
        await _assert_not_kept(redis, (await first.json())["share"]["access_token"])


async def _assert_not_kept(redis: aioredis.Redis, *secrets: str) -> None:
    async for key in redis.scan_iter("pm:gateway:idem:*"):
        raw = await redis.get(key)
        if raw is None:
            continue
        record = Record.loads(raw)
        kept = raw + (record.response.body if record.response is not None else b"")
        for secret in secrets:
            assert secret.encode() not in kept, key


async def test_password_checks_have_the_login_limits(gateway):
    """Changing the password and deleting the account check the current password: RATE_LIMIT_AUTH
    (2/m in this module) per IP and per user, as login; reading the account keeps the general limit."""
    client, _, upstream, _ = gateway
    auth = {"Authorization": f"Bearer {upstream.token(uuid.uuid4())}"}
    ip = simulated_client_ip()
    statuses = []
    for _ in range(3):
        response = await client.post(
            "/api/v1/me/password",
            json={"current_password": "guess", "new_password": "n"},
            headers={**auth, "X-Forwarded-For": ip},
        )
        statuses.append(response.status)
    assert statuses == [204, 204, 429]
    assert response.headers["RateLimit-Limit"] == "2"
    # The same user from another address: the per-user bucket is spent too.
    elsewhere = await client.delete(
        "/api/v1/me", json={"password": "guess"}, headers={**auth, "X-Forwarded-For": simulated_client_ip()}
    )
    assert elsewhere.status == 429
    reading = await client.get("/api/v1/me", headers={**auth, "X-Forwarded-For": ip})
    assert reading.status == 200

    other_user = {
        "Authorization": f"Bearer {upstream.token(uuid.uuid4())}",
        "X-Forwarded-For": simulated_client_ip(),
    }
    deletions = []
    for _ in range(3):
        response = await client.delete("/api/v1/me", json={"password": "guess"}, headers=other_user)
        deletions.append(response.status)
    assert deletions == [202, 202, 429]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: leak-marker\rb\r\n\r\n", id="bare-cr-in-header"),
        pytest.param(b"GET /api/v1/leak-marker\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-utf8-path"),
        pytest.param(b"GET /?q=leak-marker\xc3\x28 HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-utf8-query"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-leak-marker\xff: v\r\n\r\n", id="invalid-header-name"),
        pytest.param(b"G\x01T /leak-marker HTTP/1.1\r\nHost: x\r\n\r\n", id="invalid-method"),
    ],
)
async def test_requests_the_parser_refuses_are_problems_that_echo_nothing(gateway, raw):
    client, _, _, _ = gateway
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)  # to the end: the gateway closes the connection
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    assert status_line.split(" ")[1] == "400", answer
    assert headers["content-type"] == "application/problem+json"
    assert headers["server"] == "playlist-manager"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == API_CSP
    assert headers["cache-control"] == "no-store"
    problem = json.loads(body)
    assert problem["status"] == 400
    assert problem["type"] == "https://playlist-manager.dev/problems/bad-request"
    assert problem["correlation_id"] == headers["x-correlation-id"]
    assert b"leak-marker" not in answer
    assert b"aiohttp" not in answer and b"Python" not in answer
