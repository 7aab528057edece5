"""The gateway's JWKS cache: a key auth has just started signing with works at once, whenever the last
fetch was; a key id that is not there is not looked up again for the refetch interval."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from pm_gateway.clients.jwks import JwksCache
from pm_gateway.domain.tokens import TokenPolicy, TokenVerifier


def _jwk(kid: str) -> dict[str, Any]:
    jwk = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key()))
    return {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}


class Auth:
    """A JWKS endpoint whose keys the test changes, counting its requests."""

    def __init__(self) -> None:
        self.keys = [_jwk("k1")]
        self.requests = 0

    async def jwks(self, _: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response({"keys": self.keys})


@pytest.fixture
async def served() -> AsyncIterator[tuple[Auth, JwksCache, TokenVerifier]]:
    auth = Auth()
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", auth.jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    verifier = TokenVerifier(TokenPolicy("EdDSA", "pm-auth"))
    async with aiohttp.ClientSession() as session:
        cache = JwksCache(
            lambda: session, f"http://127.0.0.1:{port}/.well-known/jwks.json", verifier, refetch_interval_s=30
        )
        try:
            yield auth, cache, verifier
        finally:
            await cache.close()
            await runner.cleanup()


async def test_a_new_key_works_right_after_a_fetch(served: tuple[Auth, JwksCache, TokenVerifier]) -> None:
    auth, cache, verifier = served
    assert await cache.fetch()
    assert verifier.key_ids == {"k1"}
    # auth rotates: the very next token names k2, just after the gateway fetched (it used to be refused
    # until the refetch interval had passed since that fetch).
    auth.keys = [_jwk("k2"), *auth.keys]
    assert await cache.refetch_for_unknown_key("k2")
    assert verifier.key_ids == {"k1", "k2"}
    assert auth.requests == 2


async def test_an_unknown_key_id_is_looked_up_once_per_interval(
    served: tuple[Auth, JwksCache, TokenVerifier],
) -> None:
    auth, cache, _ = served
    assert await cache.fetch()
    assert not await cache.refetch_for_unknown_key("forged")
    assert auth.requests == 2
    for _ in range(5):  # the same id again: no request
        assert not await cache.refetch_for_unknown_key("forged")
    assert auth.requests == 2
    # A known key needs no request at all.
    assert await cache.refetch_for_unknown_key("k1")
    assert auth.requests == 2


async def test_lookups_in_flight_share_one_request(served: tuple[Auth, JwksCache, TokenVerifier]) -> None:
    import asyncio

    auth, cache, _ = served
    assert await cache.fetch()
    auth.keys = [_jwk("k2"), *auth.keys]
    found = await asyncio.gather(*(cache.refetch_for_unknown_key("k2") for _ in range(10)))
    assert found == [True] * 10
    assert auth.requests == 2
