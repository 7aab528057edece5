"""Session rules (pure): lifetimes and what a refresh-token presentation means.

A session lives 30 days from its last use (sliding) and never more than 90 days from its creation
(absolute). Each refresh rotates the refresh token; presenting one that was already used means it was
stolen or replayed, so the whole session (the token family) is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SLIDING_LIFETIME = timedelta(days=30)
ABSOLUTE_LIFETIME = timedelta(days=90)
MAX_DEVICE_NAME = 100
MAX_USER_AGENT = 512


def session_expiry(created_at: datetime, now: datetime) -> datetime:
    """When a session used at ``now`` expires: 30 days on, capped at 90 days after creation."""
    return min(now + SLIDING_LIFETIME, created_at + ABSOLUTE_LIFETIME)


class RefreshVerdict(StrEnum):
    ROTATE = "rotate"  # a current token of a live session: issue the next one
    REUSE = "reuse"  # an already-used token: revoke the family
    DEAD = "dead"  # revoked or expired session: refuse, nothing to do


@dataclass(frozen=True)
class RefreshState:
    token_used: bool
    session_revoked: bool
    session_expires_at: datetime


def judge_refresh(state: RefreshState, now: datetime) -> RefreshVerdict:
    if state.session_revoked or now >= state.session_expires_at:
        return RefreshVerdict.DEAD
    if state.token_used:
        return RefreshVerdict.REUSE
    return RefreshVerdict.ROTATE


def client_ip(forwarded_for: str | None, peer: str | None) -> str | None:
    """The client address: the last ``X-Forwarded-For`` hop (appended by the gateway, the one proxy in
    front of auth), else the TCP peer. Earlier hops are client-controlled and ignored."""
    if forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return peer[:64] if peer else None


def clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = "".join(c for c in value if c.isprintable()).strip()
    return value[:limit] or None


@dataclass(frozen=True)
class ClientInfo:
    """Where a session is used from, as the session records it: the client's address and user agent."""

    ip: str | None
    user_agent: str | None


def client_info(forwarded_for: str | None, peer: str | None, user_agent: str | None) -> ClientInfo:
    """From a request's ``X-Forwarded-For``, its TCP peer and its ``User-Agent``."""
    return ClientInfo(client_ip(forwarded_for, peer), clip(user_agent, MAX_USER_AGENT))
