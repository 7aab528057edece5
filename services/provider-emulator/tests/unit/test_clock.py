"""The clocks: the system clock moves by an offset and keeps flowing; the manual one only when told."""

from __future__ import annotations

import time

from pm_provider_emulator.domain.clock import ManualClock, SystemClock


def test_system_clock_runs_with_an_offset() -> None:
    clock = SystemClock()
    assert clock.offset == 0
    before = time.time()
    clock.advance(3600)
    assert clock.offset == 3600
    assert before + 3600 <= clock.now() <= time.time() + 3600
    clock.advance(-600)
    assert clock.offset == 3000
    clock.set(1_000_000_000.0)
    first = clock.now()
    assert 1_000_000_000.0 <= first < 1_000_000_000.0 + 60  # put there, and flowing from there
    assert clock.now() >= first
    clock.offset = 0.0
    assert time.time() - 1 <= clock.now() <= time.time() + 1


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(100.0)
    assert clock.now() == clock.now() == 100.0
    assert clock.advance(5) == 105.0
    clock.set(7.0)
    assert clock.now() == 7.0
