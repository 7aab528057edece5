"""MusicBrainz lookups against an emulator started in this process (its own port and state) and the
stack's Redis (a key prefix of each test's own: its own limiter slot and cache).

The one-call-per-second rule is checked on the slots the limiter reserved (Redis' clock) and on the
emulator never answering its own rate limit's 503, never on how long a test took."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from multidict import CIMultiDict

from pm_provider_emulator.settings import EmulatorSettings
from pm_provider_emulator.testing import EmulatorAdmin, started_emulator
from pm_providers import LookupService, Providers, ProviderSettings
from pm_providers.musicbrainz import MusicBrainzCache
from pm_providers.ratelimit import RateLimiter, ReservedSlot

pytestmark = pytest.mark.integration

MB = LookupService.MUSICBRAINZ
AGENT = "PlaylistManagerTests/1.0 ( https://example.org/pm-tests )"
UNKNOWN_ISRC = "ZZ0000000001"  # well-formed, in no catalogue


class SlotRecordingLimiter(RateLimiter):
    """The providers' limiter, keeping every slot it reserved (on Redis' clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots: list[ReservedSlot] = []

    async def reserve_slot(self, service: LookupService) -> ReservedSlot:
        slot = await super().reserve_slot(service)
        self.slots.append(slot)
        return slot


class Emulator(EmulatorAdmin):
    async def musicbrainz_calls(self) -> int:
        return int((await self.admin("GET", "/calls?host=musicbrainz.org"))["total"])

    def isrc_with_recordings(self, at_least: int = 1) -> str:
        return next(i for i, recs in sorted(self.state.catalogs.mb_by_isrc.items()) if len(recs) >= at_least)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # Its own rate limits on (MusicBrainz: 1/s per IP, a burst of 3): a 503 from it would show.
    async with started_emulator(EmulatorSettings(rate_limits=True), Emulator) as started:
        yield started


class Sent:
    """The headers of every request the providers' session sent."""

    def __init__(self) -> None:
        self.headers: list[CIMultiDict[str]] = []

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_start(_s: aiohttp.ClientSession, _c: SimpleNamespace, params: Any) -> None:
            self.headers.append(CIMultiDict(params.headers))

        config.on_request_start.append(on_start)
        return config


def settings(emulator: Emulator, prefix: str) -> ProviderSettings:
    return ProviderSettings(PROVIDER_REDIS_PREFIX=prefix, MUSICBRAINZ_USER_AGENT=AGENT).for_emulator(
        emulator.base
    )


@pytest.fixture
async def sent() -> Sent:
    return Sent()


@pytest.fixture
async def providers(
    emulator: Emulator, redis: aioredis.Redis, prefix: str, sent: Sent
) -> AsyncIterator[Providers]:
    s = settings(emulator, prefix)
    async with aiohttp.ClientSession(timeout=s.client_timeout(), trace_configs=[sent.trace()]) as session:
        p = Providers(s, redis, session=session)
        p.limiter = SlotRecordingLimiter(redis, s, metrics=p.metrics)
        async with p:
            yield p


def slots(p: Providers) -> list[ReservedSlot]:
    assert isinstance(p.limiter, SlotRecordingLimiter)
    return p.limiter.slots


def outcomes(p: Providers) -> dict[str, float]:
    """The pipeline's count of MusicBrainz answers by outcome (ok, server_error, rate_limited, ...)."""
    return {
        sample.labels["outcome"]: sample.value
        for metric in p.metrics.requests.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["provider"] == "musicbrainz"
    }


async def test_an_isrc_lookup_returns_the_emulators_recordings_with_the_user_agent(
    emulator: Emulator, providers: Providers, sent: Sent
) -> None:
    isrc = emulator.isrc_with_recordings()
    expected = sorted(emulator.state.catalogs.mb_by_isrc[isrc], key=lambda m: m.id)

    found = await providers.musicbrainz().recordings_by_isrc(isrc.lower())

    assert [(r.mbid, r.title, r.length_ms) for r in found] == [(m.id, m.title, m.length) for m in expected]
    assert [c.name for c in found[0].artist_credits] == [name for name, _ in expected[0].artist_credit]
    assert found[0].releases[0].mbid == expected[0].release_id
    assert [h["User-Agent"] for h in sent.headers] == [AGENT]


