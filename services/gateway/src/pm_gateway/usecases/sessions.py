"""Revoked sessions (docs/security.md): auth's session.revoked makes the gateway refuse the session's
access tokens until they expire; every authenticated request asks (usecases/admission.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pm_contracts.sessions import SessionRevoked
from pm_gateway.settings import gateway_settings
from pm_gateway.storage.revocations import RevokedSessions
from pm_platform.service import Runtime


def revoked_sessions(rt: Runtime) -> RevokedSessions:
    """The gateway's revoked sessions (in Redis, under its key prefix)."""
    return RevokedSessions(rt.redis, rt.redis_key(), gateway_settings(rt).token_leeway_s)


async def revoke(rt: Runtime, event: SessionRevoked) -> bool:
    """Refuse the session's tokens from now on. Idempotent (a redelivery sets the same key); False when
    its tokens have all expired already, so there is nothing to refuse."""
    return await revoked_sessions(rt).revoke(event.session_id, event.access_expires_at, datetime.now(UTC))
