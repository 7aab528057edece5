"""YouTube's quota day by the provider's clock, on the stack's emulator and Redis.

The shared emulator's clock is put 30 s before the nearest midnight Pacific and put back at the end
(whatever happens); its limits are left alone: our ledger (a small daily quota under a key prefix of
this test's own) is what runs out. The user and its OAuth client are new, so the emulator's own
counters of other tests are not touched either.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import redis.asyncio as aioredis

from pm_devstack.stack import Stack
from pm_providers import Providers, ProviderSettings, StaticTokenSource
from pm_providers.clock import ProviderClocks
from pm_providers.errors import QuotaExceeded
from pm_providers.models import ProviderName
from pm_providers.settings import YoutubeQuota

pytestmark = pytest.mark.integration

YT = ProviderName.YOUTUBE
PACIFIC = ZoneInfo("America/Los_Angeles")


class Admin:
    """The shared emulator's admin API."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.base = base
        self._session = session
        self.clock_moved = False

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self._session.request(method, f"{self.base}/_admin{path}", json=body) as resp:
            data = await resp.json()
            assert resp.status < 300, (resp.status, data)
            self.clock_moved |= (method, path) == ("POST", "/clock")
            return data


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Admin]:
    """The emulator's admin API; its clock is put back as it was found when the test ends."""
    async with aiohttp.ClientSession() as session:
        a = Admin(session, f"http://127.0.0.1:{stack.spec('provider-emulator').port}")
        found = await a.call("GET", "/clock")
        try:
            yield a
        finally:
            if a.clock_moved:  # the system clock runs with an offset; a manual one stands still
                offset = found.get("offset")
                await a.call(
                    "POST", "/clock", {"set": found["now"]} if offset is None else {"offset": offset}
                )


def nearest_pacific_midnight(epoch: float) -> datetime:
    """The midnight Pacific closest to ``epoch`` (so the clock moves at most 12 hours)."""
    local = datetime.fromtimestamp(epoch, PACIFIC)
    today = datetime(local.year, local.month, local.day, tzinfo=PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    midnights = [today, datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)]
    return min(midnights, key=lambda m: abs(m.timestamp() - epoch)).astimezone(UTC)


class ShiftedClock:
    """This machine's clock, moved forward on demand: time passing here as it does at the emulator."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


async def test_quota_day_ends_at_the_providers_midnight(
    admin: Admin, redis: aioredis.Redis, prefix: str
) -> None:
    """Our ledger judges YouTube's day by YouTube's clock (learned from its ``Date`` headers): used up
    30 s before the emulator's midnight, it answers ``QuotaExceeded`` with ``resets_at`` 30 s ahead on
    our clock, and once a minute has passed (there, by the admin API; here, by the clock the pipeline
    reads: a caller waiting ``resets_at - now`` lives through the same) the next call goes through."""
    midnight = nearest_pacific_midnight((await admin.call("GET", "/clock"))["now"])
    await admin.call("POST", "/clock", {"set": (midnight - timedelta(seconds=30)).timestamp()})
    run = uuid.uuid4().hex[:12]
    created = await admin.call(
        "POST",
        "/users",
        {
            "provider": "youtube",
            "user_id": f"UCpmclock{run}",
            "client_id": f"pm-test-clock-{run}.apps.googleusercontent.com",
            "library": {"playlists": [{"name": "Clock", "size": 3}]},
        },
    )
    pid = created["user"]["playlists"][0]["id"]
    settings = ProviderSettings().for_emulator(admin.base)
    settings = settings.model_copy(
        update={
            "rate_limit_key_prefix": prefix,
            "youtube_quota": YoutubeQuota(units_per_day=3, project=f"clock-{run}"),
        }
    )
    ours = ShiftedClock()
    async with Providers(settings, redis, clocks=ProviderClocks(now=ours.now)) as providers:
        adapter = providers.adapter(YT, StaticTokenSource(created["tokens"]["access_token"]), user_key=run)
        # The first call is counted by our clock (nothing learned yet), the next 3 by YouTube's.
        refused: QuotaExceeded | None = None
        for _ in range(5):
            try:
                await adapter.playlist(pid)
            except QuotaExceeded as exc:
                refused = exc
                break
        assert refused is not None and refused.code == "quota_exceeded"  # our ledger's: nothing sent
        emulator_now = datetime.fromtimestamp((await admin.call("GET", "/clock"))["now"], UTC)
        assert refused.resets_at is not None
        ahead = refused.resets_at - ours.now()
        assert timedelta(0) < ahead <= timedelta(seconds=30)  # not our own midnight, hours away
        # The emulator's time to midnight, on our clock (the offset is known to about 3 s).
        assert abs(refused.resets_at - (ours.now() + (midnight - emulator_now))) < timedelta(seconds=4)

        await admin.call("POST", "/clock", {"advance": 60})
        ours.shift = timedelta(seconds=60)
        assert (await adapter.playlist(pid)).id == pid
