"""AuthTokenSource against a scripted stand-in for auth's internal endpoint on loopback: what it sends,
and how each answer becomes the error an adapter's caller acts on. (tests-e2e/test_provider_tokens.py
runs the same against the real auth and the provider emulator.)"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from pm_platform.identity import service_credential
from pm_platform.testing import stand_in_server
from pm_providers import Providers, ProviderSettings
from pm_providers.errors import ProviderError, ProviderUnavailable, ReconsentRequired, Unauthorized
from pm_providers.models import ProviderName
from pm_providers.tokens import AuthTokenSource

SERVICE_TOKEN = "a-long-service-token-value-123"
USER = uuid.uuid4()


class FakeAuth:
    def __init__(self) -> None:
        self.answers: list[web.Response] = []
        self.seen: list[tuple[str, str, dict | None]] = []

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.seen.append(
            (request.path, request.headers.get("Authorization", ""), json.loads(raw) if raw else None)
        )
        return self.answers.pop(0)


@pytest.fixture
async def auth() -> AsyncIterator[tuple[FakeAuth, str]]:
    fake = FakeAuth()
    async with stand_in_server(fake.handle, "/internal/provider-tokens/{user}/{provider}", "POST") as url:
        yield fake, url


def _token(value: str) -> web.Response:
    return web.json_response(
        {
            "access_token": value,
            "token_type": "Bearer",
            "expires_at": None,
            "account_id": "a",
            "provider": "spotify",
        }
    )


def _problem(status: int, code: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": f"https://playlist-manager.dev/problems/{code}", "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


async def test_asks_with_the_service_credential_and_names_a_refused_token_by_its_hash(auth):
    fake, url = auth
    fake.answers += [_token("first"), _token("second")]
    async with aiohttp.ClientSession() as session:
        source = AuthTokenSource(
            session, url, SERVICE_TOKEN, USER, ProviderName.SPOTIFY, provider_timeout_s=5
        )
        assert await source.access_token() == "first"
        assert await source.refresh() == "second"
    credential = service_credential(SERVICE_TOKEN)
    assert fake.seen == [
        (f"/internal/provider-tokens/{USER}/spotify", credential, None),
        (
            f"/internal/provider-tokens/{USER}/spotify",
            credential,
            {"rejected_token_sha256": hashlib.sha256(b"first").hexdigest()},
        ),
    ]


@pytest.mark.parametrize(
    ("answer", "error", "retryable"),
    [
        (
            _problem(409, "reconsent-required", "spotify refused the refresh; link again"),
            ReconsentRequired,
            False,
        ),
        (_problem(404, "link-not-found", "no linked spotify account"), Unauthorized, False),
        (_problem(503, "service-unavailable", "spotify is unavailable"), ProviderUnavailable, True),
        (_problem(403, "forbidden", "invalid service credential"), ProviderError, False),
        (web.Response(status=200, text="not json"), ProviderError, False),
        # JSON beyond the bounds of pm_platform.http.parse_json is "not json" too, never a RecursionError.
        (web.Response(status=200, body=b"[" * 8000, content_type="application/json"), ProviderError, False),
        (web.Response(status=200, body=b"1" * 5000, content_type="application/json"), ProviderError, False),
    ],
)
async def test_each_answer_becomes_the_error_its_caller_acts_on(auth, answer, error, retryable):
    fake, url = auth
    fake.answers.append(answer)
    async with aiohttp.ClientSession() as session:
        source = AuthTokenSource(
            session, url, SERVICE_TOKEN, USER, ProviderName.SPOTIFY, provider_timeout_s=5
        )
        with pytest.raises(error) as raised:
            await source.access_token()
    assert type(raised.value) is error
    assert raised.value.retryable is retryable
    assert raised.value.provider is ProviderName.SPOTIFY


async def test_auth_out_of_reach_is_unavailable():
    async with aiohttp.ClientSession() as session:
        server = TestServer(web.Application(), host="127.0.0.1")
        await server.start_server()
        url = f"http://127.0.0.1:{server.port}"
        await server.close()  # nothing listens there any more
        source = AuthTokenSource(session, url, SERVICE_TOKEN, USER, ProviderName.DEEZER, provider_timeout_s=5)
        with pytest.raises(ProviderUnavailable, match="auth did not answer"):
            await source.access_token()


async def test_a_service_waits_for_auth_as_long_as_auth_may_take(monkeypatch: pytest.MonkeyPatch) -> None:
    """Auth may take one provider exchange (PROVIDER_TIMEOUT_S) and some more: the services' token
    sources wait that long, then the call is ProviderUnavailable (retried later), never stuck."""
    release = asyncio.Event()

    async def stall(_request: web.Request) -> web.Response:
        await release.wait()
        return _token("late")

    app = web.Application()
    app.router.add_post("/internal/provider-tokens/{user}/{provider}", stall)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    monkeypatch.setattr("pm_providers.tokens.AUTH_ANSWER_MARGIN_S", 0.1)
    settings = ProviderSettings(PROVIDER_TIMEOUT_S=0.2)
    started = time.monotonic()
    try:
        async with Providers(settings, Redis()) as providers:  # no Redis command: no call is made
            tokens = providers.user_tokens(
                USER, "tidal", auth_url=f"http://127.0.0.1:{server.port}", service_token=SERVICE_TOKEN
            )
            with pytest.raises(ProviderUnavailable, match="auth did not answer"):
                await tokens.access_token()
    finally:
        release.set()
        await server.close()
    assert 0.3 <= time.monotonic() - started < 2
