"""Deterministic rate limiters and quotas, driven by an injected time value (no clock reads here).

Each provider answers excess differently (see ``http/errors.py``); these classes only decide.
- :class:`SlidingWindow` — Spotify's rolling 30 s window, Deezer's 50 requests / 5 s.
- :class:`TokenBucket` — TIDAL's bucket (burst, replenish rate, cost per call), MusicBrainz 1/s.
- :class:`DailyQuota` — YouTube's units per day, reset at midnight Pacific time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds, >= 1 when refused
    remaining: float = 0.0
    limit: float = 0.0


@dataclass(slots=True)
class SlidingWindow:
    limit: int
    window_s: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, key: str, now: float) -> Decision:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            wait = hits[0] + self.window_s - now
            return Decision(False, max(1, math.ceil(wait)), 0, self.limit)
        hits.append(now)
        return Decision(True, 0, self.limit - len(hits), self.limit)

    def reset(self) -> None:
        self._hits.clear()


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    refill_per_s: float
    cost: float = 1.0
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def check(self, key: str, now: float, cost: float | None = None) -> Decision:
        cost = self.cost if cost is None else cost
        tokens, at = self._state.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + max(0.0, now - at) * self.refill_per_s)
        if tokens + 1e-9 < cost:
            self._state[key] = (tokens, now)
            wait = (cost - tokens) / self.refill_per_s if self.refill_per_s > 0 else 86_400
            return Decision(False, max(1, math.ceil(wait)), tokens, self.capacity)
        tokens -= cost
        self._state[key] = (tokens, now)
        return Decision(True, 0, tokens, self.capacity)

    def reset(self) -> None:
        self._state.clear()


def pacific_day(now: float) -> str:
    return datetime.fromtimestamp(now, PACIFIC).date().isoformat()


def seconds_to_pacific_midnight(now: float) -> int:
    local = datetime.fromtimestamp(now, PACIFIC)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    next_midnight = datetime.fromtimestamp(midnight.timestamp() + 86_400 + 3_600, PACIFIC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return max(1, math.ceil(next_midnight.timestamp() - now))


@dataclass(slots=True)
class DailyQuota:
    """``limit`` units per Pacific day per key; a refused call still costs nothing more."""

    limit: int
    _used: dict[tuple[str, str], int] = field(default_factory=dict)

    def used(self, key: str, now: float) -> int:
        return self._used.get((key, pacific_day(now)), 0)

    def charge(self, key: str, now: float, units: int) -> Decision:
        day_key = (key, pacific_day(now))
        used = self._used.get(day_key, 0)
        if used + units > self.limit:
            return Decision(False, seconds_to_pacific_midnight(now), self.limit - used, self.limit)
        self._used[day_key] = used + units
        return Decision(True, 0, self.limit - used - units, self.limit)

    def reset(self) -> None:
        self._used.clear()


class RateLimits:
    """The per-provider limiters with their defaults; :meth:`configure` changes them at run time.

    Defaults: Spotify 180 requests per rolling 30 s (unpublished upstream; chosen to let a
    10,000-track read through), Deezer 50 per 5 s (documented), TIDAL a token bucket of 200 with
    20 tokens/s and 1 token per call (unpublished upstream), YouTube 10,000 units/day plus 100
    search calls/day, MusicBrainz 1 request/s with a burst of 3.
    """

    def __init__(self) -> None:
        self.spotify = SlidingWindow(180, 30.0)
        self.deezer = SlidingWindow(50, 5.0)
        self.tidal = TokenBucket(200.0, 20.0, 1.0)
        self.youtube_units = DailyQuota(10_000)
        self.youtube_search = DailyQuota(100)
        self.musicbrainz = TokenBucket(3.0, 1.0, 1.0)
        self.enabled: dict[str, bool] = {
            p: True for p in ("spotify", "deezer", "tidal", "youtube", "musicbrainz")
        }

    def reset_counters(self) -> None:
        for limiter in (
            self.spotify,
            self.deezer,
            self.tidal,
            self.youtube_units,
            self.youtube_search,
            self.musicbrainz,
        ):
            limiter.reset()

    def describe(self) -> dict[str, dict[str, object]]:
        return {
            "spotify": {
                "enabled": self.enabled["spotify"],
                "kind": "sliding_window",
                "limit": self.spotify.limit,
                "window_s": self.spotify.window_s,
            },
            "deezer": {
                "enabled": self.enabled["deezer"],
                "kind": "sliding_window",
                "limit": self.deezer.limit,
                "window_s": self.deezer.window_s,
            },
            "tidal": {
                "enabled": self.enabled["tidal"],
                "kind": "token_bucket",
                "capacity": self.tidal.capacity,
                "refill_per_s": self.tidal.refill_per_s,
                "cost": self.tidal.cost,
            },
            "youtube": {
                "enabled": self.enabled["youtube"],
                "kind": "daily_quota",
                "units_per_day": self.youtube_units.limit,
                "search_calls_per_day": self.youtube_search.limit,
            },
            "musicbrainz": {
                "enabled": self.enabled["musicbrainz"],
                "kind": "token_bucket",
                "capacity": self.musicbrainz.capacity,
                "refill_per_s": self.musicbrainz.refill_per_s,
                "cost": self.musicbrainz.cost,
            },
        }

    def configure(self, provider: str, values: dict[str, object]) -> None:
        """Change one provider's limiter; unknown keys raise ``ValueError``. Counters restart."""
        allowed = {k for k in self.describe()[provider] if k != "kind"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown keys for {provider}: {sorted(unknown)}; allowed: {sorted(allowed)}")

        def num(key: str, current: float) -> float:
            v = values.get(key, current)
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{key} must be a non-negative number")
            return float(v)

        if "enabled" in values:
            self.enabled[provider] = bool(values["enabled"])
        if provider in ("spotify", "deezer"):
            cur = self.spotify if provider == "spotify" else self.deezer
            new = SlidingWindow(int(num("limit", cur.limit)), num("window_s", cur.window_s))
            setattr(self, provider, new)
        elif provider in ("tidal", "musicbrainz"):
            bucket = self.tidal if provider == "tidal" else self.musicbrainz
            new_b = TokenBucket(
                num("capacity", bucket.capacity),
                num("refill_per_s", bucket.refill_per_s),
                num("cost", bucket.cost),
            )
            setattr(self, provider, new_b)
        elif provider == "youtube":
            self.youtube_units = DailyQuota(int(num("units_per_day", self.youtube_units.limit)))
            self.youtube_search = DailyQuota(int(num("search_calls_per_day", self.youtube_search.limit)))
