"""When auth refreshes a provider access token before handing it out, and how long a refresh may hold
its claim on the link (pure).

A token is refreshed when it is within :data:`REFRESH_MARGIN` of expiry, or when the caller names it
as the token the provider just rejected (``rejected_token_sha256``: lower- or upper-case hex of the
SHA-256 of the token's UTF-8 bytes). A name that does not match the stored token means someone
refreshed it already: the stored one is current.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

REFRESH_MARGIN = timedelta(minutes=5)
# A claim outlives the provider call it covers (at most PROVIDER_TIMEOUT_S); then anyone may refresh.
CLAIM_TTL = timedelta(seconds=30)
CLAIM_TTL_MARGIN = timedelta(seconds=10)
# How much longer than the provider timeout a caller waits for another replica's refresh.
CLAIM_WAIT_MARGIN_S = 2.0


@dataclass(frozen=True)
class AccessToken:
    """A provider access token as the internal token endpoint hands it out."""

    access_token: str
    expires_at: datetime | None  # None: it does not expire (Deezer's offline_access)
    account_id: str


def token_sha256(access_token: str) -> str:
    """How a caller names a token it saw rejected (``rejected_token_sha256``)."""
    return hashlib.sha256(access_token.encode()).hexdigest()


def is_rejected(token: AccessToken, rejected_sha256: str | None) -> bool:
    """Whether ``rejected_sha256`` names ``token`` (compared in constant time)."""
    if rejected_sha256 is None:
        return False
    return hmac.compare_digest(token_sha256(token.access_token), rejected_sha256.lower())


def needs_refresh(token: AccessToken, now: datetime, rejected_sha256: str | None) -> bool:
    if is_rejected(token, rejected_sha256):
        return True
    return token.expires_at is not None and token.expires_at - now <= REFRESH_MARGIN


def claim_ttl(provider_timeout_s: float) -> timedelta:
    """How long a refresh claims the link: longer than the provider call it covers."""
    return max(CLAIM_TTL, timedelta(seconds=provider_timeout_s) + CLAIM_TTL_MARGIN)


def claim_wait_s(provider_timeout_s: float) -> float:
    """How long a caller waits for another replica's refresh before answering 503."""
    return provider_timeout_s + CLAIM_WAIT_MARGIN_S
