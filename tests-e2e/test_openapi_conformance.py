"""proto/openapi.yaml against reality: real requests through the running gateway, each request and its
response validated against the document (openapi-core). Covers every path of the document; the
generated requests of `make test-api` (schemathesis) complement these hand-written scenarios."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import redis.asyncio as aioredis
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from pm_contracts.jobs import JobUpdated
from pm_devstack.stack import Stack

DOCUMENT = Path(__file__).resolve().parents[1] / "proto" / "openapi.yaml"


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes


def _text(data: bytes | str, **_: str) -> str:
    return data.decode() if isinstance(data, bytes) else data


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    # problem+json is JSON: parse it as such, so error bodies are checked against the Problem schema.
    text = {t: _text for t in ("text/event-stream", "text/html", "text/plain")}
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads, **text})
    return OpenAPI.from_file_path(str(DOCUMENT), config=config)


@dataclass
class Api:
    """Sends requests through the gateway and checks each exchange against the document."""

    base: str
    openapi: OpenAPI
    ip: str
    checked: list[tuple[str, str, int]] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: object = None,
        headers: dict[str, str] | None = None,
        expect: int | None = None,
        validate_request: bool = True,
    ) -> tuple[int, object]:
        headers = {"X-Forwarded-For": self.ip, **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(json_body).encode() if json_body is not None else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, f"{self.base}{path}", data=body, headers=headers, allow_redirects=False
            ) as r,
        ):
            data = await r.read()
            response = _Response(
                r.status, r.headers.get("Content-Type", "").lower(), Headers(list(r.headers.items())), data
            )
        parts = urlsplit(path)
        request = _Request(
            self.base,
            parts.path,
            method.lower(),
            body,
            headers.get("Content-Type", ""),
            RequestParameters(
                query=ImmutableMultiDict(parse_qsl(parts.query)),
                header=Headers(list(headers.items())),
                cookie=ImmutableMultiDict(),
            ),
        )
        if validate_request:
            self.openapi.validate_request(request)
        self.openapi.validate_response(request, response)
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, data[:300])
        self.checked.append((method, parts.path, response.status_code))
        parsed: object = data
        if response.content_type.startswith(("application/json", "application/problem+json")) and data:
            parsed = json.loads(data)
        return response.status_code, parsed


@pytest.fixture
def api(gateway_url, openapi, client_ip) -> Api:
    return Api(gateway_url, openapi, client_ip)


async def test_accounts_and_sessions(api: Api):
    email, password = f"oas-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    await api.call(
        "POST", "/api/v1/auth/register", json_body={"email": email, "password": password}, expect=201
    )
    await api.call(
        "POST", "/api/v1/auth/register", json_body={"email": email, "password": password}, expect=409
    )
    await api.call(
        "POST",
        "/api/v1/auth/register",
        json_body={"email": "x", "password": "short"},
        expect=422,
        validate_request=False,
    )
    _, tokens = await api.call(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": email, "password": password, "device_name": "oas"},
        expect=200,
    )
    assert isinstance(tokens, dict)
    access = tokens["access_token"]
    await api.call("GET", "/api/v1/me", token=access, expect=200)
    await api.call("GET", "/api/v1/me", expect=401, validate_request=False)
    await api.call("GET", "/api/v1/sessions", token=access, expect=200)
    await api.call("DELETE", f"/api/v1/sessions/{uuid.uuid4()}", token=access, expect=404)
    await api.call("DELETE", "/api/v1/sessions", token=access, expect=204)
    await api.call("GET", "/api/v1/providers", token=access, expect=200)
    _, rotated = await api.call(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}, expect=200
    )
    assert isinstance(rotated, dict)
    access = rotated["access_token"]
    await api.call(
        "POST",
        "/api/v1/me/password",
        token=access,
        json_body={"current_password": password, "new_password": password + " again"},
        expect=204,
    )
    await api.call("POST", "/api/v1/auth/logout", token=access, expect=204)


async def test_provider_linking(api: Api, register_user):
    user = await register_user()
    _, attempt = await api.call(
        "POST",
        "/api/v1/auth/spotify/authorize",
        token=user["access_token"],
        json_body={"mode": "poll"},
        expect=200,
    )
    assert isinstance(attempt, dict)
    await api.call(
        "GET", f"/api/v1/auth/attempts/{attempt['attempt_id']}", token=user["access_token"], expect=200
    )
    await api.call("GET", f"/api/v1/auth/attempts/{uuid.uuid4()}", token=user["access_token"], expect=404)
    await api.call(
        "GET", "/api/v1/auth/spotify/callback?code=x&state=unknown", expect=400, validate_request=False
    )
    await api.call("DELETE", "/api/v1/providers/deezer", token=user["access_token"])


async def test_jobs(api: Api, register_user, stack: Stack):
    user = await register_user()
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    redis = aioredis.from_url(stack.redis_url())
    try:
        snapshot = JobUpdated(
            job_id=job_id,
            service="export",
            kind="export.playlist",
            user_id=uuid.UUID(user["user_id"]),
            state="succeeded",
            progress=1.0,
            result={"tracks": 3},
            created_at=now,
            updated_at=now,
            finished_at=now,
        )
        await redis.set(f"pm:gateway:job:{job_id}", snapshot.model_dump_json(), ex=600)
        await api.call("GET", f"/api/v1/jobs/{job_id}", token=user["access_token"], expect=200)
        await api.call("GET", f"/api/v1/jobs/{job_id}/events", token=user["access_token"], expect=200)
        await api.call("GET", f"/api/v1/jobs/{uuid.uuid4()}", token=user["access_token"], expect=404)
    finally:
        await redis.delete(f"pm:gateway:job:{job_id}")
        await redis.aclose()


async def test_system_routes(api: Api):
    for path in (
        "/.well-known/jwks.json",
        "/openapi.json",
        "/docs",
        "/health/live",
        "/health/ready",
        "/health",
        "/metrics",
    ):
        status, _ = await api.call("GET", path)
        assert status == 200, path


async def test_rate_limit_answers(api: Api):
    statuses = []
    for i in range(8):
        status, _ = await api.call(
            "POST",
            "/api/v1/auth/login",
            json_body={"email": f"nobody-{i}@example.com", "password": "wrong password"},
        )
        statuses.append(status)
    assert 429 in statuses, statuses
