"""One backoff for every retry loop: exponential, capped, jittered, resettable, interruptible."""

import asyncio

import pytest

from pm_platform.retry import Backoff


def test_delays_grow_exponentially_up_to_the_cap():
    backoff = Backoff(initial_s=0.5, max_s=4.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.attempts == 6
    backoff.reset()
    assert backoff.next_delay() == 0.5


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 2.0), (1.0, 1.0), (0.5, 1.5)])
def test_equal_jitter_keeps_at_least_half_of_the_delay(rand, expected):
    backoff = Backoff(initial_s=1.0, max_s=10.0, rand=lambda: rand)
    assert backoff.delay(2) == expected


def test_nonsense_is_refused():
    with pytest.raises(ValueError, match=r"factor >= 1 and jitter within 0\.\.1"):
        Backoff(initial_s=1.0, max_s=1.0, jitter=2.0)
    with pytest.raises(ValueError, match=r"factor >= 1 and jitter within 0\.\.1"):
        Backoff(initial_s=1.0, max_s=1.0, factor=0.5)


async def test_sleep_uses_the_injected_sleeper_and_counts():
    slept: list[float] = []

    async def sleeper(delay: float) -> None:
        slept.append(delay)

    backoff = Backoff(initial_s=0.1, max_s=1.0, jitter=0.0, sleeper=sleeper)
    assert await backoff.sleep() == 0.1
    assert await backoff.sleep() == 0.2
    assert slept == [0.1, 0.2] and backoff.attempts == 2


async def test_an_interrupt_ends_the_wait_at_once():
    stop = asyncio.Event()
    stop.set()
    backoff = Backoff(initial_s=3600.0, max_s=3600.0, jitter=0.0)
    await asyncio.wait_for(backoff.sleep(interrupt=stop), 5)  # would be an hour without the interrupt
    assert backoff.attempts == 1
