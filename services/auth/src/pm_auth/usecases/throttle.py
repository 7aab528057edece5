"""Per-account throttling of password checks (the rule: domain/throttle.py; the counts: Redis,
storage/password_attempts.py). The account use cases (usecases/accounts.py) call
:func:`begin_password_attempt` before they look at a password, and :func:`password_proved` once it was
right.

Whether the e-mail has an account plays no part: an unknown e-mail is counted, delayed and answered
exactly like a known one, and a throttled attempt is refused before the account is even looked up.
Redis being unreachable does not stop logins (the attempt goes on, unthrottled, with a warning): the
gateway's per-address limits still apply then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loguru import logger
from redis.exceptions import RedisError

from pm_auth.domain.throttle import client_tag, delay_schedule_ms, throttle_subject
from pm_auth.errors import TooManyAttempts
from pm_auth.resources import AUTH
from pm_auth.storage import password_attempts
from pm_platform.service import Runtime

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class PasswordAttempt:
    """A counted attempt on an account, from one client."""

    subject: str
    client: str
    bucket: str  # "" when it could not be counted (Redis unreachable)


def _prefix(rt: Runtime) -> str:
    return rt.redis_key("pw")


async def begin_password_attempt(rt: Runtime, email: str, ip: str | None) -> PasswordAttempt:
    """Count an attempt on the account of ``email`` (normalised) from ``ip``, or refuse it with
    :class:`TooManyAttempts` (429, Retry-After) while the account's attempts must wait."""
    settings = rt[AUTH].settings
    policy = settings.login_throttle
    subject = throttle_subject(email)
    client = client_tag(subject, ip) if settings.login_throttle_known_client_days else ""
    try:
        claim = await password_attempts.claim(
            rt.redis,
            _prefix(rt),
            subject,
            client,
            window_ms=round(policy.window_s * 1000),
            free_attempts=policy.free_attempts,
            schedule_ms=delay_schedule_ms(policy),
        )
    except RedisError as exc:
        logger.warning("password attempts cannot be counted (Redis: {}); this one goes unthrottled", exc)
        return PasswordAttempt(subject, client, "")
    if claim.wait_ms > 0:
        retry_after = max(1, math.ceil(claim.wait_ms / 1000))
        raise TooManyAttempts(
            "too many password attempts for this account; wait before trying again",
            headers={"Retry-After": str(retry_after)},
        )
    return PasswordAttempt(subject, client, claim.bucket)


async def password_proved(rt: Runtime, attempt: PasswordAttempt) -> None:
    """The password was right: the count the attempt was counted in starts again, and its client is
    recognised by the account (its later attempts are counted apart from everyone else's)."""
    settings = rt[AUTH].settings
    try:
        if attempt.bucket:
            await password_attempts.reset(rt.redis, attempt.bucket)
        if attempt.client:
            ttl_ms = settings.login_throttle_known_client_days * _DAY_MS
            await password_attempts.recognise(rt.redis, _prefix(rt), attempt.subject, attempt.client, ttl_ms)
    except RedisError as exc:
        logger.warning("password attempts cannot be reset (Redis: {})", exc)


async def forget_account(rt: Runtime, email: str) -> None:
    """The account was deleted: the clients it recognised are forgotten (its counts expire by themselves)."""
    try:
        await password_attempts.forget(rt.redis, _prefix(rt), throttle_subject(email))
    except RedisError as exc:
        logger.warning("recognised clients of a deleted account not forgotten (Redis: {})", exc)
