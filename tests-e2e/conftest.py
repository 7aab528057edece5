"""End-to-end tests: the running stack (`make up`), driven through the gateway and the emulator."""

import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from pm_devstack.stack import Stack
from pm_platform.testing import simulated_client_ip

# The journeys' shared helpers (journeys.py) are imported by name: pytest's importlib mode puts no test
# directory on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
@pytest.fixture
def client_ip() -> str:
    return simulated_client_ip()


@pytest.fixture
def register_user(gateway_url: str):
    """``await register_user()`` → a new account logged in through the gateway: dict with email,
    password, ip, user_id, session_id, access_token, refresh_token."""
    import aiohttp

    async def factory(password: str = "correct horse battery staple") -> dict:  # noqa: S107
        ip = simulated_client_ip()
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


# ---- provider linking through the emulator ------------------------------------------------------------
# One provider account links to one user only (docs/security.md, "Linking rule"), and auth's links in
# PostgreSQL outlive the emulator's accounts, which live in its memory: the ids it hands out itself
# ("a new empty user" on its consent page) start again whenever it restarts. So each consent signs in
# as an account created for it through the emulator's admin API, under an id no run has used.


async def new_emulator_account(
    session: aiohttp.ClientSession, consent_url: str, provider: str = "spotify"
) -> str:
    """A new, empty account at the emulated provider whose consent page is ``consent_url``."""
    parts = urlsplit(consent_url)
    account = f"e2e{uuid.uuid4().hex}"
    async with session.post(
        f"{parts.scheme}://{parts.netloc}/_admin/users", json={"provider": provider, "user_id": account}
    ) as r:
        assert r.status in (200, 201), await r.text()
    return account


@pytest.fixture
def consent():
    """``await consent(browser, authorization_url, ip[, account])`` → the callback URL the emulated
    provider sends the browser to, not yet opened: open the attempt's start URL (auth binds this browser
    with a cookie and redirects to the provider), approve there as ``account`` (an emulator account id;
    by default a new one, see above)."""

    async def approve(
        browser: aiohttp.ClientSession, authorization_url: str, ip: str, account: str | None = None
    ) -> str:
        async with browser.get(
            authorization_url, headers={"X-Forwarded-For": ip}, allow_redirects=False
        ) as r:
            assert r.status == 302, await r.text()
            provider_url = r.headers["Location"]
        async with browser.get(provider_url) as page:
            assert page.status == 200, await page.text()
        if account is None:
            account = await new_emulator_account(browser, provider_url)
        form = {"emulator_decision": "approve", "emulator_user": account}
        async with browser.post(provider_url, data=form, allow_redirects=False) as r:
            assert r.status in (302, 303), await r.text()
            return r.headers["Location"]

    return approve


@pytest.fixture
def link_spotify(consent):
    """``await link_spotify(browser, gateway_url, user[, account])`` (a session whose cookie jar accepts the
    gateway's cookies: ``aiohttp.CookieJar(unsafe=True)`` for an IP-address host): the web flow of
    linking Spotify, through the gateway and the emulator: authorize → ``consent`` (as ``account``, a new
    emulator account by default) → callback through the gateway → return_to with status=succeeded."""

    async def link(
        session: aiohttp.ClientSession, gateway_url: str, user: dict, account: str | None = None
    ) -> None:
        bearer = {"Authorization": f"Bearer {user['access_token']}", "X-Forwarded-For": user["ip"]}
        async with session.post(
            f"{gateway_url}/api/v1/auth/spotify/authorize",
            json={"mode": "redirect", "return_to": "http://localhost:3000/accounts"},
            headers=bearer,
        ) as r:
            assert r.status == 200, await r.text()
            started = await r.json()
        callback = await consent(session, started["authorization_url"], user["ip"], account)
        assert callback.startswith(f"{gateway_url}/api/v1/auth/spotify/callback?")
        async with session.get(
            callback, headers={"X-Forwarded-For": user["ip"]}, allow_redirects=False
        ) as back:
            assert back.status == 302, await back.text()
            location = back.headers["Location"]
        assert location.startswith("http://localhost:3000/accounts?")
        assert parse_qs(urlsplit(location).query)["status"] == ["succeeded"]

    return link
