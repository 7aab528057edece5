"""Emulated provider accounts linked to a Playlist Manager user through the gateway's real OAuth flow.

What `make demo`, the benchmarks and the e2e journeys share. The emulator's admin API creates the
provider-side account (as signing up at the provider would); then the browser's part of linking is played
in code: the gateway's authorize call, its start URL (which binds this browser with a cookie and sends it
to the provider), the provider's consent form approved as that account, and the callback.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

# Where the gateway sends the browser once linking has ended (a web app's page; never opened here).
RETURN_TO = "http://localhost:3000/accounts"


class LinkFailed(Exception):
    """A step of linking was refused; the message says which, in one line."""


@dataclass(frozen=True)
class EmulatedAccount:
    provider: str
    id: str
    # The provider-side tokens the emulator issued with the account (to read the provider directly).
    tokens: dict[str, Any]
    # Where the gateway sent the browser after the callback (``…status=succeeded…``).
    landed: str


def new_account_id(provider: str) -> str:
    """A fresh account id of the provider's kind: Deezer's and TIDAL's are numbers, YouTube's a channel."""
    unique = uuid.uuid4()
    if provider in ("deezer", "tidal"):
        return str(unique.int % 10**15)
    if provider == "youtube":
        return f"UC{unique.hex[:22]}"
    return f"dev{unique.hex}"


async def link_emulated_account(
    session: aiohttp.ClientSession,
    *,
    gateway: str,
    emulator: str,
    headers: dict[str, str],
    provider: str,
    library: dict[str, Any],
) -> EmulatedAccount:
    """A new ``provider`` account holding ``library`` (the emulator's ``/_admin/users`` library spec),
    linked to the user whose ``headers`` (``Authorization``, ``X-Forwarded-For``) are given.

    ``session`` plays the browser: its cookie jar must take the gateway's cookies
    (``aiohttp.CookieJar(unsafe=True)`` for an IP-address host).
    """
    account = new_account_id(provider)
    async with session.post(
        f"{emulator}/_admin/users", json={"provider": provider, "user_id": account, "library": library}
    ) as r:
        if r.status != 201:
            raise LinkFailed(f"the emulator refused a {provider} account: {r.status} {await r.text()}")
        created = await r.json()
    authorization_url = await _authorize(session, gateway, headers, provider)
    async with session.get(authorization_url, headers=headers, allow_redirects=False) as r:
        if r.status != 302:
            raise LinkFailed(f"the start of linking {provider} answered {r.status}: {await r.text()}")
        consent_url = r.headers["Location"]
    form = {"emulator_decision": "approve", "emulator_user": account}
    async with session.post(consent_url, data=form, allow_redirects=False) as r:
        if r.status not in (302, 303):
            raise LinkFailed(f"{provider}'s consent page answered {r.status}: {(await r.text())[:300]}")
        callback = r.headers["Location"]
    async with session.get(callback, headers=headers, allow_redirects=False) as r:
        landed = r.headers.get("Location", "")
    if r.status != 302 or "status=succeeded" not in landed:
        raise LinkFailed(f"linking {provider} failed: {r.status} {landed}")
    return EmulatedAccount(provider, account, dict(created["tokens"]), landed)


async def _authorize(
    session: aiohttp.ClientSession, gateway: str, headers: dict[str, str], provider: str
) -> str:
    """The gateway's start URL of a linking attempt; its 429s waited out as their Retry-After says."""
    for _ in range(30):
        async with session.post(
            f"{gateway}/api/v1/auth/{provider}/authorize",
            headers=headers,
            json={"mode": "redirect", "return_to": RETURN_TO},
        ) as r:
            if r.status == 429:
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            if r.status != 200:
                raise LinkFailed(f"authorize {provider} answered {r.status}: {(await r.text())[:300]}")
            return str((await r.json())["authorization_url"])
    raise LinkFailed(f"authorize {provider}: still rate-limited after 30 waits")
