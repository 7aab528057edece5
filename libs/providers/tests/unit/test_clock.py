"""The providers' clocks as their answers state them (``Date``), and resets handed back on ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pm_providers.clock import ProviderClocks
from pm_providers.domain.classify import classify_spotify, classify_youtube
from pm_providers.domain.responses import ProviderResponse, parse_http_date, parse_retry_after
from pm_providers.errors import QuotaExceeded, RateLimited
from pm_providers.models import ProviderName
from pm_providers.settings import RetryPolicy

YT = ProviderName.YOUTUBE
POLICY = RetryPolicy()
# Our clock, and the provider's 30 s before its midnight Pacific (07:00 UTC in July) an hour ahead.
OURS = datetime(2026, 7, 1, 5, 59, 30, tzinfo=UTC)
THEIRS = "Wed, 01 Jul 2026 06:59:30 GMT"


def test_http_dates() -> None:
    assert parse_http_date("Thu, 28 May 2026 20:26:40 GMT") == datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    assert parse_http_date("Thursday, 28-May-26 20:26:40 GMT") == datetime(
        2026, 5, 28, 20, 26, 40, tzinfo=UTC
    )
    for bad in (None, "", "yesterday", "Thu, 99 May 2026 20:26:40 GMT"):
        assert parse_http_date(bad) is None


def test_offsets_are_learned_per_provider_beyond_the_tolerance() -> None:
    clocks = ProviderClocks(now=lambda: OURS)
    assert clocks.offset(YT) == timedelta(0) and clocks.provider_now(YT) == OURS
    clocks.observe(YT, "Wed, 01 Jul 2026 05:59:31 GMT", OURS)  # 1 s: Date's resolution, noise
    assert clocks.offset(YT) == timedelta(0)
    clocks.observe(YT, THEIRS, OURS)
    assert clocks.offset(YT) == timedelta(hours=1)
    assert clocks.provider_now(YT) == OURS + timedelta(hours=1)
    assert clocks.offset(ProviderName.SPOTIFY) == timedelta(0)  # each provider its own
    clocks.observe(YT, "Wed, 01 Jul 2026 06:59:32 GMT", OURS)  # within 2 s of the kept value
    assert clocks.offset(YT) == timedelta(hours=1)
    for ignored in (None, "", "not a date"):
        clocks.observe(YT, ignored, OURS)
    assert clocks.offset(YT) == timedelta(hours=1)
    clocks.observe(YT, "Wed, 01 Jul 2026 05:59:27 GMT", OURS)  # moved back: learned again
    assert clocks.offset(YT) == timedelta(seconds=-3)


def yt_quota(**headers: str) -> ProviderResponse:
    body = {
        "error": {
            "code": 403,
            "message": "q",
            "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded"}],
        }
    }
    return ProviderResponse(403, headers, body, received_at=OURS)


def test_youtube_reset_is_the_providers_midnight_on_our_clock() -> None:
    err = classify_youtube(yt_quota(Date=THEIRS), POLICY)
    assert isinstance(err, QuotaExceeded)
    assert err.resets_at == OURS + timedelta(seconds=30)  # not our midnight, 13 h away
    local = classify_youtube(yt_quota(), POLICY)  # no Date: the clocks are taken to agree
    assert isinstance(local, QuotaExceeded) and local.resets_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    garbled = classify_youtube(yt_quota(Date="garbled"), POLICY)
    assert isinstance(garbled, QuotaExceeded) and garbled.resets_at == local.resets_at


def test_retry_dates_are_counted_from_the_providers_date() -> None:
    body = {"error": {"status": 429, "message": "q", "reason": "QUOTA_EXCEEDED"}}
    quota = ProviderResponse(
        429, {"Date": THEIRS, "Retry-After": "Wed, 01 Jul 2026 07:09:30 GMT"}, body, received_at=OURS
    )
    err = classify_spotify(quota, POLICY)
    assert isinstance(err, QuotaExceeded) and err.resets_at == OURS + timedelta(minutes=10)
    seconds = ProviderResponse(429, {"Date": THEIRS, "Retry-After": "30"}, body, received_at=OURS)
    err = classify_spotify(seconds, POLICY)
    assert isinstance(err, QuotaExceeded) and err.resets_at == OURS + timedelta(seconds=30)
    limited = ProviderResponse(
        429,
        {"Date": THEIRS, "Retry-After": "Wed, 01 Jul 2026 06:59:45 GMT"},
        {"error": {"status": 429, "message": "slow down"}},
        received_at=OURS,
    )
    rate = classify_spotify(limited, POLICY)
    assert isinstance(rate, RateLimited) and rate.retry_after == 15


def test_a_date_or_a_wait_no_clock_could_mean_is_not_believed() -> None:
    """A broken or hostile answer must not move the provider's clock years away (every later quota day
    would be wrong) nor ask for an infinite wait."""
    clocks = ProviderClocks(now=lambda: OURS)
    clocks.observe(YT, "Wed, 01 Jul 2099 06:59:30 GMT", OURS)
    clocks.observe(YT, "Mon, 01 Jan 1990 00:00:00 GMT", OURS)
    assert clocks.offset(YT) == timedelta(0)
    clocks.observe(YT, "Thu, 02 Jul 2026 05:59:30 GMT", OURS)  # a day: a test moving the emulator's clock
    assert clocks.offset(YT) == timedelta(days=1)
    for hostile in ("inf", "1e300", "nan", "-inf", str(49 * 3600)):
        assert parse_retry_after(hostile) is None, hostile
    assert parse_retry_after(str(22 * 3600)) == 22 * 3600  # Spotify has asked for 22 hours