async def test_a_recording_lookup_carries_its_isrcs(emulator: Emulator, providers: Providers) -> None:
    isrc = emulator.isrc_with_recordings()
    known = emulator.state.catalogs.mb_by_isrc[isrc][0]
    found = await providers.musicbrainz().recording(known.id)
    assert found is not None and isrc in found.isrcs and found.mbid == known.id
    assert await providers.musicbrainz().recording("00000000-0000-4000-8000-000000000000") is None


async def test_a_second_identical_lookup_makes_no_call(emulator: Emulator, providers: Providers) -> None:
    isrc = emulator.isrc_with_recordings()
    mb = providers.musicbrainz()
    first = await mb.recordings_by_isrc(isrc)
    calls = await emulator.musicbrainz_calls()

    assert await mb.recordings_by_isrc(isrc) == first
    assert await providers.musicbrainz().recordings_by_isrc(isrc) == first  # another client, same Redis
    assert await emulator.musicbrainz_calls() == calls == 1


async def test_an_unknown_isrc_is_none_found_and_kept_for_the_shorter_time(
    emulator: Emulator, providers: Providers, redis: aioredis.Redis
) -> None:
    mb = providers.musicbrainz()
    assert await mb.recordings_by_isrc(UNKNOWN_ISRC) == []
    assert await mb.recordings_by_isrc(UNKNOWN_ISRC) == []
    assert await emulator.musicbrainz_calls() == 1

    key = MusicBrainzCache(redis, providers.settings).isrc_key(UNKNOWN_ISRC)
    assert 0 < await redis.ttl(key) <= providers.settings.musicbrainz_miss_ttl_s


async def test_an_invalid_isrc_makes_no_call(emulator: Emulator, providers: Providers) -> None:
    with pytest.raises(ValueError, match="not an ISRC"):
        await providers.musicbrainz().recordings_by_isrc("GB-NOT-AN-ISRC")
    assert await emulator.musicbrainz_calls() == 0
    assert slots(providers) == []


async def test_503s_are_retried_and_the_lookup_succeeds(emulator: Emulator, providers: Providers) -> None:
    isrc = emulator.isrc_with_recordings()
    await emulator.admin("PUT", "/faults/musicbrainz", {"fail_next": 2, "error_status": 503})

    found = await providers.musicbrainz().recordings_by_isrc(isrc)

    assert found and await emulator.musicbrainz_calls() == 3
    assert outcomes(providers) == {"server_error": 2, "ok": 1}
    # Every attempt, retries included, took its own slot.
    assert len(slots(providers)) == 3


async def test_replicas_sharing_the_redis_make_at_most_one_call_per_second(
    emulator: Emulator, providers: Providers, redis: aioredis.Redis, prefix: str
) -> None:
    isrcs = sorted(emulator.state.catalogs.mb_by_isrc)[:4]
    # A second replica: its own session and limiter, the same Redis and prefix.
    other_settings = settings(emulator, prefix)
    other = Providers(other_settings, redis)
    other.limiter = SlotRecordingLimiter(redis, other_settings, metrics=other.metrics)
    async with other:
        here, there = providers.musicbrainz(cached=False), other.musicbrainz(cached=False)
        await asyncio.gather(*(client.recordings_by_isrc(i) for i in isrcs for client in (here, there)))

    reserved = sorted(s.at_ms for s in slots(providers) + slots(other))
    assert len(reserved) == 2 * len(isrcs)
    assert all(b - a >= 1000 for a, b in itertools.pairwise(reserved))
    # The emulator's own 1/s limit never answered 503: every call went through at the first attempt.
    assert outcomes(providers) == {"ok": len(isrcs)} and outcomes(other) == {"ok": len(isrcs)}
