"""Redis: the counts of password attempts per account (domain/throttle.py), under auth's prefix.

Keys, for the account's subject ``S`` (a digest of its normalised e-mail; ``{S}`` keeps them in one
Redis Cluster slot):

- ``pm:auth:pw:{S}:attempts`` — a hash ``n`` (attempts counted), ``until`` (ms: no attempt before then),
  shared by every client the account does not recognise; it expires ``window`` after the last attempt
  (plus that attempt's delay);
- ``pm:auth:pw:{S}:attempts:<client>`` — the same, for one recognised client;
- ``pm:auth:pw:{S}:clients`` — a hash ``<client>`` → until when (ms) it is recognised.

Claiming an attempt is one Lua script, so concurrent attempts cannot all slip in before the first one
is counted; times are Redis' own (one clock for every replica).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

# KEYS: clients, shared attempts, this client's attempts. ARGV: client tag ("" for none), window (ms),
# free attempts, then the delay schedule (ms). Returns {wait ms (0: go on), 1 if the client is known}.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bucket, known = KEYS[2], 0
if ARGV[1] ~= '' then
  local recognised = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  if recognised > now then bucket, known = KEYS[3], 1 end
end
local until_ms = tonumber(redis.call('HGET', bucket, 'until') or '0')
if until_ms > now then return {until_ms - now, known} end
local n = tonumber(redis.call('HGET', bucket, 'n') or '0') + 1
local free = tonumber(ARGV[3])
local delay = 0
if n > free then delay = tonumber(ARGV[3 + math.min(n - free, #ARGV - 3)]) end
redis.call('HSET', bucket, 'n', n, 'until', now + delay)
redis.call('PEXPIRE', bucket, tonumber(ARGV[2]) + delay)
return {0, known}
"""

# KEYS: clients. ARGV: client tag, how long it is recognised (ms).
_RECOGNISE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(redis.call('HGET', KEYS[1], field)) <= now then redis.call('HDEL', KEYS[1], field) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


@dataclass(frozen=True)
class Claim:
    """An attempt on an account: whether it must wait (ms; 0: it may go on), and the count it was
    counted in (to reset it when the password was right)."""

    wait_ms: int
    bucket: str


def _keys(prefix: str, subject: str, client: str) -> tuple[str, str, str]:
    base = f"{prefix}:{{{subject}}}"
    return f"{base}:clients", f"{base}:attempts", f"{base}:attempts:{client or '-'}"


async def claim(
    redis: aioredis.Redis,
    prefix: str,
    subject: str,
    client: str,
    *,
    window_ms: int,
    free_attempts: int,
    schedule_ms: list[int],
) -> Claim:
    """Count an attempt on ``subject`` from ``client``, unless it must wait first."""
    clients, shared, own = _keys(prefix, subject, client)
    wait, known = await redis.eval(  # type: ignore[misc]
        _CLAIM, 3, clients, shared, own, client, str(window_ms), str(free_attempts), *map(str, schedule_ms)
    )
    return Claim(int(wait), own if int(known) else shared)


async def reset(redis: aioredis.Redis, bucket: str) -> None:
    """The password was right: forget the count its attempt was counted in."""
    await redis.delete(bucket)


async def recognise(redis: aioredis.Redis, prefix: str, subject: str, client: str, ttl_ms: int) -> None:
    """``client`` proved the password of ``subject``: recognised for ``ttl_ms`` (expired ones go)."""
    clients, _, _ = _keys(prefix, subject, client)
    await redis.eval(_RECOGNISE, 1, clients, client, str(ttl_ms))  # type: ignore[misc]


async def forget(redis: aioredis.Redis, prefix: str, subject: str) -> None:
    """The account is gone: so are the clients it recognised (its counts expire within the window)."""
    clients, _, _ = _keys(prefix, subject, "")
    await redis.delete(clients)
