"""A user's provider tokens as services get them: from auth, which alone holds refresh tokens.

:class:`AuthTokenSource` is the :class:`~pm_providers.http.TokenSource` of every service that calls a
provider for a user (provider-sync first). It asks auth's internal endpoint
``POST /internal/provider-tokens/{user_id}/{provider}`` (docs/security.md) with the service credential:

- ``access_token()``: the current token; auth refreshes it first when it is within 5 minutes of expiry;
- ``refresh()`` (the pipeline calls it once after a 401): the same request naming the refused token by
  its SHA-256 (``rejected_token_sha256``), so auth refreshes even a token that is not near expiry, once
  for every caller that saw it refused, and just hands out the newer one when someone already did.

Auth's answers become the errors the adapters raise: 409 → :class:`ReconsentRequired` (the user must
link again; jobs pause), 404 → :class:`Unauthorized` (no linked account), 503 or no answer →
:class:`ProviderUnavailable` (retry later), anything else → :class:`ProviderError`.
"""

from __future__ import annotations

import hashlib
import uuid

import aiohttp

from pm_platform.identity import service_credential
from pm_providers.domain.responses import ProviderResponse
from pm_providers.errors import ProviderError, ProviderUnavailable, ReconsentRequired, Unauthorized
from pm_providers.http import decode_body
from pm_providers.models import ProviderName

# Auth answers after at most one exchange with the provider, or after waiting PROVIDER_TIMEOUT_S + 2 s for
# another replica's refresh (docs/security.md); the margin covers auth's database and the network.
AUTH_ANSWER_MARGIN_S = 5.0


class AuthTokenSource:
    """One user's access token for one provider, through auth. Cheap: make one per user and job."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        auth_url: str,
        service_token: str,
        user_id: uuid.UUID,
        provider: ProviderName,
        *,
        provider_timeout_s: float,
    ) -> None:
        self._session = session
        self._url = f"{auth_url.rstrip('/')}/internal/provider-tokens/{user_id}/{provider.value}"
        self._credential = service_credential(service_token)
        self._provider = provider
        self._timeout = aiohttp.ClientTimeout(total=provider_timeout_s + AUTH_ANSWER_MARGIN_S)
        self._last: str | None = None

    async def access_token(self) -> str:
        return await self._fetch(None)

    async def refresh(self) -> str:
        rejected = hashlib.sha256(self._last.encode()).hexdigest() if self._last is not None else None
        return await self._fetch(rejected)

    async def _fetch(self, rejected_sha256: str | None) -> str:
        body = {"rejected_token_sha256": rejected_sha256} if rejected_sha256 is not None else None
        try:
            async with self._session.post(
                self._url,
                json=body,
                headers={"Authorization": self._credential},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                answer = ProviderResponse(
                    response.status, response.headers, decode_body(await response.read())
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(
                f"auth did not answer for a token ({type(exc).__name__})", provider=self._provider
            ) from None
        payload, status = answer.json_object, answer.status
        detail = str(payload.get("detail") or "")
        if status == 200 and isinstance(payload.get("access_token"), str):
            self._last = payload["access_token"]
            return self._last
        if status == 409:  # the user's linked-accounts list carries the re-link URL
            raise ReconsentRequired(
                detail or "the user has to link the account again",
                provider=self._provider,
                status=status,
                code="reconsent-required",
            )
        if status == 404:
            raise Unauthorized("the user has no linked account here", provider=self._provider, status=status)
        if status in (502, 503, 504):
            raise ProviderUnavailable(
                detail or "auth cannot get a token right now",
                provider=self._provider,
                status=status,
            )
        # 401/403 (our credential), 422 (our request), 500: a fault on our side, not the user's.
        raise ProviderError(
            f"auth refused the token request: {detail or status}", provider=self._provider, status=status
        )
