"""YouTube's quota day by YouTube's clock: the emulator's clock put just before midnight Pacific, the
provider's own ``quotaExceeded`` read on its clock and handed back on ours, and the new day after it.

The emulator here is this test's own (its limits and clock are free to change); the same scenario on
the shared emulator, with our ledger refusing first, is ``tests/integration/test_provider_clock.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from pm_providers import Providers
from pm_providers.clock import ProviderClocks
from pm_providers.errors import QuotaExceeded
from pm_providers.models import ProviderName

from .conftest import EmulatorFactory, EmulatorTokens, provider_settings

pytestmark = pytest.mark.integration

YT = ProviderName.YOUTUBE
# 23:59:30 PDT on 2026-06-30: 30 s before YouTube's quota day ends.
BEFORE_MIDNIGHT = datetime(2026, 7, 1, 6, 59, 30, tzinfo=UTC)


class ShiftedClock:
    """Our clock, moved forward on demand: time passing here as it does at the emulator."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


async def test_youtube_quota_answer_resets_at_its_midnight_on_our_clock(
    make_emulator: EmulatorFactory, redis: aioredis.Redis, key_prefix: str, cleanup_keys: None
) -> None:
    emulator = await make_emulator(rate_limits=True)
    await emulator.admin("POST", "/clock", {"set": BEFORE_MIDNIGHT.timestamp()})
    await emulator.rate_limit("youtube", units_per_day=2)
    user = await emulator.create_user(YT, [{"name": "P", "size": 3}])
    pid = user.playlists[0]["id"]
    ours = ShiftedClock()
    async with Providers(
        provider_settings(emulator, key_prefix), redis, clocks=ProviderClocks(now=ours.now)
    ) as providers:
        adapter = providers.adapter(YT, EmulatorTokens(emulator, user))
        await adapter.playlist(pid)
        await adapter.playlist(pid)  # the emulator's 2 units of the day
        with pytest.raises(QuotaExceeded) as err:
            await adapter.playlist(pid)
        assert err.value.code == "provider_quota"  # YouTube's refusal, not our ledger's
        emulator_now = datetime.fromtimestamp((await emulator.admin("GET", "/clock"))["now"], UTC)
        left_at_emulator = datetime(2026, 7, 1, 7, 0, tzinfo=UTC) - emulator_now
        assert err.value.resets_at is not None
        # Its midnight, on our clock (Date has 1 s resolution): about 30 s from now, not months.
        assert abs(err.value.resets_at - (ours.now() + left_at_emulator)) < timedelta(seconds=3)
        assert timedelta(0) < err.value.resets_at - ours.now() <= timedelta(seconds=30)
        offset = providers.clocks.offset(YT)
        assert abs(offset - (BEFORE_MIDNIGHT - datetime.now(UTC))) < timedelta(seconds=5)

        await emulator.reset_calls()
        with pytest.raises(QuotaExceeded):  # the ledger knows now: refused without a call
            await adapter.playlist(pid)
        assert await emulator.total_calls(YT) == 0

        # A minute passes, there and here: YouTube's new day, and ours by its clock.
        await emulator.admin("POST", "/clock", {"advance": 60})
        ours.shift = timedelta(seconds=60)
        assert (await adapter.playlist(pid)).id == pid
        assert await emulator.total_calls(YT) == 1
