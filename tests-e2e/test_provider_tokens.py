"""A service calling a provider for a user, as provider-sync will: the adapters of ``pm_providers`` with
tokens from auth's internal endpoint (``AuthTokenSource``), against the running auth and the emulator.

No refresh token ever leaves auth: when the provider refuses the access token, the adapter's one
refresh asks auth again naming the refused token (``rejected_token_sha256``), auth refreshes it at the
provider, and the call goes through. When the provider refuses the refresh too (the user removed the
app's access; or Spotify's six-month refresh-token lifetime ran out), the adapter raises
``ReconsentRequired`` and the user's linked accounts show the link as needing consent again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis

from pm_devstack.stack import Stack
from pm_providers import Providers, ProviderSettings
from pm_providers.errors import ReconsentRequired

SPOTIFY_ACCOUNTS = "accounts.spotify.com"


class Emulator:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def admin(self, method: str, path: str, body: object = None) -> dict:
        async with self.session.request(method, f"{self.base}/_admin{path}", json=body) as r:
            assert r.status < 400, await r.text()
            return await r.json()

    async def token_refreshes(self) -> int:
        calls = (await self.admin("GET", f"/calls?host={SPOTIFY_ACCOUNTS}"))["calls"]
        return sum(n for key, n in calls.items() if key.startswith("POST") and "token" in key)


@pytest.fixture
async def emulator(stack: Stack) -> AsyncIterator[Emulator]:
    async with aiohttp.ClientSession() as session:
        yield Emulator(session, stack.service_env("provider-sync")["PROVIDER_EMULATOR_URL"])


async def test_provider_calls_with_tokens_only_auth_refreshes(
    gateway_url: str, stack: Stack, register_user, link_spotify, emulator: Emulator
):
    user = await register_user()
    # A Spotify account of its own: revoking its app access below must not touch the demo user's tokens.
    # Under an id of its own: the emulator's own ids start again when it restarts, auth's links do not.
    created = await emulator.admin(
        "POST",
        "/users",
        {
            "provider": "spotify",
            "user_id": f"e2e{uuid.uuid4().hex}",
            "library": {"playlists": [{"name": "Mine", "size": 30}]},
        },
    )
    account = created["user"]["id"]
    # A browser: keeps the start URL's binding cookie (for a host that is an IP address, too).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        await link_spotify(browser, gateway_url, user, account)
    env = stack.service_env("provider-sync")
    redis = aioredis.from_url(env["REDIS_URL"])
    settings = ProviderSettings(PROVIDER_REDIS_PREFIX=f"e2e:{uuid.uuid4().hex[:8]}").for_emulator(
        emulator.base
    )
    try:
        async with Providers(settings, redis) as providers:
            tokens = providers.user_tokens(
                uuid.UUID(user["user_id"]),
                "spotify",
                auth_url=env["AUTH_URL"],
                service_token=env["SERVICE_TOKEN"],
            )
            spotify = providers.adapter("spotify", tokens, user_key=user["user_id"])
            assert (await spotify.current_user()).id == account
            playlists = [p.id async for p in spotify.playlists()]
            assert playlists
            first = await tokens.access_token()

            # The provider stops accepting the token before its expiry: one 401, one refresh by auth.
            await emulator.admin("DELETE", "/calls")
            await emulator.admin("POST", f"/tokens/{first}/expire")
            assert [p.id async for p in spotify.playlists()] == playlists
            assert await emulator.token_refreshes() == 1
            second = await tokens.access_token()
            assert second != first

            # The user removes the app's access at Spotify: the refresh is refused (invalid_grant) and
            # the caller learns the user must link again.
            revoke = {"client_id": stack.service_env("auth")["SPOTIFY_CLIENT_ID"]}
            await emulator.admin("POST", f"/users/spotify/{account}/revoke-access", revoke)
            with pytest.raises(ReconsentRequired):
                await spotify.playlist(playlists[0])
    finally:
        await redis.aclose()

    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {user['access_token']}", "X-Forwarded-For": user["ip"]}
        async with session.get(f"{gateway_url}/api/v1/providers", headers=headers) as r:
            assert r.status == 200, await r.text()
            links = (await r.json())["links"]
    [spotify_link] = [link for link in links if link["provider"] == "spotify"]
    assert spotify_link["status"] == "needs_reconsent"
    assert spotify_link["relink_url"]
