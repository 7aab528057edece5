"""Session rules (pure): lifetimes and what a refresh-token presentation means.

A session lives 30 days from its last use (sliding) and never more than 90 days from its creation
(absolute). Each refresh rotates the refresh token; presenting one that was already used means it was
stolen or replayed, so the whole session (the token family) is revoked.
"""

from __future__ import annotations

import ipaddress
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


def client_ip(gateway_ip: str | None, peer: str | None) -> str | None:
    """The client's address: ``gateway_ip``, the address the gateway identified and vouched for (its
    sealed ``X-PM-Client-IP``, opened by the HTTP edge: None when absent, forged or stale), else the TCP
    peer (a direct call).

    ``X-Forwarded-For`` is never read here: whatever reaches auth of it is the client's own say. A
    ``gateway_ip`` that is not one IP address is ignored (then the peer).
    """
    if gateway_ip and "%" not in gateway_ip:  # no IPv6 zone ("fe80::1%eth0"): free text
        try:
            return str(ipaddress.ip_address(gateway_ip.strip()))
        except ValueError:
            pass
    return peer[:64] if peer and len(peer) <= 64 else None


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


def client_info(gateway_ip: str | None, peer: str | None, user_agent: str | None) -> ClientInfo:
    """From the address the gateway vouched for (see :func:`client_ip`), the TCP peer and the
    ``User-Agent`` of a request."""
    return ClientInfo(client_ip(gateway_ip, peer), clip(user_agent, MAX_USER_AGENT))
