import pytest

from pm_provider_emulator.domain.ratelimit import (
    DailyQuota,
    RateLimits,
    SlidingWindow,
    TokenBucket,
    pacific_day,
)


def test_sliding_window_refuses_then_frees_exactly():
    w = SlidingWindow(limit=3, window_s=30)
    assert all(w.check("k", t).allowed for t in (0, 1, 2))
    d = w.check("k", 10)
    assert not d.allowed
    assert d.retry_after == 20
    assert w.check("k", 30.5).allowed  # the hit at t=0 left the window
    assert w.check("other", 10).allowed  # keys are independent


def test_token_bucket():
    b = TokenBucket(capacity=2, refill_per_s=1, cost=1)
    assert b.check("k", 0).allowed
    assert b.check("k", 0).allowed
    d = b.check("k", 0)
    assert not d.allowed
    assert d.retry_after == 1
    assert b.check("k", 1.0).allowed
    assert not TokenBucket(10, 1, cost=5).check("k", 0, cost=11).allowed


def test_daily_quota_resets_at_pacific_midnight():
    q = DailyQuota(limit=100)
    noon_pacific = 1_780_000_000.0  # 2026-05-28 13:26 PDT
    assert q.charge("p", noon_pacific, 100).allowed
    refused = q.charge("p", noon_pacific, 1)
    assert not refused.allowed
    assert refused.retry_after > 0
    assert q.charge("p", noon_pacific + refused.retry_after + 1, 1).allowed
    assert pacific_day(noon_pacific) == "2026-05-28"


def test_configure_validates():
    limits = RateLimits()
    limits.configure("deezer", {"limit": 5, "window_s": 1})
    assert limits.describe()["deezer"]["limit"] == 5
    with pytest.raises(ValueError, match="unknown keys"):
        limits.configure("spotify", {"burst": 3})
    limits.configure("youtube", {"search_calls_per_day": 2})
    assert limits.youtube_search.limit == 2
