"""End-to-end tests: the running stack (`make up`), driven through the gateway and the emulator."""

import uuid
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from pm_devstack.stack import Stack
from pm_platform.testing import simulated_client_ip


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return stack.gateway_url


# ---- clients and users through the gateway -----------------------------------------------------------
# The gateway limits per client address (5 r/min on login and register). The native stack trusts
# loopback as its proxy (TRUSTED_PROXIES), so each simulated client sends its own address as
# X-Forwarded-For (pm_platform.testing.simulated_client_ip) and tests do not drain each other's buckets.
new_client_ip = simulated_client_ip


@pytest.fixture
def client_ip() -> str:
    return new_client_ip()


@pytest.fixture
def register_user(gateway_url: str):
    """``await register_user()`` → a new account logged in through the gateway: dict with email,
    password, ip, user_id, session_id, access_token, refresh_token."""
    import aiohttp

    async def factory(password: str = "correct horse battery staple") -> dict:  # noqa: S107
        ip = new_client_ip()
        email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
        headers = {"X-Forwarded-For": ip}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{gateway_url}/api/v1/auth/register",
                json={"email": email, "password": password},
                headers=headers,
            ) as r:
                assert r.status == 201, await r.text()
                user = (await r.json())["user"]
            async with session.post(
                f"{gateway_url}/api/v1/auth/login",
                json={"email": email, "password": password, "device_name": "e2e"},
                headers=headers,
            ) as r:
                assert r.status == 200, await r.text()
                tokens = await r.json()
        return {"email": email, "password": password, "ip": ip, "user_id": user["id"], **tokens}

    return factory


# The emulator's consent page can sign in as a new empty account: one provider account links to one
# user only (docs/security.md, "Linking rule"), and the stack's database outlives the tests.
NEW_PROVIDER_ACCOUNT = "new"


@pytest.fixture
def link_spotify():
    """``await link_spotify(browser, gateway_url, user[, account])`` (a session whose cookie jar accepts the
    gateway's cookies: ``aiohttp.CookieJar(unsafe=True)`` for an IP-address host): the web flow of linking Spotify, through the
    gateway and the emulator: authorize → the start URL (binds this browser) → the provider's consent
    page (consenting as ``account``, the emulator's demo user by default) → callback through the
    gateway → return_to with status=succeeded."""

    async def link(
        session: aiohttp.ClientSession, gateway_url: str, user: dict, account: str = NEW_PROVIDER_ACCOUNT
    ) -> None:
        bearer = {"Authorization": f"Bearer {user['access_token']}", "X-Forwarded-For": user["ip"]}
        async with session.post(
            f"{gateway_url}/api/v1/auth/spotify/authorize",
            json={"mode": "redirect", "return_to": "http://localhost:3000/accounts"},
            headers=bearer,
        ) as r:
            assert r.status == 200, await r.text()
            started = await r.json()
        async with session.get(
            started["authorization_url"], headers={"X-Forwarded-For": user["ip"]}, allow_redirects=False
        ) as opened:
            assert opened.status == 302, await opened.text()
            url = opened.headers["Location"]
        async with session.get(url) as page:
            assert page.status == 200, await page.text()
        form = {"emulator_user": account, "emulator_decision": "approve"}
        async with session.post(url, data=form, allow_redirects=False) as consent:
            assert consent.status == 302, await consent.text()
            callback = consent.headers["Location"]
        assert callback.startswith(f"{gateway_url}/api/v1/auth/spotify/callback?")
        async with session.get(
            callback, headers={"X-Forwarded-For": user["ip"]}, allow_redirects=False
        ) as back:
            assert back.status == 302, await back.text()
            location = back.headers["Location"]
        assert location.startswith("http://localhost:3000/accounts?")
        assert parse_qs(urlsplit(location).query)["status"] == ["succeeded"]

    return link
