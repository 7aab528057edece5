"""Injectable clocks: token expiry, rate limits, quotas and every answer's ``Date`` read time only
through these. Both clocks can be moved (``POST /_admin/clock``): tests put the emulated providers'
time where they need it (just before YouTube's midnight Pacific, a token's expiry)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class MovableClock(Clock, Protocol):
    def advance(self, seconds: float) -> float:
        """Move the clock by ``seconds`` (negative: back); returns the new time."""
        ...

    def set(self, value: float) -> None:
        """Put the clock at ``value`` (epoch seconds)."""
        ...


class SystemClock:
    """The machine's clock, plus an offset that moving it changes: time keeps flowing from where it
    was put, as a provider's clock does (``offset`` 0: the machine's time)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()

    def set(self, value: float) -> None:
        self.offset = value - time.time()


class ManualClock:
    """A clock that moves only when told to (tests, and ``CLOCK=manual`` for e2e runs)."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        self._now += seconds
        return self._now

    def set(self, value: float) -> None:
        self._now = value
