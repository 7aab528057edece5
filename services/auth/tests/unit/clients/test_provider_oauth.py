"""The OAuth client's I/O against a scripted provider on loopback: a token or profile endpoint answering
JSON beyond the project's bounds (nested too deep, a huge number) is a provider answering garbage, like
one answering something that is not JSON at all, never an unexpected error (a 500 on the callback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from pm_auth.clients import provider_oauth
from pm_auth.domain.oauth_clients import SPECS, OAuthClient, ProviderResponseError
from pm_contracts.providers import ProviderName
from pm_platform.testing import stand_in_server
from pm_providers.errors import ProviderUnavailable

GARBAGE = {
    "not json": b"{not json",
    "nested 8000 deep": b"[" * 8000,
    "access token nested 200 deep": b'{"access_token": ' + b"[" * 200 + b"]" * 200 + b"}",
    "5000-digit number": b"1" * 5000,
    "5000-digit expires_in": b'{"access_token": "a", "expires_in": ' + b"9" * 5000 + b"}",
}


class Provider:
    """Answers every request with ``body`` as application/json, status 200."""

    def __init__(self) -> None:
        self.body = b"{}"

    async def handle(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="application/json")


@pytest.fixture
async def provider() -> AsyncIterator[tuple[Provider, str]]:
    fake = Provider()
    async with stand_in_server(fake.handle) as url:
        yield fake, url


def client_of(name: ProviderName, base: str) -> OAuthClient:
    callback = f"http://127.0.0.1:3101/api/v1/auth/{name.value}/callback"
    return OAuthClient(SPECS[name], "cid", "csecret", callback, base, base, base)


@pytest.mark.parametrize("name", list(ProviderName), ids=lambda p: p.value)
@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_from_the_token_and_profile_endpoints_is_a_provider_error(
    provider: tuple[Provider, str], name: ProviderName, body: bytes
) -> None:
    fake, base = provider
    fake.body = body
    client = client_of(name, base)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProviderResponseError, match="without JSON"):
            await provider_oauth.redeem_code(session, client, "code", "v" * 43 if client.spec.pkce else None)
        with pytest.raises(ProviderResponseError, match="profile call failed"):
            await provider_oauth.profile(session, client, "access")
        if client.spec.refreshable:
            with pytest.raises(ProviderUnavailable, match="without JSON"):
                await provider_oauth.refresh(session, client, "refresh")
        # Revoking looks at the status only.
        assert await provider_oauth.revoke(session, client, "token") is (client.revoke_url is not None)
