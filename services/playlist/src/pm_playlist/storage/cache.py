"""The Redis read-through cache of playlist pages and library lists, invalidated by the service's own
changes.

- A playlist's *state* (``state:<id>`` → "<user id> <ETag>") says which version is current and whose it
  is. A writer sets it after its commit unless it already names a later version (two writers' notices
  may arrive in either order); a reader that filled it from the database sets it only if absent
  (``NX``), so an older read never overwrites a newer write. It lives STATE_TTL_S: a writer that could
  not reach Redis after committing leaves a stale state for at most that long.
- A *page* (``page:<id>:<offset>:<limit>``) is kept with the ETag it was rendered at, and served only
  while that is the state's ETag: nothing ever has to delete a page (a stale one is overwritten or
  expires). The state and the page are read in one round trip (MGET).
- A user's *lists* are cached under the user's library generation, which every change of the user's
  playlists increments: older lists are never read again.

A conditional request (``If-None-Match``) is answered from the state alone.
Redis being away is never an error here: reads go to the database and writes skip the cache.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from loguru import logger
from redis.exceptions import RedisError

from pm_platform.service import Runtime

STATE_TTL_S = 60
PAGE_TTL_S = 600
LIST_TTL_S = 60  # as the state: a list is never staler than a page

T = TypeVar("T")


async def _quietly(action: Callable[[], Awaitable[T]], default: T) -> T:
    try:
        return await action()
    except (RedisError, OSError) as exc:
        logger.warning("playlist cache unavailable ({})", type(exc).__name__)
        return default


def _state_key(rt: Runtime, playlist_id: uuid.UUID) -> str:
    return rt.redis_key("state", str(playlist_id))


def _page_key(rt: Runtime, playlist_id: uuid.UUID, offset: int, limit: int) -> str:
    return rt.redis_key("page", str(playlist_id), str(offset), str(limit))


def _generation_key(rt: Runtime, user_id: uuid.UUID) -> str:
    return rt.redis_key("library", str(user_id))


async def cached_page(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID, offset: int, limit: int
) -> tuple[str | None, bytes | None]:
    """The playlist's current ETag as last recorded (None: unknown here, or not the user's: ask the
    database), and the page if the cache holds it at that ETag."""

    async def read() -> tuple[str | None, bytes | None]:
        state, page = await rt.redis.mget(
            _state_key(rt, playlist_id), _page_key(rt, playlist_id, offset, limit)
        )
        if state is None:
            return None, None
        owner, _, etag = state.decode().partition(" ")
        if owner != str(user_id):
            return None, None
        if page is None:
            return etag, None
        page_etag, _, body = page.partition(b"\n")
        return etag, body if page_etag.decode() == etag else None

    return await _quietly(read, (None, None))


async def remember_page(
    rt: Runtime, user_id: uuid.UUID, playlist_id: uuid.UUID, etag: str, offset: int, limit: int, body: bytes
) -> None:
    async def write() -> None:
        async with rt.redis.pipeline(transaction=False) as pipe:
            pipe.set(_state_key(rt, playlist_id), f"{user_id} {etag}", ex=STATE_TTL_S, nx=True)
            pipe.set(_page_key(rt, playlist_id, offset, limit), etag.encode() + b"\n" + body, ex=PAGE_TTL_S)
            await pipe.execute()

    await _quietly(write, None)


# A writer's new state, unless the state already names a later version: two writers' notices after their
# commits may arrive in either order, and the older must not win.
_SET_UNLESS_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '"(%d+)%.'))
  if version and version > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


async def playlists_changed(rt: Runtime, user_id: uuid.UUID, states: dict[uuid.UUID, str | None]) -> None:
    """After a commit: the playlists' new ETags (None: deleted, or to be read again from the database),
    and the user's lists are stale."""

    async def write() -> None:
        set_unless_newer = rt.redis.register_script(_SET_UNLESS_NEWER)
        async with rt.redis.pipeline(transaction=False) as pipe:
            for playlist_id, etag in states.items():
                if etag is None:
                    pipe.delete(_state_key(rt, playlist_id))
                else:
                    version = etag.strip('"').split(".")[0]
                    await set_unless_newer(
                        keys=[_state_key(rt, playlist_id)],
                        args=[f"{user_id} {etag}", version, STATE_TTL_S],
                        client=pipe,
                    )
            pipe.incr(_generation_key(rt, user_id))
            await pipe.execute()

    await _quietly(write, None)


async def library_generation(rt: Runtime, user_id: uuid.UUID) -> int | None:
    """The user's library generation (0 before any change); None when Redis is away (do not cache)."""

    async def read() -> int | None:
        raw = await rt.redis.get(_generation_key(rt, user_id))
        return int(raw) if raw is not None else 0

    return await _quietly(read, None)


def _list_key(rt: Runtime, user_id: uuid.UUID, generation: int, query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    return rt.redis_key("list", str(user_id), str(generation), digest)


async def cached_list(rt: Runtime, user_id: uuid.UUID, generation: int, query: str) -> bytes | None:
    return await _quietly(lambda: rt.redis.get(_list_key(rt, user_id, generation, query)), None)


async def remember_list(rt: Runtime, user_id: uuid.UUID, generation: int, query: str, body: bytes) -> None:
    await _quietly(lambda: rt.redis.set(_list_key(rt, user_id, generation, query), body, ex=LIST_TTL_S), None)
