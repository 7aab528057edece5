"""The same failure scenarios against every adapter: 429 with Retry-After, 5xx then success, dropped
connections, a token expiring mid-run, each provider's quota answer, and cancelled writes."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import pytest
from loguru import logger

from pm_providers import Providers, WriteProgress
from pm_providers.errors import (
    PartialWrite,
    QuotaExceeded,
    RateLimited,
    ReconsentRequired,
    Unauthorized,
)
from pm_providers.models import ProviderName

from .conftest import EmulatorFactory, EmulatorHarness, EmulatorTokens, ProvidersFactory, User

pytestmark = pytest.mark.integration

ALL = pytest.mark.parametrize("provider", list(ProviderName), ids=str)

# Entries per provider for "mid-run" reads: at least three pages each.
MULTI_PAGE = {
    ProviderName.SPOTIFY: 250,
    ProviderName.DEEZER: 4_500,
    ProviderName.TIDAL: 60,
    ProviderName.YOUTUBE: 120,
}
# One read's calls for those sizes.
MULTI_PAGE_CALLS = {
    ProviderName.SPOTIFY: 4,
    ProviderName.DEEZER: 3,
    ProviderName.TIDAL: 3,
    ProviderName.YOUTUBE: 6,
}
BATCH = {ProviderName.SPOTIFY: 100, ProviderName.DEEZER: 500, ProviderName.TIDAL: 50, ProviderName.YOUTUBE: 1}


async def playlist_user(
    emulator: EmulatorHarness, provider: ProviderName, size: int
) -> tuple[User, str, list[str]]:
    user = await emulator.create_user(provider, [{"name": "List", "size": size}])
    pid = user.playlists[0]["id"]
    return user, pid, await emulator.playlist_track_ids(user, pid)


@ALL
async def test_429_waits_retry_after_then_succeeds(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user, pid, ids = await playlist_user(emulator, provider, 20)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    await emulator.reset_calls()
    # Deezer's answer is its HTTP-200 code 4 without Retry-After: the adapter waits its quota window
    # (1 s in these settings) instead.
    await emulator.faults(provider, storm_requests=1, storm_retry_after=1)
    started = time.monotonic()
    tracks = await adapter.read_all(pid)
    waited = time.monotonic() - started
    assert [t.id for t in tracks] == ids
    assert 1.0 <= waited < 3.0
    assert await emulator.total_calls(provider) == (2 if provider is not ProviderName.YOUTUBE else 3)


@ALL
async def test_5xx_then_success_reads_and_writes_once(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user, pid, ids = await playlist_user(emulator, provider, 20)
    tokens = EmulatorTokens(emulator, user)
    adapter = providers.adapter(provider, tokens)
    sink = io.StringIO()
    handler = logger.add(sink, level="DEBUG")
    try:
        await emulator.reset_calls()
        await emulator.faults(provider, fail_next=2)
        assert [t.id for t in await adapter.read_all(pid)] == ids
        reads = await emulator.total_calls(provider)
        assert reads == 2 + (1 if provider is not ProviderName.YOUTUBE else 2)

        created = await adapter.create_playlist("Retry")
        await emulator.faults(provider, fail_next=1)  # 503: not applied, so even an add is resent
        await adapter.add_tracks(created.id, ids[:5])
        assert await emulator.playlist_track_ids(user, created.id) == ids[:5]
    finally:
        logger.remove(handler)
    assert "retry" in sink.getvalue()
    assert tokens.token not in sink.getvalue()


@ALL
async def test_dropped_connection_retried_on_reads_reported_on_writes(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user, pid, ids = await playlist_user(emulator, provider, 10)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    await emulator.faults(provider, drop_next=1)
    assert [t.id for t in await adapter.read_all(pid)] == ids
    created = await adapter.create_playlist("Dropped")
    await emulator.faults(provider, drop_next=1)
    if provider is ProviderName.TIDAL:
        # Every TIDAL mutation carries an Idempotency-Key: resending is safe, so it is resent.
        await adapter.add_tracks(created.id, ids[:3])
        assert await emulator.playlist_track_ids(user, created.id) == ids[:3]
        return
    with pytest.raises(PartialWrite) as err:
        await adapter.add_tracks(created.id, ids[:3])
    # The answer was lost: the batch is reported as uncertain, never silently resent or dropped.
    assert err.value.written == ()
    assert err.value.uncertain_batch == tuple(ids[:1] if provider is ProviderName.YOUTUBE else ids[:3])
    assert err.value.cause is not None and err.value.cause.code == "network"


@ALL
async def test_access_token_expiring_mid_read_is_refreshed_once(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user, pid, ids = await playlist_user(emulator, provider, MULTI_PAGE[provider])
    tokens = EmulatorTokens(emulator, user)
    adapter = providers.adapter(provider, tokens)
    await emulator.reset_calls()
    seen: list[str | None] = []
    async for track in adapter.playlist_tracks(pid):
        if not seen:
            await emulator.expire(tokens.token)
        seen.append(track.id)
    assert seen == ids
    assert tokens.refreshes == 1
    assert await emulator.total_calls(provider) == MULTI_PAGE_CALLS[provider] + 1


class DeadRefresh:
    """A token source whose refresh token is gone (Spotify's 6-month expiry, a revoked grant)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        return self.token

    async def refresh(self) -> str:
        raise ReconsentRequired("invalid_grant: refresh token expired")


class SameToken(DeadRefresh):
    async def refresh(self) -> str:
        return self.token  # "refreshed" to a token the provider still refuses


@ALL
async def test_failed_refresh_is_typed(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider)
    await emulator.expire(user.access_token)
    with pytest.raises(ReconsentRequired):
        await providers.adapter(provider, DeadRefresh(user.access_token)).current_user()
    await emulator.reset_calls()
    with pytest.raises(Unauthorized) as err:
        await providers.adapter(provider, SameToken(user.access_token)).current_user()
    assert not isinstance(err.value, ReconsentRequired)
    assert await emulator.total_calls(provider) == 2  # the call, and once more after the refresh


@ALL
async def test_provider_quota_answers(
    provider: ProviderName, make_emulator: EmulatorFactory, make_providers: ProvidersFactory
) -> None:
    """Deezer's code 4 object is waited out a bounded number of times, then QuotaExceeded; Spotify's
    QUOTA_EXCEEDED and YouTube's quotaExceeded are never waited for in line; TIDAL's 429s become
    RateLimited after the bounded waits."""
    emulator = await make_emulator(rate_limits=True)
    providers = await make_providers(emulator)
    user = await emulator.create_user(provider)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    await emulator.reset_calls()
    started = time.monotonic()
    if provider is ProviderName.DEEZER:
        await emulator.faults(provider, storm_requests=10)
        with pytest.raises(QuotaExceeded):
            await adapter.current_user()
        assert await emulator.total_calls(provider) == 4  # 1 + 3 bounded waits of 1 s
        assert time.monotonic() - started >= 3.0
    elif provider is ProviderName.SPOTIFY:
        await emulator.faults(provider, storm_requests=10, storm_quota=True, storm_retry_after=30)
        with pytest.raises(QuotaExceeded) as q:
            await adapter.current_user()
        assert q.value.code == "QUOTA_EXCEEDED" and q.value.resets_at is not None
        assert await emulator.total_calls(provider) == 1
    elif provider is ProviderName.YOUTUBE:
        await emulator.rate_limit("youtube", units_per_day=0)
        with pytest.raises(QuotaExceeded) as q:
            await adapter.current_user()
        assert q.value.code == "provider_quota" and q.value.resets_at is not None
        assert await emulator.total_calls(provider) == 1
        # The ledger now knows: the next call is refused without being sent.
        with pytest.raises(QuotaExceeded):
            await adapter.current_user()
        assert await emulator.total_calls(provider) == 1
    else:
        await emulator.faults(provider, storm_requests=10, storm_retry_after=1)
        with pytest.raises(RateLimited) as r:
            await adapter.current_user()
        assert r.value.retry_after == 1
        assert await emulator.total_calls(provider) == 4
    assert time.monotonic() - started < 10


async def test_deezer_quota_shared_by_replicas_through_redis(
    make_emulator: EmulatorFactory, make_providers: ProvidersFactory
) -> None:
    """Two replicas (two Providers, one Redis) stay inside Deezer's sliding window together.

    The window is scaled down to 10 requests per second to keep the test short; the buckets follow
    the same rule as the default for 50 per 5 s: capacity + rate x window <= limit.
    """
    from pm_providers.settings import BucketSpec, ProviderLimitsSpec

    emulator = await make_emulator(rate_limits=True)
    await emulator.rate_limit("deezer", limit=10, window_s=1.0)
    spec = ProviderLimitsSpec(provider=BucketSpec(capacity=3, per_second=5), user=None)
    limits: dict[ProviderName, Any] = {ProviderName.DEEZER: spec}
    replicas = [await make_providers(emulator, rate_limits=limits) for _ in range(2)]
    user, pid, _ = await playlist_user(emulator, ProviderName.DEEZER, 5)
    await emulator.reset_calls()
    started = time.monotonic()

    async def work(p: Providers) -> None:
        adapter = p.adapter(ProviderName.DEEZER, EmulatorTokens(emulator, user))
        for _ in range(12):
            await adapter.playlist(pid)

    await asyncio.gather(*(work(p) for p in replicas))
    elapsed = time.monotonic() - started
    # 24 calls, none refused (a refused one would have been retried: more than 24 calls).
    assert await emulator.total_calls(ProviderName.DEEZER) == 24
    assert elapsed >= (24 - 3) / 5 * 0.95
    for p in replicas:
        assert p.metrics.retries.labels("deezer", "rate_limited")._value.get() == 0


@ALL
async def test_cancelled_write_leaves_nothing_unreported(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    batch = BATCH[provider]
    user, _, ids = await playlist_user(emulator, provider, batch * 6)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))

    # 1. Cooperative: stop after the batch in flight -> PartialWrite, nothing uncertain.
    created = await adapter.create_playlist("Cancelled")
    await emulator.faults(provider, latency_ms=40)
    progress = WriteProgress(on_batch=lambda p: p.request_cancel() if p.batches_sent >= 2 else None)
    with pytest.raises(PartialWrite) as err:
        await adapter.add_tracks(created.id, ids, progress=progress)
    state = await emulator.playlist_track_ids(user, created.id)
    assert list(err.value.written) == state
    assert len(state) == 2 * batch  # cancel asked at the second report: stops before the third
    assert err.value.uncertain_batch == ()
    assert list(err.value.written) + list(err.value.remaining) == ids

    # 2. The task itself cancelled mid-request: CancelledError propagates; the progress names the
    # batch in flight, and the playlist holds the written items plus at most that batch.
    second = await adapter.create_playlist("Cancelled hard")
    await emulator.faults(provider, latency_ms=150)
    first_batch = asyncio.Event()
    progress = WriteProgress(on_batch=lambda _p: first_batch.set())
    task = asyncio.create_task(adapter.add_tracks(second.id, ids, progress=progress))
    await first_batch.wait()
    await asyncio.sleep(0.05)  # the second batch is now at the provider (150 ms latency)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert progress.in_flight, "the batch in flight is reported"
    await asyncio.sleep(0.3)  # the provider finishes what it received
    state = await emulator.playlist_track_ids(user, second.id)
    assert state in (progress.written, progress.written + progress.in_flight)
    assert progress.written + progress.in_flight + progress.remaining == ids
