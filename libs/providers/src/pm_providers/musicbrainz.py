"""MusicBrainz lookups (ISRC → recordings, recording by id) on the providers' one request pipeline.

MusicBrainz's rules (https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting), and where each is kept:

- at most one request per second per client IP, else 503 for every request: the pipeline reserves the
  deployment's next one-second slot in Redis before every attempt, retries included
  (:meth:`~pm_providers.ratelimit.RateLimiter.reserve`);
- a descriptive User-Agent ``App/version ( contact )``: ``MUSICBRAINZ_USER_AGENT``, checked when the
  settings are built (:class:`~pm_providers.settings.ProviderSettings`);
- 503 (and 429): waited out as Retry-After says, else retried with backoff, a bounded number of times
  (``PROVIDER_RETRY``), then raised (:func:`~pm_providers.domain.musicbrainz.classify_musicbrainz`).

Answers, "none found" included, are kept in Redis (:class:`MusicBrainzCache`), so a repeated lookup
costs no call. Build through :meth:`pm_providers.Providers.musicbrainz`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pm_platform.logging import logger
from pm_providers.domain.musicbrainz import (
    MbRecording,
    normalise_isrc,
    normalise_mbid,
    parse_isrc_answer,
    parse_recording,
)
from pm_providers.errors import NotFound, ProviderUnavailable
from pm_providers.http import ProviderHttp
from pm_providers.settings import ProviderSettings

# The API's path under MUSICBRAINZ_URL.
API_PATH = "/ws/2"
# ``inc=artists+releases`` in MusicBrainz's docs is a form-encoded space: sent as a space, it arrives as
# MusicBrainz means it (a literal "+" would be sent encoded, as %2B).
INC_SEPARATOR = " "
# Bumped when what is cached changes shape: old entries are then simply not read.
CACHE_VERSION = "v1"

_RECORDINGS = TypeAdapter(list[MbRecording])
_RECORDING = TypeAdapter(MbRecording | None)


class MusicBrainzCache:
    """Lookups kept in Redis under ``<PROVIDER_REDIS_PREFIX>:musicbrainz:v1:{isrc|recording}:<id>``.

    Answers live ``MUSICBRAINZ_CACHE_TTL_S``, "none found" ``MUSICBRAINZ_MISS_TTL_S``. Reads return
    None for "not cached" (an entry of another version, or one that no longer parses, is not cached).
    """

    def __init__(self, redis: Redis, settings: ProviderSettings) -> None:
        self._redis = redis
        self._prefix = f"{settings.rate_limit_key_prefix}:musicbrainz:{CACHE_VERSION}"
        self._ttl_s = settings.musicbrainz_cache_ttl_s
        self._miss_ttl_s = settings.musicbrainz_miss_ttl_s

    def isrc_key(self, isrc: str) -> str:
        return f"{self._prefix}:isrc:{isrc}"

    def recording_key(self, mbid: str) -> str:
        return f"{self._prefix}:recording:{mbid}"

    async def recordings_by_isrc(self, isrc: str) -> list[MbRecording] | None:
        raw = await self._redis.get(self.isrc_key(isrc))
        try:
            return None if raw is None else _RECORDINGS.validate_json(raw)
        except ValueError:
            return None

    async def recording(self, mbid: str) -> tuple[MbRecording | None] | None:
        """``(recording or None for "none found",)`` when cached, else None."""
        raw = await self._redis.get(self.recording_key(mbid))
        try:
            return None if raw is None else (_RECORDING.validate_json(raw),)
        except ValueError:
            return None

    async def keep_isrc(self, isrc: str, recordings: list[MbRecording]) -> None:
        await self._keep(self.isrc_key(isrc), _RECORDINGS.dump_json(recordings), found=bool(recordings))

    async def keep_recording(self, mbid: str, recording: MbRecording | None) -> None:
        await self._keep(
            self.recording_key(mbid), _RECORDING.dump_json(recording), found=recording is not None
        )

    async def _keep(self, key: str, value: bytes, *, found: bool) -> None:
        # The answer in hand cost a second of the deployment's MusicBrainz budget: a cache that cannot
        # store it is logged, and the answer still returned.
        try:
            await self._redis.set(key, value, ex=self._ttl_s if found else self._miss_ttl_s)
        except RedisError as exc:
            logger.warning("MusicBrainz answer not cached ({})", type(exc).__name__)


_Parsed = TypeVar("_Parsed")


def _parsed(parse: Callable[[Any], _Parsed], body: Any) -> _Parsed:
    """An answer read, or ProviderUnavailable (retryable) when it is not MusicBrainz's: a proxy's or a
    maintenance page served with status 200 must not be taken for "MusicBrainz knows none" and cached."""
    try:
        return parse(body)
    except ValueError as exc:
        raise ProviderUnavailable(f"MusicBrainz's answer could not be read: {exc}"[:300]) from None


class MusicBrainz:
    """ISRC and recording lookups. Cheap to keep for the process; safe to share between tasks.

    Every method may block: the one-call-per-second slot (shared by the deployment), Retry-After waits
    and backoff. Errors are :mod:`pm_providers.errors` (``RateLimited`` / ``ProviderUnavailable``
    after the bounded retries, ``Forbidden`` for a refused User-Agent, ``InvalidRequest`` for other
    4xx). Invalid ids raise ValueError before any call.
    """

    def __init__(self, http: ProviderHttp, cache: MusicBrainzCache | None) -> None:
        self._http = http
        self._cache = cache

    async def recordings_by_isrc(self, isrc: str) -> list[MbRecording]:
        """The recordings MusicBrainz links to ``isrc`` (with artists and releases); [] when none."""
        isrc = normalise_isrc(isrc)
        if self._cache is not None and (cached := await self._cache.recordings_by_isrc(isrc)) is not None:
            return cached
        try:
            resp = await self._http.request(
                "GET",
                f"/isrc/{isrc}",
                endpoint="isrc",
                params={"fmt": "json", "inc": INC_SEPARATOR.join(("artists", "releases"))},
            )
            recordings = _parsed(parse_isrc_answer, resp.body)
        except NotFound:
            recordings = []
        if self._cache is not None:
            await self._cache.keep_isrc(isrc, recordings)
        return recordings

    async def recording(self, mbid: str) -> MbRecording | None:
        """One recording with its ISRCs, artists and releases; None when MusicBrainz has none."""
        mbid = normalise_mbid(mbid)
        if self._cache is not None and (cached := await self._cache.recording(mbid)) is not None:
            return cached[0]
        try:
            resp = await self._http.request(
                "GET",
                f"/recording/{mbid}",
                endpoint="recording",
                params={"fmt": "json", "inc": INC_SEPARATOR.join(("isrcs", "artists", "releases"))},
            )
            found: MbRecording | None = _parsed(parse_recording, resp.json_object)
        except NotFound:
            found = None
        if self._cache is not None:
            await self._cache.keep_recording(mbid, found)
        return found
