"""HTTP to the providers' authorization servers: redeem a code, refresh, fetch the profile, revoke.

Only what auth needs (the adapters in libs/providers do the rest). Requests are built and answers parsed
by the pure registry in ``domain/oauth_clients.py``; this module only does the I/O. A provider that cannot
be reached, or answers with a server error, raises the project's one
:class:`~pm_providers.errors.ProviderUnavailable` (its ``message`` is what auth shows and logs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from loguru import logger

from pm_auth.domain.oauth_clients import (
    OAuthClient,
    Profile,
    ProviderResponseError,
    TokenRequest,
    TokenSet,
    parse_profile,
    parse_token_response,
)
from pm_providers.errors import ProviderUnavailable
from pm_providers.http import decode_body

USER_AGENT = "PlaylistManager-auth/0.1 (+https://playlist-manager.dev)"


async def _send(session: aiohttp.ClientSession, client: OAuthClient, req: TokenRequest) -> tuple[int, Any]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(req.headers or {})}
    try:
        async with session.request(
            req.method, req.url, params=req.query, data=req.form, headers=headers, allow_redirects=False
        ) as response:
            # JSON within the project's bounds, else the text (a body nested too deep or holding a huge
            # number included), which the domain's parsers refuse as a ProviderResponseError.
            return response.status, decode_body(await response.read())
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The type only: an aiohttp error's text can carry the URL, and Deezer's carry the secret and code.
        raise ProviderUnavailable(f"unreachable ({type(exc).__name__})", provider=client.spec.name) from None


def _unavailable(client: OAuthClient, message: str, status: int) -> ProviderUnavailable:
    return ProviderUnavailable(message, provider=client.spec.name, status=status)


async def redeem_code(
    session: aiohttp.ClientSession, client: OAuthClient, code: str, code_verifier: str | None
) -> TokenSet:
    status, body = await _send(session, client, client.code_request(code, code_verifier))
    if status >= 500:
        raise _unavailable(client, f"the token endpoint answered {status}", status)
    return parse_token_response(client.spec, status, body, datetime.now(UTC))


async def refresh(session: aiohttp.ClientSession, client: OAuthClient, refresh_token: str) -> TokenSet:
    """Raises TokenError (e.g. invalid_grant) when the provider refuses, ProviderUnavailable when it is down."""
    status, body = await _send(session, client, client.refresh_request(refresh_token))
    if status >= 500 or status == 429:
        raise _unavailable(client, f"the token endpoint answered {status}", status)
    try:
        return parse_token_response(
            client.spec, status, body, datetime.now(UTC), previous_refresh=refresh_token
        )
    except ProviderResponseError as exc:
        raise _unavailable(client, str(exc), status) from None


async def profile(session: aiohttp.ClientSession, client: OAuthClient, access_token: str) -> Profile:
    status, body = await _send(session, client, client.profile_request(access_token))
    if status >= 500 or status == 429:
        raise _unavailable(client, f"the profile endpoint answered {status}", status)
    return parse_profile(client.spec, status, body)


async def revoke(session: aiohttp.ClientSession, client: OAuthClient, token: str) -> bool:
    """Best effort: revoke ``token`` where the provider offers it (Google). Never raises."""
    url = client.revoke_url
    if url is None:
        return False
    try:
        status, _ = await _send(session, client, TokenRequest("POST", url, form={"token": token}))
    except ProviderUnavailable as exc:
        logger.warning("revoking a {} token failed: {}", client.spec.name, exc.message)
        return False
    if status >= 400:
        logger.warning("{} refused to revoke a token ({})", client.spec.name, status)
    return status < 400
