"""A provider's answer as the pipeline hands it to classifiers and parsers (pure)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    status: int
    headers: Mapping[str, str]
    body: Any = None  # parsed JSON, the text when not JSON, None when empty
    # When the answer arrived, on this machine's clock (the pipeline stamps it).
    received_at: datetime = field(default_factory=_utcnow)

    @property
    def json_object(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def provider_time(self) -> datetime | None:
        """The provider's clock when it answered (its ``Date`` header), None when absent or bad."""
        return parse_http_date(self.headers.get("Date"))

    def on_our_clock(self, provider_moment: datetime) -> datetime:
        """A moment the provider names on its clock (a reset, a retry date), on this machine's clock:
        the time until it by the provider's ``Date``, added to when the answer arrived. Without a
        usable ``Date`` the two clocks are taken to agree."""
        said = self.provider_time
        return self.received_at + (provider_moment - (said or self.received_at))


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110: IMF-fixdate, or the obsolete forms) as an aware UTC datetime; None
    when absent or unparseable."""
    if value is None or not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# The longest wait an answer is believed about (Spotify has asked for 22 hours): anything longer, or not
# a finite number, is a broken or hostile answer, and no wait is known.
MAX_BELIEVED_WAIT_S = 48 * 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent, bad, or
    beyond MAX_BELIEVED_WAIT_S ("inf", "1e300").

    An HTTP date is counted from ``now`` (epoch seconds; default this machine's clock): pass the
    answer's own ``Date`` so that a skewed local clock does not change the wait."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        seconds = max(0.0, seconds)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    return seconds if seconds <= MAX_BELIEVED_WAIT_S else None


# The token bucket a provider states on its answers (TIDAL; the emulator too), in its own tokens.
BURST_CAPACITY_HEADER = "x-ratelimit-burst-capacity"
REPLENISH_RATE_HEADER = "x-ratelimit-replenish-rate"
REQUESTED_TOKENS_HEADER = "x-ratelimit-requested-tokens"
REMAINING_HEADER = "x-ratelimit-remaining"
# A bucket beyond these bounds (in calls: burst at once, calls per second) is a broken answer, not a
# limit to obey: slower than a call in 1,000 s would stall every job, and the bounds keep the numbers
# the limiter's Lua script does arithmetic on finite.
MIN_BELIEVED_CALLS_PER_S = 1e-3
MAX_BELIEVED_CALLS = 1e6


@dataclass(frozen=True, slots=True)
class AdvertisedLimit:
    """A token bucket as a provider advertises it (``x-ratelimit-*``), counted in its tokens.

    The properties count in calls (a call costs ``tokens_per_call``), as our buckets do."""

    burst_tokens: float
    tokens_per_second: float
    tokens_per_call: float
    remaining_tokens: float | None = None  # left after the answered call; None when not stated

    @property
    def capacity(self) -> float:
        """Calls at once."""
        return self.burst_tokens / self.tokens_per_call

    @property
    def per_second(self) -> float:
        """Calls replenished per second."""
        return self.tokens_per_second / self.tokens_per_call

    @property
    def remaining_calls(self) -> float | None:
        return None if self.remaining_tokens is None else self.remaining_tokens / self.tokens_per_call


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_advertised_limit(headers: Mapping[str, str]) -> AdvertisedLimit | None:
    """The bucket an answer's ``x-ratelimit-*`` headers state; None when any of burst capacity,
    replenish rate and requested tokens is absent, not a positive finite number, or absurd (a call
    costing more than the burst, a bucket beyond the believed bounds). ``remaining_tokens`` is None
    when that header is absent or not within 0..burst. Never raises."""
    burst = _number(headers.get(BURST_CAPACITY_HEADER))
    rate = _number(headers.get(REPLENISH_RATE_HEADER))
    cost = _number(headers.get(REQUESTED_TOKENS_HEADER))
    if burst is None or rate is None or cost is None or min(burst, rate, cost) <= 0 or cost > burst:
        return None
    limit = AdvertisedLimit(burst, rate, cost)
    if limit.capacity > MAX_BELIEVED_CALLS or not (
        MIN_BELIEVED_CALLS_PER_S <= limit.per_second <= MAX_BELIEVED_CALLS
    ):
        return None
    remaining = _number(headers.get(REMAINING_HEADER))
    if remaining is None or not 0 <= remaining <= burst:
        return limit
    return AdvertisedLimit(burst, rate, cost, remaining)
