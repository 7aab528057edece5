"""The JWKS (``/.well-known/jwks.json``): the public keys that verify auth's access tokens, fetched by
the gateway. Public and cacheable for a minute (usecases/access_tokens.py)."""

from __future__ import annotations

from aiohttp import web

from pm_auth.usecases.access_tokens import published_keys
from pm_platform.service import RUNTIME


async def jwks(request: web.Request) -> web.Response:
    keys = await published_keys(request.app[RUNTIME])
    return web.json_response({"keys": keys}, headers={"Cache-Control": "public, max-age=60"})
