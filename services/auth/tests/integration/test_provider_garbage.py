"""An OAuth callback whose provider answers the code exchange with garbage: JSON nested too deep or
holding a huge number is treated like any answer that is not JSON. The attempt fails with
``provider_unavailable`` and the browser gets the failure page, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from pm_auth.app import definition
from pm_platform.testing import GatewayIdentityKey, running_service, stand_in_server

from .conftest import Auth, auth_env, new_master_key, open_start, register_and_login

pytestmark = pytest.mark.integration

GARBAGE = {
    "not json": b"{not json",
    "nested 8000 deep": b"[" * 8000,
    "5000-digit number": b"1" * 5000,
}


class GarbageProvider:
    """Every host of every provider, answering every request with ``body`` as application/json."""

    def __init__(self) -> None:
        self.body = b"{}"

    async def handle(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="application/json")


@pytest.fixture(scope="module")
async def garbage_provider() -> AsyncIterator[tuple[GarbageProvider, str]]:
    fake = GarbageProvider()
    async with stand_in_server(fake.handle) as url:
        yield fake, url


@pytest.fixture(scope="module")
async def auth(
    service_env_factory: Any, garbage_provider: tuple[GarbageProvider, str]
) -> AsyncIterator[Auth]:
    """Auth with every provider host pointed at the garbage provider."""
    key, gateway_key = new_master_key(), GatewayIdentityKey.generate()
    env = await auth_env(service_env_factory, garbage_provider[1], key, gateway_key)
    async with running_service(definition(), env) as (client, rt):
        yield Auth(client, rt, env, key, gateway_key)


@pytest.mark.parametrize("provider", ["spotify", "deezer", "tidal", "youtube"])
@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_from_the_token_endpoint_fails_the_attempt_never_500(
    auth: Auth, garbage_provider: tuple[GarbageProvider, str], provider: str, body: bytes
) -> None:
    garbage_provider[0].body = body
    account = await register_and_login(auth)
    r = await auth.client.post(
        f"/api/v1/auth/{provider}/authorize", json={"mode": "poll"}, headers=account.headers
    )
    assert r.status == 200, await r.text()
    started = await r.json()
    # The browser would consent at the provider, which sends it back with a code and the state.
    provider_url = await open_start(auth, started["authorization_url"])
    state = parse_qs(urlsplit(provider_url).query)["state"][0]
    page = await auth.client.get(f"/api/v1/auth/{provider}/callback", params={"state": state, "code": "c0de"})
    assert page.status == 400, await page.text()
    assert page.content_type == "text/html"
    poll = await auth.client.get(f"/api/v1/auth/attempts/{started['attempt_id']}", headers=account.headers)
    attempt = await poll.json()
    assert (attempt["status"], attempt["error"]) == ("failed", "provider_unavailable")
