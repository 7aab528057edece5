"""Rate limits as GCRA (the generic cell rate algorithm), pure.

A limit "10/s;burst=20" lets a client send up to ``burst`` requests at once and then one every
``period / count`` seconds (nginx's ``rate=10r/s burst=20 nodelay``, less its one extra request). GCRA
keeps one number per client, the theoretical arrival time (TAT) of its next request; a request at
``now`` is allowed when ``max(TAT, now) + T - now <= burst * T`` (T the emission interval) and then
moves TAT to ``max(TAT, now) + T``. A refused request changes nothing. The Redis script in
storage/ratelimit.py is this same arithmetic, made atomic over several keys at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*(?:;\s*burst\s*=\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class RateLimit:
    count: int
    period_s: float
    burst: int

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """``"<count>/<unit>[;burst=<n>]"``, unit s, m or h (optionally with a multiple: ``100/10s``).
        Without ``burst`` the bucket holds ``count`` requests."""
        match = _SPEC.match(spec.lower())
        if match is None or match.group(3) not in _UNITS:
            raise ValueError(f"expected e.g. '10/s;burst=20' or '5/m', got {spec!r}")
        count = int(match.group(1))
        period = _UNITS[match.group(3)] * (int(match.group(2)) if match.group(2) else 1)
        burst = int(match.group(4)) if match.group(4) else count
        if count < 1 or burst < 1:
            raise ValueError(f"count and burst must be at least 1, got {spec!r}")
        return cls(count, period, burst)

    @property
    def interval_s(self) -> float:
        """T: the time one request "costs"."""
        return self.period_s / self.count

    @property
    def tolerance_s(self) -> float:
        """How far ahead of now the TAT may run: a full bucket's worth of requests."""
        return self.burst * self.interval_s


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # the bucket's size (RateLimit-Limit)
    remaining: int  # requests that could still be sent now (RateLimit-Remaining)
    reset_s: float  # seconds until the bucket is full again (RateLimit-Reset)
    retry_after_s: float  # when refused: seconds until one request is allowed (Retry-After)


def gcra(tat: float | None, now: float, limit: RateLimit) -> tuple[Decision, float]:
    """The decision for one request at ``now`` and the TAT to store (unchanged when refused)."""
    interval, tolerance = limit.interval_s, limit.tolerance_s
    current = now if tat is None else max(tat, now)
    new_tat = current + interval
    if new_tat - now > tolerance + 1e-9:
        retry_after = new_tat - tolerance - now
        remaining = 0
        return Decision(False, limit.burst, remaining, current - now, retry_after), current
    remaining = math.floor((tolerance - (new_tat - now)) / interval + 1e-9)
    return Decision(True, limit.burst, remaining, new_tat - now, 0.0), new_tat


def combine(decisions: list[Decision]) -> Decision:
    """Several buckets (per IP and per user) for one request: refused if any refuses; the headers
    describe the most constrained bucket."""
    refused = [d for d in decisions if not d.allowed]
    if refused:
        return max(refused, key=lambda d: d.retry_after_s)
    return min(decisions, key=lambda d: (d.remaining, -d.reset_s))


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """RateLimit-* (draft-ietf-httpapi-ratelimit-headers, the seed's names) and Retry-After on 429."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(max(0, decision.remaining)),
        "RateLimit-Reset": str(max(0, math.ceil(decision.reset_s))),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_s)))
    return headers
