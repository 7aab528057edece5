"""Access tokens: issuing one for a session, and publishing the keys that verify them (the JWKS the
gateway fetches).

EdDSA with the newest active signing key by default; under the HS256 fallback (AUTH_TOKEN_ALG) tokens
are signed with JWT_SECRET, which is never published, so the JWKS is empty.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pm_auth.domain.tokens import AccessClaims, new_access_claims, sign_eddsa, sign_hs256
from pm_auth.resources import AUTH, AuthContext
from pm_platform.service import Runtime


async def issue_access_token(
    auth: AuthContext, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
) -> tuple[str, AccessClaims]:
    settings = auth.settings
    claims = new_access_claims(user_id, session_id, now, settings.access_ttl)
    if auth.signing is None:
        return sign_hs256(claims, settings.issuer, settings.jwt_secret.get_secret_value()), claims
    return sign_eddsa(claims, settings.issuer, await auth.signing.active()), claims


async def published_keys(rt: Runtime) -> list[dict[str, str]]:
    """The JWKS's keys: the active signing key and those retired recently enough to verify live tokens."""
    signing = rt[AUTH].signing
    if signing is None:
        return []
    return [key.jwk() for key in await signing.published()]
