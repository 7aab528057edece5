"""A caller reaching auth's port directly cannot choose its address: X-PM-Client-IP is believed only
when the gateway sealed it (with SERVICE_TOKEN, at most 60 s ago). Anything else means the TCP peer,
both for the address a session records and for the login throttle's recognised clients."""

from __future__ import annotations

import time
import uuid

import pytest

from pm_platform.identity import CLIENT_IP_HEADER, seal_client_ip

from .conftest import PASSWORD, Auth, login, register_and_login

pytestmark = pytest.mark.integration

OWNER_IP = "198.51.100.7"  # where register_and_login logs in from (conftest.login)


def claims(auth: Auth, ip: str) -> dict[str, str]:
    """What a direct caller could send to claim ``ip``: none of it opens."""
    _, issued, mac = seal_client_ip("192.0.2.1", auth.service_token).split(" ")
    return {
        "bare": ip,
        "sealed with another token": seal_client_ip(ip, auth.service_token + "-guessed"),
        "another address's seal": f"{ip} {issued} {mac}",
        "stale": seal_client_ip(ip, auth.service_token, now=time.time() - 120),
    }


async def test_a_direct_call_records_its_tcp_peer_whatever_address_it_claims(auth: Auth):
    account = await register_and_login(auth)

    async def session_ip_after_login(header: str) -> str | None:
        r = await auth.client.post(
            "/api/v1/auth/login",
            json={"email": account.email, "password": PASSWORD},
            headers={CLIENT_IP_HEADER: header},
        )
        assert r.status == 200, await r.text()
        rows = await auth.fetch(
            "SELECT ip FROM sessions WHERE id = $1", uuid.UUID((await r.json())["session_id"])
        )
        return rows[0]["ip"]

    for name, header in claims(auth, "203.0.113.66").items():
        assert await session_ip_after_login(header) == "127.0.0.1", name  # loopback: the TCP peer here
    assert await session_ip_after_login(seal_client_ip("203.0.113.66", auth.service_token)) == "203.0.113.66"


async def test_claiming_a_recognised_address_does_not_reach_its_count(auth: Auth):
    """The owner's address proved the password and is counted apart; a caller that merely names it is
    counted with everyone else, and is throttled with them."""
    # Registered and logged in through the gateway only: a direct call would make the TCP peer
    # (loopback, the address every claim below falls back to) a recognised client too.
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    registered = await auth.client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        headers=auth.from_client(OWNER_IP),
    )
    assert registered.status == 201, await registered.text()
    account = await login(auth, email, (await registered.json())["user"]["id"], ip=OWNER_IP)
    for i in range(20):
        r = await auth.client.post(
            "/api/v1/auth/login",
            json={"email": account.email, "password": f"Wrong-guess-{i}"},
            headers=auth.from_client(f"203.0.113.{i + 1}"),
        )
    assert r.status == 429, await r.text()  # everyone else's count is spent
    for name, header in claims(auth, OWNER_IP).items():
        r = await auth.client.post(
            "/api/v1/auth/login",
            json={"email": account.email, "password": PASSWORD},
            headers={CLIENT_IP_HEADER: header},
        )
        assert r.status == 429, (name, await r.text())
    # The owner, through the gateway, still gets in from its recognised address.
    again = await login(auth, account.email, account.user_id, ip=OWNER_IP)
    assert again.session_id != account.session_id
