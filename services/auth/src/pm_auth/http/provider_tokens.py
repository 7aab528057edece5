"""Internal API (never routed by the gateway; ``Authorization: Service …``): provider access tokens.

``POST /internal/provider-tokens/{user_id}/{provider}``, with no body or a JSON body
``{"rejected_token_sha256": "<hex SHA-256 of an access token>"}``: the user's current access token at
the provider, refreshed first when near expiry or when it is the token the caller names as rejected by
the provider (usecases/provider_tokens.py: once for any number of callers and replicas). Answers 409
``reconsent-required`` when the user must link again, 503 with ``Retry-After`` when the provider (or
another replica's refresh) does not answer in time.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from pm_auth.domain.api import MAX_BODY_BYTES
from pm_auth.errors import LinkNotFound
from pm_auth.usecases.links import known_provider
from pm_auth.usecases.provider_tokens import provider_access_token
from pm_platform.api import NO_STORE, RequestBody, iso, parse_uuid
from pm_platform.http import read_json
from pm_platform.identity import require_service
from pm_platform.service import RUNTIME


class ProviderTokenBody(RequestBody):
    rejected_token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


async def provider_token(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_service(request, rt.settings.service_token.get_secret_value())
    user_id = parse_uuid(request.match_info["user_id"])
    provider = known_provider(request.match_info["provider"])
    if user_id is None:
        raise LinkNotFound("no such user")
    body = (
        await read_json(request, ProviderTokenBody, MAX_BODY_BYTES)
        if request.body_exists
        else ProviderTokenBody()
    )
    token = await provider_access_token(rt, user_id, provider, rejected_sha256=body.rejected_token_sha256)
    return web.json_response(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_at": iso(token.expires_at),
            "account_id": token.account_id,
            "provider": provider,
        },
        headers=NO_STORE,
    )
