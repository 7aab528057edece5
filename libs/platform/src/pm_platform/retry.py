"""Backoff with jitter: the one way every retry loop in the project waits between attempts.

The loops themselves differ in what ends them (a number of attempts, a deadline, a closing event,
the provider's Retry-After), so each keeps its own ``while``; what they share, and what must not be
written twice, is how long to wait and how the wait grows::

    backoff = Backoff(initial_s=0.2, max_s=15.0)
    while True:
        try:
            return await work()
        except TransientError:
            if backoff.attempts >= 8:
                raise
            await backoff.sleep()

The delay of attempt *n* (1-based) is ``min(max_s, initial_s * factor**(n-1))`` scaled by a random
factor in ``[1 - jitter, 1]`` ("equal jitter" with the default 0.5), so replicas that failed together
do not retry together.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """The waits of one retry loop. Not shared between loops: it counts this loop's attempts."""

    initial_s: float
    max_s: float
    factor: float = 2.0
    # The random share of each delay: 0 waits exactly the exponential delay, 1 anything up to it.
    jitter: float = 0.5
    rand: Callable[[], float] = field(default=random.random, repr=False)
    sleeper: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("Backoff: delays must be >= 0, factor >= 1 and jitter within 0..1")

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based); does not count an attempt."""
        ceiling = min(self.max_s, self.initial_s * self.factor ** max(0, attempt - 1))
        return float(ceiling * (1 - self.jitter * self.rand()))

    def next_delay(self) -> float:
        """Count one more failed attempt and return how long to wait before the next."""
        self.attempts += 1
        return self.delay(self.attempts)

    async def sleep(self, interrupt: asyncio.Event | None = None) -> float:
        """Count a failed attempt and wait its delay (returns early once ``interrupt`` is set).

        Returns the delay it meant to wait.
        """
        delay = self.next_delay()
        await self.wait(delay, interrupt)
        return delay

    async def wait(self, delay: float, interrupt: asyncio.Event | None = None) -> None:
        """Wait ``delay`` (from :meth:`next_delay`, once it was logged), or until ``interrupt`` is set."""
        if interrupt is None:
            await self.sleeper(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(interrupt.wait(), delay)

    def reset(self) -> None:
        """After a success: the next failure waits the initial delay again."""
        self.attempts = 0
