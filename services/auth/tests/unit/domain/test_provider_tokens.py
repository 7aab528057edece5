"""When the internal token endpoint refreshes: near expiry, or when the caller names the stored token
as rejected by the provider; and how long a refresh claims the link."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pm_auth.domain.provider_tokens import AccessToken, claim_ttl, claim_wait_s, needs_refresh, token_sha256

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def token(expires_in: timedelta | None) -> AccessToken:
    return AccessToken("the-token", NOW + expires_in if expires_in is not None else None, "acct")


def test_near_expiry_is_refreshed_far_from_it_is_not():
    assert needs_refresh(token(timedelta(minutes=4)), NOW, None)
    assert needs_refresh(token(timedelta(minutes=-1)), NOW, None)
    assert not needs_refresh(token(timedelta(minutes=30)), NOW, None)
    assert not needs_refresh(token(None), NOW, None)  # never expires


def test_the_rejected_token_is_refreshed_another_is_not():
    digest = hashlib.sha256(b"the-token").hexdigest()
    assert token_sha256("the-token") == digest
    for rejected in (digest, digest.upper()):
        assert needs_refresh(token(timedelta(minutes=30)), NOW, rejected)
        assert needs_refresh(token(None), NOW, rejected)
    other = hashlib.sha256(b"an-older-token").hexdigest()
    assert not needs_refresh(token(timedelta(minutes=30)), NOW, other)
    assert needs_refresh(token(timedelta(minutes=1)), NOW, other)  # still near expiry


def test_a_claim_outlives_the_provider_call_it_covers():
    assert claim_ttl(10) == timedelta(seconds=30)  # never shorter than 30 s
    assert claim_ttl(30) == timedelta(seconds=40)
    assert claim_wait_s(30) == 32
