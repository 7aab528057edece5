"""Per-account throttling of password checks (pure): the delays, and the names attempts are counted under.

Every check of an account's password (login, registering a taken e-mail, changing the password,
deleting the account) is an attempt on that account, whichever address it comes from: the gateway's
per-address limits do not stop 30 addresses guessing one password, nor a caller that reaches auth
directly. The first ``free_attempts`` attempts go through at once; each one after that makes the next
wait ``base_delay_s``, doubling each time, at most ``max_delay_s``. An attempt that comes while it must
wait is refused (429, Retry-After) without the password being looked at. The count is forgotten
``window_s`` after the last attempt (after its delay), and a right password resets it.

Attempts are counted under a digest of the normalised e-mail, never the user id, so an e-mail without
an account is throttled exactly as one with an account. A client (address) that proved the password
of the account once is recognised for a while and counted apart, so that others' failures do not lock
the account's owner out.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int
    base_delay_s: float
    max_delay_s: float
    window_s: float

    def __post_init__(self) -> None:
        if self.free_attempts < 1:
            raise ValueError("free_attempts must be at least 1")
        if not 0 < self.base_delay_s <= self.max_delay_s:
            raise ValueError("0 < base_delay_s <= max_delay_s")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")


def delay_after(policy: ThrottlePolicy, attempts: int) -> float:
    """How long the next attempt must wait after ``attempts`` attempts (the last one included)."""
    over = attempts - policy.free_attempts
    if over <= 0:
        return 0.0
    if over > 64:  # 2**64 times any base is past any bound
        return policy.max_delay_s
    return float(min(policy.base_delay_s * 2 ** (over - 1), policy.max_delay_s))


def delay_schedule_ms(policy: ThrottlePolicy) -> list[int]:
    """The delays (ms) after attempt ``free_attempts + 1``, ``+ 2``, …, up to the first that reaches the
    bound; every later attempt waits the last one."""
    schedule: list[int] = []
    attempts = policy.free_attempts
    while not schedule or schedule[-1] < round(policy.max_delay_s * 1000):
        attempts += 1
        schedule.append(round(delay_after(policy, attempts) * 1000))
    return schedule


def throttle_subject(email: str) -> str:
    """The name attempts on the account of ``email`` (normalised) are counted under: a digest, so that
    Redis holds no e-mail address."""
    return hashlib.sha256(b"pm-auth:password-attempts:" + email.encode()).hexdigest()[:32]


def client_tag(subject: str, ip: str | None) -> str:
    """The name of a client (address) of the account ``subject`` ("" without an address). An IPv6
    client is its /64, as in the gateway's per-address limits: one host holds a whole /64 and its
    privacy addresses change within it, so the owner stays recognised from one day to the next."""
    if not ip:
        return ""
    return hashlib.sha256(f"{subject}:{_client_network(ip)}".encode()).hexdigest()[:16]


def _client_network(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
