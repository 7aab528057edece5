"""Auth running for real (in-process, throwaway database, private topics) against an in-process
provider emulator, plus helpers that drive the public API the way the gateway would."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pm_auth.app import definition
from pm_devstack.stack import PROVIDER_HOSTS
from pm_platform.identity import CLIENT_IP_HEADER, Identity, seal_client_ip, service_credential
from pm_platform.service import Runtime
from pm_platform.testing import GatewayIdentityKey, published_events, running_service
from pm_provider_emulator.app import init_app
from pm_provider_emulator.settings import EmulatorSettings

DEMO_USERS = {
    "spotify": "pmdemo.spotify",
    "deezer": "5000000001",
    "tidal": "190000001",
    "youtube": "UCpmdemoYouTube000000001",
}
PASSWORD = "Tr0ub4dor-and-3"


def new_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Emulator:
    client: TestClient[web.Request, web.Application]
    base: str

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"/_admin{path}", **kwargs)
        assert response.status < 400, await response.text()
        return await response.json()

    async def token_calls(self, host: str) -> int:
        calls = await self.admin("GET", f"/calls?host={host}")
        counts = calls.get("calls", calls) if isinstance(calls, dict) else {}
        return sum(n for key, n in counts.items() if "token" in key and key.startswith("POST"))


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    app = init_app(EmulatorSettings(clock="manual", rate_limits=False))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Emulator(client, str(client.make_url("")).rstrip("/"))
    finally:
        await client.close()


@dataclass
class Auth:
    client: TestClient[web.Request, web.Application]
    rt: Runtime
    env: dict[str, str]
    master_key: str
    gateway_key: GatewayIdentityKey

    @property
    def service_token(self) -> str:
        return self.rt.settings.service_token.get_secret_value()

    def identity(self, user_id: str | uuid.UUID, session_id: str | uuid.UUID) -> dict[str, str]:
        ident = Identity(uuid.UUID(str(user_id)), uuid.UUID(str(session_id)))
        return self.gateway_key.headers(ident)

    def service_headers(self) -> dict[str, str]:
        return {"Authorization": service_credential(self.service_token)}

    def from_client(self, ip: str) -> dict[str, str]:
        """The header of a request the gateway forwards from client address ``ip``: sealed, as it sends it."""
        return {CLIENT_IP_HEADER: seal_client_ip(ip, self.service_token)}

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.rt.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def events(self, user_id: str | uuid.UUID, event_type: str | None = None) -> list[dict[str, Any]]:
        """The events auth published for the user, read back from Kafka, oldest first."""
        return await published_events(self.rt, str(user_id), event_type)


async def auth_env(
    service_env_factory: Any,
    emulator_base: str,
    master_key: str,
    gateway_key: GatewayIdentityKey | None = None,
) -> dict[str, str]:
    env = await service_env_factory("auth")
    if gateway_key is not None:
        # The tests play the gateway: auth trusts their key instead of the stack's.
        env["IDENTITY_PUBLIC_KEYS"] = gateway_key.public_keys
    env.pop("MASTER_KEY_FILE", None)
    env.pop("MASTER_KEY_PREVIOUS_FILE", None)
    env["MASTER_KEY"] = master_key
    env["MASTER_KEY_WATCH_INTERVAL_S"] = "0"
    env.update({variable: f"{emulator_base}/{host}" for variable, host in PROVIDER_HOSTS.items()})
    env["CORS_ORIGINS"] = "http://localhost:3000"
    return env


@pytest.fixture(scope="module")
async def auth(service_env_factory: Any, emulator: Emulator) -> AsyncIterator[Auth]:
    key, gateway_key = new_master_key(), GatewayIdentityKey.generate()
    env = await auth_env(service_env_factory, emulator.base, key, gateway_key)
    async with running_service(definition(), env) as (client, rt):
        yield Auth(client, rt, env, key, gateway_key)


@dataclass
class Account:
    user_id: str
    email: str
    session_id: str
    access_token: str
    refresh_token: str
    headers: dict[str, str]


async def register_and_login(auth: Auth, device: str = "test device") -> Account:
    email = f"user-{uuid.uuid4().hex[:10]}@Example.COM"
    r = await auth.client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status == 201, await r.text()
    user = (await r.json())["user"]
    assert user["email"] == email.lower()
    return await login(auth, email, user["id"], device)


async def login(
    auth: Auth, email: str, user_id: str, device: str = "test device", *, ip: str = "198.51.100.7"
) -> Account:
    """Log in as the gateway forwards it: the client's address sealed in X-PM-Client-IP (an
    X-Forwarded-For that reached auth is the client's own say and is ignored)."""
    r = await auth.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD, "device_name": device},
        headers={
            "User-Agent": "pm-tests/1.0",
            **auth.from_client(ip),
            "X-Forwarded-For": "203.0.113.9, 192.0.2.99",
        },
    )
    assert r.status == 200, await r.text()
    tokens = await r.json()
    return Account(
        user_id,
        email.lower(),
        tokens["session_id"],
        tokens["access_token"],
        tokens["refresh_token"],
        auth.identity(user_id, tokens["session_id"]),
    )


async def consent(
    authorization_url: str,
    provider: str,
    *,
    tamper: dict[str, str] | None = None,
    approve: bool = True,
    account: str | None = None,
) -> dict[str, str]:
    """Play the user at the emulated consent page, signed in as ``account`` (a new provider user by
    default: one provider account links to one user only, and the tests' users share one database per
    module; ``DEMO_USERS[provider]`` for the demo one); returns the callback's query (code, state or
    error)."""
    url = authorization_url
    if tamper:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | tamper
        url = parts._replace(query="").geturl()
        params: dict[str, str] | None = query
    else:
        params = None
    async with aiohttp.ClientSession() as session:
        page = await session.get(url, params=params)
        assert page.status == 200, await page.text()
        form = {
            "emulator_user": account or "new",
            "emulator_decision": "approve" if approve else "deny",
        }
        answer = await session.post(url, params=params, data=form, allow_redirects=False)
        assert answer.status == 302, await answer.text()
        location = answer.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def open_start(auth: Auth, authorization_url: str) -> str:
    """Open the attempt's start URL in the test client's browser (its cookie jar keeps the binding
    cookie); returns the provider URL it redirects to."""
    parts = urlsplit(authorization_url)
    assert authorization_url.startswith(auth.env["API_BASE_URL"]) and parts.path.endswith("/start")
    r = await auth.client.get(f"{parts.path}?{parts.query}", allow_redirects=False)
    assert r.status == 302, await r.text()
    return r.headers["Location"]


async def link(
    auth: Auth, account: Account, provider: str, mode: str = "poll", *, provider_account: str | None = None
) -> dict[str, Any]:
    """Link ``provider`` for ``account`` (as a new provider user, or as ``provider_account``)."""
    r = await auth.client.post(
        f"/api/v1/auth/{provider}/authorize", json={"mode": mode}, headers=account.headers
    )
    assert r.status == 200, await r.text()
    started = await r.json()
    query = await consent(
        await open_start(auth, started["authorization_url"]), provider, account=provider_account
    )
    cb = await auth.client.get(f"/api/v1/auth/{provider}/callback", params=query, allow_redirects=False)
    assert cb.status == 200, await cb.text()
    return started


def problem_of(response: aiohttp.ClientResponse) -> None:
    assert response.content_type == "application/problem+json", response.content_type
